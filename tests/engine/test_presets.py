"""Every preset does what its title says, on every one of its seeds, at its default sizes.

One story test per preset; each runs the preset as the dashboard and the CLI would (its own
seeds) and checks the title's claim seed by seed.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pandas as pd
import pytest

from models import run_comparison
from models.core.tasks import make_task
from models.io.presets import PRESETS, load_preset

CHANCE_CE = 2.302  # ln 10: cross-entropy of a 10-class guess
MEAN_MSE = 1 / 6  # adding problem: the mean predictor's MSE (0.148 on the validation set)


@cache
def _run(name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    result = run_comparison(load_preset(name), threads=1)
    return result.metrics_frame(), result.summary_frame()


def _per_seed(name: str, column: str) -> dict[str, np.ndarray]:
    """A summary column per variant, one value per seed (None/NaN kept as NaN)."""
    s = _run(name)[1]
    return {
        v: pd.to_numeric(g.sort_values("seed")[column], errors="coerce").to_numpy(dtype=float)
        for v, g in s.groupby("variant")
    }


def _grad_ratio(name: str, first: int, last: int) -> dict[str, np.ndarray]:
    """‖∇W_first‖ / ‖∇W_last‖ at initialisation, per variant and seed."""
    m = _run(name)[0]
    g = m[(m.metric == "grad_norm") & (m.step == 0)]
    out = {}
    for v, rows in g.groupby("variant"):
        wide = rows.pivot(index="seed", columns="index", values="value")
        out[v] = (wide[first] / wide[last]).to_numpy()
    return out


def _grad_norms(name: str, layer: int) -> dict[str, np.ndarray]:
    """‖∇W_layer‖ at initialisation, per variant and seed."""
    m = _run(name)[0]
    g = m[(m.metric == "grad_norm") & (m.step == 0) & (m["index"] == layer)]
    return {v: rows.sort_values("seed")["value"].to_numpy() for v, rows in g.groupby("variant")}


def _condition(name: str, variant: str) -> list[float]:
    """log10(s_max/s_min) of the Jacobian at step 0 per seed (inf: a singular value is 0)."""
    m = _run(name)[0]
    j = m[(m.metric == "jacobian_sv") & (m.variant == variant) & (m.step == 0)]
    return [
        math.inf if g.value.min() <= 0 else math.log10(g.value.max() / g.value.min())
        for _, g in j.groupby("seed")
    ]


STORIES = {
    "deep-mlp",
    "rnn-adding",
    "exploding-rnn",
    "init-showdown",
    "relu-init",
    "temporal-order",
    "dynamical-isometry",
    "deep-residual",
    "transformer-ln",
    "transformer-deep",
    "transformer-depth",
}


def test_every_preset_has_a_title_at_least_two_variants_and_a_story_test():
    for name in PRESETS:
        comp = load_preset(name)
        assert comp.title and len(comp.variants) >= 2, name
    assert set(PRESETS) == STORIES  # a new preset needs its story test below


@pytest.mark.slow
def test_deep_mlp_baseline_vanishes_and_stalls_while_the_mitigations_learn():
    """The title: four mitigations learn; clip norm 1 does not (it never acts on a vanishing
    gradient: its gradients at step 0 are the baseline's, below the clip line)."""
    ratio = _grad_ratio("deep-mlp", 1, 20)
    assert (ratio["sigmoid (baseline)"] < 1e-6).all()  # the gradient vanishes towards layer 1
    best = _per_seed("deep-mlp", "best_val_loss")
    acc = _per_seed("deep-mlp", "final_val_accuracy")
    assert (best["sigmoid (baseline)"] > CHANCE_CE - 0.01).all()
    assert (best["clip norm 1"] > CHANCE_CE - 0.01).all()  # clipping cannot lift a vanishing
    g = _grad_norms("deep-mlp", 1)
    np.testing.assert_array_equal(g["clip norm 1"], g["sigmoid (baseline)"])
    for v in ("residual", "tanh + xavier", "batch norm"):
        assert (acc[v] > 0.8).all(), (v, acc[v])
    assert (acc["relu + he"] > 0.5).all()


@pytest.mark.slow
def test_rnn_adding_gated_cells_solve_what_the_tanh_rnn_cannot():
    """The title: LSTM and GRU solve it; the tanh RNN, with orthogonal W_hh or with clipping
    too, stays near the mean predictor; the IRNN does better than the tanh RNN."""
    best = _per_seed("rnn-adding", "best_val_loss")
    for v in ("tanh rnn (baseline)", "orthogonal", "clip norm 1"):
        assert (best[v] > 0.14).all(), (v, best[v])  # the mean predictor's 0.148 or worse
    assert (best["lstm"] < 0.05).all() and (best["gru"] < 0.05).all()
    assert (best["irnn"] < best["tanh rnn (baseline)"]).all()


@pytest.mark.slow
def test_init_showdown_ordered_vanishes_chaotic_explodes_critical_trains():
    # σ_b² = 0.05, depth 30: χ₁ ≈ 0.76 per layer at σ_w² = 1 (ordered), 1 at 1.76, > 1 at 4
    ratio = _grad_ratio("init-showdown", 1, 30)
    # 30 layers of χ₁ ≈ 0.76 (σ_w² = 1): norms shrink ~0.76^(29/2) ≈ 0.02 (measured 0.02–0.05)
    assert (ratio["σ_w²=0.5 (ordered)"] < 1e-3).all() and (ratio["σ_w²=1 (ordered)"] < 0.1).all()
    assert (ratio["σ_w²=4 (chaotic)"] > 10).all()  # the gradient grows towards layer 1
    assert ((ratio["σ_w²=1.76 (critical)"] > 0.1) & (ratio["σ_w²=1.76 (critical)"] < 10)).all()
    best = _per_seed("init-showdown", "best_val_loss")
    for v in ("σ_w²=0.5 (ordered)", "σ_w²=4 (chaotic)"):
        assert (best["σ_w²=1.76 (critical)"] < best[v]).all(), v


@pytest.mark.slow
def test_dynamical_isometry_orthogonal_tanh_spectrum_is_narrowest_and_trains_fastest():
    """The title: orthogonal tanh's spectrum spans a few decades (not near 1), Gaussian tanh's
    tens, ReLU's reaches 0; orthogonal tanh trains fastest."""
    assert max(_condition("dynamical-isometry", "tanh + orthogonal")) <= 4
    m = _run("dynamical-isometry")[0]
    sv = m[(m.metric == "jacobian_sv") & (m.variant == "tanh + orthogonal") & (m.step == 0)]
    assert sv.value.max() < 0.5  # not isometric: the largest singular value is 0.3-0.4
    assert min(_condition("dynamical-isometry", "tanh + gaussian")) >= 10
    for v in ("relu + orthogonal", "relu + he"):  # dead units: singular values exactly 0
        assert min(_condition("dynamical-isometry", v)) >= 10
    steps = _per_seed("dynamical-isometry", "steps_to_target")  # 90% validation accuracy
    steps = {v: np.nan_to_num(s, nan=np.inf) for v, s in steps.items()}
    assert np.isfinite(steps["tanh + orthogonal"]).all()
    for v in ("tanh + gaussian", "relu + orthogonal", "relu + he"):
        assert steps["tanh + orthogonal"].max() < steps[v].min(), v


@pytest.mark.slow
def test_temporal_order_gated_cells_solve_it_the_tanh_rnn_does_not():
    acc = _per_seed("temporal-order", "final_val_accuracy")  # chance: 0.25 (four classes)
    for v in ("lstm, forget bias 2", "gru"):
        assert (acc[v] >= 0.9).all(), (v, acc[v])
    assert (acc["tanh rnn"] < 0.35).all(), acc["tanh rnn"]


@pytest.mark.slow
def test_relu_init_xavier_and_default_stall_he_learns():
    # Xavier halves the signal's variance per ReLU layer forwards and the gradient's backwards:
    # every hidden layer's weight gradient ends ~(1/2)^15 of He's (measured 2e-5 against 0.7–1.4)
    first, last = _grad_norms("relu-init", 1), _grad_norms("relu-init", 30)
    for g in (first, last):
        assert (g["xavier"] < 1e-3 * g["he"]).all()
    # PyTorch's default (Var = 1/(3 fan_in)): the gradient vanishes towards layer 1 (~1e-12)
    assert (first["default (pytorch)"] < 1e-6 * last["default (pytorch)"]).all()
    acc = _per_seed("relu-init", "final_val_accuracy")  # chance: 0.1
    assert (acc["xavier"] < 0.15).all() and (acc["default (pytorch)"] < 0.15).all()
    assert (acc["he"] > 0.7).all(), acc["he"]


@pytest.mark.slow
def test_exploding_rnn_diverges_unclipped_and_trains_clipped():
    cfg = load_preset("exploding-rnn").variants[0]
    mean_mse = float(make_task(cfg).y_val.var(unbiased=False))  # the mean predictor, ~1/6
    diverged = _per_seed("exploding-rnn", "diverged_step")
    final = _per_seed("exploding-rnn", "final_val_loss")
    # diverged (NaN or a blown-up loss) or no better than predicting the mean, on every seed
    assert (np.isfinite(diverged["no clipping"]) | (final["no clipping"] >= mean_mse)).all()
    for v in ("clip norm 0.1", "clip norm 0.25"):
        assert np.isnan(diverged[v]).all(), v  # clipped: no seed diverges
        assert (final[v] <= 0.1).all(), (v, final[v])  # well below the mean predictor


@pytest.mark.slow
def test_deep_residual_blows_up_unnormalised_and_rezero_trains():
    """The title, on every seed: the plain residual stack diverges at the first step, clipping
    the gradient leaves it at a useless loss (the forward pass itself has blown up: E[h²] at
    least doubles per block), and ReZero trains it."""
    diverged = _per_seed("deep-residual", "diverged_step")
    assert (diverged["residual, no norm (baseline)"] <= 2).all()
    best = _per_seed("deep-residual", "best_val_loss")
    assert (best["clip norm 1"] > 100 * CHANCE_CE).all()  # never even reaches chance level
    assert np.isnan(diverged["rezero"]).all()
    acc = _per_seed("deep-residual", "final_val_accuracy")
    assert (acc["rezero"] > 0.85).all(), acc["rezero"]  # 0.92–0.93 on 4 seeds in calibration


@pytest.mark.slow
def test_transformer_ln_post_ln_trails_pre_ln_warm_up_and_deepnorm_learn():
    """The title, on every seed. Calibrated on seeds 10-11 (the preset runs 0-1): Post-LN ended
    at 0.09/0.25 validation accuracy, the others at 0.73-0.91. Pass lines with a margin: Post-LN
    below 0.5, the others above 0.6 (chance 0.1)."""
    acc = _per_seed("transformer-ln", "final_val_accuracy")
    assert (acc["post-ln"] < 0.5).all(), acc["post-ln"]
    for v in ("pre-ln", "post-ln + warm-up 75", "deepnorm"):
        assert (acc[v] > 0.6).all(), (v, acc[v])
    # Xiong et al. 2020 at initialisation: Pre-LN's block gradients are a fraction of Post-LN's
    # (~1/√L), and Post-LN's last/first block ratio is above Pre-LN's. Calibrated on seeds
    # 100-102 (width 64, 12 blocks, hops task): Pre/Post last block 0.45-0.51; last/first
    # Post-LN 1.20-1.30, Pre-LN 0.86-0.97
    ratios = _grad_ratio("transformer-ln", 12, 1)
    assert (ratios["post-ln"] > ratios["pre-ln"]).all(), ratios
    for block in (1, 6, 12):
        g = _grad_norms("transformer-ln", block)
        assert (g["pre-ln"] < 0.6 * g["post-ln"]).all(), block


@pytest.mark.slow
def test_transformer_deep_pre_ln_last_block_gets_a_fraction_and_post_ln_stays_at_chance():
    """The title, on every seed. Calibrated on seeds 10-11 (the preset runs 0-1): last-block
    gradient at init Pre-LN/Post-LN 0.26/0.21 (Xiong et al.: ~1/√L); accuracy after 60 steps
    Post-LN 0.09/0.13, Pre-LN 0.49/0.46, ReZero 0.77/0.71, DeepNorm 0.26/0.28. Pass lines: the
    ratio below 0.5, Post-LN below 0.2 (chance 0.1), Pre-LN and ReZero above 0.3, DeepNorm
    above Post-LN."""
    last = _grad_norms("transformer-deep", 48)
    assert (last["pre-ln"] < 0.5 * last["post-ln"]).all(), last
    acc = _per_seed("transformer-deep", "final_val_accuracy")
    assert (acc["post-ln"] < 0.2).all(), acc["post-ln"]
    for v in ("pre-ln", "rezero, no LayerNorm"):
        assert (acc[v] > 0.3).all(), (v, acc[v])
    assert (acc["deepnorm"] > acc["post-ln"]).all(), acc


@pytest.mark.slow
def test_transformer_depth_one_block_cannot_chase_three_pointers_two_and_three_blocks_can():
    """The title, on every seed. Calibrated on seeds 10-11 (the preset runs 0-1): validation
    accuracy after 600 steps 1 block 0.58/0.59, 2 blocks 1.00/1.00, 3 blocks 1.00/1.00 (chance
    1/8). Pass lines: 1 block below 0.7 (the title's line; margin 0.11 over calibration), 2 and
    3 blocks above 0.9, and each deeper stack beats 1 block by more than 0.25 on the same seed."""
    acc = _per_seed("transformer-depth", "final_val_accuracy")
    assert (acc["1 block"] < 0.7).all(), acc["1 block"]
    for v in ("2 blocks", "3 blocks"):
        assert (acc[v] > 0.9).all(), (v, acc[v])
        assert (acc[v] - acc["1 block"] > 0.25).all(), (v, acc[v], acc["1 block"])

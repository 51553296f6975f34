"""The presets tell the story their titles promise, at their default sizes (seconds each)."""

from __future__ import annotations

import pandas as pd
import pytest

from models import run_comparison
from models.io.presets import PRESETS, load_preset

CHANCE_CE = 2.302  # ln 10: cross-entropy of a 10-class guess
MEAN_MSE = 0.14  # adding problem: the mean predictor scores ~1/6 (0.148 on the validation set)


@pytest.fixture(scope="module")
def summaries() -> dict[str, pd.DataFrame]:
    names = ("deep-mlp", "rnn-adding", "exploding-rnn")
    return {n: run_comparison(load_preset(n), threads=1).summary_frame() for n in names}


def _by_variant(frame: pd.DataFrame, column: str, how: str) -> dict[str, float]:
    return frame.groupby("variant")[column].agg(how).to_dict()


def test_every_preset_has_a_title_and_at_least_two_variants():
    for name in PRESETS:
        comp = load_preset(name)
        assert comp.title and len(comp.variants) >= 2, name


@pytest.mark.slow
def test_deep_mlp_baseline_stalls_while_the_mitigations_learn(summaries):
    s = summaries["deep-mlp"]
    best = _by_variant(s, "best_val_loss", "min")
    acc = _by_variant(s, "final_val_accuracy", "min")  # worst seed
    assert best["sigmoid (baseline)"] > CHANCE_CE - 0.01
    assert best["clip norm 1"] > CHANCE_CE - 0.01  # clipping cannot lift a vanishing gradient
    for v in ("residual", "tanh + xavier", "batch norm"):
        assert acc[v] > 0.8, (v, acc[v])
    assert acc["relu + he"] > 0.5


@pytest.mark.slow
def test_rnn_adding_gated_cells_solve_what_the_tanh_rnn_cannot(summaries):
    best = _by_variant(summaries["rnn-adding"], "best_val_loss", "max")  # worst seed
    assert best["tanh rnn (baseline)"] > MEAN_MSE
    assert best["lstm"] < 0.05 and best["gru"] < 0.05
    assert best["irnn"] < best["tanh rnn (baseline)"]


@pytest.mark.slow
def test_exploding_rnn_diverges_unclipped_and_trains_clipped(summaries):
    s = summaries["exploding-rnn"]
    steps = {v: g["diverged_step"] for v, g in s.groupby("variant")}
    assert steps["no clipping"].notna().all() and (steps["no clipping"] <= 20).all()
    for v in ("clip norm 1", "clip value 0.1"):
        assert steps[v].isna().all(), v  # clipped: no seed diverges
        assert s[s.variant == v]["best_val_loss"].max() < 0.2

"""The science modules' building blocks on tiny inputs, for the inner loop.

The experiments themselves (tests/science, marked slow) take seconds to minutes each; these
check the pieces they are made of in milliseconds, so a change to a helper is caught without
running an experiment: the arithmetic on synthetic data with a known answer, and the
spelled-out forwards (which check themselves bit for bit against the engine's) on small nets.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from models.science import common, initialisation, isometry, mean_field, mitigations, recurrent


def frame(rows: list[tuple[str, str, int, int, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["metric", "variant", "step", "seed", "index", "value"])


def test_geometric_mean_and_claims_say_where_their_pass_line_comes_from():
    assert common.geo_mean(np.array([1.0, 100.0])) == pytest.approx(10.0)
    row = common.make_claim("x", "c", "s", "e", "m", np.bool_(True), setup="u", threshold="theory")
    assert row["passed"] is True and set(row) >= {
        "id",
        "claim",
        "source",
        "setup",
        "expected",
        "threshold",
        "measured",
        "passed",
    }
    with pytest.raises(ValueError, match="threshold"):
        common.make_claim("x", "c", "s", "e", "m", True, setup="u", threshold="a hunch")
    assert common.is_missing(None) and common.is_missing(math.nan) and not common.is_missing(0.0)


def test_per_layer_and_series_read_a_metrics_frame():
    f = frame(
        [("grad_norm", "a", 0, s, i, 10 * i + s) for s in (0, 1) for i in (2, 1)]
        + [("loss", "a", t, s, 0, t + s) for t in (0, 5) for s in (0, 1)]
        + [("loss", "b", 0, 0, 0, 99.0)]
    )
    assert common.per_layer(f, "grad_norm", "a").tolist() == [[10, 11], [20, 21]]  # layer 1 first
    assert common.series(f, "loss", "a") == {0: 0.5, 5: 5.5}  # mean over seeds
    assert common.series(f, "loss", "a", seed=1) == {0: 1.0, 5: 6.0}


def test_tanh_backward_factors_are_one_at_the_critical_point_and_below_it_in_order():
    # σ_b = 0, σ_w² = 1, tiny q: tanh is linear there, χ₁ = σ_w² = 1 at every layer
    assert common.theory_delta_factors("tanh", 1.0, 0.0, 5, 1e-8) == pytest.approx(1.0, rel=1e-6)
    ordered = common.theory_delta_factors("tanh", 0.5, 0.0, 5, 1e-8)
    assert len(ordered) == 4 and ordered == pytest.approx(0.5, rel=1e-6)


def test_mean_field_factor_and_crossing_on_known_curves():
    assert mean_field._per_layer_factor(np.log(0.5) * np.arange(6)) == pytest.approx(2.0)
    # log f goes 2 → 0.5 between x = 1 and 2: crosses 1 where the log-linear line is 0
    assert mean_field._crossing([0, 1, 2], [4.0, 2.0, 0.5]) == pytest.approx(1.5)
    assert math.isnan(mean_field._crossing([0, 1], [2.0, 3.0]))  # never crosses


def test_isometry_condition_numbers_per_seed():
    f = frame(
        [("jacobian_sv", "v", 0, 0, i, s) for i, s in enumerate([1.0, 10.0, 100.0])]
        + [("jacobian_sv", "v", 0, 1, i, s) for i, s in enumerate([0.0, 2.0])]
        + [("jacobian_sv", "v", 5, 0, 0, 1e9)]
    )
    cond, hi, lo = isometry._conditions(f, "v")  # step 0 only, per seed
    assert cond == [pytest.approx(2.0), math.inf] and hi == [100.0, 2.0] and lo == [1.0, 0.0]
    assert isometry._fmt([2.0, math.inf]) == "2.0, ∞"
    assert isometry._steps([120.0, math.inf]) == "120, never"


def test_glorot_profile_on_a_small_net():
    delta, weight = initialisation.backprop_profile("xavier", depth=4, width=16, seeds=2, batch=8)
    assert delta.shape == weight.shape == (4,)
    assert np.all(np.isfinite(delta)) and np.all(delta > 0) and np.all(weight > 0)


def test_the_spelled_out_residual_forward_is_the_engines():
    """_residual_errors and _block_second_moments raise if their forward is not DeepMLP's."""
    small = {
        "family": "mlp",
        "task": "digits",
        "depth": 3,
        "width": 8,
        "seeds": 2,
        "activation": "sigmoid",
        "steps": 0,
    }
    err, norms = mitigations._residual_errors({**small, "residual": True})
    assert err.shape == norms.shape == (3, 2) and np.all(err > 0) and np.all(norms > 0)
    moments = mitigations._block_second_moments({**small, "residual": True, "rezero": True})
    assert moments.shape == (3, 2)
    # ReZero's branches start at zero: every block after the first passes its input on unchanged
    assert moments[1] == pytest.approx(moments[0]) and moments[2] == pytest.approx(moments[0])


def test_toy_gradient_by_autograd_matches_the_closed_form():
    wall = recurrent.measure_toy_wall(201)
    assert wall["max_rel_diff_theory"] < 1e-6
    assert recurrent.TOY_LO <= wall["b_peak"] <= recurrent.TOY_HI and wall["peak"] > wall["median"]


def synthetic_phase_sweep(trains: bool):
    """The tanh preset's grid, trainable well inside 6ξ_c (as 150 steps of training find it),
    or nowhere."""
    from models.core import theory
    from models.science import phase
    from models.sweep.presets import load_sweep_preset

    spec = load_sweep_preset("tanh-phase-diagram")
    sb2 = spec.comparisons[0].variants[0].bias_std ** 2
    rows = []
    for g in spec.grid["init_gain"]:
        limit = 6 * theory.xi_c("tanh", g * g, sb2)
        for d in spec.grid["depth"]:
            for seed in (0, 1):
                good = trains and d < limit / 1.5
                acc = 0.9 - 0.3 * d / limit if good else phase.CHANCE_DIGITS
                rows.append({"init_gain": g, "depth": d, "seed": seed, "final_val_accuracy": acc})
    return spec, pd.DataFrame(rows)


@pytest.mark.parametrize("trains", [True, False])
@pytest.mark.filterwarnings("ignore:An input array is constant")  # nothing trains: ρ undefined
def test_phase_diagram_claim_reads_a_sweep_as_theory_says(monkeypatch, trains):
    """The claim's arithmetic on a made-up sweep: trainable exactly inside 6ξ_c passes; a sweep
    where nothing trains does not (no training near the edge of chaos)."""
    from models.science import phase

    monkeypatch.setattr(phase, "_sweep", lambda name, seeds=None: synthetic_phase_sweep(trains))
    m = phase.measure_phase_diagram()
    assert m["beyond"] and m["beyond_best"] == pytest.approx(phase.CHANCE_DIGITS)
    assert m["near"] and m["critical"] == pytest.approx(1.76, abs=0.01)  # tanh, σ_b² = 0.05
    assert phase.claim_phase_diagram()["passed"] is trains

"""Recurrent nets against Pascanu et al. 2013, Hochreiter & Schmidhuber 1997 and Le et al. 2015."""

from __future__ import annotations

import numpy as np
import pytest

from models.core import theory
from models.science import recurrent as V

pytestmark = [pytest.mark.science, pytest.mark.slow]  # experiments: seconds to a minute each


def test_pascanu_jacobian_vanishes_at_the_spectral_radius() -> None:
    """Pascanu et al. 2013, §2.1: ‖W_hh‖₂ = s < 1/γ makes ‖∂h_t/∂h_1‖ ≤ s^(t−1) vanish. The
    engine's tanh RNN (hidden 32, T = 30, 4 held-out seeds), differentiated by autograd, has
    ∂h_t/∂h_1 = ∏ diag(tanh'(z)) W_hh (the formula: W_hhᵀ in its place would not match), and
    the product decays at ρ(W_hh)·mean tanh′ (Gelfand's formula), far below s^(t−1) and ∏‖J_t‖.
    """
    m = V.rnn_jacobian()
    assert m["formula_error"] < V.PASCANU_FORMULA_RTOL  # float32 against float64: ~1e-6
    assert np.all(m["s_max"] < 1)  # the premise: largest singular value below 1/γ = 1
    assert np.all(m["s_max"] > 1.5 * m["rho"])  # a Gaussian W: norm ≈ 2ρ, so rate ≠ bound
    # sub-multiplicativity, as a sanity check of the chain (not the claim)
    assert np.all(m["norms"] <= m["product_of_norms"] * (1 + 1e-9))
    assert np.all(m["product_of_norms"] <= m["bound"] * (1 + 1e-9))
    # the claim: the rate is ρ·g, ±25% (0.96–1.15 in calibration, seeds 0–3), not s (≈ 1.8 ρ)
    fit = m["rate"] / m["predicted_rate"]
    assert np.all(np.abs(fit - 1) <= V.PASCANU_RATE_RTOL), fit
    assert np.all(m["norms"][:, -1] < 1e-3 * m["product_of_norms"][:, -1])
    assert V.claim_pascanu_jacobian()["passed"]


def test_pascanu_condition_on_engine_weights() -> None:
    """Pascanu et al. 2013, §2.1: theory.pascanu_condition classifies the engine's W_hh as
    'vanishing' (s < 1/γ) for tanh, and η = sγ is the per-step contraction bound."""
    m = V.rnn_jacobian()
    for s in m["s_max"]:
        cond = theory.pascanu_condition(np.diag([s]), "tanh")
        assert cond["regime"] == "vanishing" and cond["eta"] == pytest.approx(s)


def test_scalar_toy_wall_is_the_basin_boundary() -> None:
    """Pascanu et al. 2013, §2.2 / Fig. 3 (basins, the w = 5 diagram) and §2.3 / Fig. 6 (the
    wall): x_t = 5σ(x_(t−1)) + b, x_0 = 0.5, loss (σ(x_50) − 0.7)². The map is bistable for
    b ∈ (−2.656, −2.344) (saddle-node bifurcations at the ends); dL/db spikes where x_0 itself
    is the unstable fixed point, b = 0.5 − 5σ(0.5) ≈ −2.612: the boundary between the basins.
    The engine's toy code (theory.toy_loss_and_grad_b) on 30001 values of b, peak refined.
    """
    m = V.measure_toy_wall()
    assert m["b_boundary"] == pytest.approx(-2.612, abs=1e-3)
    lo, hi = m["saddles"]
    assert lo == pytest.approx(-2.656, abs=1e-3) and hi == pytest.approx(-2.344, abs=1e-3)
    # the refined peak sits on the boundary (the spike is ~1e-4 wide at T = 50) ...
    assert m["b_peak"] == pytest.approx(m["b_boundary"], abs=1e-3)
    # ... its value converged under refinement (it does not grow with the resolution) ...
    h = m["peak_history"]
    assert h[-1] == pytest.approx(h[-2], rel=1e-5) and h[-1] >= max(h)
    assert m["peak"] / m["median"] > 1e3
    # ... and the bifurcations themselves carry no wall
    assert max(m["at_saddles"]) < V.TOY_SADDLE_MAX
    # torch autograd agrees with the engine's forward-mode toy gradient everywhere
    assert m["max_rel_diff_theory"] < 1e-6
    assert V.claim_toy_wall()["passed"]


def test_toy_descent_is_thrown_off_the_wall_unless_clipped() -> None:
    """Pascanu et al. 2013, Fig. 6's arrows: gradient descent on b towards the wall (lr 0.05,
    12 starts in [−2.56, −2.02]) takes a huge step where it lands on the wall; clipped (c = 1,
    Algorithm 1) every step is ≤ lr·c and the runs stay beside the wall."""
    m = V.measure_toy_wall()
    c, u = m["clipped"], m["unclipped"]
    assert np.all(c["max_step"] <= V.TOY_LR * V.TOY_CLIP * (1 + 1e-12))
    assert np.all(c["distance"] <= V.TOY_NEAR)  # ≤ 0.06 in calibration
    assert 2 * np.sum(u["max_step"] >= V.TOY_THROWN) >= len(V.TOY_STARTS)
    assert u["max_step"].max() > 100 * V.TOY_LR * V.TOY_CLIP


def test_refined_peak_does_not_grow_with_the_grid() -> None:
    """The claim's number must not depend on the sweep's resolution (the issue's complaint)."""
    coarse = V.measure_toy_wall.__wrapped__(3001)["peak"]
    fine = V.measure_toy_wall()["peak"]
    assert coarse == pytest.approx(fine, rel=1e-4)


def test_norm_clipping_keeps_an_exploding_rnn_from_blowing_up() -> None:
    """Pascanu et al. 2013, §3.2, Algorithm 1: clipping the gradient norm cures exploding
    gradients. tanh RNN, W_hh radius 1.8, adding T = 10, momentum SGD lr 0.08 (chosen on seeds
    0–5), 800 steps, 6 seeds (200–205, held out from the calibration on 0–5 and 100–105).
    """
    m = V.measure_clipping()
    none, clip = m["no clipping"], m["clip norm 1"]
    # unclipped: every seed's loss blows up and none ever gets to the target
    assert np.all(none["blown"]) and np.all(none["best"] > V.CLIP_TRAINS)
    # clipped: no seed blows up; at least half reach the engine's adding target (6/6 on seeds
    # 0–5, 5/6 on 100–105: "every seed" held only on the tuning seeds)
    assert not np.any(clip["blown"])
    assert 2 * np.sum(clip["best"] < V.CLIP_TRAINS) >= len(clip["best"])
    assert V.claim_clipping()["passed"]


@pytest.mark.slow
def test_adding_problem_lstm_solves_rnn_stays_at_mean() -> None:
    """Hochreiter & Schmidhuber 1997, §5.4 (Experiment 4), in Le et al. 2015's form, scaled to a
    CPU minute: T = 100, hidden 32, Adam lr 0.01, batch 32, 1200 steps, 3 held-out seeds. The mean
    predictor scores 1/6 in expectation.
    """
    m = V.measure_adding()
    rnn, lstm = m["tanh rnn"], m["lstm"]
    assert m["baseline"] == pytest.approx(V.MEAN_PREDICTOR_MSE, abs=0.03)  # ±2σ for 256 sequences
    # every seed: the tanh RNN never gets below 85% of the mean predictor, the LSTM ends < 0.05
    assert np.all(rnn["best_val_loss"] > V.ADDING_STAYS * m["baseline"])
    assert all(s is None for s in rnn["steps_to_target"])
    assert np.all(lstm["final_val_loss"] < V.ADDING_SOLVED)
    assert all(s is not None for s in lstm["steps_to_target"])
    assert V.claim_adding()["passed"]


def test_hidden_grad_ratio_near_radius_one() -> None:
    """Hochreiter & Schmidhuber 1997, §3 / Le et al. 2015, §2, where the engine could get it
    wrong: a tanh RNN with orthogonal W_hh (every singular value 1) still loses the error from h_T
    to h_1 (T = 50), by the product of the rms tanh slopes along the way; an IRNN (ReLU, W_hh = I)
    keeps it. The engine's hidden_grad_norm metric (its hand-written BPTT), 8 seeds.
    """
    m = V.measure_hidden_grad_ratio()
    tanh, pred = m["tanh rnn, orthogonal"], m["predicted"]
    dev = np.log10(tanh / pred)
    assert np.all(np.abs(dev) < V.HIDDEN_GRAD_SEED_TOL), dev
    assert abs(dev.mean()) < V.HIDDEN_GRAD_MEAN_TOL
    assert tanh.max() < 1e-2
    # identity recurrence passes the error through every active unit: O(1)
    assert m["irnn"].min() > 0.1
    assert V.claim_hidden_grad_ratio()["passed"]


def test_forget_gate_bias_keeps_the_cell_state() -> None:
    """Gers et al. 2000; Jozefowicz et al. 2015: an LSTM (H = 32, T = 50) at initialisation with
    the forget gate's bias at 0 (PyTorch) forgets c_1: ‖∂c_50/∂c_1‖ < 1e-7; with forget_bias = 1
    the gate sits near σ(1) ≈ 0.73 and the Jacobian is ≥ 1e4× larger on every seed.
    """
    m = V.measure_forget_gate()
    zero, one = m[0.0], m[1.0]
    assert zero["mean_f"] == pytest.approx(0.5, abs=0.05)  # the premise: PyTorch's gate ≈ 0.5
    assert one["mean_f"] == pytest.approx(0.73, abs=0.05)
    assert zero["norms"].max() < V.FORGET_VANISHED
    assert (one["norms"] / zero["norms"]).min() >= V.FORGET_RATIO
    assert V.claim_forget_gate()["passed"]

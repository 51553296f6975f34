"""Batch norm (Ioffe & Szegedy 2015), residual connections (He et al. 2016) and dynamical
isometry (Pennington et al. 2017) on the engine."""

from __future__ import annotations

import numpy as np
import pytest

from models.science import mitigations as V

pytestmark = [pytest.mark.science, pytest.mark.slow]  # experiments: seconds to a minute each


@pytest.mark.slow
def test_batch_norm_lets_deep_sigmoid_learn() -> None:
    """Ioffe & Szegedy 2015, §4.2.2 (BN-x5-Sigmoid): batch norm makes a saturating deep net
    trainable. 20 sigmoid layers, width 48, digits, momentum SGD, 150 steps, 2 seeds.
    """
    m = V.measure_batch_norm()
    # plain: at chance (0.1) for every seed
    assert m["max"]["plain"] < 0.2
    # BN_MIN_ACCURACY = 0.7: evaluated with running statistics, BN's accuracy wobbles between
    # 0.77 and 0.94 from step 50 on (3 seeds seen)
    assert m["min"]["batch norm"] > V.BN_MIN_ACCURACY
    assert V.claim_batch_norm()["passed"]


def test_residual_carries_the_error_to_the_first_block() -> None:
    """He et al. 2016b (Identity Mappings), eqs. 4–5: ∂L/∂h_l = ∂L/∂h_L (1 + ∂/∂h_l Σ F), so the
    error at the first block keeps the top's. 20-layer sigmoid MLP, width 64, default init, 4 seeds.
    """
    m = V.measure_residual()
    # plain: (1/4 · 1/√3)^19-ish, < 1e-6 by far (we see ~1e-16)
    assert m["plain"]["error_ratio"].max() < 1e-6
    assert m["plain"]["weight_ratio"].max() < 1e-6
    # residual: the identity term keeps ‖∂L/∂h_1‖ at least half of ‖∂L/∂h_20‖ (≈ 1.03–1.11 seen)
    assert np.all(m["residual"]["error_ratio"] > V.RESIDUAL_ERROR_LO)
    # ‖∇W_1‖/‖∇W_20‖ is small (≈ 0.06) only because layer 20 reads a ~10× larger input: it is the
    # error ratio times the input-norm ratio, within 2×
    fit = m["residual"]["weight_ratio"] / m["residual"]["predicted_weight_ratio"]
    assert np.all((fit > 1 / V.RESIDUAL_WEIGHT_RTOL) & (fit < V.RESIDUAL_WEIGHT_RTOL)), fit
    assert V.claim_residual()["passed"]


def test_rezero_rescues_a_deep_residual_net_without_normalisation() -> None:
    """Bachlechner et al. 2020 (ReZero) / Zhang et al. 2019 (Fixup): 64 residual ReLU blocks,
    He init, no norm: E[h²] at least doubles per block (E[relu(z)²] = E[h²], cross term ≥ 0) and
    SGD diverges at once; with each branch × α (α = 0 at the start) the net trains. The
    deep-residual preset, its 2 seeds.
    """
    m = V.measure_rezero()
    plain, rz = m["residual, no norm (baseline)"], m["rezero"]
    assert np.all(plain["growth"] >= V.REZERO_GROWTH)  # theory: ≥ 2 (≈ 2.9 measured)
    assert np.all(plain["diverged_step"] <= 2)
    np.testing.assert_allclose(rz["growth"], 1.0, atol=1e-6)  # the identity stack at init
    assert np.all(np.isnan(rz["diverged_step"]))
    assert np.all(rz["accuracy"] > V.REZERO_LEARNS)  # 0.92–0.93 in calibration
    assert V.claim_rezero()["passed"]


@pytest.mark.slow
def test_linear_net_dynamical_isometry() -> None:
    """Pennington, Schoenholz & Ganguli 2017 (linear case) / Saxe et al. 2013: the Jacobian
    J = W_L⋯W_2 of a deep linear net (16 square layers, width 256, 16 seeds) has all singular
    values 1 with orthogonal weights; with Gaussian N(0, 1/n) weights Var(σ²) ≈ L.
    """
    m = V.measure_linear_isometry()
    o, n = m["orthogonal"], m["normal"]
    # float32 orthogonal matrices multiplied in float64: deviations ~1e-7 × L
    assert o["max_dev"] < 1e-4
    # PEN_RTOL = 25%: the spread of a heavy-tailed spectrum, mean of 16 seeds (~7% noise)
    assert n["var"] == pytest.approx(n["layers"], rel=V.PEN_RTOL)
    # mean squared singular value is 1 either way (σ_w² = 1 preserves the norm on average)
    assert n["mean"] == pytest.approx(1.0, abs=0.15)
    assert V.claim_linear_isometry()["passed"]

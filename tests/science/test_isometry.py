"""Dynamical isometry in a nonlinear net (Saxe et al. 2014; Pennington, Schoenholz & Ganguli
2017), measured with the engine's jacobian_sv metric on the dynamical-isometry preset."""

from __future__ import annotations

import math

import pytest

from models.science import isometry as I

pytestmark = [pytest.mark.science, pytest.mark.slow]  # trains the preset with 5 seeds


def test_orthogonal_tanh_spectrum_is_decades_narrower_than_gaussian() -> None:
    """Pennington et al. 2017, §3: Gaussian weights spread the Jacobian's spectrum even at
    χ₁ = 1, orthogonal ones far less, and ReLU cannot be isometric. Depth 30, width 64, digits,
    5 held-out seeds, at initialisation. Not isometry itself: no singular value is near 1."""
    m = I.measure_isometry()
    # ISO_MAX = 4 decades: orthogonal tanh measures 2.3–2.7 (a few decades, not ~0: the input
    # layer maps standardised pixels and q^l shrinks with depth, so the slopes vary by unit)
    assert max(m[I.TANH_ORTH]["cond"]) <= I.ISO_MAX
    # SPREAD_MIN = 10 decades: Gaussian tanh measures 34–38 (a product of 30 Gaussian
    # matrices: Lyapunov exponents from ~0 down to ½(ψ(1/2) + ln(2/64)) ≈ −2.7 per layer)
    assert min(m[I.TANH_GAUSS]["cond"]) >= I.SPREAD_MIN
    # ReLU's zero slopes remove rank: the smallest singular value is exactly 0
    assert all(math.isinf(c) for c in m[I.RELU_ORTH]["cond"] + m[I.RELU_HE]["cond"])
    # what the claim must not say: the spectrum is not concentrated at 1 here (0.32–0.39 largest)
    assert max(m[I.TANH_ORTH]["s_max"]) < 0.5
    assert I.claim_isometry_spectrum()["passed"]


def test_isometric_tanh_trains_faster() -> None:
    """Pennington et al. 2017, Fig. 4: with χ₁ = 1 for both, the isometric (orthogonal) net
    learns faster. Steps to 90% validation accuracy: orthogonal 40–60, Gaussian ≥ 100 or never
    (5 seeds, momentum 0.9, lr 0.01, 150 steps)."""
    m = I.measure_isometry()
    assert max(m[I.TANH_ORTH]["steps"]) < min(m[I.TANH_GAUSS]["steps"])
    assert I.claim_isometry_training()["passed"]

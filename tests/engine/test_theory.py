"""Checks of models.core.theory against closed forms, published numbers and direct simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss
from scipy import integrate
from scipy.special import expit

from models.core.theory import (
    ACTIVATIONS,
    chi1,
    chi1_at_attractors,
    chi1_curve,
    critical_sigma_w2,
    depth_scale,
    dphi,
    gaussian_expectation,
    gradient_trend,
    jacobian_product_norms,
    length_map,
    length_map_attractors,
    max_slope,
    mlp_grad_norm_profile,
    mlp_grad_profile,
    pascanu_condition,
    phi,
    q_fixed_point,
    q_trajectory,
    toy_bifurcation_b,
    toy_dxT_dx0,
    toy_loss_and_grad_b,
    toy_trajectory,
)

# ------------------------------------------------------------------------------------------
# Activations
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_dphi_matches_finite_differences(name: str) -> None:
    # Points avoid 0, where relu / leaky_relu have their kink.
    x = np.array([-3.1, -1.2, -0.4, 0.3, 0.9, 2.2, 4.5])
    h = 1e-6
    fd = (phi(name, x + h) - phi(name, x - h)) / (2 * h)
    np.testing.assert_allclose(dphi(name, x), fd, rtol=1e-6, atol=1e-9)


def test_activation_values() -> None:
    assert phi("leaky_relu", -2.0) == pytest.approx(-0.02)
    assert phi("elu", -1.0) == pytest.approx(math.exp(-1.0) - 1.0)
    assert phi("gelu", 1.0) == pytest.approx(0.8413447460685429)  # 1·Φ(1)
    assert phi("silu", 2.0) == pytest.approx(2.0 * expit(2.0))
    assert dphi("relu", 0.0) == 0.0  # torch's convention at the kink
    with pytest.raises(ValueError, match="unknown activation"):
        phi("swish", 1.0)


def test_max_slope() -> None:
    assert max_slope("sigmoid") == 0.25
    assert max_slope("tanh") == 1.0
    assert max_slope("relu") == 1.0
    # GELU: Φ(√2) + √2 φ(√2), hand-evaluated; SiLU: known maximum 1.0998 at x ≈ 2.3994.
    assert max_slope("gelu") == pytest.approx(1.128904145, abs=1e-8)
    assert max_slope("silu") == pytest.approx(1.0998393, abs=1e-6)
    grid = np.linspace(-20, 20, 400_001)
    for name in ACTIVATIONS:
        # Independent brute-force maximum on a fine grid (step 1e-4: error ≪ 1e-6).
        assert max_slope(name) == pytest.approx(np.abs(dphi(name, grid)).max(), abs=1e-6)


# ------------------------------------------------------------------------------------------
# Quadrature
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("q", [0.01, 1.0, 3.7, 50.0])
def test_gaussian_expectation_closed_forms(q: float) -> None:
    assert gaussian_expectation(lambda x: x**2, q) == pytest.approx(q, rel=1e-12)
    assert gaussian_expectation(lambda x: phi("relu", x) ** 2, q) == pytest.approx(q / 2, rel=1e-12)
    # E[relu'(√q z)²] = P(z > 0) = 1/2 exactly, despite the step at 0.
    assert gaussian_expectation(lambda x: dphi("relu", x) ** 2, q) == pytest.approx(0.5, rel=1e-12)
    assert gaussian_expectation(lambda x: x**4, q) == pytest.approx(3 * q * q, rel=1e-12)


def test_gaussian_expectation_against_adaptive_quadrature() -> None:
    # scipy's adaptive quad, split at the kink, is an independent reference; elu' has a kink.
    for name, q in [("elu", 2.0), ("sigmoid", 5.0), ("tanh", 10.0), ("gelu", 0.3)]:

        def integrand(z: float, name: str = name, q: float = q) -> float:
            return float(dphi(name, math.sqrt(q) * z) ** 2 * math.exp(-z * z / 2)) / math.sqrt(
                2 * math.pi
            )

        ref = integrate.quad(integrand, -np.inf, 0, epsabs=1e-13)[0]
        ref += integrate.quad(integrand, 0, np.inf, epsabs=1e-13)[0]
        got = gaussian_expectation(lambda x, name=name: dphi(name, x) ** 2, q)
        assert got == pytest.approx(ref, abs=1e-10)


def test_gaussian_expectation_against_monte_carlo_and_hermite() -> None:
    rng = np.random.default_rng(0)
    z = rng.standard_normal(1_000_000)
    samples = np.tanh(math.sqrt(2.0) * z) ** 2
    se = samples.std() / math.sqrt(z.size)
    got = gaussian_expectation(lambda x: np.tanh(x) ** 2, 2.0)
    assert abs(got - samples.mean()) < 5 * se  # 5 standard errors: fails only if wrong
    # Smooth integrand at moderate q: Gauss–Hermite (101 nodes, as used for docs/science.md's
    # numbers) agrees to its own accuracy here (~2e-8).
    nodes, weights = hermegauss(101)
    gh = weights @ np.tanh(math.sqrt(2.0) * nodes) ** 2 / math.sqrt(2 * math.pi)
    assert got == pytest.approx(gh, abs=1e-7)


def test_gaussian_expectation_vectorised_over_q() -> None:
    qs = np.array([0.5, 1.0, 2.0])
    got = gaussian_expectation(lambda x: np.tanh(x) ** 2, qs)
    assert got.shape == (3,)
    for q, value in zip(qs, got, strict=True):
        assert value == pytest.approx(gaussian_expectation(lambda x: np.tanh(x) ** 2, q))


# ------------------------------------------------------------------------------------------
# Mean field
# ------------------------------------------------------------------------------------------


def test_chi1_tanh_matches_science_md() -> None:
    """The values docs/science.md quotes under "Reference numbers"."""
    assert chi1("tanh", 1.0, 0.05) == pytest.approx(0.759, abs=0.005)
    assert chi1("tanh", 2.5, 0.05) == pytest.approx(1.134, abs=0.005)


def test_critical_sigma_w2() -> None:
    crit = critical_sigma_w2("tanh", 0.05)
    assert crit == pytest.approx(1.76, abs=0.02)
    assert chi1("tanh", crit, 0.05) == pytest.approx(1.0, abs=1e-9)
    assert critical_sigma_w2("relu", 0.05) == pytest.approx(2.0, abs=1e-9)  # χ₁ = σ_w²/2
    assert critical_sigma_w2("leaky_relu", 0.0) == pytest.approx(2 / (1 + 0.01**2), abs=1e-9)
    assert critical_sigma_w2("linear", 0.3) == pytest.approx(1.0, abs=1e-9)
    # tanh with σ_b² = 0: q* → 0 for σ_w² ≤ 1, where χ₁ → σ_w², so the edge is σ_w² = 1.
    assert critical_sigma_w2("tanh", 0.0) == pytest.approx(1.0, abs=1e-4)
    # sigmoid: χ₁ ≤ σ_w²/16 < 1 on the whole range, so there is no edge of chaos.
    assert math.isnan(critical_sigma_w2("sigmoid", 0.05))


def test_chi1_hand_computed_cases() -> None:
    for sigma_w2 in (0.5, 1.0, 1.7):
        assert chi1("linear", sigma_w2, 0.1) == pytest.approx(sigma_w2, rel=1e-12)
        assert chi1("relu", sigma_w2, 0.0, q=3.0) == pytest.approx(sigma_w2 / 2, rel=1e-12)
        # tanh'(x) = 1 − x² + O(x⁴), so E[tanh'(√q z)²] = 1 − 2q + O(q²) → 1 as q → 0.
        assert chi1("tanh", sigma_w2, 0.05, q=1e-8) == pytest.approx(sigma_w2, rel=1e-7)
        assert chi1("tanh", sigma_w2, 0.05, q=1e-3) == pytest.approx(
            sigma_w2 * (1 - 2e-3), rel=1e-5
        )


def test_chi1_curve_and_depth_scale() -> None:
    grid = np.array([1.0, 2.5])
    np.testing.assert_allclose(chi1_curve("tanh", 0.05, grid), [0.759, 1.134], atol=0.005)
    assert np.all(np.diff(chi1_curve("tanh", 0.05, np.linspace(0.5, 4, 15))) > 0)
    assert depth_scale(math.exp(-1 / 5)) == pytest.approx(5.0)
    assert depth_scale(1.0) == math.inf
    np.testing.assert_allclose(depth_scale([math.exp(-0.5), math.e]), [2.0, -1.0])


@pytest.mark.parametrize(
    ("activation", "sigma_w2", "sigma_b2"),
    [
        ("tanh", 1.5, 0.05),
        ("tanh", 3.0, 0.2),
        ("sigmoid", 4.0, 0.1),
        ("gelu", 1.8, 0.05),
        ("elu", 1.2, 0.1),
        ("silu", 2.0, 0.0),
        ("relu", 1.5, 0.1),
    ],
)
def test_q_fixed_point_is_a_fixed_point(activation: str, sigma_w2: float, sigma_b2: float) -> None:
    q_star = q_fixed_point(activation, sigma_w2, sigma_b2)
    assert q_star > 0
    assert length_map(activation, sigma_w2, sigma_b2, q_star) == pytest.approx(q_star, rel=1e-9)


def test_q_fixed_point_special_cases() -> None:
    # relu: q' = σ_w² q / 2 + σ_b², so q* = σ_b² / (1 − σ_w²/2) below σ_w² = 2 ...
    assert q_fixed_point("relu", 1.5, 0.1) == pytest.approx(0.1 / 0.25, rel=1e-9)
    # ... and no finite q* at or above it (q grows by σ_b² per layer, or geometrically).
    assert q_fixed_point("relu", 2.0, 0.05) == math.inf
    assert q_fixed_point("relu", 2.5, 0.05) == math.inf
    # tanh, σ_b² = 0: ordered phase collapses to q* = 0 (convergence only algebraic) ...
    assert q_fixed_point("tanh", 1.0, 0.0) < 1e-10
    # ... while σ_w² > 1 gives the stable q* > 0, not the unstable q = 0.
    assert q_fixed_point("tanh", 1.5, 0.0) > 0.1


def test_q_trajectory() -> None:
    q = q_trajectory("tanh", 1.5, 0.05, q0=2.0, depth=30)
    assert q.shape == (30,)
    assert q[0] == pytest.approx(1.5 * 2.0 + 0.05)  # first layer is linear in the input
    assert q[1] == pytest.approx(length_map("tanh", 1.5, 0.05, q[0]))
    assert q[-1] == pytest.approx(q_fixed_point("tanh", 1.5, 0.05), rel=1e-6)
    # linear activation: q^l = σ_w^{2l} q0 + σ_b² Σ_{k<l} σ_w^{2k}, a geometric series.
    q_lin = q_trajectory("linear", 0.8, 0.1, q0=1.0, depth=5)
    expected = [0.8**k + 0.1 * sum(0.8**j for j in range(k)) for k in range(1, 6)]
    np.testing.assert_allclose(q_lin, expected, rtol=1e-12)


def test_mlp_grad_profile_flat_for_he_relu() -> None:
    # He init (σ_w² = 2) with no bias keeps q and ‖δ‖² constant: every layer equal.
    np.testing.assert_allclose(mlp_grad_profile("relu", 2.0, 0.0, 12), np.ones(12), rtol=1e-9)
    np.testing.assert_allclose(mlp_grad_profile("linear", 1.0, 0.0, 7), np.ones(7), rtol=1e-9)


def test_mlp_grad_profile_geometric_in_ordered_and_chaotic_phases() -> None:
    depth = 60
    for sigma_w2, growing_towards_output in ((1.2, True), (2.5, False)):
        prof = mlp_grad_profile("tanh", sigma_w2, 0.05, depth)
        assert prof[-1] == 1.0
        chi = chi1("tanh", sigma_w2, 0.05)
        # Deep in the net q^l ≈ q*, so successive layers differ by exactly χ₁ (per squared norm).
        np.testing.assert_allclose(prof[30:-1] / prof[31:], chi, rtol=1e-6)
        steps = np.diff(prof[5:])
        assert np.all(steps > 0) if growing_towards_output else np.all(steps < 0)
        # Whole product, layer-by-layer: ‖∇W_1‖²/‖∇W_L‖² = Π_{l<L} χ^(l) · q0 / E[φ(√q^{L-1} z)²].
        q = q_trajectory("tanh", sigma_w2, 0.05, 1.0, depth)
        chis = [chi1("tanh", sigma_w2, 0.05, q=float(ql)) for ql in q[:-1]]
        act2_top = gaussian_expectation(lambda x: np.tanh(x) ** 2, q[-2])
        assert prof[0] == pytest.approx(math.prod(chis) / act2_top, rel=1e-9)
    norms = mlp_grad_norm_profile("tanh", 1.2, 0.05, depth)
    np.testing.assert_allclose(norms**2, mlp_grad_profile("tanh", 1.2, 0.05, depth), rtol=1e-12)


def _simulated_grad_profile(
    sigma_w2: float, sigma_b2: float, depth: int, width: int, batch: int, seed: int
) -> np.ndarray:
    """Mean over a batch of per-example ‖∇W_l‖² of a random tanh MLP, by manual backprop."""
    rng = np.random.default_rng(seed)
    h = rng.standard_normal((batch, width))  # input with mean square component q0 = 1
    acts, pres, weights = [h], [], []
    for _ in range(depth):
        w = rng.standard_normal((width, width)) * math.sqrt(sigma_w2 / width)
        b = rng.standard_normal(width) * math.sqrt(sigma_b2)
        z = h @ w.T + b
        h = np.tanh(z)
        weights.append(w)
        pres.append(z)
        acts.append(h)
    # Loss v·h^depth with a fresh random readout v per example, so the top layer's δ is not one
    # particular draw shared by all examples.
    v = rng.standard_normal((batch, width)) / math.sqrt(width)
    delta = (1 - np.tanh(pres[-1]) ** 2) * v
    grad2 = np.empty(depth)
    for layer in range(depth - 1, -1, -1):
        # Per-example ∇W = δ hᵀ is an outer product: ‖∇W‖² = ‖δ‖² ‖h‖².
        grad2[layer] = np.mean(np.sum(delta**2, 1) * np.sum(acts[layer] ** 2, 1))
        if layer:
            delta = (1 - np.tanh(pres[layer - 1]) ** 2) * (delta @ weights[layer])
    return grad2


@pytest.mark.slow
def test_mlp_grad_profile_matches_wide_net_simulation() -> None:
    sigma_w2, sigma_b2, depth = 1.5, 0.05, 10
    sims = [_simulated_grad_profile(sigma_w2, sigma_b2, depth, 1000, 32, s) for s in range(8)]
    mean = np.mean(sims, axis=0)
    measured = mean / mean[-1]
    predicted = mlp_grad_profile("tanh", sigma_w2, sigma_b2, depth, q0=1.0)
    # Tolerance 7%: single seeds scatter ~4% around the prediction (finite-width fluctuations of
    # q^l and of the readout), so 8 seeds leave ~1.5% noise, plus an O(1/width) bias of ~1–2%
    # measured during development. Plausible derivation errors are far outside it: using q*
    # instead of the layer-by-layer q^l is 2.4× off at layer 1, dropping the ‖φ(z^{l-1})‖²
    # factor 4× off.
    np.testing.assert_allclose(measured, predicted, rtol=0.07)
    assert predicted.min() < 0.8  # the profile really varies, so the match is not trivial


# ------------------------------------------------------------------------------------------
# RNN (Pascanu et al. 2013)
# ------------------------------------------------------------------------------------------


def _scaled_matrix(n: int, s_max: float, seed: int) -> np.ndarray:
    w = np.random.default_rng(seed).standard_normal((n, n))
    return w * (s_max / np.linalg.norm(w, 2))


def _rnn_states(w: np.ndarray, steps: int, seed: int) -> np.ndarray:
    """Pre-activation states x_0..x_{steps-1} of x_t = W tanh(x_{t-1}) + U u_t."""
    rng = np.random.default_rng(seed)
    n = w.shape[0]
    u = rng.standard_normal((n, 3)) * 0.8
    xs = [rng.standard_normal(n)]
    for _ in range(steps - 1):
        xs.append(w @ np.tanh(xs[-1]) + u @ rng.standard_normal(3))
    return np.array(xs)


def test_pascanu_vanishing_bound() -> None:
    w = _scaled_matrix(40, 0.9, seed=1)
    cond = pascanu_condition(w, "tanh")
    assert cond["s_max"] == pytest.approx(0.9)
    assert cond["gamma"] == 1.0
    assert cond["threshold"] == 1.0
    assert cond["regime"] == "vanishing"
    assert cond["eta"] == pytest.approx(0.9)
    norms = jacobian_product_norms(w, _rnn_states(w, 60, seed=2), "tanh")
    t = np.arange(1, 61)
    assert norms.shape == (60,)
    assert np.all(norms <= 0.9**t * (1 + 1e-10))
    assert norms[-1] < 1e-3  # it does vanish


def test_pascanu_regimes_for_sigmoid() -> None:
    assert pascanu_condition(_scaled_matrix(10, 3.0, 0), "sigmoid")["regime"] == "vanishing"
    cond = pascanu_condition(_scaled_matrix(10, 5.0, 0), "sigmoid")
    assert cond["threshold"] == 4.0
    assert cond["regime"] == "may_explode"
    assert cond["eta"] == pytest.approx(1.25)


def test_jacobian_product_norms_linear_is_matrix_power() -> None:
    w = _scaled_matrix(8, 1.3, seed=3)
    norms = jacobian_product_norms(w, np.zeros((6, 8)), "linear")
    expected = [np.linalg.norm(np.linalg.matrix_power(w, t), 2) for t in range(1, 7)]
    np.testing.assert_allclose(norms, expected, rtol=1e-12)


def test_jacobian_product_norms_match_finite_differences() -> None:
    # Differentiate the actual map x_0 ↦ x_T numerically: checks the W diag(σ') convention.
    rng = np.random.default_rng(4)
    n, steps = 6, 5
    w = rng.standard_normal((n, n)) * 0.7
    inputs = rng.standard_normal((steps, n)) * 0.3
    x0 = rng.standard_normal(n)

    def run(x: np.ndarray) -> list[np.ndarray]:
        xs = [x]
        for t in range(steps):
            xs.append(w @ np.tanh(xs[-1]) + inputs[t])
        return xs

    states = np.array(run(x0)[:-1])  # x_0..x_{T-1}
    h = 1e-6
    jac = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = h
        jac[:, j] = (run(x0 + e)[-1] - run(x0 - e)[-1]) / (2 * h)
    norms = jacobian_product_norms(w, states, "tanh")
    assert norms[-1] == pytest.approx(np.linalg.norm(jac, 2), rel=1e-6)


# ------------------------------------------------------------------------------------------
# Scalar toy (Pascanu et al. 2013, Fig. 6)
# ------------------------------------------------------------------------------------------


def test_toy_bifurcation_b() -> None:
    assert toy_bifurcation_b(5.0) == pytest.approx(-2.612, abs=1e-3)
    assert toy_bifurcation_b(5.0) == pytest.approx(0.5 - 5 * expit(0.5), rel=1e-12)
    xs = toy_trajectory(5.0, toy_bifurcation_b(5.0), 0.5, 10)
    np.testing.assert_allclose(xs, 0.5, atol=1e-9)  # x0 is a fixed point there


def test_toy_trajectory() -> None:
    xs = toy_trajectory(5.0, -1.0, 0.5, 3)
    assert xs.shape == (4,)
    x1 = 5 * expit(0.5) - 1.0
    assert xs[0] == 0.5
    assert xs[1] == pytest.approx(x1)
    assert xs[2] == pytest.approx(5 * expit(x1) - 1.0)


@pytest.mark.parametrize(("b", "activation"), [(-2.5, "sigmoid"), (-1.0, "sigmoid"), (0.1, "tanh")])
def test_toy_dxT_dx0_matches_finite_differences(b: float, activation: str) -> None:
    w, x0, steps, h = 5.0, 0.5, 20, 1e-6
    got = toy_dxT_dx0(w, b, x0, steps, activation)
    plus = toy_trajectory(w, b, x0 + h, steps, activation)[1:]
    minus = toy_trajectory(w, b, x0 - h, steps, activation)[1:]
    # atol: central differences lose all digits once |∂x_t/∂x_0| ≲ 1e-9 (round-off ~ eps/h).
    np.testing.assert_allclose(got, np.abs((plus - minus) / (2 * h)), rtol=1e-5, atol=1e-8)
    assert got[0] > 0.1  # the first steps are checked at full relative precision


def test_toy_grad_b_matches_finite_differences() -> None:
    b = np.array([-3.5, -2.7, -2.0, -1.0, 0.5])
    h = 1e-6
    loss, grad = toy_loss_and_grad_b(5.0, b)
    loss_plus, _ = toy_loss_and_grad_b(5.0, b + h)
    loss_minus, _ = toy_loss_and_grad_b(5.0, b - h)
    np.testing.assert_allclose(grad, (loss_plus - loss_minus) / (2 * h), rtol=1e-5, atol=1e-10)
    x_final = toy_trajectory(5.0, b, 0.5, 50)[-1]
    np.testing.assert_allclose(loss, (expit(x_final) - 0.7) ** 2, rtol=1e-12)


def test_toy_exploding_gradient_wall() -> None:
    b = np.linspace(-4.0, 0.0, 4001)
    _, grad = toy_loss_and_grad_b(5.0, b, x0=0.5, T=50, target=0.7)
    mag = np.abs(grad)
    assert b[np.argmax(mag)] == pytest.approx(-2.612, abs=0.1)
    assert mag.max() / np.median(mag) > 100


def _iterate(activation: str, sigma_w2: float, sigma_b2: float, q0: float) -> float:
    """Brute force: 4000 layers of the length map from q0 (inf once it passes 1e12)."""
    q = q0
    for _ in range(4000):
        q = float(length_map(activation, sigma_w2, sigma_b2, q))
        if q > 1e12:
            return math.inf
    return q


@pytest.mark.parametrize("sigma_w2", [1.5, 2.1, 2.2, 2.25, 2.3, 3.0])
def test_gelu_length_map_has_two_attractors_near_2_2(sigma_w2: float) -> None:
    """The GELU χ₁ jump near σ_w² ≈ 2.2 is no solver branch switch: for 2 < σ_w² < ~2.4 the map
    has a small stable q* and unbounded growth, split by an unstable fixed point; iterating
    from q = 1 (the solver and a net fed unit-variance inputs) lands in one or the other."""
    att = length_map_attractors("gelu", sigma_w2, 0.05)
    for q0 in (1e-3, 0.5, 1.0, 3.0, 100.0):
        q = _iterate("gelu", sigma_w2, 0.05, q0)
        assert any(q == a or (math.isfinite(a) and abs(q - a) < 1e-6 * a) for a in att), (q0, q)
    assert q_fixed_point("gelu", sigma_w2, 0.05) == pytest.approx(
        _iterate("gelu", sigma_w2, 0.05, 1.0), rel=1e-6
    )
    if 2.0 < sigma_w2 < 2.35:
        assert len(att) == 2 and math.isfinite(att[0]) and att[1] == math.inf
        # small inputs settle at q*, large ones grow: the phase depends on the input's variance
        assert _iterate("gelu", sigma_w2, 0.05, 1e-3) == pytest.approx(att[0], rel=1e-6)
        assert _iterate("gelu", sigma_w2, 0.05, 100.0) == math.inf
    chi = chi1_at_attractors("gelu", 0.05, [sigma_w2])[0]
    if len(att) == 2:
        assert chi[0] < 1 < chi[1]  # ordered on the small branch, chaotic on the other
    else:
        assert chi[0] == chi[1]


def test_the_solid_gelu_curve_jumps_where_q_1_changes_basin() -> None:
    grid = np.linspace(2.1, 2.35, 26)
    chi = chi1_curve("gelu", 0.05, grid)
    jump = int(np.argmax(np.diff(chi)))
    assert chi[jump + 1] - chi[jump] > 0.3  # the jump is real: ~0.72 to ~1.12
    ends = chi1_at_attractors("gelu", 0.05, grid)
    # below it the curve is the small-q branch, above it the unbounded one: both exist at both
    np.testing.assert_allclose(chi[: jump + 1], ends[: jump + 1, 0], rtol=1e-6)
    np.testing.assert_allclose(chi[jump + 1 :], ends[jump + 1 :, 1], rtol=1e-6)
    assert (ends[jump : jump + 2, 0] < 1).all() and (ends[jump : jump + 2, 1] > 1).all()


def test_tanh_and_relu_have_one_attractor() -> None:
    assert length_map_attractors("tanh", 1.0, 0.0) == [0.0]
    assert len(length_map_attractors("tanh", 1.5, 0.05)) == 1
    assert length_map_attractors("relu", 2.5, 0.05) == [math.inf]
    assert length_map_attractors("relu", 1.5, 0.1)[0] == pytest.approx(0.4, rel=1e-9)


def test_gradient_trend_names_the_chaotic_phase() -> None:
    chi = chi1("tanh", 6.0, 0.05)
    assert chi > 1 and depth_scale(chi) < 0  # ξ = −1/ln χ₁ is negative there
    assert gradient_trend(chi) == "grow"
    assert gradient_trend(chi1("tanh", 1.0, 0.05)) == "vanish"
    assert gradient_trend(1.0) == "critical"


def test_toy_saddle_nodes_bracket_the_basin_boundary() -> None:
    """docs/science.md: sigmoid, w = 5 is bistable for b ∈ (−2.656, −2.344); the ends have slope
    w σ'(x*) = 1 at a fixed point x* = w σ(x*) + b; the wall b = 0.5 − 5σ(0.5) lies inside."""
    from models.core.theory import toy_saddle_nodes, toy_wall_b

    lo, hi = toy_saddle_nodes(5.0)
    assert lo == pytest.approx(-2.656, abs=1e-3) and hi == pytest.approx(-2.344, abs=1e-3)
    for b in (lo, hi):
        xs = toy_trajectory(5.0, b, -3.0 if b > -2.5 else 3.0, 4000)  # creep onto the fold
        x = xs[-1]
        assert 5.0 * expit(x) * (1 - expit(x)) == pytest.approx(1.0, abs=0.05)
    assert lo < toy_wall_b(5.0) < hi
    assert toy_saddle_nodes(0.5) == ()  # w σ' ≤ 1/8 < 1: no fold, one stable state
    assert len(toy_saddle_nodes(3.0, "tanh")) == 2  # tanh folds symmetric about b = 0
    assert sum(toy_saddle_nodes(3.0, "tanh")) == pytest.approx(0.0, abs=1e-9)
    assert math.isnan(toy_wall_b(2.0))  # 2σ'(0.5) < 1: x0 is a stable fixed point, no wall

"""Closed-form and mean-field predictions of gradient flow, in plain numpy.

Mean-field theory of deep MLPs (Poole et al. 2016; Schoenholz et al. 2017), the RNN conditions of
Pascanu, Mikolov & Bengio 2013, and their scalar "exploding-gradient wall" toy. No torch here: the
dashboard plots these curves next to measured ones, and the tests check them against the papers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from numpy.polynomial.legendre import leggauss
from numpy.typing import ArrayLike, NDArray

from .activations import ACTIVATIONS as _REGISTRY
from .activations import ELU_ALPHA, LEAKY_SLOPE  # noqa: F401 (public constants)

FloatArray = NDArray[np.float64]
_SQRT_2PI = math.sqrt(2.0 * math.pi)


def _normal_pdf(x: FloatArray) -> FloatArray:
    return np.exp(-0.5 * x * x) / _SQRT_2PI


# Every registered activation (``models.core.activations``): φ, φ′ and the max slope come from
# its entry, so a newly registered one has its mean-field theory at once.
ACTIVATIONS = _REGISTRY

# Evaluate "q = ∞" at this q: φ' is then a step function to double precision for every activation
# here, while √q·z stays finite (inf·0 would give nan inside φ(x) = x·Φ(x) and the like).
_Q_INFINITE = 1e12
_Q_HUGE = 1e30  # q beyond this counts as diverged (no finite fixed point)
_Q_TINY = 1e-30  # q below this counts as the fixed point q* = 0


def _check(name: str) -> None:
    """Raise ValueError (ConfigError) for an activation name no entry has."""
    _REGISTRY[name]


def phi(name: str, x: ArrayLike) -> FloatArray:
    """Activation φ(x), vectorised; same definitions as the torch functions the engine uses."""
    return np.asarray(_REGISTRY[name].phi(np.asarray(x, dtype=float)), dtype=float)


def dphi(name: str, x: ArrayLike) -> FloatArray:
    """Derivative φ'(x), vectorised; kinks at 0 take the left slope, as torch's autograd does."""
    out = _REGISTRY[name].dphi(np.asarray(x, dtype=float))
    return np.broadcast_to(np.asarray(out, dtype=float), np.shape(x)).copy()


def _bisect(f: Callable[[float], float], lo: float, hi: float, tol: float = 1e-12) -> float:
    """Root of f in [lo, hi], given f(lo) and f(hi) of opposite signs."""
    f_lo = f(lo)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        f_mid = f(mid)
        if (f_mid < 0) == (f_lo < 0):
            lo, f_lo = mid, f_mid
        else:
            hi = mid
        if hi - lo <= tol * max(1.0, abs(mid)):
            break
    return 0.5 * (lo + hi)


def max_slope(name: str) -> float:
    """γ = sup |φ'(x)|: the per-step bound on the Jacobian in Pascanu et al.'s argument."""
    entry = _REGISTRY[name]
    return float(entry.max_slope) if entry.max_slope is not None else _scanned_max_slope(entry)


@lru_cache(maxsize=16)
def _scanned_max_slope(entry) -> float:
    """sup |φ′| of an entry that gives none: a dense scan of [−20, 20], refined by golden-section
    search around the best point (φ′ is smooth there, or piecewise constant)."""
    grid = np.linspace(-20.0, 20.0, 40001)
    slopes = np.abs(np.asarray(entry.dphi(grid), dtype=float))
    i = int(np.argmax(slopes))
    lo, hi = float(grid[max(i - 1, 0)]), float(grid[min(i + 1, len(grid) - 1)])
    golden = (math.sqrt(5.0) - 1.0) / 2.0

    def f(x: float) -> float:
        return float(abs(entry.dphi(np.float64(x))))

    for _ in range(100):
        a, b = hi - golden * (hi - lo), lo + golden * (hi - lo)
        if f(a) >= f(b):
            hi = b
        else:
            lo = a
    return max(float(slopes[i]), f(0.5 * (lo + hi)))


# --------------------------------------------------------------------------------------------
# Mean field (Poole et al. 2016; Schoenholz et al. 2017)
# --------------------------------------------------------------------------------------------

DEFAULT_QUAD_POINTS = 200
_Z_MAX = 10.0  # P(|z| > 10) ≈ 1.5e-23: far below double-precision relevance


@lru_cache(maxsize=8)
def _gauss_rule(n_points: int) -> tuple[FloatArray, FloatArray]:
    """Nodes and weights integrating g(z)·N(z; 0, 1) over [−10, 0] ∪ [0, 10]."""
    # Gauss–Legendre on each half-line rather than Gauss–Hermite on the whole line: the
    # piecewise activations have kinks at 0, where Gauss–Hermite converges only algebraically
    # (E[elu'(z)²] is off by 3e-3 with 101 nodes); split at the kink, each piece is smooth and
    # the error falls to ~1e-14. Legendre nodes also crowd towards 0, resolving tanh'(√q z)² at
    # large q (Gauss–Hermite-101 is off by 4e-3 there at q = 10). Smooth cases agree to 1e-10.
    x, w = leggauss(n_points)
    z = 0.5 * _Z_MAX * (x + 1.0)
    w = 0.5 * _Z_MAX * w * _normal_pdf(z)
    nodes = np.concatenate([-z[::-1], z])
    weights = np.concatenate([w[::-1], w])
    return nodes, weights


def gaussian_expectation(
    f: Callable[[FloatArray], FloatArray],
    q: ArrayLike,
    n_points: int = DEFAULT_QUAD_POINTS,
) -> float | FloatArray:
    """E[f(√q·z)] for z ~ N(0, 1); q may be an array (one expectation per entry)."""
    nodes, weights = _gauss_rule(n_points)
    q_arr = np.asarray(q, dtype=float)
    if np.any(q_arr < 0):
        raise ValueError("q is a variance and must be ≥ 0")
    values = f(np.sqrt(q_arr)[..., None] * nodes) @ weights
    return float(values) if values.ndim == 0 else values


def length_map(
    activation: str, sigma_w2: float, sigma_b2: float, q: ArrayLike
) -> float | FloatArray:
    """One layer of the variance recursion: q' = σ_w² E[φ(√q z)²] + σ_b²."""
    _check(activation)
    return sigma_w2 * gaussian_expectation(lambda x: phi(activation, x) ** 2, q) + sigma_b2


def q_trajectory(
    activation: str, sigma_w2: float, sigma_b2: float, q0: float, depth: int
) -> FloatArray:
    """Pre-activation variances q¹..q^depth of a net fed inputs with mean square component q0."""
    _check(activation)
    q = np.empty(depth)
    if depth == 0:
        return q
    # Layer 1 multiplies the raw input (no φ in front of it), so E[x_i²] = q0 enters linearly.
    q[0] = sigma_w2 * q0 + sigma_b2
    for layer in range(1, depth):
        q[layer] = length_map(activation, sigma_w2, sigma_b2, q[layer - 1])
    return q


def q_fixed_point(
    activation: str,
    sigma_w2: float,
    sigma_b2: float,
    q_init: float = 1.0,
    tol: float = 1e-12,
    max_iter: int = 500,
) -> float:
    """The stable fixed point q* reached by iterating the length map from q_init.

    Returns inf when q grows without bound (e.g. relu with σ_w² ≥ 2 and σ_b² > 0: no finite q*).
    """
    _check(activation)

    def gap(q: float) -> float:
        return float(length_map(activation, sigma_w2, sigma_b2, q)) - q

    # Iterating (rather than plain root finding) picks the *stable* fixed point a deep net
    # converges to, e.g. q* > 0 and not the unstable q = 0 for tanh with σ_w² > 1, σ_b² = 0.
    q = q_prev = float(q_init)
    for _ in range(max_iter):
        q_new = float(length_map(activation, sigma_w2, sigma_b2, q))
        if not math.isfinite(q_new) or q_new > _Q_HUGE:
            return math.inf
        if abs(q_new - q) <= tol * max(1.0, q):
            return q_new
        q_prev, q = q, q_new
    # Still moving: convergence is only algebraic near a bifurcation (tanh, σ_b² = 0, σ_w² ≈ 1)
    # or q grows linearly (relu, σ_w² = 2, σ_b² > 0). The length map is increasing, so the
    # iterates are monotone and q* is the first root of gap in the direction of travel: bracket
    # it geometrically, then bisect.
    if q >= q_prev:
        lo = hi = q
        while gap(hi) > 0:
            lo, hi = hi, 2.0 * hi
            if hi > _Q_HUGE:
                return math.inf
    else:
        lo = hi = q
        while gap(lo) < 0:
            lo, hi = 0.5 * lo, lo
            if lo < _Q_TINY:
                return 0.0  # falling towards q* = 0 (σ_b² = 0, ordered phase)
    return _bisect(gap, lo, hi) if hi > lo else lo


def chi1(activation: str, sigma_w2: float, sigma_b2: float, q: float | None = None) -> float:
    """χ₁ = σ_w² E[φ'(√q z)²] at the fixed point q* (or at the given q): per-layer gain of ‖δ‖²."""
    _check(activation)
    if _REGISTRY[activation].scale_free_slope:
        q = 1.0  # E[φ'²] does not depend on q; skip the (possibly divergent) fixed point
    elif q is None:
        q = q_fixed_point(activation, sigma_w2, sigma_b2)
    if not math.isfinite(q):
        q = _Q_INFINITE  # the q → ∞ limit, where φ' has become a step function
    return sigma_w2 * float(gaussian_expectation(lambda x: dphi(activation, x) ** 2, q))


def chi1_curve(activation: str, sigma_b2: float, sigma_w2_grid: ArrayLike) -> FloatArray:
    """χ₁ at the fixed point for each σ_w² of a grid (for the phase-diagram plot)."""
    grid = np.asarray(sigma_w2_grid, dtype=float)
    return np.array([chi1(activation, float(s), sigma_b2) for s in grid.ravel()]).reshape(
        grid.shape
    )


def critical_sigma_w2(activation: str, sigma_b2: float, lo: float = 0.1, hi: float = 10.0) -> float:
    """Smallest σ_w² in [lo, hi] with χ₁ = 1 (edge of chaos); nan if χ₁ never crosses 1 there."""
    _check(activation)

    def gap(sigma_w2: float) -> float:
        return chi1(activation, sigma_w2, sigma_b2) - 1.0

    # Scan first so a root is bracketed even if χ₁(σ_w²) were not monotone, and so activations
    # that never reach χ₁ = 1 in range (sigmoid: χ₁ ≤ σ_w²/16) give nan instead of a bad root.
    grid = np.geomspace(lo, hi, 41)
    gaps = [gap(float(s)) for s in grid]
    for i in range(len(grid) - 1):
        if gaps[i] == 0.0:
            return float(grid[i])
        if (gaps[i] < 0) != (gaps[i + 1] < 0):
            return _bisect(gap, float(grid[i]), float(grid[i + 1]))
    return float(grid[-1]) if gaps[-1] == 0.0 else math.nan


def depth_scale(chi: ArrayLike) -> float | FloatArray:
    """ξ = −1/ln χ₁: layers over which ‖δ‖² changes by e (inf at χ₁ = 1; negative if it grows)."""
    chi_arr = np.asarray(chi, dtype=float)
    with np.errstate(divide="ignore"):
        log_chi = np.log(chi_arr)
        xi = np.where(log_chi == 0.0, np.inf, -1.0 / np.where(log_chi == 0.0, 1.0, log_chi))
    return float(xi) if xi.ndim == 0 else xi


def gradient_trend(chi: float) -> str:
    """How squared gradient norms move with depth: "vanish" (χ₁ < 1, ordered), "grow" (χ₁ > 1,
    chaotic: ξ = −1/ln χ₁ is then negative and |ξ| layers make one e-fold of growth) or
    "critical" (χ₁ = 1 to 1e-9)."""
    if not math.isfinite(chi) or chi > 1 + 1e-9:
        return "grow"
    return "vanish" if chi < 1 - 1e-9 else "critical"


_SCAN_Q = np.geomspace(1e-8, 1e8, 321)  # q grid on which the length map's fixed points are sought


def length_map_attractors(activation: str, sigma_w2: float, sigma_b2: float) -> list[float]:
    """Every state the variance recursion can settle in, from the smallest q up: stable finite
    fixed points, 0 (q falls to zero: σ_b² = 0, ordered) and inf (q grows without bound).

    Found by scanning q' − q over 1e-8..1e8 and bisecting each + to − crossing. More than one
    entry means the map is bistable: which state a net reaches depends on its input variance (GELU,
    SiLU and ELU near σ_w² ≈ 2: a small-q fixed point and unbounded growth coexist).
    """
    _check(activation)
    gap = sigma_w2 * _mean_phi2_on_scan(activation) + sigma_b2 - _SCAN_Q
    out: list[float] = [0.0] if gap[0] < 0 else []

    def g(q: float) -> float:
        return float(length_map(activation, sigma_w2, sigma_b2, q)) - q

    for i in np.nonzero((gap[:-1] > 0) & (gap[1:] <= 0))[0]:
        out.append(_bisect(g, float(_SCAN_Q[i]), float(_SCAN_Q[i + 1])))
    if gap[-1] > 0:
        out.append(math.inf)
    return out


@lru_cache(maxsize=16)
def _mean_phi2_on_scan(activation: str) -> FloatArray:
    """E[φ(√q z)²] on the scan grid: the length map for any σ_w², σ_b² is affine in it."""
    return np.asarray(gaussian_expectation(lambda x: phi(activation, x) ** 2, _SCAN_Q))


def chi1_at_attractors(activation: str, sigma_b2: float, sigma_w2_grid: ArrayLike) -> FloatArray:
    """(len(grid), 2): χ₁ at the smallest and the largest attractor of the length map per σ_w²
    (equal where there is only one). Where they differ, a net fed small inputs and one fed large
    inputs sit in different phases at the same σ_w²."""
    grid = np.asarray(sigma_w2_grid, dtype=float).ravel()
    out = np.empty((grid.size, 2))
    for i, s in enumerate(grid):
        att = length_map_attractors(activation, float(s), sigma_b2)
        out[i] = [chi1(activation, float(s), sigma_b2, q=q) for q in (att[0], att[-1])]
    return out


def mlp_grad_profile(
    activation: str, sigma_w2: float, sigma_b2: float, depth: int, q0: float = 1.0
) -> FloatArray:
    """Predicted ‖∇W_l‖² of hidden layers l = 1..depth at initialisation; layer depth scaled to 1.

    Weights N(0, σ_w²/fan_in), biases N(0, σ_b²), equal widths, mean square input component q0.
    """
    _check(activation)
    if depth < 1:
        raise ValueError("depth must be ≥ 1")
    # Forward: z^l = W_l φ(z^{l-1}) + b_l with φ(z^0) := x, so z^l_i ~ N(0, q^l) with q^l from
    # the layer-by-layer recursion (not q*: near criticality q^l approaches q* only slowly).
    q = q_trajectory(activation, sigma_w2, sigma_b2, q0, depth)
    # Backward: δ_l = φ'(z^l) ⊙ W_{l+1}^T δ_{l+1}. With W_{l+1} independent of z^l (the usual
    # mean-field gradient-independence assumption), ‖W^T δ‖² ≈ σ_w² ‖δ‖² and each component is
    # scaled by an independent φ'(z^l_i)², so ‖δ_l‖² = χ^(l) ‖δ_{l+1}‖² with
    # χ^(l) = σ_w² E[φ'(√q^l z)²].
    chi_layer = sigma_w2 * np.asarray(
        gaussian_expectation(lambda x: dphi(activation, x) ** 2, q), dtype=float
    )
    delta2 = np.ones(depth)  # ‖δ_depth‖² is set by the readout; it cancels in the normalisation
    for layer in range(depth - 2, -1, -1):  # 0-based index: layer l is index l − 1
        delta2[layer] = chi_layer[layer] * delta2[layer + 1]
    # ∇W_l = δ_l φ(z^{l-1})^T is an outer product, so ‖∇W_l‖² = ‖δ_l‖² ‖φ(z^{l-1})‖², with
    # ‖φ(z^{l-1})‖²/n = E[φ(√q^{l-1} z)²] for l ≥ 2 and ‖x‖²/n = q0 for l = 1.
    act2 = np.empty(depth)
    act2[0] = q0
    if depth > 1:
        act2[1:] = gaussian_expectation(lambda x: phi(activation, x) ** 2, q[:-1])
    grad2 = delta2 * act2
    return grad2 / grad2[-1]


def mlp_grad_norm_profile(
    activation: str, sigma_w2: float, sigma_b2: float, depth: int, q0: float = 1.0
) -> FloatArray:
    """Predicted ‖∇W_l‖ (norms, not squared) for l = 1..depth, scaled so layer depth = 1."""
    return np.sqrt(mlp_grad_profile(activation, sigma_w2, sigma_b2, depth, q0))


# --------------------------------------------------------------------------------------------
# Recurrent nets (Pascanu, Mikolov & Bengio 2013)
# --------------------------------------------------------------------------------------------


def pascanu_condition(W: ArrayLike, activation: str) -> dict[str, float | str]:
    """Compare W's largest singular value with 1/γ: below is sufficient for vanishing gradients."""
    s_max = float(np.linalg.norm(np.asarray(W, dtype=float), 2))
    gamma = max_slope(activation)
    threshold = 1.0 / gamma
    # s_max ≥ 1/γ does not mean gradients explode, only that the necessary condition holds.
    regime = "vanishing" if s_max < threshold else "may_explode"
    return {
        "s_max": s_max,
        "gamma": gamma,
        "threshold": threshold,
        "regime": regime,
        "eta": s_max * gamma,  # ‖∂x_t/∂x_{t-1}‖ ≤ ‖W‖‖diag σ'‖ ≤ η, so ‖∂x_t/∂x_k‖ ≤ η^{t−k}
    }


def jacobian_product_norms(W: ArrayLike, pre_activations: ArrayLike, activation: str) -> FloatArray:
    """‖∂x_t/∂x_0‖₂ for t = 1..T of x_t = W σ(x_{t-1}) + …, given states x_0..x_{T-1} (T, n)."""
    W = np.asarray(W, dtype=float)
    states = np.atleast_2d(np.asarray(pre_activations, dtype=float))
    n = W.shape[0]
    product = np.eye(n)
    norms = np.empty(states.shape[0])
    for t, x_prev in enumerate(states):
        # ∂x_t/∂x_{t-1} = W diag(σ'(x_{t-1})): scale W's columns, then prepend to the product.
        product = (W * dphi(activation, x_prev)[None, :]) @ product
        norms[t] = np.linalg.norm(product, 2)
    return norms


# --------------------------------------------------------------------------------------------
# Scalar toy x_t = w σ(x_{t-1}) + b (Pascanu et al. 2013, Fig. 6)
# --------------------------------------------------------------------------------------------


def toy_trajectory(
    w: float, b: ArrayLike, x0: float, T: int, activation: str = "sigmoid"
) -> FloatArray:
    """States x_0..x_T of x_t = w φ(x_{t-1}) + b (length T + 1; b may be an array)."""
    b_arr = np.asarray(b, dtype=float)
    xs = np.empty((T + 1, *b_arr.shape))
    xs[0] = x0
    for t in range(1, T + 1):
        xs[t] = w * phi(activation, xs[t - 1]) + b_arr
    return xs


def toy_dxT_dx0(w: float, b: float, x0: float, T: int, activation: str = "sigmoid") -> FloatArray:
    """|∂x_t/∂x_0| for t = 1..T: the running product of w φ'(x_{t-1})."""
    xs = toy_trajectory(w, b, x0, T, activation)
    return np.abs(np.cumprod(w * dphi(activation, xs[:-1]), axis=0))


def toy_loss_and_grad_b(
    w: float,
    b_values: ArrayLike,
    x0: float = 0.5,
    T: int = 50,
    target: float = 0.7,
    activation: str = "sigmoid",
) -> tuple[FloatArray, FloatArray]:
    """Loss (φ(x_T) − target)² and dloss/db for each b, by forward-mode differentiation."""
    b = np.asarray(b_values, dtype=float)
    x = np.full(b.shape, float(x0))
    dx_db = np.zeros(b.shape)  # x_0 does not depend on b
    for _ in range(T):
        # Update the derivative with x_{t-1} before overwriting it: dx_t/db = w φ'(x_{t-1})
        # dx_{t-1}/db + 1. Forward mode keeps the whole sweep over b vectorised.
        dx_db = w * dphi(activation, x) * dx_db + 1.0
        x = w * phi(activation, x) + b
    residual = phi(activation, x) - target
    loss = residual**2
    grad = 2.0 * residual * dphi(activation, x) * dx_db
    return loss, grad


def toy_basin_boundary_b(w: float, x0: float = 0.5, activation: str = "sigmoid") -> float:
    """The b at which x0 is a fixed point of x ↦ w φ(x) + b: where the gradient wall sits.

    For w = 5 (sigmoid) this fixed point is unstable (slope 5σ'(0.5) ≈ 1.18): it is the boundary
    between the basins of the two stable states, so x_T jumps as b moves x0 across it,
    b = x0 − w σ(x0) ≈ −2.612 (Pascanu et al. 2013, §2.2; docs/science.md). Not a bifurcation.
    """
    return float(x0 - w * phi(activation, x0))


def toy_bifurcation_b(w: float, x0: float = 0.5, activation: str = "sigmoid") -> float:
    """Former name of ``toy_basin_boundary_b`` (that b is a basin boundary, not a bifurcation)."""
    return toy_basin_boundary_b(w, x0, activation)


def toy_wall_b(w: float, x0: float = 0.5, activation: str = "sigmoid") -> float:
    """The b of the gradient wall, or nan where there is none.

    The wall is the basin boundary ``toy_basin_boundary_b``; it only exists where x0 would be an
    *unstable* fixed point, |w φ'(x0)| > 1 (w = 0, or a stable x0: nothing separates basins there).
    """
    slope = abs(w * float(dphi(activation, x0)))
    return toy_basin_boundary_b(w, x0, activation) if slope > 1.0 else math.nan


def toy_saddle_nodes(w: float, activation: str = "sigmoid") -> tuple[float, ...]:
    """The b values where x ↦ w φ(x) + b has a saddle-node bifurcation (w φ'(x*) = 1).

    Between them the map is bistable (two stable states and an unstable one); for sigmoid with
    w = 5 that is b ∈ (−2.656, −2.344) (docs/science.md). Sorted; empty when there are none.
    """
    _check(activation)
    # Fixed points with slope 1 solve w φ'(x) = 1; the b that makes x a fixed point is
    # x − w φ(x). Find every root of w φ'(x) − 1 on a fine grid, then bisect.
    xs = np.linspace(-50.0, 50.0, 20001)
    g = w * dphi(activation, xs) - 1.0
    out = []
    for i in np.flatnonzero(np.sign(g[:-1]) * np.sign(g[1:]) < 0):

        def gap(x: float) -> float:
            return float(w * dphi(activation, x) - 1.0)

        x = _bisect(gap, float(xs[i]), float(xs[i + 1]))
        out.append(float(x - w * phi(activation, x)))
    return tuple(sorted(out))


# --- correlation depth scale (Schoenholz et al. 2017, Eq. 5 and 9; phase diagrams) ------------

_PAIR_QUAD_POINTS = 48  # per half-line: a 96 × 96 product rule for the two-input expectations


def _pair_expectation(
    f: Callable[[FloatArray], FloatArray],
    g: Callable[[FloatArray], FloatArray],
    q: float,
    c: float,
) -> float:
    """E[f(u₁) g(u₂)] for u₁ = √q z₁, u₂ = √q (c z₁ + √(1−c²) z₂), z₁, z₂ ~ N(0, 1)."""
    nodes, weights = _gauss_rule(_PAIR_QUAD_POINTS)
    z1, z2 = nodes[:, None], nodes[None, :]  # (n, 1), (1, n)
    s = math.sqrt(q)
    u1 = s * z1
    u2 = s * (c * z1 + math.sqrt(max(0.0, 1.0 - c * c)) * z2)  # (n, n)
    return float(weights @ (f(u1) * g(u2)) @ weights)


def correlation_fixed_point(activation: str, sigma_w2: float, sigma_b2: float) -> float:
    """The stable fixed point c* of the correlation map between two inputs at q*.

    c* = 1 in the ordered phase (χ₁ ≤ 1: inputs become alike); c* < 1 in the chaotic phase.
    """
    _check(activation)
    if chi1(activation, sigma_w2, sigma_b2) <= 1.0:
        return 1.0
    q = q_fixed_point(activation, sigma_w2, sigma_b2)
    if not math.isfinite(q) or q <= _Q_TINY:
        return 1.0

    def gap(c: float) -> float:
        fc = _pair_expectation(lambda x: phi(activation, x), lambda x: phi(activation, x), q, c)
        return (sigma_w2 * fc + sigma_b2) / q - c

    # c = 1 is a fixed point that repels (slope χ₁ > 1), so gap < 0 just below 1; c* is the root
    # below it (gap(0) ≥ 0 for σ_b² ≥ 0 and odd φ)
    hi = 1.0 - 1e-9
    if gap(0.0) <= 0.0:
        return 0.0
    return _bisect(gap, 0.0, hi, tol=1e-10)


def chi_c(activation: str, sigma_w2: float, sigma_b2: float) -> float:
    """χ_c = σ_w² E[φ'(u₁) φ'(u₂)] at (q*, c*): the slope of the correlation map at c*."""
    c = correlation_fixed_point(activation, sigma_w2, sigma_b2)
    if c >= 1.0:
        return chi1(activation, sigma_w2, sigma_b2)
    q = q_fixed_point(activation, sigma_w2, sigma_b2)
    d = lambda x: dphi(activation, x)  # noqa: E731
    return sigma_w2 * _pair_expectation(d, d, q, c)


def xi_c(activation: str, sigma_w2: float, sigma_b2: float) -> float:
    """Correlation depth scale ξ_c = −1/ln χ_c (inf at the edge of chaos, where χ_c = χ₁ = 1).

    Schoenholz et al. 2017: a net trains only while its depth is ≲ 6 ξ_c.
    """
    chi = chi_c(activation, sigma_w2, sigma_b2)
    if chi <= 0.0:
        return 0.0
    return math.inf if chi == 1.0 else abs(-1.0 / math.log(chi))


def trainable_depth_curve(
    activation: str, sigma_b2: float, sigma_w2_grid: ArrayLike, factor: float = 6.0
) -> FloatArray:
    """``factor`` × ξ_c for each σ_w² of a grid: the phase diagram's trainable-depth curve."""
    grid = np.asarray(sigma_w2_grid, dtype=float)
    return np.array([factor * xi_c(activation, float(s), sigma_b2) for s in grid.ravel()]).reshape(
        grid.shape
    )

"""The activation registry: every non-linearity the engine knows, and everything about it.

An entry carries the torch function (nets, the autograd path), its hand-written derivative where
there is one (the fast path; TorchScript-compatible), the numpy φ and φ′ the mean-field integrals
use, its maximum slope, how saturation is counted, whether a vanilla RNN may use it, its relative
cost and a one-line description for the UI. Add an activation by registering one entry here (or
anywhere: ``ACTIVATIONS.register``); without ``grad`` it trains through autograd.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike, NDArray
from scipy.special import erf, expit
from torch import Tensor

from .registry import Registry

FloatArray = NDArray[np.float64]
LEAKY_SLOPE = 0.01  # torch.nn.LeakyReLU default
ELU_ALPHA = 1.0  # torch.nn.ELU default
_SQRT_2PI = math.sqrt(2.0 * math.pi)


@dataclass(frozen=True)
class Activation:
    """One non-linearity φ."""

    name: str
    fn: Callable[[Tensor], Tensor]  # φ on tensors (autograd differentiates it)
    phi: Callable[[FloatArray], FloatArray]  # φ on float64 arrays (mean-field theory)
    dphi: Callable[[FloatArray], FloatArray]  # φ′; at a kink the left slope, as autograd takes
    description: str  # one line for the UI
    # dL/dz from (dL/da, z, a = φ(z)) by hand, TorchScript-compatible; None: autograd only
    grad: Callable[[Tensor, Tensor, Tensor], Tensor] | None = None
    grad_reads_input: bool = True  # grad needs z (False: a = φ(z) suffices, z need not be kept)
    max_slope: float | None = None  # sup |φ′|; None: theory.max_slope finds it numerically
    # saturation metric: "slope" (|φ′| < 10% of its max), "dead" (never active on the batch),
    # "none" (a linear unit never saturates)
    saturation: str = "slope"
    saturated_beyond: float | None = None  # slope monotone in |z|: the |z| where "slope" trips
    scale_free_slope: bool = False  # φ′(c·x) = φ′(x) for c > 0: χ₁ does not depend on q
    recurrent: bool = False  # allowed as the vanilla RNN cell's non-linearity
    rnn_kernel: str | None = None  # PyTorch's fused vanilla RNN kernel of this φ (rnn_<name>)
    flops: int = 4  # element-wise FLOPs per unit, forward and backward (the budget's cost)
    featured: bool = False  # drawn by default on the theory page


ACTIVATIONS: Registry[Activation] = Registry("activation")


def _normal_cdf(x: FloatArray) -> FloatArray:
    return 0.5 * (1.0 + erf(x / math.sqrt(2.0)))


def _normal_pdf(x: FloatArray) -> FloatArray:
    return np.exp(-0.5 * x * x) / _SQRT_2PI


def _arr(x: ArrayLike) -> FloatArray:
    return np.asarray(x, dtype=float)


# --- torch functions and hand-written derivatives (each the kernel autograd itself would call) ---


def _sigmoid(z: Tensor) -> Tensor:
    return torch.sigmoid(z)


def _sigmoid_grad(g: Tensor, z: Tensor, a: Tensor) -> Tensor:
    return torch.ops.aten.sigmoid_backward(g, a)


def _tanh(z: Tensor) -> Tensor:
    return torch.tanh(z)


def _tanh_grad(g: Tensor, z: Tensor, a: Tensor) -> Tensor:
    return torch.ops.aten.tanh_backward(g, a)


def _relu(z: Tensor) -> Tensor:
    return torch.relu(z)


def _relu_grad(g: Tensor, z: Tensor, a: Tensor) -> Tensor:
    return torch.ops.aten.threshold_backward(g, a, 0.0)


def _leaky(z: Tensor) -> Tensor:
    return F.leaky_relu(z, 0.01)


def _leaky_grad(g: Tensor, z: Tensor, a: Tensor) -> Tensor:
    return torch.ops.aten.leaky_relu_backward(g, z, 0.01, False)


def _gelu(z: Tensor) -> Tensor:
    return F.gelu(z)


def _gelu_grad(g: Tensor, z: Tensor, a: Tensor) -> Tensor:
    return torch.ops.aten.gelu_backward(g, z)


def _elu(z: Tensor) -> Tensor:
    return F.elu(z)


def _elu_grad(g: Tensor, z: Tensor, a: Tensor) -> Tensor:
    return torch.ops.aten.elu_backward(g, 1.0, 1.0, 1.0, False, z)


def _silu(z: Tensor) -> Tensor:
    return F.silu(z)


def _silu_grad(g: Tensor, z: Tensor, a: Tensor) -> Tensor:
    return torch.ops.aten.silu_backward(g, z)


def _identity(z: Tensor) -> Tensor:
    return z


def _identity_grad(g: Tensor, z: Tensor, a: Tensor) -> Tensor:
    return g


# --- closed forms of the maximum slopes ---------------------------------------------------------


def _gelu_max_slope() -> float:
    # d/dx [Φ + xφ] = φ(x)(2 − x²) = 0 at x = √2
    x = math.sqrt(2.0)
    return float(_normal_cdf(np.float64(x)) + x * _normal_pdf(np.float64(x)))


def _silu_max_slope() -> float:
    # silu'' = σ'(x)(2 + x(1 − 2σ(x))) = 0  ⇔  x·tanh(x/2) = 2, one root on (2, 3): bisect it
    lo, hi = 2.0, 3.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid * math.tanh(0.5 * mid) < 2.0:
            lo = mid
        else:
            hi = mid
    s = 1.0 / (1.0 + math.exp(-lo))
    return s * (1.0 + lo * (1.0 - s))


for _entry in (
    Activation(
        "sigmoid",
        _sigmoid,
        lambda x: expit(_arr(x)),
        lambda x: expit(_arr(x)) * (1.0 - expit(_arr(x))),
        "logistic 1/(1+e^−z): slope at most 1/4, saturates at both ends",
        grad=_sigmoid_grad,
        grad_reads_input=False,
        max_slope=0.25,
        # σ(z)(1 − σ(z)) = 0.025 at σ = (1 + √0.9)/2, i.e. z = logit of that ≈ 3.64
        saturated_beyond=math.log((1 + math.sqrt(0.9)) / (1 - math.sqrt(0.9))),
        recurrent=True,
        flops=8,
        featured=True,
    ),
    Activation(
        "tanh",
        _tanh,
        lambda x: np.tanh(_arr(x)),
        lambda x: 1.0 - np.tanh(_arr(x)) ** 2,
        "hyperbolic tangent: zero-centred, slope 1 at 0, saturates at ±1",
        grad=_tanh_grad,
        grad_reads_input=False,
        max_slope=1.0,
        saturated_beyond=math.atanh(math.sqrt(0.9)),  # 1 − tanh² = 0.1 at |z| ≈ 1.82
        recurrent=True,
        rnn_kernel="tanh",
        flops=8,
        featured=True,
    ),
    Activation(
        "relu",
        _relu,
        lambda x: np.maximum(_arr(x), 0.0),
        lambda x: (_arr(x) > 0).astype(float),
        "max(0, z): slope 1 where active, 0 elsewhere (units can die)",
        grad=_relu_grad,
        grad_reads_input=False,
        max_slope=1.0,
        saturation="dead",
        scale_free_slope=True,
        recurrent=True,
        rnn_kernel="relu",
        flops=2,
        featured=True,
    ),
    Activation(
        "leaky_relu",
        _leaky,
        lambda x: np.where(_arr(x) > 0, _arr(x), LEAKY_SLOPE * _arr(x)),
        lambda x: np.where(_arr(x) > 0, 1.0, LEAKY_SLOPE),
        "ReLU with slope 0.01 below 0: no unit is ever exactly dead",
        grad=_leaky_grad,
        max_slope=1.0,
        saturation="dead",
        scale_free_slope=True,
        flops=3,
    ),
    Activation(
        "gelu",
        _gelu,
        lambda x: _arr(x) * _normal_cdf(_arr(x)),  # exact (erf), torch's default
        lambda x: _normal_cdf(_arr(x)) + _arr(x) * _normal_pdf(_arr(x)),
        "z·Φ(z), the Gaussian error linear unit (transformers' default)",
        grad=_gelu_grad,
        max_slope=_gelu_max_slope(),
        flops=12,
        featured=True,
    ),
    Activation(
        "elu",
        _elu,
        # expm1 of min(x, 0) avoids overflow warnings from the branch np.where discards
        lambda x: np.where(_arr(x) > 0, _arr(x), ELU_ALPHA * np.expm1(np.minimum(_arr(x), 0.0))),
        lambda x: np.where(_arr(x) > 0, 1.0, ELU_ALPHA * np.exp(np.minimum(_arr(x), 0.0))),
        "z above 0, e^z − 1 below: smooth negative saturation at −1",
        grad=_elu_grad,
        max_slope=1.0,
        flops=8,
    ),
    Activation(
        "silu",
        _silu,
        lambda x: _arr(x) * expit(_arr(x)),
        lambda x: expit(_arr(x)) * (1.0 + _arr(x) * (1.0 - expit(_arr(x)))),
        "z·σ(z) (swish): smooth, non-monotone just below 0",
        grad=_silu_grad,
        max_slope=_silu_max_slope(),
        flops=10,
    ),
    Activation(
        "linear",
        _identity,
        lambda x: _arr(x).copy(),
        lambda x: np.ones_like(_arr(x)),
        "the identity: a deep linear net (no saturation, no non-linearity)",
        grad=_identity_grad,
        grad_reads_input=False,
        max_slope=1.0,
        saturation="none",
        scale_free_slope=True,
        flops=0,
    ),
):
    ACTIVATIONS.register(_entry)

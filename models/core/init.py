"""Weight initialisation registries, drawn per seed from that seed's own generator.

``WEIGHT_INITS``: the ``init`` field (every weight matrix but W_hh, and the biases);
``RECURRENT_INITS``: the ``recurrent_init`` field (each gate's H×H block of W_hh).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from .registry import Registry


@dataclass(frozen=True)
class WeightInit:
    """One scheme for a layer's (n_out, n_in) weight and its bias."""

    name: str
    weight: Callable[[int, int, float, torch.Generator], torch.Tensor]  # (n_out, n_in, gain, g)
    description: str  # one line for the UI
    # (n_out, n_in, bias_std, g) -> (n_out,); None: zeros
    bias: Callable[[int, int, float, torch.Generator], torch.Tensor] | None = None
    # blocks -> factor on each residual block's output projections (Transformer attention out,
    # FFN second layer) in a stack of that many blocks; None: 1 (GPT-2: 1/√(2N))
    output_scale: Callable[[int], float] | None = None


@dataclass(frozen=True)
class RecurrentInit:
    """One scheme for each gate's H×H block of W_hh."""

    name: str
    block: Callable[[int, float, torch.Generator], torch.Tensor]  # (H, spectral_radius, g)
    description: str
    torch_bias: bool = False  # b_hh drawn as PyTorch's cells draw it (else zeros)


WEIGHT_INITS: Registry[WeightInit] = Registry("weight init")
RECURRENT_INITS: Registry[RecurrentInit] = Registry("recurrent init")


def orthogonal(n_out: int, n_in: int, g: torch.Generator) -> torch.Tensor:
    """A (semi-)orthogonal matrix, uniformly drawn (QR of a Gaussian with sign fix)."""
    a = torch.randn(max(n_out, n_in), min(n_out, n_in), generator=g, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)  # makes the distribution Haar
    q = q if n_out >= n_in else q.T
    return q.float()


def _uniform(n_out: int, n_in: int, bound: float, g: torch.Generator, gain: float = 1.0):
    return (torch.rand(n_out, n_in, generator=g) * 2 - 1) * bound * gain


def _torch_bias(n_out: int, n_in: int, bias_std: float, g: torch.Generator) -> torch.Tensor:
    return (torch.rand(n_out, generator=g) * 2 - 1) / math.sqrt(n_in)


def _normal_bias(n_out: int, n_in: int, bias_std: float, g: torch.Generator) -> torch.Tensor:
    return torch.randn(n_out, generator=g) * bias_std


def _scaled(hidden: int, radius: float, g: torch.Generator) -> torch.Tensor:
    w = torch.randn(hidden, hidden, generator=g, dtype=torch.float64)
    return (w * (radius / torch.linalg.eigvals(w).abs().max())).float()


for _w in (
    # PyTorch's nn.Linear: kaiming_uniform(a=√5) = U(±1/√fan_in), Var = 1/(3 fan_in)
    WeightInit(
        "default",
        lambda o, i, k, g: _uniform(o, i, 1.0 / math.sqrt(i), g, k),
        "PyTorch's nn.Linear: U(±1/√fan_in), biases likewise",
        bias=_torch_bias,
    ),
    # mean-field parameterisation: W ~ N(0, σ_w²/fan_in) with σ_w = gain
    WeightInit(
        "normal",
        lambda o, i, k, g: torch.randn(o, i, generator=g) * k / math.sqrt(i),
        "mean field: N(0, σ_w²/fan_in) with σ_w = gain, biases N(0, σ_b²)",
        bias=_normal_bias,
    ),
    # Glorot & Bengio's normalised init: U(±√(6/(fan_in+fan_out))), Var = 2/(fan_in+fan_out)
    WeightInit(
        "xavier",
        lambda o, i, k, g: _uniform(o, i, math.sqrt(6.0 / (i + o)), g, k),
        "Glorot & Bengio 2010: Var = 2/(fan_in + fan_out), biases 0",
    ),
    # He et al. 2015: N(0, 2/fan_in) keeps ReLU activation variance layer to layer
    WeightInit(
        "he",
        lambda o, i, k, g: torch.randn(o, i, generator=g) * math.sqrt(2.0 / i) * k,
        "He et al. 2015: N(0, 2/fan_in) for ReLU nets, biases 0",
    ),
    WeightInit(
        "orthogonal",
        lambda o, i, k, g: orthogonal(o, i, g) * k,
        "a random (semi-)orthogonal matrix, biases 0",
    ),
    # Radford et al. 2019 (GPT-2): N(0, 0.02²), residual output projections ×1/√(2N)
    WeightInit(
        "gpt2",
        lambda o, i, k, g: torch.randn(o, i, generator=g) * 0.02 * k,
        "GPT-2: N(0, 0.02²), biases 0; a Transformer block's output projections ×1/√(2N)",
        output_scale=lambda n: 1.0 / math.sqrt(2.0 * n),
    ),
):
    WEIGHT_INITS.register(_w)

for _r in (
    # PyTorch's nn.RNN/LSTM/GRU: U(±1/√H)
    RecurrentInit(
        "default",
        lambda h, r, g: (torch.rand(h, h, generator=g) * 2 - 1) / math.sqrt(h),
        "PyTorch's cells: U(±1/√H), biases likewise",
        torch_bias=True,
    ),
    RecurrentInit(
        "orthogonal",
        lambda h, r, g: orthogonal(h, h, g),
        "a random orthogonal W_hh: every singular value 1",
    ),
    RecurrentInit("identity", lambda h, r, g: torch.eye(h), "W_hh = I (IRNN, Le et al. 2015)"),
    RecurrentInit("scaled", _scaled, "a Gaussian W_hh rescaled to the given spectral radius"),
):
    RECURRENT_INITS.register(_r)


def init_weight(
    scheme: str, n_out: int, n_in: int, gain: float, g: torch.Generator
) -> torch.Tensor:
    """One (n_out, n_in) weight matrix; ``gain`` scales any scheme."""
    return WEIGHT_INITS[scheme].weight(n_out, n_in, gain, g)


def init_bias(scheme: str, n_out: int, n_in: int, bias_std: float, g: torch.Generator):
    """Bias vector of a scheme (zeros for schemes that draw none)."""
    draw = WEIGHT_INITS[scheme].bias
    return torch.zeros(n_out) if draw is None else draw(n_out, n_in, bias_std, g)


def recurrent_weight(
    scheme: str, hidden: int, gates: int, spectral_radius: float, g: torch.Generator
) -> torch.Tensor:
    """W_hh of shape (gates·H, H); each gate's H×H block gets the scheme."""
    block = RECURRENT_INITS[scheme].block
    return torch.cat([block(hidden, spectral_radius, g) for _ in range(gates)], dim=0)

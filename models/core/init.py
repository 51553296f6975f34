"""Weight initialisation schemes, drawn per seed from that seed's own generator."""

from __future__ import annotations

import math

import torch


def init_weight(
    scheme: str, n_out: int, n_in: int, gain: float, g: torch.Generator
) -> torch.Tensor:
    """One (n_out, n_in) weight matrix; ``gain`` scales any scheme."""
    if scheme == "default":
        # PyTorch's nn.Linear: kaiming_uniform(a=√5) = U(±1/√fan_in), Var = 1/(3 fan_in)
        bound = 1.0 / math.sqrt(n_in)
        return (torch.rand(n_out, n_in, generator=g) * 2 - 1) * bound * gain
    if scheme == "normal":
        # mean-field parameterisation: W ~ N(0, σ_w²/fan_in) with σ_w = gain
        return torch.randn(n_out, n_in, generator=g) * gain / math.sqrt(n_in)
    if scheme == "xavier":
        # Glorot & Bengio's normalised init: U(±√(6/(fan_in+fan_out))), Var = 2/(fan_in+fan_out)
        bound = math.sqrt(6.0 / (n_in + n_out))
        return (torch.rand(n_out, n_in, generator=g) * 2 - 1) * bound * gain
    if scheme == "he":
        # He et al. 2015: N(0, 2/fan_in) keeps ReLU activation variance layer to layer
        return torch.randn(n_out, n_in, generator=g) * math.sqrt(2.0 / n_in) * gain
    if scheme == "orthogonal":
        return orthogonal(n_out, n_in, g) * gain
    raise ValueError(f"unknown init scheme {scheme!r}")


def init_bias(scheme: str, n_out: int, n_in: int, bias_std: float, g: torch.Generator):
    """Bias vector: PyTorch's U(±1/√fan_in) for default, N(0, σ_b²) for normal, else zeros."""
    if scheme == "default":
        return (torch.rand(n_out, generator=g) * 2 - 1) / math.sqrt(n_in)
    if scheme == "normal":
        return torch.randn(n_out, generator=g) * bias_std
    return torch.zeros(n_out)


def orthogonal(n_out: int, n_in: int, g: torch.Generator) -> torch.Tensor:
    """A (semi-)orthogonal matrix, uniformly drawn (QR of a Gaussian with sign fix)."""
    a = torch.randn(max(n_out, n_in), min(n_out, n_in), generator=g, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)  # makes the distribution Haar
    q = q if n_out >= n_in else q.T
    return q.float()


def recurrent_weight(
    scheme: str, hidden: int, gates: int, spectral_radius: float, g: torch.Generator
) -> torch.Tensor:
    """W_hh of shape (gates·H, H); each gate's H×H block gets the scheme."""
    blocks = []
    for _ in range(gates):
        if scheme == "default":
            # PyTorch's nn.RNN/LSTM/GRU: U(±1/√H)
            w = (torch.rand(hidden, hidden, generator=g) * 2 - 1) / math.sqrt(hidden)
        elif scheme == "orthogonal":
            w = orthogonal(hidden, hidden, g)
        elif scheme == "identity":
            w = torch.eye(hidden)  # IRNN (Le et al. 2015)
        elif scheme == "scaled":
            w = torch.randn(hidden, hidden, generator=g, dtype=torch.float64)
            radius = torch.linalg.eigvals(w).abs().max()
            w = (w * (spectral_radius / radius)).float()
        else:
            raise ValueError(f"unknown recurrent init {scheme!r}")
        blocks.append(w)
    return torch.cat(blocks, dim=0)

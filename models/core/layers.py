"""Building blocks stacked over seeds: every parameter has a leading seed dimension S.

One Python-level step then trains all seeds of a variant at once (a batched matmul per layer),
and seed s computes exactly what a lone model initialised with seed s would.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

ACT_FNS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda x: F.leaky_relu(x, 0.01),
    "gelu": F.gelu,
    "elu": F.elu,
    "silu": F.silu,
    "linear": lambda x: x,
}

# max |φ'|: a unit counts as saturated when its slope drops below 10% of this
MAX_SLOPE = {"sigmoid": 0.25, "tanh": 1.0, "gelu": 1.129, "elu": 1.0, "silu": 1.0998}


def act_slope(name: str, z: torch.Tensor) -> torch.Tensor:
    """φ'(z) for the saturating activations (used for the saturation metric)."""
    if name == "sigmoid":
        s = torch.sigmoid(z)
        return s * (1 - s)
    if name == "tanh":
        return 1 - torch.tanh(z) ** 2
    with torch.enable_grad():
        zz = z.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(ACT_FNS[name](zz).sum(), zz)
    return g


# sigmoid and tanh slopes fall monotonically in |z|: slope < 10% of max ⟺ |z| > these
SATURATED_BEYOND = {
    # σ(z)(1 − σ(z)) = 0.025 at σ = (1 + √0.9)/2, i.e. z = logit of that
    "sigmoid": math.log((1 + math.sqrt(0.9)) / (1 - math.sqrt(0.9))),  # ≈ 3.64
    "tanh": math.atanh(math.sqrt(0.9)),  # 1 − tanh² = 0.1, ≈ 1.82
}


def saturation(name: str, z: torch.Tensor) -> torch.Tensor:
    """Share of saturated units (slope < 10% of max) or dead ReLU units, per seed. z: (S, N, H)."""
    if name in ("relu", "leaky_relu"):
        # dead: never active on any example of the batch
        dead = (z <= 0).all(dim=1)  # (S, H)
        return dead.float().mean(dim=1)
    if name == "linear":
        return torch.zeros(z.shape[0])
    if name in SATURATED_BEYOND:  # a threshold on |z|: no transcendental pass over the record
        return (z.abs() > SATURATED_BEYOND[name]).float().flatten(1).mean(dim=1)
    sat = act_slope(name, z) < 0.1 * MAX_SLOPE[name]
    return sat.float().flatten(1).mean(dim=1)


class StackedLinear(nn.Module):
    """S independent linear layers applied to (S, B, n_in) inputs."""

    def __init__(self, seeds: int, n_in: int, n_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(seeds, n_out, n_in))
        self.bias = nn.Parameter(torch.zeros(seeds, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (S, B, n_in) @ (S, n_in, n_out) + (S, 1, n_out) -> (S, B, n_out)
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight.transpose(1, 2))


class StackedBatchNorm(nn.Module):
    """Batch norm over the batch dimension, separately per seed, with running statistics."""

    def __init__(self, seeds: int, n: int, momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(seeds, n))
        self.bias = nn.Parameter(torch.zeros(seeds, n))
        self.register_buffer("running_mean", torch.zeros(seeds, n))
        self.register_buffer("running_var", torch.ones(seeds, n))
        self.momentum, self.eps = momentum, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (S, B, n)
        # the S·n (seed, unit) pairs are just S·n channels of one batch norm: one fused kernel
        # (nn.BatchNorm1d's own, running statistics included) instead of ~10 ops per layer
        S, B, n = x.shape
        flat = x.transpose(0, 1).reshape(B, S * n)  # (B, S·n)
        y = F.batch_norm(
            flat, self.running_mean.view(-1), self.running_var.view(-1), self.weight.reshape(-1),
            self.bias.reshape(-1), self.training, self.momentum, self.eps,
        )  # fmt: skip
        return y.view(B, S, n).transpose(0, 1)


class StackedLayerNorm(nn.Module):
    """Layer norm over the feature dimension with per-seed affine parameters."""

    def __init__(self, seeds: int, n: int, eps: float = 1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(seeds, n))
        self.bias = nn.Parameter(torch.zeros(seeds, n))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (S, B, n)
        xhat = F.layer_norm(x, x.shape[-1:], eps=self.eps)
        return xhat * self.weight.unsqueeze(1) + self.bias.unsqueeze(1)


def make_norm(kind: str, seeds: int, n: int) -> nn.Module:
    """The normalisation layer for a hidden block (identity for 'none')."""
    if kind == "batch":
        return StackedBatchNorm(seeds, n)
    if kind == "layer":
        return StackedLayerNorm(seeds, n)
    return nn.Identity()

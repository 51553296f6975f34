"""Building blocks stacked over seeds: every parameter has a leading seed dimension S.

One Python-level step then trains all seeds of a variant at once (a batched matmul per layer),
and seed s computes exactly what a lone model initialised with seed s would.
"""

from __future__ import annotations

import torch
from torch import nn

from . import theory
from .activations import ACTIVATIONS


def act_slope(name: str, z: torch.Tensor) -> torch.Tensor:
    """φ'(z) of a registered activation, by autograd of its torch function."""
    fn = ACTIVATIONS[name].fn
    with torch.enable_grad():
        zz = z.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(fn(zz).sum(), zz)
    return g


def saturation(name: str, z: torch.Tensor) -> torch.Tensor:
    """Share of saturated units (slope < 10% of max) or dead ReLU-like units, per seed.

    z: (S, N, H) pre-activations; the activation's registry entry says which rule applies.
    """
    act = ACTIVATIONS[name]
    if act.saturation == "dead":  # never active on any example of the batch
        return (z <= 0).all(dim=1).float().mean(dim=1)  # (S, H) -> (S,)
    if act.saturation == "none":
        return torch.zeros(z.shape[0])
    if act.saturated_beyond is not None:  # a threshold on |z|: no transcendental pass
        return (z.abs() > act.saturated_beyond).float().flatten(1).mean(dim=1)
    sat = act_slope(name, z) < 0.1 * theory.max_slope(name)
    return sat.float().flatten(1).mean(dim=1)


def saturated_units(name: str, z: torch.Tensor) -> torch.Tensor | None:
    """The same rule as ``saturation`` unit by unit, for one batch z (N, ...) of pre-activations:
    a flat bool tensor whose mean is the saturated (or dead) share; None: never saturates.

    "dead": one entry per unit (every element after the batch dimension), True when no example
    activates it; "slope": one entry per element. (watch() keeps these and averages them all at
    once, so a recorded step costs two or three ops per activation module.)
    """
    act = ACTIVATIONS[name]
    if act.saturation == "none":
        return None
    if act.saturation == "dead":
        # never active ⇔ its largest pre-activation over the batch is ≤ 0 (one reduction)
        return z.reshape(z.shape[0], -1).amax(0).le(0) if z.dim() > 1 else z.amax(0, True).le(0)
    if act.saturated_beyond is not None:
        return z.abs().gt(act.saturated_beyond).reshape(-1)
    return (act_slope(name, z) < 0.1 * theory.max_slope(name)).reshape(-1)


class StackedLinear(nn.Module):
    """S independent linear layers applied to (S, B, n_in) inputs."""

    def __init__(self, seeds: int, n_in: int, n_out: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(seeds, n_out, n_in))
        self.bias = nn.Parameter(torch.zeros(seeds, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (S, B, n_in) @ (S, n_in, n_out) + (S, 1, n_out) -> (S, B, n_out)
        return torch.baddbmm(self.bias.unsqueeze(1), x, self.weight.transpose(1, 2))

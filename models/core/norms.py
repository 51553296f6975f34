"""The normalisation registry: what a hidden block may apply to its pre-activation z (S, B, W).

An entry gives the stacked layer (per-seed affine weight and bias), its cost for the budget, and,
where written, the hand-written pieces the fast path compiles (TorchScript-compatible functions:
training forward keeping what backward needs, evaluation forward, backward). Without them a
config with this norm trains through autograd.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .registry import Registry


class StackedBatchNorm(nn.Module):
    """Batch norm over the batch dimension, separately per seed, with running statistics."""

    reads_training = True  # forward depends on .training (batch or running statistics)

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
            flat,
            self.running_mean.view(-1),
            self.running_var.view(-1),
            self.weight.reshape(-1),
            self.bias.reshape(-1),
            self.training,
            self.momentum,
            self.eps,
        )
        return y.view(B, S, n).transpose(0, 1)


class StackedLayerNorm(nn.Module):
    """Layer norm over the feature dimension with per-seed affine parameters."""

    reads_training = False

    def __init__(self, seeds: int, n: int, eps: float = 1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(seeds, n))
        self.bias = nn.Parameter(torch.zeros(seeds, n))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (S, B, n)
        xhat = F.layer_norm(x, x.shape[-1:], eps=self.eps)
        return xhat * self.weight.unsqueeze(1) + self.bias.unsqueeze(1)


# --- hand-written pieces (fast path). z: (S, B, n); w, b: (S, n); rm, rv: flat (S·n,) or empty ---


def _none_train(
    z: Tensor, w: Tensor, b: Tensor, rm: Tensor, rv: Tensor, momentum: float, eps: float
) -> tuple[Tensor, list[Tensor]]:
    return z, []


def _none_eval(z: Tensor, w: Tensor, b: Tensor, rm: Tensor, rv: Tensor, eps: float) -> Tensor:
    return z


def _none_backward(
    gz: Tensor, saved: list[Tensor], w: Tensor, eps: float
) -> tuple[Tensor, Tensor, Tensor]:
    return gz, gz, gz  # no parameters: the step reads only the first


def _batch_train(
    z: Tensor, w: Tensor, b: Tensor, rm: Tensor, rv: Tensor, momentum: float, eps: float
) -> tuple[Tensor, list[Tensor]]:
    S, B, n = z.shape[0], z.shape[1], z.shape[2]
    flat = z.transpose(0, 1).reshape(B, S * n)  # (B, S·n): StackedBatchNorm's layout
    wf = w.reshape(-1)
    out, mean, invstd = torch.native_batch_norm(
        flat, wf, b.reshape(-1), rm, rv, True, momentum, eps
    )
    return out.view(B, S, n).transpose(0, 1), [flat, wf, mean, invstd]


def _batch_eval(z: Tensor, w: Tensor, b: Tensor, rm: Tensor, rv: Tensor, eps: float) -> Tensor:
    S, B, n = z.shape[0], z.shape[1], z.shape[2]
    flat = z.transpose(0, 1).reshape(B, S * n)
    out = torch.batch_norm(flat, w.reshape(-1), b.reshape(-1), rm, rv, False, 0.0, eps, False)
    return out.view(B, S, n).transpose(0, 1)


def _batch_backward(
    gz: Tensor, saved: list[Tensor], w: Tensor, eps: float
) -> tuple[Tensor, Tensor, Tensor]:
    S, B, n = gz.shape[0], gz.shape[1], gz.shape[2]
    flat, wf, mean, invstd = saved[0], saved[1], saved[2], saved[3]
    grads = torch.ops.aten.native_batch_norm_backward(
        gz.transpose(0, 1).reshape(B, S * n),
        flat,
        wf,
        None,
        None,
        mean,
        invstd,
        True,
        eps,
        [True, True, True],
    )
    g_in, g_w, g_b = grads[0], grads[1], grads[2]
    assert g_in is not None and g_w is not None and g_b is not None
    return g_in.view(B, S, n).transpose(0, 1), g_w.view(S, n), g_b.view(S, n)


def _layer_train(
    z: Tensor, w: Tensor, b: Tensor, rm: Tensor, rv: Tensor, momentum: float, eps: float
) -> tuple[Tensor, list[Tensor]]:
    xhat, mean, rstd = torch.native_layer_norm(z, [z.shape[2]], None, None, eps)
    return xhat * w.unsqueeze(1) + b.unsqueeze(1), [z, xhat, mean, rstd]


def _layer_eval(z: Tensor, w: Tensor, b: Tensor, rm: Tensor, rv: Tensor, eps: float) -> Tensor:
    xhat = torch.native_layer_norm(z, [z.shape[2]], None, None, eps)[0]
    return xhat * w.unsqueeze(1) + b.unsqueeze(1)


def _layer_backward(
    gz: Tensor, saved: list[Tensor], w: Tensor, eps: float
) -> tuple[Tensor, Tensor, Tensor]:
    z, xhat, mean, rstd = saved[0], saved[1], saved[2], saved[3]
    grads = torch.ops.aten.native_layer_norm_backward(
        gz * w.unsqueeze(1), z, [z.shape[2]], mean, rstd, None, None, [True, False, False]
    )
    g_in = grads[0]
    assert g_in is not None
    return g_in, (gz * xhat).sum(1), gz.sum(1)


@dataclass(frozen=True)
class FastNorm:
    """The hand-written pieces of a norm, for the fast path (see the functions above)."""

    train: Callable
    eval: Callable
    backward: Callable


@dataclass(frozen=True)
class Norm:
    """One normalisation of a hidden block's pre-activation."""

    name: str
    layer: Callable[[int, int], nn.Module] | None  # (seeds, width) -> module; None: no layer
    description: str  # one line for the UI
    saved: int = 0  # float32 kept for backward per unit and example, beyond the block's own
    flops: int = 0  # element-wise FLOPs per unit and example, forward and backward
    ops: int = 0  # extra kernels per layer and forward pass
    fast: FastNorm | None = None  # hand-written pieces; None: autograd only
    running_stats: bool = False  # keeps running statistics (the fast path updates them)


NORMS: Registry[Norm] = Registry("normalisation")

for _entry in (
    Norm("none", None, "no normalisation", fast=FastNorm(_none_train, _none_eval, _none_backward)),
    Norm(
        "batch",
        StackedBatchNorm,
        "batch norm (Ioffe & Szegedy 2015): each unit standardised over the batch",
        saved=3,
        flops=8,
        ops=6,
        fast=FastNorm(_batch_train, _batch_eval, _batch_backward),
        running_stats=True,
    ),
    Norm(
        "layer",
        StackedLayerNorm,
        "layer norm (Ba et al. 2016): each example standardised over its units",
        saved=3,
        flops=8,
        ops=6,
        fast=FastNorm(_layer_train, _layer_eval, _layer_backward),
    ),
):
    NORMS.register(_entry)


def make_norm(kind: str, seeds: int, n: int) -> nn.Module:
    """The normalisation layer for a hidden block (identity for a norm without a layer)."""
    layer = NORMS[kind].layer
    return nn.Identity() if layer is None else layer(seeds, n)


# --- where a Transformer block puts its LayerNorm (the ``ln_placement`` field) ---


@dataclass(frozen=True)
class Placement:
    """Where each block's LayerNorm sits (the ``ln_placement`` field)."""

    name: str
    description: str  # one line for the UI
    pre: bool  # inside the residual branch (and one before the readout)


LN_PLACEMENTS: Registry[Placement] = Registry("LayerNorm placement")
for _p in (
    Placement("post", "Post-LN (Vaswani et al. 2017): x ← LN(x + F(x))", pre=False),
    Placement(
        "pre", "Pre-LN (Xiong et al. 2020): x ← x + F(LN(x)), one LN before the readout", pre=True
    ),
):
    LN_PLACEMENTS.register(_p)

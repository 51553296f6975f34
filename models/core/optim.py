"""The optimizer registry: SGD, momentum and Adam as a few multi-tensor (foreach) kernels a step.

Same arithmetic, bit for bit, as ``torch.optim.SGD``/``Adam`` with ``foreach=True`` (checked in
tests/engine/test_fast_path.py), without their per-step bookkeeping and without the first
construction's import of torch._dynamo (about a second of start-up).
All updates are element-wise, so seeds stacked along dim 0 stay independent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .registry import Registry


@dataclass(frozen=True)
class Optimizer:
    """One update rule."""

    name: str
    update: Callable[[StackedOptimizer, list[torch.Tensor]], None]  # in place, one step
    description: str  # one line for the UI
    state: int = 0  # buffers per parameter (the budget's memory)
    uses_momentum: bool = False  # reads the ``momentum`` field
    betas: tuple[float, float] = (0.9, 0.999)  # Adam's (β₁, β₂): torch.optim.Adam's defaults


OPTIMIZERS: Registry[Optimizer] = Registry("optimizer")


class StackedOptimizer:
    """Updates ``params`` in place from a list of gradients (one per parameter)."""

    def __init__(
        self,
        params: list[torch.Tensor],
        kind: str,
        lr: float,
        momentum: float = 0.0,
        warmup: int = 0,
    ) -> None:
        self.rule = OPTIMIZERS[kind]
        self.params, self.kind, self.lr = params, kind, lr
        # linear warm-up: update t (1-based) uses base_lr·min(1, t/warmup); 0 = none
        self.base_lr, self.warmup = lr, warmup
        self.momentum = momentum if self.rule.uses_momentum else 0.0
        self.betas, self.eps = self.rule.betas, 1e-8
        self.t = 0  # updates done
        self.bufs: list[torch.Tensor] | None = None  # momentum buffers / Adam first moments
        self.sq: list[torch.Tensor] | None = None  # Adam second moments

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor]) -> None:
        """One update; ``grads`` may be reused by the caller afterwards (never stored)."""
        self.t += 1
        if self.warmup > 0:
            self.lr = self.base_lr * min(1.0, self.t / self.warmup)
        self.rule.update(self, grads)


def _sgd(opt: StackedOptimizer, grads: list[torch.Tensor]) -> None:
    if opt.momentum == 0.0:
        torch._foreach_add_(opt.params, grads, alpha=-opt.lr)
        return
    if opt.bufs is None:  # first step: buffer = gradient, as torch.optim.SGD does
        opt.bufs = [g.detach().clone() for g in grads]
    else:
        torch._foreach_mul_(opt.bufs, opt.momentum)
        torch._foreach_add_(opt.bufs, grads, alpha=1.0)
    torch._foreach_add_(opt.params, opt.bufs, alpha=-opt.lr)


def _adam(opt: StackedOptimizer, grads: list[torch.Tensor]) -> None:
    b1, b2 = opt.betas
    if opt.bufs is None or opt.sq is None:
        opt.bufs = [torch.zeros_like(g) for g in grads]
        opt.sq = [torch.zeros_like(g) for g in grads]
    torch._foreach_lerp_(opt.bufs, grads, 1 - b1)
    torch._foreach_mul_(opt.sq, b2)
    torch._foreach_addcmul_(opt.sq, grads, grads, 1 - b2)
    step = float(opt.t)
    step_size = (opt.lr / (1 - b1**step)) * -1
    denom = torch._foreach_sqrt(opt.sq)
    torch._foreach_div_(denom, (1 - b2**step) ** 0.5)
    torch._foreach_add_(denom, opt.eps)
    torch._foreach_addcdiv_(opt.params, opt.bufs, denom, step_size)


for _o in (
    Optimizer("sgd", _sgd, "plain gradient descent: W ← W − lr·g"),
    Optimizer(
        "momentum",
        _sgd,
        "SGD with heavy-ball momentum (PyTorch's form)",
        state=1,
        uses_momentum=True,
    ),
    Optimizer("adam", _adam, "Adam (Kingma & Ba 2015), β = (0.9, 0.999)", state=2),
    # Vaswani et al. 2017 and Xiong et al. 2020 train Transformers with β₂ = 0.98
    Optimizer(
        "adam98",
        _adam,
        "Adam with β = (0.9, 0.98), as Transformers are trained",
        state=2,
        betas=(0.9, 0.98),
    ),
):
    OPTIMIZERS.register(_o)

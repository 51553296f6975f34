"""SGD, momentum and Adam as a few multi-tensor (foreach) kernels per step.

Same arithmetic, bit for bit, as ``torch.optim.SGD``/``Adam`` with ``foreach=True`` (checked in
tests/test_fast_path.py), without their per-step bookkeeping and without the first
construction's import of torch._dynamo (about a second of start-up).
All updates are element-wise, so seeds stacked along dim 0 stay independent.
"""

from __future__ import annotations

import torch


class StackedOptimizer:
    """Updates ``params`` in place from a list of gradients (one per parameter)."""

    def __init__(
        self, params: list[torch.Tensor], kind: str, lr: float, momentum: float = 0.0
    ) -> None:
        self.params, self.kind, self.lr = params, kind, lr
        self.momentum = momentum if kind == "momentum" else 0.0
        self.betas, self.eps = (0.9, 0.999), 1e-8  # torch.optim.Adam's defaults
        self.t = 0  # updates done
        self.bufs: list[torch.Tensor] | None = None  # momentum buffers / Adam first moments
        self.sq: list[torch.Tensor] | None = None  # Adam second moments

    @torch.no_grad()
    def step(self, grads: list[torch.Tensor]) -> None:
        """One update; ``grads`` may be reused by the caller afterwards (never stored)."""
        self.t += 1
        p = self.params
        if self.kind == "adam":
            self._adam(grads)
        elif self.momentum == 0.0:
            torch._foreach_add_(p, grads, alpha=-self.lr)
        else:
            if self.bufs is None:  # first step: buffer = gradient, as torch.optim.SGD does
                self.bufs = [g.detach().clone() for g in grads]
            else:
                torch._foreach_mul_(self.bufs, self.momentum)
                torch._foreach_add_(self.bufs, grads, alpha=1.0)
            torch._foreach_add_(p, self.bufs, alpha=-self.lr)

    def _adam(self, grads: list[torch.Tensor]) -> None:
        b1, b2 = self.betas
        if self.bufs is None:
            self.bufs = [torch.zeros_like(g) for g in grads]
            self.sq = [torch.zeros_like(g) for g in grads]
        torch._foreach_lerp_(self.bufs, grads, 1 - b1)
        torch._foreach_mul_(self.sq, b2)
        torch._foreach_addcmul_(self.sq, grads, grads, 1 - b2)
        step = float(self.t)
        step_size = (self.lr / (1 - b1**step)) * -1
        denom = torch._foreach_sqrt(self.sq)
        torch._foreach_div_(denom, (1 - b2**step) ** 0.5)
        torch._foreach_add_(denom, self.eps)
        torch._foreach_addcdiv_(self.params, self.bufs, denom, step_size)

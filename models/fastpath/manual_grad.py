"""Pieces of the hand-written training steps (models.fastpath.mlp, models.fastpath.rnn).

Activation and normalisation kernels built from their registry entries (each the kernel autograd
itself would call), the losses with their gradients, and the TorchScript compilation that lets a
whole step run in C++ without holding Python's GIL (two variants on two worker threads then truly
run in parallel; as plain Python the threads traded the GIL at every op and ran slower than one).
TorchScript is optional: ``GFL_TORCHSCRIPT=off`` (or a torch without it) runs the same modules
as plain Python, with the same numbers.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from typing import TypeVar

import torch
from torch import Tensor, nn

from ..core.activations import ACTIVATIONS
from ..core.norms import NORMS

log = logging.getLogger("models.fastpath")
M = TypeVar("M")


def act_kernel(name: str) -> nn.Module:
    """φ and its hand-written derivative as a module (``forward(z)``, ``backward(g, z, a)``).

    Raises for an unknown activation, or one registered without a hand-written derivative.
    """
    entry = ACTIVATIONS[name]
    fwd, grad = entry.fn, entry.grad
    if grad is None:
        raise ValueError(f"activation '{name}' has no hand-written derivative (autograd only)")

    class ActKernel(nn.Module):
        reads_input: bool = entry.grad_reads_input  # backward needs z, not only a = φ(z)

        def forward(self, z: Tensor) -> Tensor:
            return fwd(z)

        @torch.jit.export
        def backward(self, g: Tensor, z: Tensor, a: Tensor) -> Tensor:
            """dL/dz from dL/da, the pre-activation z and a = φ(z)."""
            return grad(g, z, a)

    ActKernel.__name__ = ActKernel.__qualname__ = f"ActKernel_{_ident(name)}"
    return ActKernel()


def norm_kernel(name: str) -> nn.Module:
    """A norm's hand-written pieces as a module (``train``, ``infer``, ``backward``); raises for
    an unknown norm or one without them."""
    fast = NORMS[name].fast
    if fast is None:
        raise ValueError(f"normalisation '{name}' has no hand-written pass (autograd only)")
    train_fn, eval_fn, backward_fn = fast.train, fast.eval, fast.backward

    class NormKernel(nn.Module):
        def forward(
            self,
            z: Tensor,
            w: Tensor,
            b: Tensor,
            rm: Tensor,
            rv: Tensor,
            momentum: float,
            eps: float,
        ) -> tuple[Tensor, list[Tensor]]:
            """Training forward: the normalised z and what backward needs."""
            return train_fn(z, w, b, rm, rv, momentum, eps)

        @torch.jit.export
        def infer(self, z: Tensor, w: Tensor, b: Tensor, rm: Tensor, rv: Tensor, eps: float):
            """Evaluation forward (running statistics where the norm keeps them)."""
            return eval_fn(z, w, b, rm, rv, eps)

        @torch.jit.export
        def backward(
            self, gz: Tensor, saved: list[Tensor], w: Tensor, eps: float
        ) -> tuple[Tensor, Tensor, Tensor]:
            """(dL/d input, dL/d weight, dL/d bias) from dL/d output."""
            return backward_fn(gz, saved, w, eps)

    NormKernel.__name__ = NormKernel.__qualname__ = f"NormKernel_{_ident(name)}"
    return NormKernel()


def _ident(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name)


def loss_and_grad(out: Tensor, y: Tensor, alive: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per-seed mean cross-entropy (S,), accuracy (S,) and d(sum of live seeds' losses)/d out.

    out: (S, B, C) logits, y: (B,) labels. Dead seeds get a zero gradient (``torch.where``, so
    their NaN cannot leak in).
    """
    S, B = out.shape[0], out.shape[1]
    logp = torch.log_softmax(out, dim=-1)  # (S, B, C)
    idx = y.view(1, B, 1).expand(S, B, 1)
    loss_s = -logp.gather(-1, idx).squeeze(-1).mean(1)
    acc_s = (out.argmax(-1) == y).float().mean(1)
    # d mean_b(-log p_y)/d logits = (softmax - one_hot(y)) / B
    minus_one = torch.full([S, B, 1], -1.0, dtype=out.dtype)
    g = logp.exp_().scatter_add_(-1, idx, minus_one).div_(B)
    return loss_s, acc_s, torch.where(alive.view(S, 1, 1), g, torch.zeros_like(g))


def mse_and_grad(out: Tensor, y: Tensor, alive: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per-seed mean squared error (S,), share within 0.04 (S,) and d(sum of live seeds')/d out.

    out: (S, B, 1) predictions, y: (B, 1) targets.
    """
    S, B = out.shape[0], out.shape[1]
    err = out.squeeze(-1) - y.view(1, -1)  # (S, B)
    # Hochreiter & Schmidhuber 1997 count a sequence right when |error| < 0.04
    acc_s = (err.abs() < 0.04).float().mean(1)
    g = (err * (2.0 / B)).unsqueeze(-1)
    return err.pow(2).mean(1), acc_s, torch.where(alive.view(S, 1, 1), g, torch.zeros_like(g))


_COMPILING = threading.Lock()  # runs may start on several threads (the dashboard)
_warned: set[str] = set()


def torchscript_enabled() -> bool:
    """Whether steps are compiled: TorchScript present and not switched off (GFL_TORCHSCRIPT)."""
    off = os.environ.get("GFL_TORCHSCRIPT", "").strip().lower() in ("0", "off", "no", "false")
    return not off and hasattr(torch.jit, "script")


def compile_step(step: M, strict: bool = False) -> M:
    """``step`` (a module) through TorchScript: GIL-free, same numbers; else ``step`` itself.

    A compile error raises when ``strict`` (the tests compile every kernel so); at run time it is
    logged once per step type and the step runs as plain Python: correct, just slower.
    """
    if not torchscript_enabled():
        return step
    try:
        with _COMPILING, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TorchScript's deprecation notice
            return torch.jit.script(step)
    except Exception as e:
        if strict:
            raise
        key = type(step).__name__
        if key not in _warned:
            _warned.add(key)
            log.warning("TorchScript could not compile %s (%s); it runs as plain Python", key, e)
        return step

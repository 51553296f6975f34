"""Pieces of the hand-written training steps (models.fastpath.mlp, models.fastpath.rnn).

Activations with autograd's own derivative kernels, the losses with their gradients, and the
TorchScript compilation that lets a whole step run in C++ without holding Python's GIL (two
variants on two worker threads then truly run in parallel; as plain Python the threads traded
the GIL at every op and ran slower than one). Where TorchScript is unavailable the same
functions run as plain Python.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable

import torch
from torch import Tensor
from torch.nn import functional as F


def activate(name: str, z: Tensor) -> Tensor:
    """φ(z), as ``layers.ACT_FNS`` computes it."""
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "tanh":
        return torch.tanh(z)
    if name == "relu":
        return torch.relu(z)
    if name == "leaky_relu":
        return F.leaky_relu(z, 0.01)
    if name == "gelu":
        return F.gelu(z)
    if name == "elu":
        return F.elu(z)
    if name == "silu":
        return F.silu(z)
    return z  # linear


def activate_backward(name: str, g: Tensor, z: Tensor, a: Tensor) -> Tensor:
    """dL/dz from dL/da, the pre-activation z and a = φ(z): autograd's own kernels."""
    if name == "sigmoid":
        return torch.ops.aten.sigmoid_backward(g, a)
    if name == "tanh":
        return torch.ops.aten.tanh_backward(g, a)
    if name == "relu":
        return torch.ops.aten.threshold_backward(g, a, 0.0)
    if name == "leaky_relu":
        return torch.ops.aten.leaky_relu_backward(g, z, 0.01, False)
    if name == "gelu":
        return torch.ops.aten.gelu_backward(g, z)
    if name == "elu":
        return torch.ops.aten.elu_backward(g, 1.0, 1.0, 1.0, False, z)
    if name == "silu":
        return torch.ops.aten.silu_backward(g, z)
    return g  # linear


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


def compile_step(fn: Callable) -> Callable:
    """``fn`` through TorchScript (deprecated in torch 2.x, but GIL-free); else ``fn`` itself."""
    try:
        with _COMPILING, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return torch.jit.script(fn)
    except Exception:  # noqa: BLE001 (a torch without TorchScript: plain Python, same maths)
        return fn

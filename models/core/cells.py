"""The recurrent cell registry: what ``cell`` may name, and everything the engine needs of it.

An entry carries the cell's arithmetic for the autograd path (``inputs``: the input projections
of all time steps with their biases; ``step``: one time step; ``preacts``: the pre-activations
its saturation metric pools), its shape (gates), its cost for the budget and PyTorch's fused
kernel for it. ``RecurrentNet`` (models/core/nets.py) runs any entry; a hand-written pass, where
one exists, is ``models.fastpath.rnn``'s. Add a cell by registering one entry here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from .registry import Registry

# inputs(xp (S, B, T, G·H), b_ih (S, G·H), b_hh (S, G·H), H) -> (T per-step inputs, the
# recurrent matmul's bias (S, 1, G·H) or None: the step adds none)
Inputs = Callable[[Tensor, Tensor, Tensor, int], tuple[Sequence[Any], Tensor | None]]
# step(x_t, h (S, B, H), c (S, B, H) or None, W_hhᵀ (S, H, G·H), that bias, φ, record) -> (h, c)
Step = Callable[..., tuple[Tensor, Tensor | None]]


@dataclass(frozen=True)
class Cell:
    """One recurrent cell."""

    name: str
    gates: int  # blocks of H rows in W_ih and W_hh
    description: str  # one line for the UI
    kernel: str | None  # torch._VF's fused kernel (lstm, gru); None: by the activation's
    inputs: Inputs  # the input projections of every step, biases added (autograd path)
    step: Step  # one time step (autograd path); appends what it records to ``record``
    # (xp + biases (S, B·T, G·H), W_hh h_{t−1} (S, B·T, G·H)) -> what ``step`` records, pooled
    preacts: Callable[[Tensor, Tensor], Tensor]
    # the activation whose saturation the metric counts: None = the variant's own ``activation``
    saturating: str | None = "sigmoid"
    record_gates: int = 1  # gate blocks whose pre-activations the saturation metric pools
    flops: int = 6  # element-wise FLOPs per hidden unit and time step (forward)
    ops: int = 4  # kernels per time step in the forward pass
    saved: int = 6  # float32 kept for backward per hidden unit and time step
    uses_activation: bool = False  # the variant's ``activation`` is the cell's non-linearity
    # trains faster through PyTorch's fused kernel and autograd than by hand (benchmarks/README.md)
    fused_training: bool = False
    forget_gate: bool = False  # gate rows i, f, g, o: forget_bias is added to rows H..2H of b_ih
    cell_state: bool = False  # carries c_t beside h_t (the kernel takes and returns (h, c))
    # the fused kernel may run seeds as one block-diagonal call (``RecurrentNet.fuse_mode``);
    # False: the cell never trains through the kernel, and validates one seed per call
    block_fusion: bool = True


CELLS: Registry[Cell] = Registry("cell")


# --- arithmetic (PyTorch's formulations, so that its kernels compute the same) ----------------


def _summed_inputs(xp: Tensor, b_ih: Tensor, b_hh: Tensor, H: int):
    """Both biases go in up front: T × (S, B, G·H); the recurrent matmul adds none."""
    S = xp.shape[0]
    # unbind, not xp[:, :, t]: T select-backwards would each scatter into a full-size zero
    # tensor (O(T²) work); unbind's backward stacks the T slices once
    return (xp + (b_ih + b_hh).view(S, 1, 1, -1)).unbind(2), None


def _vanilla_step(x_t, h, c, w_t, hh_bias, act, record):
    """h_t = φ(W_ih x_t + W_hh h_{t−1} + b)."""
    z = torch.baddbmm(x_t, h, w_t)  # (S, B, H)
    if record is not None:
        record.append(z.detach())
    return act(z), c


def _vanilla_preacts(xp: Tensor, hh: Tensor) -> Tensor:
    return xp + hh


def _lstm_step(x_t, h, c, w_t, hh_bias, act, record):
    """Gates i, f, g, o: c_t = σ(f) ⊙ c_{t−1} + σ(i) ⊙ tanh(g), h_t = σ(o) ⊙ tanh(c_t)."""
    gates = torch.baddbmm(x_t, h, w_t)  # (S, B, 4H): i, f, g, o
    i, f, g, o = gates.chunk(4, dim=-1)
    if record is not None:  # the sigmoid gates: where saturation stops learning
        record.append(torch.cat([i, f, o], dim=-1).detach())
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def _lstm_preacts(xp: Tensor, hh: Tensor) -> Tensor:
    i, f, _, o = (xp + hh).chunk(4, dim=-1)
    return torch.cat([i, f, o], dim=-1)


def _gru_inputs(xp: Tensor, b_ih: Tensor, b_hh: Tensor, H: int):
    """r and z take both biases up front; b_hn stays inside r ⊙ (W_hn h + b_hn), as in
    PyTorch's GRU, so it rides in the recurrent matmul's bias (zeros for r and z)."""
    S = xp.shape[0]
    b_rz, b_n = b_hh.split([2 * H, H], dim=-1)
    xrz, xn = (xp + b_ih.view(S, 1, 1, -1)).split([2 * H, H], dim=-1)
    xrz = xrz + b_rz.view(S, 1, 1, -1)
    xs = list(zip(xrz.unbind(2), xn.unbind(2)))  # T × ((S, B, 2H), (S, B, H))
    hh_bias = torch.cat([torch.zeros_like(b_rz), b_n], dim=-1).unsqueeze(1)  # (S, 1, 3H)
    return xs, hh_bias


def _gru_step(x_t, h, c, w_t, hh_bias, act, record):
    """n = tanh(x_n + r ⊙ (W_hn h + b_hn)), h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}."""
    H = h.shape[-1]
    hrz, hn = torch.baddbmm(hh_bias, h, w_t).split([2 * H, H], dim=-1)
    x_rz, x_n = x_t
    a = x_rz + hrz  # (S, B, 2H): pre-activations of the reset and update gates
    if record is not None:
        record.append(a.detach())
    r, zg = torch.sigmoid(a).chunk(2, dim=-1)
    n = torch.tanh(torch.addcmul(x_n, r, hn))
    return torch.lerp(n, h, zg), c  # (1 - z) ⊙ n + z ⊙ h in one op


def _gru_preacts(xp: Tensor, hh: Tensor) -> Tensor:
    xr, xz, _ = xp.chunk(3, dim=-1)
    hr, hz, _ = hh.chunk(3, dim=-1)
    return torch.cat([xr + hr, xz + hz], dim=-1)


for _c in (
    Cell(
        "rnn",
        1,
        "vanilla RNN: h_t = φ(W_ih x_t + W_hh h_{t−1} + b)",
        None,
        _summed_inputs,
        _vanilla_step,
        _vanilla_preacts,
        saturating=None,
        flops=6,
        ops=4,
        saved=6,
        uses_activation=True,
        block_fusion=False,
    ),
    Cell(
        "lstm",
        4,
        "LSTM (Hochreiter & Schmidhuber 1997): gated cell state, additive path",
        "lstm",
        _summed_inputs,
        _lstm_step,
        _lstm_preacts,
        record_gates=3,
        flops=30,
        ops=14,
        saved=16,
        fused_training=True,
        forget_gate=True,
        cell_state=True,
    ),
    Cell(
        "gru",
        3,
        "GRU (Cho et al. 2014): reset and update gates, interpolated state",
        "gru",
        _gru_inputs,
        _gru_step,
        _gru_preacts,
        record_gates=2,
        flops=30,
        ops=18,
        saved=16,
    ),
):
    CELLS.register(_c)

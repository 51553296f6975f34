"""The recurrent cell registry: what ``cell`` may name, and what the engine needs to know of it.

The cell's arithmetic is ``RecurrentNet.forward`` (autograd, the reference) and, for cells with a
hand-written pass, ``models.fastpath.rnn``; the entry carries its shape (gates), its cost for the
budget, which pre-activations its saturation metric reads, and PyTorch's fused kernel for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from models.core.registry import Registry


@dataclass(frozen=True)
class Cell:
    """One recurrent cell."""

    name: str
    gates: int  # blocks of H rows in W_ih and W_hh
    description: str  # one line for the UI
    kernel: str | None  # torch._VF's fused kernel (lstm, gru); None: by the activation's
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


CELLS: Registry[Cell] = Registry("cell")

for _c in (
    Cell("rnn", 1, "vanilla RNN: h_t = φ(W_ih x_t + W_hh h_{t−1} + b)", None, saturating=None,
         flops=6, ops=4, saved=6, uses_activation=True),
    Cell("lstm", 4, "LSTM (Hochreiter & Schmidhuber 1997): gated cell state, additive path",
         "lstm", record_gates=3, flops=30, ops=14, saved=16, fused_training=True, forget_gate=True),
    Cell("gru", 3, "GRU (Cho et al. 2014): reset and update gates, interpolated state",
         "gru", record_gates=2, flops=30, ops=18, saved=16),
):  # fmt: skip
    CELLS.register(_c)

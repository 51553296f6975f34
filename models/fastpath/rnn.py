"""The stacked recurrent net's training step by hand: forward and backpropagation through time.

Vanilla RNN, LSTM and GRU, with PyTorch's formulations (``RecurrentNet.forward``, the autograd
reference the tests check against). Each cell is a small module: its forward over all time steps
(keeping what its backward needs per step) and one backward step; ``RNNStep`` runs the shared
part (input projections, loss, readout, the walk back through time, the weight gradients from
one batched matmul over all steps). Compiled with TorchScript (``models.fastpath.manual_grad``),
the whole step runs without the GIL.

The same pass gives the per-time-step gradients ‖∂L/∂h_t‖ for the probe batch: they are the
∂L/∂h_t the backward pass carries anyway.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import torch
from torch import Tensor, nn

from ..core.activations import ACTIVATIONS
from ..core.cells import CELLS
from .manual_grad import (
    act_kernel,
    compile_step,
    loss_and_grad,
    mse_and_grad,
    torchscript_enabled,
)

sigmoid_backward = torch.ops.aten.sigmoid_backward
tanh_backward = torch.ops.aten.tanh_backward


class RNNParams(NamedTuple):
    """The recurrent net's tensors, stacked over seeds S (G gates of H units)."""

    w_ih: Tensor  # (S, G·H, D)
    b_ih: Tensor  # (S, G·H)
    w_hh: Tensor  # (S, G·H, H)
    b_hh: Tensor  # (S, G·H)
    w_ro: Tensor  # (S, C, H)
    b_ro: Tensor  # (S, C)


class RNNRequest(NamedTuple):
    """What one step is asked for beyond the gradient."""

    classification: bool  # cross-entropy on labels, else squared error on targets
    want_record: bool  # return the pre-activations (saturation)
    want_hidden: bool  # return ‖∂L/∂h_t‖ per step and seed, (T, S), in float64
    n_probe: int  # the last rows of x, y are a probe batch: its loss drives want_hidden only


class Tape(NamedTuple):
    """A cell's forward over all steps: h_0..h_T, per step what backward needs, the record."""

    hs: list[Tensor]
    saved: list[list[Tensor]]
    record: list[Tensor]


class VanillaCell(nn.Module):
    """h_t = φ(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)."""

    def __init__(self, activation: str):
        super().__init__()
        self.act = act_kernel(activation)
        self.keep_z = ACTIVATIONS[activation].grad_reads_input

    def forward(self, xp: Tensor, p: RNNParams, want_record: bool, n_train: int) -> Tape:
        S, B, H = p.w_hh.shape[0], xp.shape[1], p.w_hh.shape[2]
        xs = xp + (p.b_ih + p.b_hh).view(S, 1, 1, -1)  # (S, B, T, H)
        w_t = p.w_hh.transpose(1, 2)
        h = xp.new_zeros([S, B, H])
        hs: list[Tensor] = [h]
        saved: list[list[Tensor]] = []
        record: list[Tensor] = []
        for t in range(xp.shape[2]):
            z = torch.baddbmm(xs[:, :, t], h, w_t)
            if want_record:
                record.append(z[:, :n_train])
            h = self.act(z)
            saved.append([z, h] if self.keep_z else [h, h])
            hs.append(h)
        return Tape(hs, saved, record)

    @torch.jit.export
    def backward_step(
        self, gh: Tensor, gc: Tensor, h_prev: Tensor, saved: list[Tensor], w_hh: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """(∂L/∂h_{t−1}, carried cell gradient, ∂L/∂(recurrent matmul out), ∂L/∂(input proj))."""
        gz = self.act.backward(gh, saved[0], saved[1])
        return torch.bmm(gz, w_hh), gc, gz, gz


class LSTMCell(nn.Module):
    """PyTorch's LSTM: gates i, f, g, o; c_t = f ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(c_t)."""

    def forward(self, xp: Tensor, p: RNNParams, want_record: bool, n_train: int) -> Tape:
        S, B, H = p.w_hh.shape[0], xp.shape[1], p.w_hh.shape[2]
        xs = xp + (p.b_ih + p.b_hh).view(S, 1, 1, -1)  # (S, B, T, 4H)
        w_t = p.w_hh.transpose(1, 2)
        h = xp.new_zeros([S, B, H])
        c = xp.new_zeros([S, B, H])
        hs: list[Tensor] = [h]
        saved: list[list[Tensor]] = []
        record: list[Tensor] = []
        for t in range(xp.shape[2]):
            z = torch.baddbmm(xs[:, :, t], h, w_t)
            if want_record:  # the sigmoid gates: where saturation stops learning
                record.append(torch.cat([z[:, :n_train, : 2 * H], z[:, :n_train, 3 * H :]], -1))
            s = torch.sigmoid(z)
            g = torch.tanh(z[..., 2 * H : 3 * H])
            c_prev = c
            c = torch.addcmul(s[..., H : 2 * H] * c, s[..., :H], g)
            tc = torch.tanh(c)
            h = s[..., 3 * H :] * tc
            saved.append([s, g, tc, c_prev])
            hs.append(h)
        return Tape(hs, saved, record)

    @torch.jit.export
    def backward_step(
        self, gh: Tensor, gc: Tensor, h_prev: Tensor, saved: list[Tensor], w_hh: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        H = gh.shape[2]
        s, g, tc, c_prev = saved[0], saved[1], saved[2], saved[3]
        si, sf, so = s[..., :H], s[..., H : 2 * H], s[..., 3 * H :]
        gc = gc + tanh_backward(gh * so, tc)  # ∂L/∂c_t: from h_t and from c_{t+1}
        gz = torch.cat(
            [
                sigmoid_backward(gc * g, si),
                sigmoid_backward(gc * c_prev, sf),
                tanh_backward(gc * si, g),
                sigmoid_backward(gh * tc, so),
            ],
            dim=-1,
        )
        return torch.bmm(gz, w_hh), gc * sf, gz, gz


class GRUCell(nn.Module):
    """PyTorch's GRU: n = tanh(x_n + r ⊙ (W_hn h + b_hn)), h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}."""

    input_grad_differs = True  # b_hn sits inside r ⊙ (·): ∂L/∂(x proj) ≠ ∂L/∂(h proj)

    def forward(self, xp: Tensor, p: RNNParams, want_record: bool, n_train: int) -> Tape:
        S, B, H = p.w_hh.shape[0], xp.shape[1], p.w_hh.shape[2]
        # r and z take both biases up front; b_hn stays inside r ⊙ (W_hn h + b_hn)
        b_rz, b_n = p.b_hh[:, : 2 * H], p.b_hh[:, 2 * H :]
        xs = xp + p.b_ih.view(S, 1, 1, -1)
        x_rz = xs[..., : 2 * H] + b_rz.view(S, 1, 1, -1)  # (S, B, T, 2H)
        x_n = xs[..., 2 * H :]  # (S, B, T, H)
        hh_bias = torch.cat([torch.zeros_like(b_rz), b_n], dim=-1).unsqueeze(1)  # (S, 1, 3H)
        w_t = p.w_hh.transpose(1, 2)
        h = xp.new_zeros([S, B, H])
        hs: list[Tensor] = [h]
        saved: list[list[Tensor]] = []
        record: list[Tensor] = []
        for t in range(xp.shape[2]):
            hh = torch.baddbmm(hh_bias, h, w_t)  # (S, B, 3H)
            a = x_rz[:, :, t] + hh[..., : 2 * H]  # pre-activations of the reset and update gates
            if want_record:
                record.append(a[:, :n_train])
            s = torch.sigmoid(a)
            r, zg = s[..., :H], s[..., H:]
            hn = hh[..., 2 * H :]
            n = torch.tanh(torch.addcmul(x_n[:, :, t], r, hn))
            h_prev = h
            h = torch.lerp(n, h, zg)  # (1 - z) ⊙ n + z ⊙ h
            saved.append([s, hn, n, h_prev])
            hs.append(h)
        return Tape(hs, saved, record)

    @torch.jit.export
    def backward_step(
        self, gh: Tensor, gc: Tensor, h_prev: Tensor, saved: list[Tensor], w_hh: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        H = gh.shape[2]
        s, hn, n = saved[0], saved[1], saved[2]
        r, zg = s[..., :H], s[..., H:]
        dn = tanh_backward(gh * (1 - zg), n)  # ∂L/∂(x_n + r ⊙ hn)
        da = sigmoid_backward(torch.cat([dn * hn, gh * (h_prev - n)], dim=-1), s)
        gz = torch.cat([da, dn * r], dim=-1)  # ∂L/∂hh (its bias: b_hn)
        gx = torch.cat([da, dn], dim=-1)  # ∂L/∂(input projection)
        return torch.addcmul(torch.bmm(gz, w_hh), gh, zg), gc, gz, gx


# the hand-written cells; a cell missing here trains through autograd
CELL_STEPS = {"rnn": VanillaCell, "lstm": LSTMCell, "gru": GRUCell}


class RNNStep(nn.Module):
    """One training step of a stacked recurrent net around one cell's forward and backward."""

    def __init__(self, cell: nn.Module):
        super().__init__()
        self.cell = cell
        self.input_grad_differs = bool(getattr(cell, "input_grad_differs", False))

    def forward(
        self, x: Tensor, y: Tensor, alive: Tensor, p: RNNParams, q: RNNRequest, grad_out: Tensor
    ) -> tuple[Tensor, Tensor, list[Tensor], Tensor]:
        """Loss (S,), accuracy (S,), recorded pre-activations and hidden-gradient norms (T, S).

        x: (B, T, D) shared by all seeds; y: (B,) labels or (B, 1) targets. With ``n_probe`` > 0
        one pass serves a training batch (the first rows: loss, accuracy, record, gradient) and
        the probe batch (the last rows: ‖∂L_probe/∂h_t‖): sequences never interact, so each
        row's ∂L/∂h_t is its own batch's, and the weight gradients sum the training rows only.
        """
        S, H = p.w_hh.shape[0], p.w_hh.shape[2]
        B, T, D = x.shape[0], x.shape[1], x.shape[2]
        Bt = B - q.n_probe  # training rows
        # input projections for all steps at once: (S, B, T, G·H)
        xp = torch.matmul(x.unsqueeze(0), p.w_ih.transpose(1, 2).unsqueeze(1))
        tape = self.cell(xp, p, q.want_record, Bt)
        h = tape.hs[T]
        out = torch.baddbmm(p.b_ro.unsqueeze(1), h, p.w_ro.transpose(1, 2))  # (S, B, C)
        loss_s, acc_s, g_out = self._loss(out[:, :Bt], y[:Bt], alive, q.classification)
        g_w_ro = torch.bmm(g_out.transpose(1, 2), h[:, :Bt])
        g_b_ro = g_out.sum(1)
        if q.n_probe > 0:  # the probe rows' own loss gradient, for the hidden-gradient measure
            g_probe = self._loss(out[:, Bt:], y[Bt:], alive, q.classification)[2]
            g_out = torch.cat([g_out, g_probe], dim=1)

        # backward through time: gh = ∂L/∂h_t; per step ∂L/∂(matmul out) and ∂L/∂(input proj)
        gh = torch.bmm(g_out, p.w_ro)  # (S, B, H)
        gc = torch.zeros_like(gh)
        gzs: list[Tensor] = []
        gxs: list[Tensor] = []
        hidden_sq: list[Tensor] = []
        for j in range(T):
            t = T - 1 - j
            if q.want_hidden:
                probe = gh[:, Bt:] if q.n_probe > 0 else gh
                hidden_sq.append(probe.double().square().sum([1, 2]))
            gh, gc, gz, gx = self.cell.backward_step(gh, gc, tape.hs[t], tape.saved[t], p.w_hh)
            gzs.append(gz)
            if self.input_grad_differs:
                gxs.append(gx)
        # the weight gradients: one batched matmul over the training rows and all steps
        gz_all = torch.stack(gzs[::-1], dim=2)[:, :Bt].reshape(S, Bt * T, -1)  # (S, Bt·T, G·H)
        h_prev_all = torch.stack(tape.hs[:T], dim=2)[:, :Bt].reshape(S, Bt * T, H)
        g_w_hh = torch.bmm(gz_all.transpose(1, 2), h_prev_all)  # (S, G·H, H)
        g_b_hh = gz_all.sum(1)
        gx_all = gz_all
        if self.input_grad_differs:
            gx_all = torch.stack(gxs[::-1], dim=2)[:, :Bt].reshape(S, Bt * T, -1)
        g_w_ih = torch.matmul(gx_all.transpose(1, 2), x[:Bt].reshape(Bt * T, D))  # (S, G·H, D)
        g_b_ih = gx_all.sum(1)
        # RecurrentNet's parameter order: w_hh, b_hh, then inp (weight, bias), then the readout
        parts = [g_w_hh, g_b_hh, g_w_ih, g_b_ih, g_w_ro, g_b_ro]
        torch.cat([t.reshape(S, -1) for t in parts], dim=1, out=grad_out)
        if q.want_hidden:
            hidden = torch.stack(hidden_sq[::-1]).sqrt()  # (T, S)
        else:
            hidden = torch.zeros([0], dtype=torch.float64)
        return loss_s, acc_s, tape.record, hidden

    def _loss(
        self, out: Tensor, y: Tensor, alive: Tensor, classification: bool
    ) -> tuple[Tensor, Tensor, Tensor]:
        if classification:
            return loss_and_grad(out, y, alive)
        return mse_and_grad(out, y, alive)


def supports(cell: str, activation: str) -> bool:
    """Whether the hand-written recurrent step covers this cell (and vanilla activation)."""
    if cell not in CELL_STEPS or cell not in CELLS:
        return False
    if not CELLS[cell].uses_activation:
        return True
    return activation in ACTIVATIONS and ACTIVATIONS[activation].grad is not None


def make_step(cell: str, activation: str) -> RNNStep:
    """The uncompiled step of one cell (and activation, for the vanilla cell)."""
    module = CELL_STEPS[cell](activation) if CELLS[cell].uses_activation else CELL_STEPS[cell]()
    return RNNStep(module)


def compiled_step(cell: str, activation: str) -> nn.Module:
    """The step of one cell, compiled (GIL-free) where TorchScript is on."""
    return _step(cell, activation, torchscript_enabled())


@cache
def _step(cell: str, activation: str, script: bool) -> nn.Module:
    """Made once per cell, activation and TorchScript setting (GFL_TORCHSCRIPT)."""
    return compile_step(make_step(cell, activation))


class RNNBackprop:
    """Loss and gradients of a ``RecurrentNet`` by hand, GIL-free."""

    def __init__(
        self,
        model: nn.Module,
        activation: str,
        params: list[nn.Parameter],
        step: nn.Module | None = None,
    ):
        m = model
        self.params = RNNParams(
            m.inp.weight, m.inp.bias, m.w_hh, m.b_hh, m.readout.weight, m.readout.bias
        )
        order = [m.w_hh, m.b_hh, m.inp.weight, m.inp.bias, m.readout.weight, m.readout.bias]
        if [id(p) for p in order] != [id(p) for p in params]:  # the order grads come back in
            raise ValueError("RNNBackprop expects the parameters in RecurrentNet's order")
        act = activation if CELLS[m.cell].uses_activation else "tanh"
        self.step = step if step is not None else compiled_step(m.cell, act)

    def run(
        self,
        x: Tensor,
        y: Tensor,
        alive: Tensor,
        classification: bool,
        grad_out: Tensor,
        record: list | None = None,
        hidden: bool = False,
        probe: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Per-seed loss and accuracy (S,) and ‖∂L/∂h_t‖ (T, S) when ``hidden`` (of ``probe``'s
        loss where given, else of this batch's); the gradient of this batch's loss lands in
        ``grad_out``, its pre-activations in ``record``."""
        n_probe = 0
        if probe is not None:
            n_probe = probe[0].shape[0]
            x, y = torch.cat([x, probe[0]]), torch.cat([y, probe[1]])
        q = RNNRequest(classification, record is not None, hidden, n_probe)
        with torch.no_grad():  # no graph: the parameters require grad
            loss_s, acc_s, rec, hid = self.step(x, y, alive, self.params, q, grad_out)
        if record is not None:
            record.extend(rec)
        return loss_s, acc_s, hid

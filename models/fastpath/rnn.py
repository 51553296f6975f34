"""The stacked recurrent net's training step by hand: forward and backpropagation through time.

Vanilla RNN, LSTM and GRU, with PyTorch's formulations (``RecurrentNet.forward``, the autograd
reference the tests check against). Per time step the forward pass is a batched matmul and a
few element-wise ops; the backward pass walks the steps in reverse carrying ∂L/∂h_t (and ∂L/∂c_t
for the LSTM), and the weight gradients come at the end from one batched matmul over all steps.
Compiled with TorchScript (``models.fastpath.manual_grad``), the whole step runs without the GIL.

The same pass gives the per-time-step gradients ‖∂L/∂h_t‖ for the probe batch: they are the
∂L/∂h_t the backward pass carries anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import torch
from torch import Tensor, nn

from models.fastpath.manual_grad import (
    activate,
    activate_backward,
    compile_step,
    loss_and_grad,
    mse_and_grad,
)

sigmoid_backward = torch.ops.aten.sigmoid_backward
tanh_backward = torch.ops.aten.tanh_backward


def rnn_step(
    x: Tensor,  # (B, T, D) inputs, shared by all seeds
    y: Tensor,  # (B,) labels or (B, 1) targets
    alive: Tensor,  # (S,) bool
    w_ih: Tensor,  # (S, G·H, D)
    b_ih: Tensor,  # (S, G·H)
    w_hh: Tensor,  # (S, G·H, H)
    b_hh: Tensor,  # (S, G·H)
    w_ro: Tensor,  # (S, C, H)
    b_ro: Tensor,  # (S, C)
    cell: str,  # rnn | lstm | gru
    act: str,  # the vanilla cell's non-linearity
    classification: bool,
    want_record: bool,  # return the pre-activations (saturation)
    want_hidden: bool,  # return ‖∂L/∂h_t‖ per step and seed, (T, S), in float64
    n_probe: int,  # the last rows of x, y are a probe batch: its loss drives want_hidden only
    grad_out: Tensor,  # (S, N): receives the gradient, laid out as the parameters are
) -> tuple[Tensor, Tensor, list[Tensor], Tensor]:
    """Loss (S,), accuracy (S,), recorded pre-activations and hidden-gradient norms.

    With ``n_probe`` > 0 one pass serves a training batch (the first rows: loss, accuracy,
    record, gradient) and the probe batch (the last rows: ‖∂L_probe/∂h_t‖): sequences never
    interact, so each row's ∂L/∂h_t is its own batch's, and the weight gradients sum the
    training rows only. With ``n_probe`` = 0 every row is trained and probed.
    """
    S, H = w_hh.shape[0], w_hh.shape[2]
    B, T, D = x.shape[0], x.shape[1], x.shape[2]
    Bt = B - n_probe  # training rows
    # input projections for all steps at once: (S, B, T, G·H)
    xp = torch.matmul(x.unsqueeze(0), w_ih.transpose(1, 2).unsqueeze(1))
    w_t = w_hh.transpose(1, 2)  # (S, H, G·H)
    h = x.new_zeros([S, B, H])
    c = x.new_zeros([S, B, H])
    hs: list[Tensor] = [h]  # h_0 .. h_T
    cs: list[Tensor] = [c]  # lstm: c_0 .. c_T
    saved: list[Tensor] = []  # per step: what its backward needs
    record: list[Tensor] = []
    if cell == "gru":
        # r and z take both biases up front; b_hn stays inside r ⊙ (W_hn h + b_hn)
        b_rz, b_n = b_hh[:, : 2 * H], b_hh[:, 2 * H :]
        xs = xp + b_ih.view(S, 1, 1, -1)
        x_rz = xs[..., : 2 * H] + b_rz.view(S, 1, 1, -1)  # (S, B, T, 2H)
        x_n = xs[..., 2 * H :]  # (S, B, T, H)
        hh_bias = torch.cat([torch.zeros_like(b_rz), b_n], dim=-1).unsqueeze(1)  # (S, 1, 3H)
        for t in range(T):
            hh = torch.baddbmm(hh_bias, h, w_t)  # (S, B, 3H)
            a = x_rz[:, :, t] + hh[..., : 2 * H]  # pre-activations of the reset and update gates
            if want_record:
                record.append(a[:, :Bt])
            s = torch.sigmoid(a)
            r, zg = s[..., :H], s[..., H:]
            hn = hh[..., 2 * H :]
            n = torch.tanh(torch.addcmul(x_n[:, :, t], r, hn))
            h = torch.lerp(n, h, zg)  # (1 - z) ⊙ n + z ⊙ h
            saved += [s, hn, n]
            hs.append(h)
    else:
        xs = xp + (b_ih + b_hh).view(S, 1, 1, -1)  # (S, B, T, G·H)
        for t in range(T):
            z = torch.baddbmm(xs[:, :, t], h, w_t)
            if cell == "rnn":
                if want_record:
                    record.append(z[:, :Bt])
                h = activate(act, z)
                if act not in ("sigmoid", "tanh", "relu"):
                    saved.append(z)
            else:  # lstm: gates i, f, g, o
                if want_record:  # the sigmoid gates: where saturation stops learning
                    record.append(torch.cat([z[:, :Bt, : 2 * H], z[:, :Bt, 3 * H :]], dim=-1))
                s = torch.sigmoid(z)
                g = torch.tanh(z[..., 2 * H : 3 * H])
                c = torch.addcmul(s[..., H : 2 * H] * c, s[..., :H], g)
                tc = torch.tanh(c)
                h = s[..., 3 * H :] * tc
                saved += [s, g, tc]
                cs.append(c)
            hs.append(h)
    out = torch.baddbmm(b_ro.unsqueeze(1), h, w_ro.transpose(1, 2))  # (S, B, C)
    if classification:
        loss_s, acc_s, g_out = loss_and_grad(out[:, :Bt], y[:Bt], alive)
    else:
        loss_s, acc_s, g_out = mse_and_grad(out[:, :Bt], y[:Bt], alive)
    g_w_ro = torch.bmm(g_out.transpose(1, 2), h[:, :Bt])
    g_b_ro = g_out.sum(1)
    if n_probe > 0:  # the probe rows' own loss gradient, for the hidden-gradient measurement
        if classification:
            g_probe = loss_and_grad(out[:, Bt:], y[Bt:], alive)[2]
        else:
            g_probe = mse_and_grad(out[:, Bt:], y[Bt:], alive)[2]
        g_out = torch.cat([g_out, g_probe], dim=1)

    # backward through time: gh = ∂L/∂h_t, gzs[t] = ∂L/∂(step t's matmul output) (S, B, G·H)
    gh = torch.bmm(g_out, w_ro)  # (S, B, H)
    gc = torch.zeros_like(gh)
    gzs: list[Tensor] = []
    gxs: list[Tensor] = []  # gru: ∂L/∂(input projection) differs from gzs (b_hn, r ⊙ ·)
    hidden_sq: list[Tensor] = []
    for j in range(T):
        t = T - 1 - j
        if want_hidden:
            probe = gh[:, Bt:] if n_probe > 0 else gh
            hidden_sq.append(probe.double().square().sum([1, 2]))
        if cell == "rnn":
            z_t = saved[t] if act not in ("sigmoid", "tanh", "relu") else hs[t + 1]
            gz = activate_backward(act, gh, z_t, hs[t + 1])
            gzs.append(gz)
            gh = torch.bmm(gz, w_hh)
        elif cell == "lstm":
            s, g, tc = saved[3 * t], saved[3 * t + 1], saved[3 * t + 2]
            si, sf, so = s[..., :H], s[..., H : 2 * H], s[..., 3 * H :]
            gc = gc + tanh_backward(gh * so, tc)  # ∂L/∂c_t: from h_t and from c_{t+1}
            gz = torch.cat(
                [
                    sigmoid_backward(gc * g, si),
                    sigmoid_backward(gc * cs[t], sf),
                    tanh_backward(gc * si, g),
                    sigmoid_backward(gh * tc, so),
                ],
                dim=-1,
            )
            gzs.append(gz)
            gc = gc * sf
            gh = torch.bmm(gz, w_hh)
        else:  # gru
            s, hn, n = saved[3 * t], saved[3 * t + 1], saved[3 * t + 2]
            r, zg = s[..., :H], s[..., H:]
            h_prev = hs[t]
            dn = tanh_backward(gh * (1 - zg), n)  # ∂L/∂(x_n + r ⊙ hn)
            da = sigmoid_backward(torch.cat([dn * hn, gh * (h_prev - n)], dim=-1), s)
            gzs.append(torch.cat([da, dn * r], dim=-1))  # ∂L/∂hh (its bias: b_hn)
            gxs.append(torch.cat([da, dn], dim=-1))
            gh = torch.addcmul(torch.bmm(gzs[-1], w_hh), gh, zg)
    # the weight gradients: one batched matmul over the training rows and all steps
    gz_all = torch.stack(gzs[::-1], dim=2)[:, :Bt].reshape(S, Bt * T, -1)  # (S, Bt·T, G·H)
    h_prev_all = torch.stack(hs[:T], dim=2)[:, :Bt].reshape(S, Bt * T, H)
    g_w_hh = torch.bmm(gz_all.transpose(1, 2), h_prev_all)  # (S, G·H, H)
    g_b_hh = gz_all.sum(1)
    if cell == "gru":
        gx_all = torch.stack(gxs[::-1], dim=2)[:, :Bt].reshape(S, Bt * T, -1)
    else:
        gx_all = gz_all
    g_w_ih = torch.matmul(gx_all.transpose(1, 2), x[:Bt].reshape(Bt * T, D))  # (S, G·H, D)
    g_b_ih = gx_all.sum(1)
    # RecurrentNet's parameter order: w_hh, b_hh, then inp (weight, bias), then the readout
    parts = [g_w_hh, g_b_hh, g_w_ih, g_b_ih, g_w_ro, g_b_ro]
    torch.cat([p.reshape(S, -1) for p in parts], dim=1, out=grad_out)
    if want_hidden:
        hidden = torch.stack(hidden_sq[::-1]).sqrt()  # (T, S)
    else:
        hidden = torch.zeros([0], dtype=torch.float64)
    return loss_s, acc_s, record, hidden


@cache
def compiled_step() -> Callable:
    """``rnn_step`` compiled (GIL-free), made once."""
    return compile_step(rnn_step)


class RNNBackprop:
    """Loss and gradients of a ``RecurrentNet`` by hand, GIL-free."""

    def __init__(self, model: nn.Module, activation: str, params: list[nn.Parameter]):
        m = model
        self.tensors = [m.inp.weight, m.inp.bias, m.w_hh, m.b_hh, m.readout.weight, m.readout.bias]
        order = [m.w_hh, m.b_hh, m.inp.weight, m.inp.bias, m.readout.weight, m.readout.bias]
        if [id(p) for p in order] != [id(p) for p in params]:  # the order grads come back in
            raise ValueError("RNNBackprop expects the parameters in RecurrentNet's order")
        self.cell, self.act = m.cell, activation
        self.step = compiled_step()

    def run(
        self, x: Tensor, y: Tensor, alive: Tensor, classification: bool, grad_out: Tensor,
        record: list | None = None, hidden: bool = False,
        probe: tuple[Tensor, Tensor] | None = None,
    ) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
        """Per-seed loss and accuracy (S,) and ‖∂L/∂h_t‖ (T, S) when ``hidden`` (of ``probe``'s
        loss where given, else of this batch's); the gradient of this batch's loss lands in
        ``grad_out``, its pre-activations in ``record``."""
        n_probe = 0
        if probe is not None:
            n_probe = probe[0].shape[0]
            x, y = torch.cat([x, probe[0]]), torch.cat([y, probe[1]])
        with torch.no_grad():  # no graph: the parameters require grad
            loss_s, acc_s, rec, hid = self.step(
                x, y, alive, *self.tensors, self.cell, self.act, classification,
                record is not None, hidden, n_probe, grad_out,
            )  # fmt: skip
        if record is not None:
            record.extend(rec)
        return loss_s, acc_s, hid

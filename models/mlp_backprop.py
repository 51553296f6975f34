"""The stacked MLP's training step written out by hand: forward, loss and backward, no autograd.

Through autograd a hidden layer of a 20-layer step records four graph nodes and replays about
eight backward kernels through the engine (~115 µs a layer at 2 seeds × 64 × 48 on one core);
written out it is two forward and three or four backward ops (~45 µs), each the very kernel
autograd would call (``aten.sigmoid_backward``, ``native_batch_norm_backward``, ...). The
autograd path (``DeepMLP.train_forward`` + ``torch.autograd.grad``) stays the reference the
tests check these gradients against.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from models.layers import StackedBatchNorm, StackedLayerNorm

aten = torch.ops.aten
Tensor = torch.Tensor

# dL/dz from dL/da, the pre-activation z and the activation a = φ(z): autograd's own kernels
ACT_BACKWARD: dict[str, Callable[[Tensor, Tensor, Tensor], Tensor]] = {
    "sigmoid": lambda g, z, a: aten.sigmoid_backward(g, a),
    "tanh": lambda g, z, a: aten.tanh_backward(g, a),
    "relu": lambda g, z, a: aten.threshold_backward(g, a, 0),
    "leaky_relu": lambda g, z, a: aten.leaky_relu_backward(g, z, 0.01, False),
    "gelu": lambda g, z, a: aten.gelu_backward(g, z),
    "elu": lambda g, z, a: aten.elu_backward(g, 1.0, 1.0, 1.0, False, z),
    "silu": lambda g, z, a: aten.silu_backward(g, z),
    "linear": lambda g, z, a: g,
}


def loss_and_grad(out: Tensor, y: Tensor, alive: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Per-seed mean cross-entropy (S,), accuracy (S,) and d(sum of live seeds' losses)/d out.

    out: (S, B, C) logits, y: (B,) labels. Dead seeds get a zero gradient (``torch.where``, so
    their NaN cannot leak in).
    """
    S, B, C = out.shape
    logp = torch.log_softmax(out, dim=-1)  # (S, B, C)
    idx = y.view(1, B, 1).expand(S, B, 1)
    loss_s = -logp.gather(-1, idx).squeeze(-1).mean(1)
    acc_s = (out.argmax(-1) == y).float().mean(1)
    # d mean_b(-log p_y)/d logits = (softmax - one_hot(y)) / B
    g = logp.exp_().scatter_add_(-1, idx, torch.full((S, B, 1), -1.0, dtype=out.dtype)).div_(B)
    return loss_s, acc_s, torch.where(alive.view(S, 1, 1), g, 0.0)


class MLPBackprop:
    """Loss and gradients of a ``DeepMLP`` (classification) by hand."""

    def __init__(self, model: nn.Module, activation: str, params: list[nn.Parameter]):
        self.model = model
        self.act_backward = ACT_BACKWARD[activation]
        self.needs_z = activation not in ("sigmoid", "tanh", "relu", "linear")
        # plain attribute reads in the loop: nn.Module lookups cost ~0.4 µs each, 150 a step
        self.layers = [
            (lin.weight, lin.bias, _norm_step(norm)) for lin, norm in zip(model.hidden, model.norms)
        ]
        self.readout = (model.readout.weight, model.readout.bias)
        expected = [p for lin in model.hidden for p in (lin.weight, lin.bias)]
        expected += [p for norm in model.norms for p in norm.parameters()]
        expected += [model.readout.weight, model.readout.bias]
        if [id(p) for p in expected] != [id(p) for p in params]:  # the order grads come back in
            raise ValueError("MLPBackprop expects the parameters in DeepMLP's registration order")

    @torch.no_grad()  # no graph: the parameters require grad, and recording it costs ~30%
    def loss_and_grads(
        self, x: Tensor, y: Tensor, alive: Tensor, record: list | None = None
    ) -> tuple[Tensor, Tensor, list[Tensor]]:
        """Per-seed loss and accuracy (S,) and the gradients of the live seeds' summed
        cross-entropy, one per parameter in ``params`` order (as ``torch.autograd.grad``)."""
        m, layers = self.model, self.layers
        S = m.readout.weight.shape[0]
        act, residual, act_backward = m.act, m.residual, self.act_backward
        h = x.unsqueeze(0).expand(S, *x.shape)  # (S, B, n_in)
        saved = []  # per hidden layer: (input h, pre-activation z, activation a, norm state)
        for i, (w, b, norm) in enumerate(layers):
            z = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))  # (S, B, W)
            z, state = norm.forward(z) if norm is not None else (z, None)
            if record is not None:
                record.append(z)
            a = act(z)
            saved.append((h, z if self.needs_z else None, a, state))
            h = h + a if residual and i > 0 else a
        w_ro, b_ro = self.readout
        out = torch.baddbmm(b_ro.unsqueeze(1), h, w_ro.transpose(1, 2))
        loss_s, acc_s, g = loss_and_grad(out, y, alive)

        # gradients in reverse parameter order: readout, then each layer's norm, bias, weight
        grads = [g.sum(1), torch.bmm(g.transpose(1, 2), h)]  # readout bias (S, C), weight (S, C, W)
        norm_grads: list[Tensor] = []
        gh = torch.bmm(g, w_ro)  # (S, B, W): dL/dh of the last hidden layer
        for i in range(len(saved) - 1, -1, -1):
            h_in, z, a, state = saved[i]
            w, _, norm = layers[i]
            gz = act_backward(gh, z, a)
            if norm is not None:
                gz = norm.backward(gz, state, norm_grads)
            grads.append(gz.sum(1))
            grads.append(torch.bmm(gz.transpose(1, 2), h_in))  # (S, W, n_in)
            if i == 0:  # the input is data: no gradient needed
                break
            g_in = torch.bmm(gz, w)
            gh = g_in.add_(gh) if residual else g_in  # the skip passes dL/dh straight through
        # parameter order: hidden weights and biases, the norms' weights and biases, readout
        ro_b, ro_w = grads[0], grads[1]
        hidden = grads[:1:-1]  # w1, b1, w2, b2, ...
        return loss_s, acc_s, [*hidden, *norm_grads[::-1], ro_w, ro_b]


class _BatchNormStep:
    """One ``StackedBatchNorm`` in training mode: the (S·n)-channel kernel and its backward."""

    def __init__(self, norm: StackedBatchNorm):
        self.norm, self.eps, self.momentum = norm, norm.eps, norm.momentum
        # the running statistics are contiguous buffers updated in place: view them once
        self.running = (norm.running_mean.view(-1), norm.running_var.view(-1))

    def forward(self, z: Tensor) -> tuple[Tensor, tuple]:
        S, B, n = z.shape
        flat = z.transpose(0, 1).reshape(B, S * n)  # (B, S·n): as StackedBatchNorm lays it out
        w = self.norm.weight.reshape(-1)  # a copy: the parameters are strided views
        out, mean, invstd = torch.native_batch_norm(
            flat, w, self.norm.bias.reshape(-1), *self.running, True, self.momentum, self.eps
        )
        return out.view(B, S, n).transpose(0, 1), (flat, w, mean, invstd)

    def backward(self, g: Tensor, state: tuple, out: list[Tensor]) -> Tensor:
        flat, w, mean, invstd = state
        S, B, n = g.shape
        g_in, g_w, g_b = aten.native_batch_norm_backward(
            g.transpose(0, 1).reshape(B, S * n), flat, w, None, None, mean, invstd, True,
            self.eps, [True, True, True],
        )  # fmt: skip
        out += [g_b.view(S, n), g_w.view(S, n)]
        return g_in.view(B, S, n).transpose(0, 1)


class _LayerNormStep:
    """One ``StackedLayerNorm``: normalisation kernel, per-seed affine, and their backward."""

    def __init__(self, norm: StackedLayerNorm):
        self.norm, self.eps = norm, norm.eps

    def forward(self, z: Tensor) -> tuple[Tensor, tuple]:
        xhat, mean, rstd = torch.native_layer_norm(z, z.shape[-1:], None, None, self.eps)
        out = xhat * self.norm.weight.unsqueeze(1) + self.norm.bias.unsqueeze(1)
        return out, (z, xhat, mean, rstd)

    def backward(self, g: Tensor, state: tuple, out: list[Tensor]) -> Tensor:
        z, xhat, mean, rstd = state
        out += [g.sum(1), (g * xhat).sum(1)]
        g_xhat = g * self.norm.weight.unsqueeze(1)
        return aten.native_layer_norm_backward(
            g_xhat, z, z.shape[-1:], mean, rstd, None, None, [True, False, False]
        )[0]


def _norm_step(norm: nn.Module) -> _BatchNormStep | _LayerNormStep | None:
    """The hand-written step of a hidden block's norm (None for the identity)."""
    if isinstance(norm, StackedBatchNorm):
        return _BatchNormStep(norm)
    if isinstance(norm, StackedLayerNorm):
        return _LayerNormStep(norm)
    return None

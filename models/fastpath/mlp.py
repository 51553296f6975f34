"""The stacked MLP's training step written out by hand: forward, loss and backward, no autograd.

Through autograd a hidden layer of a 20-layer step records four graph nodes and replays about
eight backward kernels through the engine (~115 µs a layer at 2 seeds × 64 × 48 on one core);
written out it is two forward and three or four backward ops (~45 µs), each the very kernel
autograd would call (``aten.sigmoid_backward``, ``native_batch_norm_backward``, ...).

The step is compiled with TorchScript (``models.fastpath.manual_grad``): it runs without the GIL. The
autograd path (``DeepMLP.train_forward`` + ``torch.autograd.grad``) stays the reference the
tests check against.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import torch
from torch import Tensor, nn

from models.core.layers import StackedBatchNorm, StackedLayerNorm
from models.fastpath.manual_grad import activate, activate_backward, compile_step, loss_and_grad


def _forward(
    x: Tensor,
    ws: list[Tensor],  # hidden weights (S, W, n_in), then the readout's (S, C, W)
    bs: list[Tensor],  # their biases (S, W) ... (S, C)
    norm_ws: list[Tensor],  # per hidden layer (S, W), empty without a norm
    norm_bs: list[Tensor],
    running: list[Tensor],  # batch norm: per layer running mean, running var, each (S·W,)
    act: str,
    residual: bool,
    norm: str,  # none | batch | layer
    momentum: float,
    eps: float,
    train: bool,  # batch statistics (and keep what the backward pass needs), else running ones
    keep_z: bool,  # keep the normalised pre-activations
) -> tuple[Tensor, Tensor, list[Tensor], list[Tensor], list[Tensor], list[Tensor]]:
    """Logits (S, B, C), the last hidden state, and per hidden layer its input, pre-activation,
    activation and norm state (batch: input (B, S·W), weight, mean, invstd; layer: input,
    x̂, mean, rstd); the lists stay empty when not training."""
    S, B = ws[0].shape[0], x.shape[0]
    h = x.unsqueeze(0).expand(S, B, x.shape[1])  # (S, B, n_in)
    hs: list[Tensor] = []
    zs: list[Tensor] = []
    acts: list[Tensor] = []
    saved: list[Tensor] = []
    for i in range(len(ws) - 1):
        z = torch.baddbmm(bs[i].unsqueeze(1), h, ws[i].transpose(1, 2))  # (S, B, W)
        n = z.shape[2]
        if norm == "batch":
            flat = z.transpose(0, 1).reshape(B, S * n)  # (B, S·W): StackedBatchNorm's layout
            w = norm_ws[i].reshape(-1)
            rm, rv = running[2 * i], running[2 * i + 1]
            if train:
                out, mean, invstd = torch.native_batch_norm(
                    flat, w, norm_bs[i].reshape(-1), rm, rv, True, momentum, eps
                )
                saved += [flat, w, mean, invstd]
            else:
                out = torch.batch_norm(flat, w, norm_bs[i].reshape(-1), rm, rv, False, 0.0, eps,
                                       False)  # fmt: skip
            z = out.view(B, S, n).transpose(0, 1)
        elif norm == "layer":
            xhat, mean, rstd = torch.native_layer_norm(z, [n], None, None, eps)
            if train:
                saved += [z, xhat, mean, rstd]
            z = xhat * norm_ws[i].unsqueeze(1) + norm_bs[i].unsqueeze(1)
        a = activate(act, z)
        if train:
            hs.append(h)
            acts.append(a)
        if keep_z:
            zs.append(z)
        h = h + a if residual and i > 0 else a
    L = len(ws) - 1
    out = torch.baddbmm(bs[L].unsqueeze(1), h, ws[L].transpose(1, 2))  # (S, B, C)
    return out, h, hs, zs, acts, saved


def mlp_step(
    x: Tensor,
    y: Tensor,
    alive: Tensor,
    ws: list[Tensor],
    bs: list[Tensor],
    norm_ws: list[Tensor],
    norm_bs: list[Tensor],
    running: list[Tensor],
    act: str,
    residual: bool,
    norm: str,
    momentum: float,
    eps: float,
    want_record: bool,
    grad_out: Tensor,  # (S, N): receives the gradient in parameter order
) -> tuple[Tensor, Tensor, list[Tensor]]:
    """One training step's loss (S,), accuracy (S,) and recorded pre-activations; the gradient
    of the live seeds' summed loss goes into ``grad_out``."""
    S, B, L = ws[0].shape[0], x.shape[0], len(ws) - 1
    keep_z = act not in ("sigmoid", "tanh", "relu", "linear")  # backward reads z, not φ(z)
    out, h, hs, zs, acts, saved = _forward(
        x, ws, bs, norm_ws, norm_bs, running, act, residual, norm, momentum, eps, True,
        keep_z or want_record,
    )  # fmt: skip
    loss_s, acc_s, g = loss_and_grad(out, y, alive)

    # backward, collected in reverse parameter order
    rev: list[Tensor] = [g.sum(1), torch.bmm(g.transpose(1, 2), h)]  # readout bias, weight
    norm_rev: list[Tensor] = []
    gh = torch.bmm(g, ws[L])  # (S, B, W): dL/dh of the last hidden layer
    for j in range(L):
        i = L - 1 - j
        gz = activate_backward(act, gh, zs[i] if keep_z else gh, acts[i])
        if norm == "batch":
            n = gz.shape[2]
            grads = torch.ops.aten.native_batch_norm_backward(
                gz.transpose(0, 1).reshape(B, S * n), saved[4 * i], saved[4 * i + 1], None,
                None, saved[4 * i + 2], saved[4 * i + 3], True, eps, [True, True, True],
            )  # fmt: skip
            g_in, g_w, g_b = grads[0], grads[1], grads[2]
            assert g_in is not None and g_w is not None and g_b is not None
            norm_rev += [g_b.view(S, n), g_w.view(S, n)]
            gz = g_in.view(B, S, n).transpose(0, 1)
        elif norm == "layer":
            z_in, xhat, mean, rstd = (
                saved[4 * i],
                saved[4 * i + 1],
                saved[4 * i + 2],
                saved[4 * i + 3],
            )
            norm_rev += [gz.sum(1), (gz * xhat).sum(1)]
            grads = torch.ops.aten.native_layer_norm_backward(
                gz * norm_ws[i].unsqueeze(1), z_in, [z_in.shape[2]], mean, rstd, None, None,
                [True, False, False],
            )  # fmt: skip
            g_in = grads[0]
            assert g_in is not None
            gz = g_in
        rev += [gz.sum(1), torch.bmm(gz.transpose(1, 2), hs[i])]  # bias (S, W), weight
        if i > 0:  # the input layer's input is data: no gradient needed
            g_in = torch.bmm(gz, ws[i])
            gh = g_in + gh if residual else g_in  # the skip passes dL/dh straight through
    # parameter order: hidden weights and biases, the norms' weights and biases, readout
    parts: list[Tensor] = []
    for k in range(2 * L):
        parts.append(rev[2 * L + 1 - k].reshape(S, -1))
    for k in range(len(norm_rev)):
        parts.append(norm_rev[len(norm_rev) - 1 - k].reshape(S, -1))
    parts += [rev[1].reshape(S, -1), rev[0]]
    torch.cat(parts, dim=1, out=grad_out)
    return loss_s, acc_s, zs if want_record else []


def mlp_validate(
    x: Tensor,
    y: Tensor,
    ws: list[Tensor],
    bs: list[Tensor],
    norm_ws: list[Tensor],
    norm_bs: list[Tensor],
    running: list[Tensor],
    act: str,
    residual: bool,
    norm: str,
    eps: float,
) -> tuple[Tensor, Tensor]:
    """Evaluation-mode loss and accuracy (S,): batch norm reads its running statistics."""
    out = _forward(x, ws, bs, norm_ws, norm_bs, running, act, residual, norm, 0.0, eps, False,
                   False)[0]  # fmt: skip
    loss_s, acc_s, _ = loss_and_grad(out, y, torch.ones(ws[0].shape[0], dtype=torch.bool))
    return loss_s, acc_s


@cache
def compiled_step() -> Callable:
    """``mlp_step`` compiled (GIL-free), made once."""
    return compile_step(mlp_step)


@cache
def compiled_validate() -> Callable:
    """``mlp_validate`` compiled (GIL-free), made once."""
    return compile_step(mlp_validate)


class MLPBackprop:
    """Loss and gradients of a ``DeepMLP`` (classification) by hand, GIL-free."""

    def __init__(self, model: nn.Module, activation: str, params: list[nn.Parameter]):
        expected = [p for lin in model.hidden for p in (lin.weight, lin.bias)]
        expected += [p for norm in model.norms for p in norm.parameters()]
        expected += [model.readout.weight, model.readout.bias]
        if [id(p) for p in expected] != [id(p) for p in params]:  # the order grads come back in
            raise ValueError("MLPBackprop expects the parameters in DeepMLP's registration order")
        layers = [*model.hidden, model.readout]
        self.ws = [lin.weight for lin in layers]
        self.bs = [lin.bias for lin in layers]
        norms = [n for n in model.norms if isinstance(n, (StackedBatchNorm, StackedLayerNorm))]
        self.norm = (
            "none" if not norms else "batch" if isinstance(norms[0], StackedBatchNorm) else "layer"
        )
        self.norm_ws = [n.weight for n in norms]
        self.norm_bs = [n.bias for n in norms]
        # running statistics are contiguous buffers updated in place: flat views, made once
        self.running = [
            t.view(-1)
            for n in norms
            if self.norm == "batch"
            for t in (n.running_mean, n.running_var)
        ]
        first = norms[0] if norms else None
        self.momentum = float(getattr(first, "momentum", 0.1))
        self.eps = float(getattr(first, "eps", 1e-5))
        self.act, self.residual = activation, bool(model.residual)
        self.step, self.validate_fn = compiled_step(), compiled_validate()

    def validate(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Per-seed loss and accuracy (S,) in evaluation mode (the validation set)."""
        with torch.no_grad():
            return self.validate_fn(
                x, y, self.ws, self.bs, self.norm_ws, self.norm_bs, self.running, self.act,
                self.residual, self.norm, self.eps,
            )  # fmt: skip

    def loss_and_grads(
        self, x: Tensor, y: Tensor, alive: Tensor, grad_out: Tensor, record: list | None = None
    ) -> tuple[Tensor, Tensor]:
        """Per-seed loss and accuracy (S,); the gradient of the live seeds' summed cross-entropy
        lands in ``grad_out`` (S, N), laid out like the parameters; ``record`` gets the
        pre-activations."""
        with torch.no_grad():  # no graph: the parameters require grad
            loss_s, acc_s, zs = self.step(
                x, y, alive, self.ws, self.bs, self.norm_ws, self.norm_bs, self.running,
                self.act, self.residual, self.norm, self.momentum, self.eps, record is not None,
                grad_out,
            )  # fmt: skip
        if record is not None:
            record.extend(zs)
        return loss_s, acc_s

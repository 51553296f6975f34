"""The stacked MLP's training step written out by hand: forward, loss and backward, no autograd.

Written out, a hidden layer is two forward and three or four backward ops, each the very kernel
autograd would call (``aten.sigmoid_backward``, ``native_batch_norm_backward``, ...), with no
graph recorded. One ``MLPStep`` is built (and compiled with TorchScript, GIL-free) per
activation and normalisation: their kernels come from the registries. The autograd path
(``DeepMLP.train_forward`` + ``torch.autograd.grad``) is the reference the tests check against.
"""

from __future__ import annotations

from functools import cache
from typing import NamedTuple

import torch
from torch import Tensor, nn

from ..core.activations import ACTIVATIONS
from ..core.norms import NORMS
from .manual_grad import (
    act_kernel,
    compile_step,
    loss_and_grad,
    norm_kernel,
    torchscript_enabled,
)


class MLPParams(NamedTuple):
    """The stacked MLP's tensors, as views of the trained parameters."""

    ws: list[Tensor]  # hidden weights (S, W, n_in) ... then the readout's (S, C, W)
    bs: list[Tensor]  # their biases (S, W) ... (S, C)
    norm_ws: list[Tensor]  # per hidden layer (S, W); empty without a norm layer
    norm_bs: list[Tensor]
    running_mean: list[Tensor]  # per hidden layer, flat (S·W,); empty without running stats
    running_var: list[Tensor]


class MLPSettings(NamedTuple):
    """What a variant sets beyond its activation and norm."""

    residual: bool  # identity skip around every hidden block but the first
    momentum: float  # batch norm's running-statistics momentum
    eps: float  # the norm's ε


class MLPStep(nn.Module):
    """Training step and validation pass of a stacked MLP with one activation and norm."""

    def __init__(self, activation: str, norm: str):
        super().__init__()
        self.act = act_kernel(activation)
        self.norm = norm_kernel(norm)
        self.keep_z = ACTIVATIONS[activation].grad_reads_input  # backward reads z, not φ(z)
        self.has_norm = NORMS[norm].layer is not None
        self.has_running = NORMS[norm].running_stats

    def _layers(
        self, x: Tensor, p: MLPParams, s: MLPSettings, train: bool, keep_z: bool
    ) -> tuple[Tensor, Tensor, list[Tensor], list[Tensor], list[Tensor], list[list[Tensor]]]:
        """Logits (S, B, C), the last hidden state, and per hidden layer its input,
        pre-activation (when ``keep_z``), activation and the norm's saved tensors (training)."""
        S, B = p.ws[0].shape[0], x.shape[0]
        h = x.unsqueeze(0).expand(S, B, x.shape[1])  # (S, B, n_in)
        empty = x.new_empty([0])
        hs: list[Tensor] = []
        zs: list[Tensor] = []
        acts: list[Tensor] = []
        saved: list[list[Tensor]] = []
        for i in range(len(p.ws) - 1):
            z = torch.baddbmm(p.bs[i].unsqueeze(1), h, p.ws[i].transpose(1, 2))  # (S, B, W)
            if self.has_norm:
                rm = p.running_mean[i] if self.has_running else empty
                rv = p.running_var[i] if self.has_running else empty
                if train:
                    z, kept = self.norm(z, p.norm_ws[i], p.norm_bs[i], rm, rv, s.momentum, s.eps)
                    saved.append(kept)
                else:
                    z = self.norm.infer(z, p.norm_ws[i], p.norm_bs[i], rm, rv, s.eps)
            a = self.act(z)
            if train:
                hs.append(h)
                acts.append(a)
            if keep_z:
                zs.append(z)
            h = h + a if s.residual and i > 0 else a
        L = len(p.ws) - 1
        out = torch.baddbmm(p.bs[L].unsqueeze(1), h, p.ws[L].transpose(1, 2))  # (S, B, C)
        return out, h, hs, zs, acts, saved

    def forward(
        self,
        x: Tensor,
        y: Tensor,
        alive: Tensor,
        p: MLPParams,
        s: MLPSettings,
        want_record: bool,
        grad_out: Tensor,
    ) -> tuple[Tensor, Tensor, list[Tensor]]:
        """Loss (S,), accuracy (S,) and the recorded pre-activations of one training step; the
        gradient of the live seeds' summed loss goes into ``grad_out`` (S, N), parameter order."""
        S, L = p.ws[0].shape[0], len(p.ws) - 1
        keep_z = self.keep_z
        out, h, hs, zs, acts, saved = self._layers(x, p, s, True, keep_z or want_record)
        loss_s, acc_s, g = loss_and_grad(out, y, alive)

        # backward, collected in reverse parameter order
        rev: list[Tensor] = [g.sum(1), torch.bmm(g.transpose(1, 2), h)]  # readout bias, weight
        norm_rev: list[Tensor] = []
        gh = torch.bmm(g, p.ws[L])  # (S, B, W): dL/dh of the last hidden layer
        for j in range(L):
            i = L - 1 - j
            gz = self.act.backward(gh, zs[i] if keep_z else gh, acts[i])
            if self.has_norm:
                gz, g_w, g_b = self.norm.backward(gz, saved[i], p.norm_ws[i], s.eps)
                norm_rev += [g_b, g_w]
            rev += [gz.sum(1), torch.bmm(gz.transpose(1, 2), hs[i])]  # bias (S, W), weight
            if i > 0:  # the input layer's input is data: no gradient needed
                g_in = torch.bmm(gz, p.ws[i])
                gh = g_in + gh if s.residual else g_in  # the skip passes dL/dh straight through
        # parameter order: hidden weights and biases, the norms' weights and biases, readout
        parts: list[Tensor] = []
        for k in range(2 * L):
            parts.append(rev[2 * L + 1 - k].reshape(S, -1))
        for k in range(len(norm_rev)):
            parts.append(norm_rev[len(norm_rev) - 1 - k].reshape(S, -1))
        parts += [rev[1].reshape(S, -1), rev[0]]
        torch.cat(parts, dim=1, out=grad_out)
        return loss_s, acc_s, zs if want_record else []

    @torch.jit.export
    def validate(self, x: Tensor, y: Tensor, p: MLPParams, s: MLPSettings) -> tuple[Tensor, Tensor]:
        """Evaluation-mode loss and accuracy (S,): batch norm reads its running statistics."""
        out = self._layers(x, p, s, False, False)[0]
        loss_s, acc_s, _ = loss_and_grad(out, y, torch.ones(p.ws[0].shape[0], dtype=torch.bool))
        return loss_s, acc_s


def compiled_step(activation: str, norm: str) -> nn.Module:
    """The step for one activation and norm, compiled (GIL-free) where TorchScript is on."""
    return _step(activation, norm, torchscript_enabled())


@cache
def _step(activation: str, norm: str, script: bool) -> nn.Module:
    """Made once per activation, norm and TorchScript setting (GFL_TORCHSCRIPT)."""
    return compile_step(MLPStep(activation, norm))


def supports(activation: str, norm: str, classification: bool, rezero: bool = False) -> bool:
    """Whether the hand-written MLP step covers this variant (else it trains by autograd).

    ReZero's branch scalars α have no hand-written gradient here: such variants take autograd.
    """
    return (
        classification
        and not rezero
        and activation in ACTIVATIONS
        and ACTIVATIONS[activation].grad is not None
        and norm in NORMS
        and NORMS[norm].fast is not None
    )


class MLPBackprop:
    """Loss and gradients of a ``DeepMLP`` (classification) by hand, GIL-free."""

    def __init__(
        self,
        model: nn.Module,
        activation: str,
        params: list[nn.Parameter],
        norm: str = "none",
        step: nn.Module | None = None,
    ):
        expected = [p for lin in model.hidden for p in (lin.weight, lin.bias)]
        expected += [p for n in model.norms for p in n.parameters()]
        expected += [model.readout.weight, model.readout.bias]
        if [id(p) for p in expected] != [id(p) for p in params]:  # the order grads come back in
            raise ValueError("MLPBackprop expects the parameters in DeepMLP's registration order")
        layers = [*model.hidden, model.readout]
        norms = [n for n in model.norms if not isinstance(n, nn.Identity)]
        if norms and norm == "none":  # the model has norm layers: name their kind
            raise ValueError("MLPBackprop: the model has norm layers; pass norm=<its kind>")
        running = NORMS[norm].running_stats
        # running statistics are contiguous buffers updated in place: flat views, made once
        self.params = MLPParams(
            [lin.weight for lin in layers],
            [lin.bias for lin in layers],
            [n.weight for n in norms],
            [n.bias for n in norms],
            [n.running_mean.view(-1) for n in norms] if running else [],
            [n.running_var.view(-1) for n in norms] if running else [],
        )
        first = norms[0] if norms else None
        self.settings = MLPSettings(
            bool(model.residual),
            float(getattr(first, "momentum", 0.1)),
            float(getattr(first, "eps", 1e-5)),
        )
        self.step = step if step is not None else compiled_step(activation, norm)

    def validate(self, x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
        """Per-seed loss and accuracy (S,) in evaluation mode (the validation set)."""
        with torch.no_grad():
            return self.step.validate(x, y, self.params, self.settings)

    def loss_and_grads(
        self, x: Tensor, y: Tensor, alive: Tensor, grad_out: Tensor, record: list | None = None
    ) -> tuple[Tensor, Tensor]:
        """Per-seed loss and accuracy (S,); the gradient of the live seeds' summed cross-entropy
        lands in ``grad_out`` (S, N), laid out like the parameters; ``record`` gets the
        pre-activations."""
        with torch.no_grad():  # no graph: the parameters require grad
            loss_s, acc_s, zs = self.step(
                x, y, alive, self.params, self.settings, record is not None, grad_out
            )
        if record is not None:
            record.extend(zs)
        return loss_s, acc_s

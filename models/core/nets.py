"""The two model families, stacked over seeds: a deep MLP and a recurrent net (RNN/LSTM/GRU).

Weight layers are numbered as the metrics number them: 1 = the layer that takes the input,
the readout last.
"""

from __future__ import annotations

import torch
from torch import nn

from .activations import ACTIVATIONS
from .cells import CELLS
from .config import RunConfig
from .family_registry import FAMILIES
from .init import RECURRENT_INITS, init_bias, init_weight, recurrent_weight
from .layers import StackedLinear, saturation
from .norms import make_norm

# PyTorch's fused recurrent kernels (``RecurrentNet.fuse_mode``): the LSTM trains through them
# (autograd), and every cell validates through them. A stack of S·H up to FUSE_MAX_UNITS runs all
# seeds in one block-diagonal call (its zero blocks cost S× the FLOPs, so it only pays for small
# stacks); larger stacks call the kernel once per seed. Measurements: benchmarks/README.md.
FUSE_MAX_UNITS = 64


def _generators(cfg: RunConfig) -> list[torch.Generator]:
    return [torch.Generator().manual_seed(s) for s in cfg.seed_list()]


def _fill_linear(layer: StackedLinear, cfg: RunConfig, gens: list[torch.Generator]) -> None:
    s_out, n_in = layer.weight.shape[1], layer.weight.shape[2]
    with torch.no_grad():
        for s, g in enumerate(gens):
            layer.weight[s] = init_weight(cfg.init, s_out, n_in, cfg.init_gain, g)
            layer.bias[s] = init_bias(cfg.init, s_out, n_in, cfg.bias_std, g)


class DeepMLP(nn.Module):
    """``depth`` hidden blocks Linear → norm → activation (+ identity skip), then a readout."""

    def __init__(self, cfg: RunConfig, n_in: int, n_out: int):
        super().__init__()
        S, W = cfg.seeds, cfg.width
        self.act = ACTIVATIONS[cfg.activation].fn
        self.residual = cfg.residual
        sizes = [n_in] + [W] * cfg.depth
        self.hidden = nn.ModuleList(StackedLinear(S, a, b) for a, b in zip(sizes, sizes[1:]))
        self.norms = nn.ModuleList(make_norm(cfg.norm, S, W) for _ in range(cfg.depth))
        self.readout = StackedLinear(S, W, n_out)
        # ReZero: α (S, depth − 1), one scalar per seed and residual block 2..depth (block 1
        # changes the width and has no skip), all 0 at the start; None without rezero
        self.rezero = nn.Parameter(torch.zeros(S, cfg.depth - 1)) if cfg.rezero else None
        gens = _generators(cfg)
        for layer in [*self.hidden, self.readout]:
            _fill_linear(layer, cfg, gens)

    def weight_layers(self) -> list[nn.Parameter]:
        """Weight matrices in metric order (1 = input layer, readout last)."""
        return [layer.weight for layer in self.hidden] + [self.readout.weight]

    def forward(self, x: torch.Tensor, record: list | None = None) -> torch.Tensor:
        """x: (B, n_in) shared by all seeds -> logits (S, B, n_out). ``record`` collects pre-acts."""
        S = self.readout.weight.shape[0]
        h = x.unsqueeze(0).expand(S, *x.shape)  # (S, B, n_in)
        for i, (lin, norm) in enumerate(zip(self.hidden, self.norms)):
            z = norm(lin(h))  # (S, B, W)
            if record is not None:
                record.append(z.detach())
            a = self.act(z)
            # identity skip only where in and out widths match (not the input layer)
            h = h + self._branch(a, i) if self.residual and i > 0 else a
        return self.readout(h)

    def _branch(self, a: torch.Tensor, i: int) -> torch.Tensor:
        """Block i's residual branch (S, B, W) (i ≥ 1, 0-based), times its ReZero α (S,) if any."""
        if self.rezero is None:
            return a
        return a * self.rezero[:, i - 1].view(-1, 1, 1)

    def train_forward(self, x: torch.Tensor, record: list | None = None) -> torch.Tensor:
        """``forward``'s exact arithmetic without nn.Module calls (no hooks): the trainer's path.

        Skipping ~40 module dispatches and the identity norms makes a deep step cheaper
        (benchmarks/README.md).
        """
        S = self.readout.weight.shape[0]
        h = x.unsqueeze(0).expand(S, *x.shape)  # (S, B, n_in)
        act, residual = self.act, self.residual
        norms = [None if isinstance(n, nn.Identity) else n for n in self.norms]
        for i, (lin, norm) in enumerate(zip(self.hidden, norms)):
            z = torch.baddbmm(lin.bias.unsqueeze(1), h, lin.weight.transpose(1, 2))
            if norm is not None:
                z = norm(z)
            if record is not None:
                record.append(z.detach())
            a = act(z)
            h = h + self._branch(a, i) if residual and i > 0 else a
        ro = self.readout
        return torch.baddbmm(ro.bias.unsqueeze(1), h, ro.weight.transpose(1, 2))

    def eval_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Validation's forward (the caller sets eval mode): the module-free one."""
        return self.train_forward(x)

    @staticmethod
    def saturation_activation(cfg: RunConfig) -> str:
        """The non-linearity whose saturation the metric measures: the variant's own."""
        return cfg.activation

    @staticmethod
    def saturation(act: str, record: list[torch.Tensor]) -> torch.Tensor:
        """(layers, S) saturated share from per-layer (S, N, H) pre-activations."""
        # the hidden layers share one shape: one stacked call instead of one per layer
        z = torch.stack(record)  # (L, S, B, W)
        L, S = z.shape[:2]
        return saturation(act, z.view(L * S, *z.shape[2:])).view(L, S)


# names of a recurrent net's weights, as its per-layer metrics (grad_norm, update_ratio...)
# number them 1..3: the order of RecurrentNet.weight_layers
RNN_WEIGHT_NAMES = ("W_ih", "W_hh", "readout")


class RecurrentNet(nn.Module):
    """A vanilla RNN, LSTM or GRU read out from its last hidden state, stacked over seeds."""

    def __init__(self, cfg: RunConfig, n_in: int, n_out: int):
        super().__init__()
        S, H = cfg.seeds, cfg.hidden
        self.cell, self.H = cfg.cell, H
        spec = CELLS[cfg.cell]
        act = ACTIVATIONS[cfg.activation] if spec.uses_activation else ACTIVATIONS["tanh"]
        self.act = act.fn
        # PyTorch's fused kernel for this cell (and, for the vanilla cell, this activation)
        vanilla = spec.uses_activation and act.rnn_kernel  # rnn_tanh / rnn_relu fit no other cell
        self.kernel = spec.kernel or (f"rnn_{act.rnn_kernel}" if vanilla else None)
        G = spec.gates
        self.inp = StackedLinear(S, n_in, G * H)  # layer 1: W_ih (all gates)
        self.w_hh = nn.Parameter(torch.empty(S, G * H, H))  # layer 2: W_hh
        self.b_hh = nn.Parameter(torch.zeros(S, G * H))
        self.readout = StackedLinear(S, H, n_out)  # layer 3
        gens = _generators(cfg)
        with torch.no_grad():
            for s, g in enumerate(gens):
                self.w_hh[s] = recurrent_weight(cfg.recurrent_init, H, G, cfg.spectral_radius, g)
                if RECURRENT_INITS[cfg.recurrent_init].torch_bias:
                    self.b_hh[s] = init_bias("default", G * H, H, 0.0, g)
        _fill_linear(self.inp, cfg, gens)
        _fill_linear(self.readout, cfg, gens)
        if spec.forget_gate:  # gate rows i, f, g, o: forget bias is rows H..2H
            with torch.no_grad():  # added after every draw: forget_bias = 0 is PyTorch's init
                self.inp.bias[:, H : 2 * H] += cfg.forget_bias

    def weight_layers(self) -> list[nn.Parameter]:
        """W_ih, W_hh, readout (``RNN_WEIGHT_NAMES``)."""
        return [self.inp.weight, self.w_hh, self.readout.weight]

    def train_forward(self, x: torch.Tensor, record: list | None = None) -> torch.Tensor:
        """The trainer's autograd forward: the net's own loop over time."""
        return self(x, record=record)

    def eval_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Validation's forward: PyTorch's fused kernel where there is one, else the loop."""
        out = self.infer(x)
        return self(x) if out is None else out

    @staticmethod
    def saturation_activation(cfg: RunConfig) -> str:
        """What saturates: a gated cell's sigmoid gates, else the variant's activation."""
        return CELLS[cfg.cell].saturating or cfg.activation

    @staticmethod
    def saturation(act: str, record: list[torch.Tensor]) -> torch.Tensor:
        """(1, S): the time steps' (S, B, H) pre-activations pool into one layer (S, B·T, H)."""
        return saturation(act, torch.cat(record, dim=1)).unsqueeze(0)

    @property
    def fuse_mode(self) -> str | None:
        """How the LSTM trains fastest: "block" (all seeds in one block-diagonal kernel call),
        "seeds" (one kernel call per seed) or None (no kernel call: by hand); validation of
        every cell uses "block" where it is set and per-seed calls otherwise."""
        S, H, spec = self.w_hh.shape[0], self.H, CELLS[self.cell]
        if self.kernel is None or not spec.block_fusion:
            return None
        if S * H <= FUSE_MAX_UNITS:
            return "block"
        return "seeds" if spec.fused_training or S == 1 else None

    @property
    def can_fuse(self) -> bool:
        """Whether training goes faster through PyTorch's fused kernel than the loop."""
        return self.fuse_mode is not None

    def infer(self, x: torch.Tensor) -> torch.Tensor | None:
        """Forward without gradients through PyTorch's fused kernels (one call per seed, or one
        block-diagonal call for small stacks); None where there is no kernel (sigmoid RNN)."""
        if self.kernel is None:
            return None
        with torch.no_grad():
            if self.fuse_mode == "block":  # small stacks: one block-diagonal call is quicker
                return self.fused_forward(x)
            S, H = self.w_hh.shape[0], self.H
            w_ih, b_ih, w_hh, b_hh = self.inp.weight, self.inp.bias, self.w_hh, self.b_hh
            h = [self._kernel(x, [w_ih[s], w_hh[s], b_ih[s], b_hh[s]], H)[:, -1] for s in range(S)]
            return self.readout(torch.stack(h))  # (S, B, n_out)

    def _kernel(self, x: torch.Tensor, params: list[torch.Tensor], units: int) -> torch.Tensor:
        """PyTorch's own recurrent kernel (the loop over time in C++): (B, T, units) outputs."""
        h0 = x.new_zeros(1, x.shape[0], units)
        flags = (True, 1, 0.0, self.training, False, True)  # biases, layers, dropout, train, bi, bf
        fn = getattr(torch._VF, self.kernel)
        if CELLS[self.cell].cell_state:  # the kernel carries (h, c)
            return fn(x, (h0, h0), params, *flags)[0]
        return fn(x, h0, params, *flags)[0]

    def fused_forward(self, x: torch.Tensor, record: list | None = None) -> torch.Tensor:
        """Same maths as ``forward`` through fused kernels: x (B, T, D) -> (S, B, n_out).

        Small stacks run all seeds in one call with block-diagonal weights (gate-major rows
        (gate, seed, unit)), larger ones one call per seed (``fuse_mode``); ``record`` gets the
        pooled pre-activations, recomputed from the hidden states with one batched matmul
        instead of a Python loop over time.
        """
        S, H, G = self.w_hh.shape[0], self.H, CELLS[self.cell].gates
        B, T, D = x.shape
        if self.fuse_mode == "block":
            w_ih = self.inp.weight.view(S, G, H, D).transpose(0, 1).reshape(G * S * H, D)
            b_ih = self.inp.bias.view(S, G, H).transpose(0, 1).reshape(-1)
            b_hh = self.b_hh.view(S, G, H).transpose(0, 1).reshape(-1)
            eye = torch.eye(S, dtype=x.dtype)  # W_full[g, s, i, t, j] = δ_st W_s[g, i, j]
            w_hh = torch.einsum("st,sgij->gsitj", eye, self.w_hh.view(S, G, H, H))
            outs = self._kernel(x, [w_ih, w_hh.reshape(G * S * H, S * H), b_ih, b_hh], S * H)
            seq = outs.view(B, T, S, H).permute(2, 0, 1, 3)  # (S, B, T, H)
        else:
            outs = [
                self._kernel(
                    x, [self.inp.weight[s], self.w_hh[s], self.inp.bias[s], self.b_hh[s]], H
                )
                for s in range(S)
            ]
            if record is None:  # only the last states: no (S, B, T, H) stack and its backward
                return self.readout(torch.stack([o[:, -1] for o in outs]))
            seq = torch.stack(outs)
        if record is not None:
            with torch.no_grad():
                record.append(self._preacts(x, seq.detach()))
        return self.readout(seq[:, :, -1])

    def _preacts(self, x: torch.Tensor, seq: torch.Tensor) -> torch.Tensor:
        """What ``forward`` records, pooled over time: (S, B·T, H) or the gates' (S, B·T, k·H)."""
        S, B, T, H = seq.shape
        xp = torch.matmul(x.unsqueeze(0), self.inp.weight.transpose(1, 2).unsqueeze(1))
        xp = (xp + (self.inp.bias + self.b_hh).view(S, 1, 1, -1)).reshape(S, B * T, -1)
        h_prev = torch.cat([seq.new_zeros(S, B, 1, H), seq[:, :, :-1]], dim=2)  # h_{t-1}
        hh = torch.bmm(h_prev.reshape(S, B * T, H), self.w_hh.transpose(1, 2))  # (S, B·T, G·H)
        return CELLS[self.cell].preacts(xp, hh)

    def forward(
        self, x: torch.Tensor, states: list | None = None, record: list | None = None
    ) -> torch.Tensor:
        """x: (B, T, D) -> (S, B, n_out). ``states`` collects h_1..h_T (in the graph)."""
        S, H = self.w_hh.shape[0], self.H
        B, T, _ = x.shape
        # input projections for all steps at once: (S, B, T, G·H); the cell adds the biases
        xp = torch.matmul(x.unsqueeze(0), self.inp.weight.transpose(1, 2).unsqueeze(1))
        spec = CELLS[self.cell]
        xs, hh_bias = spec.inputs(xp, self.inp.bias, self.b_hh, H)
        w_t = self.w_hh.transpose(1, 2)  # (S, H, G·H)
        h = x.new_zeros(S, B, H)
        c = x.new_zeros(S, B, H) if spec.cell_state else None
        for t in range(T):
            h, c = spec.step(xs[t], h, c, w_t, hh_bias, self.act, record)
            if states is not None:
                states.append(h)
        return self.readout(h)


def build_model(cfg: RunConfig, n_in: int, n_out: int) -> nn.Module:
    """The model a config asks for, with ``cfg.seeds`` stacked copies (its family's builder)."""
    return FAMILIES[cfg.family].build(cfg, n_in, n_out)


def param_count(model: nn.Module) -> int:
    """Trainable parameters of one (unstacked) model."""
    return sum(p[0].numel() for p in model.parameters())

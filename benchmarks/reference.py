"""The plain reference: the same comparison written the way one would by hand.

One ``nn.Module`` per variant and seed, trained one after another with standard modules
(nn.Linear, nn.BatchNorm1d/LayerNorm, nn.RNN/LSTM/GRU) and ``torch.optim``; at every log step each
metric is read with ``.item()``, and per-time-step RNN gradients come from a Python cell loop over
the same weights with ``retain_grad``. Weights start from the engine's initialisation for the same
seed, so both sides do the same work and their curves can be compared.
"""

from __future__ import annotations

import copy
import time

import torch
import torch.nn.functional as F
from torch import nn

from models import ACTIVATIONS, Comparison, RunConfig
from models.core.layers import saturation
from models.core.metrics import of_family
from models.core.nets import DeepMLP, RecurrentNet, build_model
from models.core.tasks import make_task


class Act(nn.Module):
    """A registered activation as a module (what nn.Sigmoid, nn.GELU, ... compute)."""

    def __init__(self, name: str):
        super().__init__()
        self.fn = ACTIVATIONS[name].fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


class RefMLP(nn.Module):
    def __init__(self, cfg: RunConfig, n_in: int, n_out: int):
        super().__init__()
        W = cfg.width
        sizes = [n_in] + [W] * cfg.depth
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        norm = {"batch": lambda: nn.BatchNorm1d(W), "layer": lambda: nn.LayerNorm(W)}
        self.norms = nn.ModuleList(norm.get(cfg.norm, nn.Identity)() for _ in range(cfg.depth))
        self.act = Act(cfg.activation)
        self.readout = nn.Linear(W, n_out)
        self.residual = cfg.residual
        self.pre: list[torch.Tensor] = []

    def weights(self) -> list[nn.Parameter]:
        return [lin.weight for lin in self.hidden] + [self.readout.weight]

    def copy_init(self, eng: nn.Module, s: int) -> None:
        """Seed ``s`` of the engine's stacked DeepMLP into this module."""
        for a, b in zip(self.hidden, eng.hidden):
            a.weight.copy_(b.weight[s])
            a.bias.copy_(b.bias[s])

    def log_forward(self, x):
        """The forward of a log step (its pre-activations recorded)."""
        return self(x)

    def preacts(self) -> list[torch.Tensor]:
        """Pre-activations per hidden layer, as the saturation metric reads them."""
        return self.pre

    def forward(self, x):
        self.pre = []
        h = x
        for i, (lin, norm) in enumerate(zip(self.hidden, self.norms)):
            z = norm(lin(h))
            self.pre.append(z.detach())
            a = self.act(z)
            h = h + a if self.residual and i > 0 else a
        return self.readout(h)


class RefRNN(nn.Module):
    def __init__(self, cfg: RunConfig, n_in: int, n_out: int):
        super().__init__()
        H, self.cell = cfg.hidden, cfg.cell
        if cfg.cell == "rnn":
            self.rnn = nn.RNN(n_in, H, nonlinearity=cfg.activation, batch_first=True)
        else:
            self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cfg.cell](n_in, H, batch_first=True)
        self.act = torch.tanh if cfg.activation == "tanh" or cfg.cell != "rnn" else torch.relu
        self.readout = nn.Linear(H, n_out)
        self.pre: list[torch.Tensor] = []

    def weights(self) -> list[nn.Parameter]:
        return [self.rnn.weight_ih_l0, self.rnn.weight_hh_l0, self.readout.weight]

    def copy_init(self, eng: nn.Module, s: int) -> None:
        """Seed ``s`` of the engine's stacked RecurrentNet into this module."""
        self.rnn.weight_ih_l0.copy_(eng.inp.weight[s])
        self.rnn.bias_ih_l0.copy_(eng.inp.bias[s])
        self.rnn.weight_hh_l0.copy_(eng.w_hh[s])
        self.rnn.bias_hh_l0.copy_(eng.b_hh[s])

    def log_forward(self, x):
        """The forward of a log step: the loop gives the pre-activations for saturation."""
        return self.cell_loop(x)

    def preacts(self) -> list[torch.Tensor]:
        """The time steps' pre-activations pooled into one layer."""
        return [torch.cat(self.pre, 0)]

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.readout(out[:, -1])

    def cell_loop(self, x, states: list | None = None):
        """The same net as a Python loop over time: records pre-activations and h_t."""
        r = self.rnn
        B, T, _ = x.shape
        H = r.hidden_size
        h = x.new_zeros(B, H)
        c = x.new_zeros(B, H)
        self.pre = []
        for t in range(T):
            gx = F.linear(x[:, t], r.weight_ih_l0, r.bias_ih_l0)
            gh = F.linear(h, r.weight_hh_l0, r.bias_hh_l0)
            if self.cell == "rnn":
                z = gx + gh
                self.pre.append(z.detach())
                h = self.act(z)
            elif self.cell == "lstm":
                i, f, g, o = (gx + gh).chunk(4, dim=1)
                self.pre.append(torch.cat([i, f, o], dim=1).detach())
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            else:
                xr, xz, xn = gx.chunk(3, dim=1)
                hr, hz, hn = gh.chunk(3, dim=1)
                self.pre.append(torch.cat([xr + hr, xz + hz], dim=1).detach())
                r_, zg = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
                h = (1 - zg) * torch.tanh(xn + r_ * hn) + zg * h
            if states is not None:
                h.retain_grad()
                states.append(h)
        return self.readout(h)


# the hand-written module for each of the engine's nets (by class: no family names here)
REF_NETS = {DeepMLP: RefMLP, RecurrentNet: RefRNN}


def _copy_init(ref: nn.Module, eng: nn.Module, s: int) -> None:
    """Seed ``s`` of the engine's stacked model into the reference module."""
    with torch.no_grad():
        ref.copy_init(eng, s)
        ref.readout.weight.copy_(eng.readout.weight[s])
        ref.readout.bias.copy_(eng.readout.bias[s])


def _loss(task, out, y):
    if task.kind == "classification":
        return F.cross_entropy(out, y), (out.argmax(1) == y).float().mean()
    err = out.squeeze(-1) - y.view(-1)
    return err.pow(2).mean(), (err.abs() < 0.04).float().mean()


def _saturation(act: str, z: torch.Tensor) -> float:
    return saturation(act, z.unsqueeze(0)).item()  # z: (N, H), one model


def _jacobian_sv(model: RefMLP, x: torch.Tensor) -> list[float]:
    """Singular values of ∂h_L/∂x at x's first row: the dense Jacobian by autograd in float64
    (batch norm at the batch's statistics, held fixed: eval mode with them as running stats)."""
    m = copy.deepcopy(model).double()
    x = x.double()
    for bn in m.norms:
        if isinstance(bn, nn.BatchNorm1d):
            bn.momentum = 1.0  # the next training-mode pass stores this batch's statistics
    with torch.no_grad():
        m.train()
        m(x)
        B = x.shape[0]
        for bn in m.norms:
            if isinstance(bn, nn.BatchNorm1d):
                bn.running_var.mul_((B - 1) / B)  # stored unbiased; training normalises biased
    m.eval()

    def h_last(x0):
        h = x0.unsqueeze(0)
        for i, (lin, norm) in enumerate(zip(m.hidden, m.norms)):
            a = m.act(norm(lin(h)))
            h = h + a if m.residual and i > 0 else a
        return h[0]

    jac = torch.autograd.functional.jacobian(h_last, x[0])
    return torch.linalg.svdvals(jac).tolist()


def _ref_hidden_grad_norm(model: RefRNN, task, k: int, emit) -> None:
    """‖∂L/∂h_t‖ on the probe batch: a cell loop with retain_grad (before the step's pass)."""
    xp, yp = task.probe()
    states: list = []
    _loss(task, model.cell_loop(xp, states), yp)[0].backward()
    for t, h in enumerate(states, 1):
        emit(k, "hidden_grad_norm", t, h.grad.norm().item())


def _ref_jacobian_sv(model: RefMLP, task, k: int, emit) -> None:
    for i, v in enumerate(_jacobian_sv(model, task.probe()[0])):
        emit(k, "jacobian_sv", i, v)


# how the plain loop computes a family's own metrics (models.core.metrics: ``record`` set),
# by metric name: (before the step's forward pass?, function)
REF_METRICS = {
    "hidden_grad_norm": (True, _ref_hidden_grad_norm),
    "jacobian_sv": (False, _ref_jacobian_sv),
}


def train_one(cfg: RunConfig, s: int, rows: list) -> None:
    """Train seed index ``s`` of a variant alone, appending its metric rows."""
    t0 = time.perf_counter()
    task = make_task(cfg)
    n_in, n_out = task.input_dim, task.output_dim
    eng = build_model(cfg, n_in, n_out)  # the engine's init, for the same starting weights
    model = REF_NETS[type(eng)](cfg, n_in, n_out)
    _copy_init(model, eng, s)
    if cfg.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    else:
        mom = cfg.momentum if cfg.optimizer == "momentum" else 0.0
        opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=mom)
    params = list(model.parameters())
    weights = model.weights()
    sat_act = type(eng).saturation_activation(cfg)
    own = [m for m in of_family(cfg.family) if m.record is not None]
    before = [REF_METRICS[m.name][1] for m in own if REF_METRICS[m.name][0]]
    after = [(m, REF_METRICS[m.name][1]) for m in own if not REF_METRICS[m.name][0]]
    seed, name = cfg.seed + s, cfg.name
    clip_count = clip_steps = 0

    def emit(step, metric, index, value):
        rows.append((name, seed, step, metric, index, value))

    for k, (x, y) in enumerate(task.batches(cfg.steps, cfg.batch_size)):
        final = k >= cfg.steps
        log = final or k % cfg.log_every == 0
        model.train()
        if log:  # e.g. per-time-step gradients on the probe batch
            for fn in before:
                fn(model, task, k, emit)
        out = model.log_forward(x) if log else model(x)
        loss, acc = _loss(task, out, y)
        opt.zero_grad()
        loss.backward()
        if log:  # before clipping
            g_norms = [w.grad.norm().item() for w in weights]
            total = torch.nn.utils.get_total_norm([p.grad for p in params]).item()
        clipped = False
        if cfg.clip_value > 0:
            clipped |= max(p.grad.abs().max().item() for p in params) > cfg.clip_value
            torch.nn.utils.clip_grad_value_(params, cfg.clip_value)
        if cfg.clip_norm > 0:
            clipped |= torch.nn.utils.clip_grad_norm_(params, cfg.clip_norm).item() > cfg.clip_norm
        clip_count += clipped
        clip_steps += 1
        if log:
            emit(k, "loss", 0, loss.item())
            emit(k, "accuracy", 0, acc.item())
            with torch.no_grad():
                model.eval()
                vl, va = _loss(task, model(task.x_val), task.y_val)
                model.train()
            emit(k, "val_loss", 0, vl.item())
            emit(k, "val_accuracy", 0, va.item())
            for i, (w, g) in enumerate(zip(weights, g_norms), 1):
                emit(k, "grad_norm", i, g)
                emit(k, "grad_to_weight", i, g / w.norm().item())
            emit(k, "grad_norm_total", 0, total)
            emit(k, "clipped", 0, float(clipped))
            emit(k, "clipped_share", 0, clip_count / clip_steps)
            clip_count = clip_steps = 0
            for i, z in enumerate(model.preacts(), 1):
                emit(k, "saturation", i, _saturation(sat_act, z))
            for m, fn in after:  # e.g. the Jacobian's spectrum at the first and last step
                if not m.at_ends or k == 0 or final:
                    fn(model, task, k, emit)
            emit(k, "wall_s", 0, time.perf_counter() - t0)
        if final:
            break
        prior = [w.detach().clone() for w in weights] if log else None
        opt.step()
        if prior is not None:
            for i, (w, b) in enumerate(zip(weights, prior), 1):
                emit(k, "update_ratio", i, (w.detach() - b).norm().item() / b.norm().item())


def run_reference(comparison: Comparison) -> list:
    """Every variant and seed, one after another; returns the metric rows."""
    rows: list = []
    for cfg in comparison.variants:
        for s in range(cfg.seeds):
            train_one(cfg, s, rows)
    return rows

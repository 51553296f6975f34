"""Train one variant (all its seeds at once) and record its metrics.

The hot path is one forward and backward pass and one optimizer step per training step.
Autograd is the reference path: every config trains through ``nn.Module`` forwards and
``torch.autograd.grad``. Where the fast path supports a variant (``models.fastpath``: hand-written
passes, compiled so they run without the GIL) it takes over; ``GFL_FASTPATH=off`` forces
autograd everywhere. ``step_impl`` says which path a variant took. The LSTM trains through
PyTorch's fused kernel and autograd. Everything else (per-layer norms, saturation, validation,
per-time-step gradients) runs only at log steps, and host-side conversion happens once per log
step.
"""

from __future__ import annotations

import logging
import os
import time
from functools import lru_cache

import torch
import torch.nn.functional as F

from ..fastpath.mlp import MLPBackprop
from ..fastpath.rnn import RNNBackprop
from .config import RunConfig
from .csv_parser import Table
from .family_registry import FAMILIES
from .jacobian import hidden_jacobian_sv
from .metrics import of_family
from .nets import build_model, param_count
from .optim import StackedOptimizer
from .tasks import make_task

log = logging.getLogger("models.engine")
_logged: set[str] = set()
STEP_IMPLS = ("autograd", "manual", "manual-compiled")  # summary.csv's step_impl values


def fastpath_enabled() -> bool:
    """False when ``GFL_FASTPATH`` is off: every variant then trains through autograd."""
    return os.environ.get("GFL_FASTPATH", "").strip().lower() not in ("0", "off", "no", "false")


def log_once(message: str) -> None:
    if message not in _logged:
        _logged.add(message)
        log.info(message)


def impl_of(step: torch.nn.Module) -> str:
    return "manual-compiled" if isinstance(step, torch.jit.ScriptModule) else "manual"


Row = tuple[str, int, int, str, int, float]  # variant, seed, step, metric, index, value


def make_optimizer(cfg: RunConfig, params: list[torch.nn.Parameter]) -> StackedOptimizer:
    """SGD, SGD with momentum, or Adam; all element-wise, so stacked seeds stay independent."""
    return StackedOptimizer(params, cfg.optimizer, cfg.lr, cfg.momentum, cfg.warmup_steps)


# A seed whose loss blows up while staying finite has diverged as surely as one that hits NaN:
# its training-loss EMA (weight BLOWUP_EMA per step, so a one-batch blip barely moves it) above
# BLOWUP_FACTOR x the larger of its step-0 loss and the task's chance-level loss. On digits that
# is a cross-entropy above ~46 (chance 2.3); a model that learns never comes near it, and
# exploding-rnn's clipped variants peak at 1x their start.
BLOWUP_FACTOR = 20.0
BLOWUP_EMA = 0.2

FLAT_NORM_LIMIT = 1 << 22  # elements: above this, norms go tensor by tensor (no big copy)


@lru_cache(maxsize=64)
def _segment_lengths(sizes: tuple[int, ...], rows: int) -> torch.Tensor:
    """Segment lengths of each row of concatenated flattened tensors: (rows, len(sizes))."""
    return torch.tensor(sizes).expand(rows, -1).contiguous()


def _flat(tensors: list[torch.Tensor], S: int, out: torch.Tensor | None = None) -> torch.Tensor:
    """All tensors side by side per seed: (S, total elements per seed), optionally into ``out``."""
    return torch.cat([t.detach().reshape(S, -1) for t in tensors], dim=1, out=out)


def _segment_norms(flat: torch.Tensor, sizes: tuple[int, ...]) -> torch.Tensor:
    """Per-segment L2 norms of (S, N) rows, summed in float64: (len(sizes), S)."""
    sq = flat.double().square()
    lengths = _segment_lengths(sizes, flat.shape[0])
    return torch.segment_reduce(sq, "sum", lengths=lengths, axis=1).sqrt().float().T


def _sizes(tensors: list[torch.Tensor], S: int) -> tuple[int, ...]:
    return tuple(t.numel() // S for t in tensors)


def _global_norms(flat: torch.Tensor) -> torch.Tensor:
    """Each seed's global L2 norm of an (S, N) tensor, summed in float64: (S,).

    One reduction, a fraction of per-parameter norms' cost (benchmarks/README.md): a norm-clipped
    variant needs only this at steps that log nothing.
    """
    return torch.linalg.vector_norm(flat, dim=1, dtype=torch.float64).float()


def _flatten_params(params: list[torch.nn.Parameter], S: int) -> torch.Tensor:
    """Move every parameter into one (S, N) tensor and make each a view of its columns."""
    flat = _flat(params, S).clone()
    offset = 0
    for p in params:
        n = p.numel() // S
        p.data = flat[:, offset : offset + n].view(p.shape)
        offset += n
    return flat


class VariantTrainer:
    """Trains the stacked seeds of one variant step by step; ``rows`` holds its metrics."""

    def __init__(
        self,
        cfg: RunConfig,
        instrument: bool = True,
        gradients: bool = True,
        table: Table | None = None,
    ):
        # instrument=False records nothing; gradients=False only the loss and accuracy curves
        # (training and validation), none of the gradient instruments; table: task=csv's data
        self.cfg, self.instrument, self.gradients = cfg, instrument, gradients
        self.S = cfg.seeds
        self.family = FAMILIES[cfg.family]
        # the metrics of this family recorded by their registry entry (not inline in _log)
        self._own_metrics = [m for m in of_family(cfg.family) if m.record is not None]
        self.task = make_task(cfg, table)
        self.model = build_model(cfg, self.task.input_dim, self.task.output_dim)
        self.params = list(self.model.parameters())
        ids = {id(p): i for i, p in enumerate(self.params)}
        self.weight_pos = [ids[id(w)] for w in self.model.weight_layers()]
        # a net whose depth unit holds several parameters (a Transformer block) names them: its
        # per-layer metrics are then norms over each unit's parameters together
        groups = getattr(self.model, "unit_groups", None)
        self.unit_pos = None if groups is None else [[ids[id(p)] for p in g] for g in groups()]
        self._ids = ids
        self.grad_norms: torch.Tensor | None = None  # this log step's (P, S) per-parameter norms
        self.sizes = _sizes(self.params, self.S)
        self.flat = _flatten_params(self.params, self.S)
        self._grad_buf = torch.empty_like(self.flat)
        # the update runs as a few ops on one (S, N) tensor, not a few ops per parameter
        self.opt = make_optimizer(cfg, [self.flat])
        self.batches = self.task.batches(cfg.steps, cfg.batch_size)
        self.n_params = param_count(self.model)
        self.step = 0  # updates done so far
        self.alive = torch.ones(self.S, dtype=torch.bool)
        self.diverged: dict[int, tuple[int, int]] = {}  # seed index -> (step, first bad layer)
        # (S,) training-loss EMA and its blow-up limit, set from the step-0 loss
        self._loss_ema = torch.zeros(self.S)  # up to the previous step
        self._ema_now = self._loss_ema  # including this step (committed once the step is done)
        self._loss_limit = torch.full((self.S,), torch.inf)
        self.rows: list[Row] = []
        self.wall_s = 0.0
        self.clip_counts = torch.zeros(self.S)  # clipped steps per seed since the last log
        self.clip_steps = 0
        self.done = False
        self.error: str | None = None
        self.any_dead = False
        self._no_clip = torch.zeros(self.S, dtype=torch.bool)
        self.classification = self.task.kind == "classification"
        self.backprop: MLPBackprop | RNNBackprop | None = None  # the fast path, where it applies
        self.step_impl = "autograd"
        self._choose_path()
        self._probe_grad: torch.Tensor | None = None  # scratch gradient of the probe batch
        self._hidden: torch.Tensor | None = None  # this log step's ‖∂L/∂h_t‖, when the step had it
        self.model.train()
        # modules whose forward reads .training (the model itself: the RNN kernels; batch norm);
        # flipping just these at log steps skips Module.train()'s walk over ~40 submodules
        self._mode_modules = [self.model] + [
            m for m in self.model.modules() if getattr(m, "reads_training", False)
        ]
        self._sat_act = self.model.saturation_activation(cfg)

    def _choose_path(self) -> None:
        """The fast path where its family's entry says it supports the variant (and it is on),
        else autograd."""
        self.fused = False
        fast_path = self.family.fast_path
        if fast_path is not None:
            fast_path(self)

    # --- public -------------------------------------------------------------------------------

    def advance(self, n: int) -> None:
        """Run up to ``n`` more steps (the last call records the final step)."""
        for _ in range(n):
            if self.done:
                return
            t0 = time.perf_counter()
            self._train_step()
            self.wall_s += time.perf_counter() - t0

    @property
    def steps_done(self) -> int:
        return min(self.step, self.cfg.steps)

    # --- one step ------------------------------------------------------------------------------

    def _loss(self, out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-seed mean loss and accuracy; out: (S, B, C)."""
        S, B, C = out.shape
        if self.task.kind == "classification":
            ce = F.cross_entropy(out.reshape(S * B, C), y.repeat(S), reduction="none")
            acc = (out.detach().argmax(-1) == y).float().mean(1)
            return ce.view(S, B).mean(1), acc
        err = out.squeeze(-1) - y.view(1, -1)  # (S, B)
        # Hochreiter & Schmidhuber 1997 count a sequence right when |error| < 0.04
        return err.pow(2).mean(1), (err.detach().abs() < 0.04).float().mean(1)

    def _forward_backward(self, x, y, record: list | None, fused: bool):
        """Per-seed loss and accuracy (S,) and the gradient, (S, N) laid out like ``self.flat``.

        The gradient lands in one buffer reused every step (no fresh allocation per step).
        """
        if isinstance(self.backprop, MLPBackprop):
            loss_s, acc_s = self.backprop.loss_and_grads(x, y, self.alive, self._grad_buf, record)
            return loss_s, acc_s, self._grad_buf
        if isinstance(self.backprop, RNNBackprop) and not fused and self.step_impl != "autograd":
            # at log steps the same pass carries the probe batch for ‖∂L/∂h_t‖
            probe = self.task.probe() if record is not None else None
            loss_s, acc_s, hidden = self.backprop.run(
                x,
                y,
                self.alive,
                self.classification,
                self._grad_buf,
                record,
                hidden=probe is not None,
                probe=probe,
            )
            self._hidden = hidden.float() if probe is not None else None
            return loss_s, acc_s, self._grad_buf
        loss_s, acc_s, grads = self._autograd_step(x, y, record, fused)
        return loss_s, acc_s, _flat(grads, self.S, out=self._grad_buf)

    def _autograd_step(self, x, y, record: list | None, fused: bool):
        """Loss, accuracy and per-parameter gradients through autograd."""
        if fused:  # the LSTM through PyTorch's kernel
            out = self.model.fused_forward(x, record=record)
        else:  # the MLP's module-free forward (same arithmetic, no hooks), the RNN's loop
            out = self.model.train_forward(x, record=record)
        loss_s, acc_s = self._loss(out, y)
        # dead seeds are excluded; torch.where keeps their NaN out of the backward pass
        total = torch.where(self.alive, loss_s, torch.zeros_like(loss_s)).sum()
        return loss_s, acc_s, list(torch.autograd.grad(total, self.params))

    def _finite(self, loss_s: torch.Tensor, grad: torch.Tensor) -> bool:
        """One host sync: are the live seeds' loss and the whole gradient finite, and has no live
        seed's loss EMA blown past its limit?

        A finite sum means every term is finite (inf and NaN propagate); a sum that merely
        overflows only sends the step through ``_mark_diverged``, which marks no seed for it.
        """
        live = torch.where(self.alive, loss_s.detach(), 0.0)
        if self.step == 0:  # the limit comes from each seed's own starting loss
            ref = live.clamp_min(self.task.baseline_loss)
            self._loss_limit = torch.where(torch.isfinite(ref), BLOWUP_FACTOR * ref, torch.inf)
            self._ema_now = live
        else:  # (a seed-separate redo of the step recomputes it from the same previous EMA)
            self._ema_now = torch.lerp(self._loss_ema, live, BLOWUP_EMA)
        blown = (self._ema_now > self._loss_limit).any()
        return bool(torch.isfinite(live.sum() + grad.sum()) & ~blown)

    def _blown_up(self) -> torch.Tensor:
        """(S,) live seeds whose loss EMA is past its limit (finite, but diverged)."""
        return self.alive & (self._ema_now > self._loss_limit)

    def _train_step(self) -> None:
        cfg, k = self.cfg, self.step
        final = k >= cfg.steps
        log = self.instrument and (final or k % cfg.log_every == 0)
        x, y = next(self.batches)
        record: list | None = [] if log and self.gradients else None
        self._hidden = None
        loss_s, acc_s, grads = self._forward_backward(x, y, record, self.fused)
        bad = not self._finite(loss_s, grads)
        if bad and self.fused:
            # block-diagonal kernels mix seeds through 0·inf: redo the step seed-separately so a
            # diverging seed is attributed alone and cannot poison the others
            record = [] if log and self.gradients else None
            loss_s, acc_s, grads = self._forward_backward(x, y, record, False)
            bad = not self._finite(loss_s, grads)
        self._loss_ema = self._ema_now

        grads = [grads]  # [(S, N)], laid out like self.flat
        norms = None  # (P, S) per-parameter, per-seed gradient norms, computed only when needed
        if bad or (log and self.gradients):
            norms = self._param_norms(grads[0])
        if bad:
            self._mark_diverged(k, loss_s, norms, grads)
        want_total = (log and self.gradients) or cfg.clip_norm > 0
        total_norm = _global_norms(grads[0]) if want_total else None

        grads, clipped = self._clip(grads, total_norm)
        if log:
            self._log(k, loss_s, acc_s, norms, total_norm, clipped, record)
        if final or not bool(self.alive.any()):
            self.done = True
            self.step = k if final else k + 1
            return
        before = self._weights_before if log and self.gradients else None
        self.opt.step(grads)
        if self.any_dead:
            self._zero_dead()
        if before is not None:
            self._log_updates(k, before)
        self.step = k + 1

    def _param_norms(self, flat: torch.Tensor) -> torch.Tensor:
        """(P, S) per-seed norms of each parameter's slice of an (S, N) tensor laid out like
        ``self.flat`` (the parameters, their gradient or their update)."""
        if flat.numel() > FLAT_NORM_LIMIT:  # no float64 copy of a big gradient
            return torch.stack([g.norm(dim=1) for g in flat.split(self.sizes, dim=1)])
        return _segment_norms(flat, self.sizes)

    def _units(self, norms: torch.Tensor) -> torch.Tensor:
        """(units, S) norms of each depth unit from (P, S) per-parameter norms: the weight
        layers' own, or a root-sum-square over each unit's parameters (``unit_pos``)."""
        if self.unit_pos is None:
            return norms[self.weight_pos]
        sq = norms.double().square()
        return torch.stack([sq[pos].sum(0) for pos in self.unit_pos]).sqrt().float()

    def group_grad_norm(self, params: list[torch.nn.Parameter]) -> torch.Tensor:
        """(S,) gradient norm of a group of parameters together, at this log step."""
        assert self.grad_norms is not None, "only at a log step with the gradient instruments"
        sq = self.grad_norms[[self._ids[id(p)] for p in params]].double().square()
        return sq.sum(0).sqrt().float()

    def _clip(self, grads: list[torch.Tensor], total_norm: torch.Tensor | None):
        """Clip by value and/or by global norm (per seed): (clipped grads, which seeds clipped).

        ``grads`` is ``[the (S, N) flat gradient]``; clipping returns new tensors and leaves it be.
        """
        cfg, S = self.cfg, self.S
        self.clip_steps += 1
        if cfg.clip_value <= 0 and cfg.clip_norm <= 0:
            return grads, self._no_clip
        clipped = torch.zeros(S, dtype=torch.bool)
        if cfg.clip_value > 0:
            peak = torch.stack([g.reshape(S, -1).abs().amax(1) for g in grads]).amax(0)
            clipped |= peak > cfg.clip_value
            grads = [g.clamp(-cfg.clip_value, cfg.clip_value) for g in grads]
            if cfg.clip_norm > 0:  # the norm clip sees the value-clipped gradient
                total_norm = _global_norms(grads[0])
        if cfg.clip_norm > 0:
            # Pascanu et al. 2013, Alg. 1: g <- c g/||g|| when ||g|| > c (same direction, norm c)
            over = total_norm > cfg.clip_norm
            clipped |= over
            scale = torch.where(over, cfg.clip_norm / total_norm, torch.ones_like(total_norm))
            grads = [g * scale.view(S, *([1] * (g.dim() - 1))) for g in grads]
        self.clip_counts += clipped.float()
        return grads, clipped

    def _mark_diverged(self, k, loss_s, norms, grads) -> None:
        """Record newly diverged seeds (step, first bad layer) and cut them out of training.

        Diverged: a non-finite loss or gradient, or a loss EMA past its blow-up limit (layer 0:
        the loss itself, when every gradient is still finite).
        """
        finite_layers = torch.isfinite(self._units(norms))  # (L, S)
        newly = self.alive & (~torch.isfinite(loss_s) | ~torch.isfinite(norms).all(0))
        newly |= self._blown_up()
        for s in torch.nonzero(newly).flatten().tolist():
            bad_layers = torch.nonzero(~finite_layers[:, s]).flatten().tolist()
            layer = bad_layers[0] + 1 if bad_layers else 0  # 0: only the loss itself
            self.diverged[s] = (k, layer)
            self.rows.append((self.cfg.name, self.cfg.seed + s, k, "diverged", layer, float(k)))
        self.alive &= ~newly
        self.any_dead = not bool(self.alive.all())
        dead = ~self.alive
        for g in grads:
            g[dead] = 0.0
        norms[:, dead] = 0.0

    def _zero_dead(self) -> None:
        # keep dead seeds at finite zeros so their slice can never poison shared kernels
        dead = ~self.alive
        with torch.no_grad():
            self.flat[dead] = 0.0  # every parameter is a view of it

    # --- metrics -------------------------------------------------------------------------------

    def _emit(self, k: int, metric: str, values: torch.Tensor, first_index: int = 0) -> None:
        """Append rows for values of shape (S,) [index first_index] or (I, S) [first_index..]."""
        name, seed0 = self.cfg.name, self.cfg.seed
        alive = self.alive.tolist()
        vals = values.tolist()
        if values.dim() == 1:
            self.rows.extend(
                (name, seed0 + s, k, metric, first_index, v) for s, v in enumerate(vals) if alive[s]
            )
            return
        for i, per_seed in enumerate(vals):
            idx = first_index + i
            self.rows.extend(
                (name, seed0 + s, k, metric, idx, v) for s, v in enumerate(per_seed) if alive[s]
            )

    def _log(self, k, loss_s, acc_s, norms, total_norm, clipped, record) -> None:
        S = self.S
        with torch.no_grad():
            self._emit(k, "loss", loss_s.detach())
            self._emit(k, "accuracy", acc_s)
            val_loss, val_acc = self._validate()
            self._emit(k, "val_loss", val_loss)
            self._emit(k, "val_accuracy", val_acc)
            if not self.gradients:
                self._emit(k, "wall_s", torch.full((S,), self.wall_s))
                return
            # the parameters before this step's update: weight norms now, ‖ΔW‖ after the update
            w_norms = self._units(self._param_norms(self.flat))  # (L, S)
            self._weights_before = (self.flat.clone(), w_norms)
            g_w = self._units(norms)  # (L, S)
            self.grad_norms = norms
            self._emit(k, "grad_norm", g_w, 1)
            self._emit(k, "grad_norm_total", total_norm)
            self._emit(k, "grad_to_weight", g_w / w_norms.clamp_min(1e-12), 1)
            self._emit(k, "clipped", clipped.float())
            # share of the steps since the previous log step (this one included) that clipped
            self._emit(k, "clipped_share", self.clip_counts / max(1, self.clip_steps))
            self.clip_counts.zero_()
            self.clip_steps = 0
            sat = self._saturation(record)
            self._emit(k, "saturation", sat, 1)
            self._emit(k, "wall_s", torch.full((S,), self.wall_s))
        for m in self._own_metrics:  # the family's own: ‖∂L/∂h_t‖, the Jacobian's spectrum
            m.record(self, k)

    def _saturation(self, record: list) -> torch.Tensor:
        """(layers, S) saturated share from per-layer (S, N, H) pre-activations."""
        return self.model.saturation(self._sat_act, record)

    def hidden_grad_norms(self) -> torch.Tensor:
        """This log step's ‖∂L/∂h_t‖ (T, S): from the training step's pass when it had them."""
        return self._hidden if self._hidden is not None else self._hidden_grads()

    def jacobian_sv(self) -> torch.Tensor:
        """Singular values of ∂h_L/∂x at the first probe example: (S, rank)."""
        return hidden_jacobian_sv(self.model, self.task.probe()[0])

    def _log_updates(self, k: int, before: tuple[torch.Tensor, torch.Tensor]) -> None:
        with torch.no_grad():
            flat, w_norms = before
            delta = self._units(self._param_norms(self.flat - flat))
            self._emit(k, "update_ratio", delta / w_norms.clamp_min(1e-12), 1)

    def _validate(self) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(self.backprop, MLPBackprop):  # compiled, GIL-free
            return self.backprop.validate(self.task.x_val, self.task.y_val)
        self._set_training(False)
        out = self.model.eval_forward(self.task.x_val)
        self._set_training(True)
        return self._loss(out, self.task.y_val)

    def _set_training(self, mode: bool) -> None:
        for m in self._mode_modules:
            m.training = mode

    def _hidden_grads(self) -> torch.Tensor:
        """‖∂L/∂h_t‖ for t = 1..T on the fixed probe batch, by its own pass: (T, S).

        (Cells trained by hand get it from the training step's pass; this serves the LSTM.)
        """
        x, y = self.task.probe()
        if self.backprop is None:  # autograd: ∂L/∂h_t of the probe loss w.r.t. each state
            states: list[torch.Tensor] = []
            loss_s, _ = self._loss(self.model(x, states=states), y)
            total = torch.where(self.alive, loss_s, torch.zeros_like(loss_s)).sum()
            grads = torch.autograd.grad(total, states)  # T × (S, B, H)
            sq = torch.stack([g.double().square().sum([1, 2]) for g in grads])  # (T, S)
            return sq.sqrt().float()
        if self._probe_grad is None:  # (this step's gradient is still in self._grad_buf)
            self._probe_grad = torch.empty_like(self.flat)
        _, _, hidden = self.backprop.run(
            x, y, self.alive, self.classification, self._probe_grad, hidden=True
        )
        return hidden.float()

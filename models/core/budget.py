"""Cost of a comparison before it trains: arithmetic (FLOPs) and peak memory, checked against caps.

A shared (public) deployment must refuse a run that would hog the CPU or the memory of everybody
else. The estimate is deliberately a little pessimistic; ``tests/engine/test_budget.py`` checks it
against measured peak memory and that the largest run allowed under the default caps stays well
under 1 GB of resident memory (the interpreter, torch and the data take ~0.4 GB of that).

Caps: explicit arguments win, then the environment (``GFL_MAX_GFLOP``, ``GFL_MAX_MB``,
``GFL_MAX_ROWS``; ``0``,
``none`` or ``off`` = no cap), then the public defaults when ``defaults=True`` (the dashboard),
otherwise no cap (the local CLI).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from .activations import ACTIVATIONS
from .cells import CELLS
from .config import Comparison, RunConfig
from .errors import ConfigError
from .family_registry import FAMILIES
from .metrics import of_family, rows_per_seed
from .norms import NORMS
from .optim import OPTIMIZERS
from .tasks import PROBE_SIZE, TASKS
from .threads import configure_workers

# --- public defaults (the dashboard uses them unless the environment says otherwise) ---------
DEFAULT_MAX_GFLOP = 400.0  # ~4x the largest preset; a few minutes of 2 cores at worst
# Sized for Streamlit Community Cloud's smallest server (690 MB): the server takes ~0.5 GB with
# three visitors' pages open, runs train one at a time, and each visitor keeps their last
# result's metric rows. Measured with scripts/measure_memory.py (docs/deploy.md).
DEFAULT_MAX_MB = 100.0  # one run's working set (every preset fits, with room to double steps)
DEFAULT_MAX_ROWS = 75_000  # metric rows one run records: what stays in memory once trained

# --- constants of the model -----------------------------------------------------------------
BYTES = 4  # float32
# Every kernel launch costs Python/dispatcher time whatever its size; charged as FLOP-equivalents
# so that 100k steps of a tiny net are not "free" (≈ 5 µs at ~10 GFLOP/s effective).
OP_OVERHEAD_FLOPS = 5e4
# One metric row: a 6-tuple (~88 B) + float (24) + step int (28) + list slot, then a snapshot
# list and a pandas frame of it in the dashboard (~60 B/row). Measured with the process's own
# high-water mark (VmHWM) on 1.3 M rows: ~355 B/row all told — rounded up.
ROW_BYTES = 380
PROBE = PROBE_SIZE  # probe batch for per-time-step gradients
# measured peaks were up to 1.2x the tensor count below (allocator slack, temporaries)
SAFETY = 1.25
# float32 tensors per hidden unit kept for backward, per example, before the norm's own
# (``Norm.saved``); cells give theirs per time step (``Cell.saved``), with their element-wise
# FLOPs (``Cell.flops``) and kernels per step (``Cell.ops``); optimizers their state buffers
MLP_SAVED = 7
MLP_OPS = 4  # kernels per hidden layer and forward pass, before the norm's own


@dataclass
class VariantCost:
    """Cost of one variant (all its seeds)."""

    name: str
    flops: float  # whole run: steps+1 training steps and the log steps' instrumentation
    step_flops: float  # one training step (forward + backward + update), all seeds
    persistent_bytes: int  # params, grads, optimizer state: alive for the whole run
    transient_bytes: int  # activations of one step/validation: alive only while it trains
    rows: int  # metric rows it will record


@dataclass
class Estimate:
    """Cost of a comparison: per variant and in total."""

    variants: list[VariantCost] = field(default_factory=list)
    workers: int = 1  # variants training at once: their activations are alive together

    @property
    def flops(self) -> float:
        return sum(v.flops for v in self.variants)

    @property
    def rows(self) -> int:
        return sum(v.rows for v in self.variants)

    @property
    def bytes(self) -> int:
        """Peak: every variant's model lives at once, ``workers`` variants' activations at a time."""
        persistent = sum(v.persistent_bytes for v in self.variants)
        transient = sum(
            sorted((v.transient_bytes for v in self.variants), reverse=True)[: self.workers]
        )
        return persistent + transient + self.rows * ROW_BYTES

    @property
    def gflop(self) -> float:
        return self.flops / 1e9

    @property
    def mb(self) -> float:
        return self.bytes / 2**20

    def describe(self) -> str:
        """One line for a caption: '~12 GFLOP, ~80 MB'."""
        return f"~{_num(self.gflop)} GFLOP, ~{_num(self.mb)} MB"


def _num(x: float) -> str:
    return f"{x:.2g}" if x < 10 else f"{x:,.0f}"


def _n_logs(cfg: RunConfig) -> int:
    """Log steps: 0, every log_every, and the last step."""
    return cfg.steps // cfg.log_every + 1 + (1 if cfg.steps % cfg.log_every else 0)


def _dims(cfg: RunConfig) -> tuple[int, int]:
    """(input features, outputs) of the task."""
    return TASKS[cfg.task].dims(cfg)


def mlp_cost(cfg: RunConfig) -> VariantCost:
    """The deep MLP's cost model (its family entry's ``cost``)."""
    S, B, W, D = cfg.seeds, cfg.batch_size, cfg.width, cfg.depth
    n_in, n_out = _dims(cfg)
    weights = n_in * W + (D - 1) * W * W + W * n_out  # per seed
    norm = NORMS[cfg.norm]
    params = weights + (D + 1) * W + n_out + (2 * D * W if norm.layer is not None else 0)
    # element-wise FLOPs per unit: the activation's and the norm's, the residual add
    elem = ACTIVATIONS[cfg.activation].flops + norm.flops + int(cfg.residual)
    fwd = lambda n: S * n * (2 * weights + elem * D * W)  # noqa: E731 - n examples, all seeds
    ops = D * (MLP_OPS + norm.ops) + 4  # kernels per forward pass
    step = 3 * fwd(B) + 4 * S * params + 3 * ops * OP_OVERHEAD_FLOPS  # fwd, bwd (2x), update
    n_val = TASKS[cfg.task].val_size(cfg)
    # log step: validation forward, saturation slopes, per-layer norms, update clone
    log = fwd(n_val) + S * B * D * W * 10 + 12 * S * params + 12 * (D + 1) * OP_OVERHEAD_FLOPS
    # jacobian_sv at the first and last step: per layer a W×W product and a QR (~6 W³), a seed
    jac = 2 * S * D * 6 * W**3
    flops = (cfg.steps + 1) * step + _n_logs(cfg) * log + jac
    # training: per layer z, a and the next layer's input (+ norm's x̂, stats) per example, plus
    # the gradient flowing back (2 layers' worth) and the saturation temporaries of one layer
    train = S * B * W * ((MLP_SAVED + norm.saved) * D + 8) + S * B * n_in
    val = S * n_val * W * 4 + S * n_val * n_in  # no_grad: a few layers alive at once
    persistent = _model_bytes(cfg, params)
    rows = _rows(cfg)
    transient = int(SAFETY * BYTES * max(train, val, _log_floats(cfg, weights)))
    return VariantCost(cfg.name, flops, step, persistent, transient, rows)


def rnn_cost(cfg: RunConfig) -> VariantCost:
    """The recurrent net's cost model (its family entry's ``cost``)."""
    S, B, H, T = cfg.seeds, cfg.batch_size, cfg.hidden, cfg.seq_len
    cell = CELLS[cfg.cell]
    G = cell.gates
    n_in, n_out = _dims(cfg)
    params = G * H * (n_in + H) + 2 * G * H + H * n_out + n_out
    per_ex = T * (2 * G * H * (n_in + H) + cell.flops * H) + 2 * H * n_out
    fwd = lambda n: S * n * per_ex  # noqa: E731
    ops = T * cell.ops + 6
    step = 3 * fwd(B) + 4 * S * params + 3 * ops * OP_OVERHEAD_FLOPS
    n_val = TASKS[cfg.task].val_size(cfg)
    sat_units = cell.record_gates
    log = (
        fwd(n_val)
        + 3 * fwd(PROBE)  # ∂L/∂h_t on the probe batch: forward + backward
        + S * B * T * H * sat_units * 10  # saturation over every time step
        + 12 * S * params
        + (ops + 3 * ops) * OP_OVERHEAD_FLOPS
    )
    flops = (cfg.steps + 1) * step + _n_logs(cfg) * log
    # input projections for all t (S, B, T, G·H), their gradient and its per-t slices in the
    # backward pass, per-t saved tensors, the pooled pre-activations for saturation (cat of the
    # record, and its slope temporaries)
    per_t = 3 * G * H + cell.saved * H + 4 * sat_units * H + n_in
    train = S * B * T * per_t
    # no_grad, but the projections (S, N, T, G·H) briefly exist twice (matmul, then + bias)
    val = S * n_val * T * (2 * G * H + n_in) + S * n_val * H * 8
    probe = S * PROBE * T * (G * H + cell.saved * H + n_in)
    persistent = _model_bytes(cfg, params)
    rows = _rows(cfg)
    transient = int(SAFETY * BYTES * max(train, val, probe, _log_floats(cfg, params)))
    return VariantCost(cfg.name, flops, step, persistent, transient, rows)


def _model_bytes(cfg: RunConfig, params: int) -> int:
    # params + grads + optimizer state
    return BYTES * cfg.seeds * params * (2 + OPTIMIZERS[cfg.optimizer].state)


def _log_floats(cfg: RunConfig, weights: int) -> int:
    """float32-equivalents alive while a log step measures update ratios: the weights flattened
    before the update and after it, their difference, and float64 squares for the segmented
    norms (models.core.trainer._segment_norms): ~7 floats per weight."""
    return 7 * cfg.seeds * weights


def _rows(cfg: RunConfig) -> int:
    """Metric rows of a variant: each registered metric its family records, by its shape."""
    return cfg.seeds * rows_per_seed(cfg, _n_logs(cfg))


# the pieces a cost model written beside its family (models.core.transformer_family) reuses
log_steps, model_bytes, log_floats, metric_rows = _n_logs, _model_bytes, _log_floats, _rows


# --- counted FLOPs: the matrix multiplies a model needs (2 per multiply-add) ------------------
# Element-wise work is left out (a few percent of the multiplies at these sizes); counts are per
# useful model, so a block-diagonal kernel's zero blocks do not count, and the engine and the
# benchmarks' reference loop are credited the same work (their GFLOP/s figures).


def forward_matmul_flops(cfg: RunConfig, batch: int) -> int:
    """One seed's forward pass on ``batch`` examples."""
    return FAMILIES[cfg.family].forward_flops(cfg, batch)


def train_matmul_flops(cfg: RunConfig, batch: int) -> int:
    """Forward + backward of one seed: weight gradients for every layer, input gradients for
    every layer but the first (the data needs none)."""
    fwd = forward_matmul_flops(cfg, batch)
    return fwd + fwd + (fwd - FAMILIES[cfg.family].first_layer_flops(cfg, batch))


def matmul_flops(cfg: RunConfig) -> int:
    """All counted FLOPs of one variant (all its seeds), metrics included."""
    n_val = TASKS[cfg.task].val_size(cfg)
    logs = len({0, cfg.steps, *range(0, cfg.steps + 1, cfg.log_every)})
    per_seed = (cfg.steps + 1) * train_matmul_flops(cfg, cfg.batch_size)
    per_seed += logs * forward_matmul_flops(cfg, n_val)  # validation
    for m in of_family(cfg.family):  # e.g. per-time-step gradients on the probe batch
        if m.log_flops is not None:
            per_seed += logs * m.log_flops(cfg)
    return cfg.seeds * per_seed


def estimate(comparison: Comparison) -> Estimate:
    """Cost of every variant of a comparison (trained ``configure_workers()`` at a time)."""
    variants = [FAMILIES[c.family].cost(c) for c in comparison.variants]
    return Estimate(variants, workers=configure_workers())


def _env_cap(name: str) -> float | None | str:
    """A cap from the environment: a number, None (= no cap), or 'unset'."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return "unset"
    if raw.strip().lower() in ("0", "none", "off", "inf"):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: got {raw!r}; allowed: a positive number, or 0/off") from None
    if not math.isfinite(value) or value <= 0:
        return None
    return value


def resolve_caps(
    max_gflop: float | None = None, max_mb: float | None = None, defaults: bool = False
) -> tuple[float | None, float | None]:
    """(GFLOP cap, MB cap): arguments, else environment, else defaults when asked, else none."""
    caps = []
    for arg, env, default in (
        (max_gflop, "GFL_MAX_GFLOP", DEFAULT_MAX_GFLOP),
        (max_mb, "GFL_MAX_MB", DEFAULT_MAX_MB),
    ):
        if arg is not None:
            caps.append(arg if arg > 0 else None)
            continue
        from_env = _env_cap(env)
        caps.append((default if defaults else None) if from_env == "unset" else from_env)
    return caps[0], caps[1]


def resolve_row_cap(max_rows: int | None = None, defaults: bool = False) -> int | None:
    """The metric-row cap (GFL_MAX_ROWS): argument, else environment, else the default when
    asked, else none."""
    if max_rows is not None:
        return int(max_rows) if max_rows > 0 else None
    from_env = _env_cap("GFL_MAX_ROWS")
    if from_env == "unset":
        return DEFAULT_MAX_ROWS if defaults else None
    return None if from_env is None else int(from_env)


def check_budget(
    comparison: Comparison,
    max_gflop: float | None = None,
    max_mb: float | None = None,
    defaults: bool = False,
    max_rows: int | None = None,
) -> Estimate:
    """Estimate the run's cost; raise ConfigError naming what to lower when it is over a cap."""
    est = estimate(comparison)
    cap_g, cap_mb = resolve_caps(max_gflop, max_mb, defaults)
    biggest = max(est.variants, key=lambda v: v.flops)
    if cap_g is not None and est.gflop > cap_g:
        raise ConfigError(
            f"this run needs ~{_num(est.gflop)} GFLOP, over the cap of {_num(cap_g)} GFLOP "
            f"(largest: '{biggest.name}', ~{_num(biggest.flops / 1e9)} GFLOP); lower steps, "
            "seeds, depth/width or seq_len/hidden, batch size or the number of variants, "
            "or raise the cap with GFL_MAX_GFLOP"
        )
    if cap_mb is not None and est.mb > cap_mb:
        heavy = max(est.variants, key=lambda v: v.transient_bytes)
        raise ConfigError(
            f"this run needs ~{_num(est.mb)} MB of memory, over the cap of {_num(cap_mb)} MB "
            f"(largest: '{heavy.name}'); lower batch size, seeds, width or seq_len/hidden "
            "(or steps/log_every for fewer metric rows), or raise the cap with GFL_MAX_MB"
        )
    cap_rows = resolve_row_cap(max_rows, defaults)
    rows = sum(v.rows for v in est.variants)
    if cap_rows is not None and rows > cap_rows:
        raise ConfigError(
            f"this run records ~{rows:,} metric rows, over the cap of {cap_rows:,}; log less "
            "often (log_every), or lower steps, seeds, depth or the number of variants, or "
            "raise the cap with GFL_MAX_ROWS"
        )
    return est

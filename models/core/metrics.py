"""The metric registry: every metric a run records (metrics.csv's ``metric`` column).

Each entry says what its ``index`` counts (its shape), which families record it, how an axis
shows it, how many rows it adds to a run (the budget), what it costs beyond the training step,
and how the plain reference loop (``benchmarks/reference.py``) computes it. The trainer records
the metrics every family shares inline at each log step; a family's own metrics (``own``: the
families that record them list them in ``Family.metrics``) are recorded by their ``record``. Adding a metric: an entry here (with ``record``),
and a chart in the dashboard if it should be drawn (ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from .family_registry import FAMILIES
from .registry import Registry
from .task_registry import TASKS

if TYPE_CHECKING:
    from .config import RunConfig
    from .trainer import VariantTrainer

# what a metric's ``index`` counts
SCALAR = "scalar"  # index 0
PER_LAYER = "per layer"  # weight layers 1..n (the readout last; RNN: W_ih, W_hh, readout)
PER_HIDDEN_LAYER = "per hidden layer"  # hidden layers 1..n (a recurrent net pools to 1)
PER_TIME_STEP = "per time step"  # t = 1..T
PER_SINGULAR_VALUE = "per singular value"  # rank 0 = the largest
SHAPES = (SCALAR, PER_LAYER, PER_HIDDEN_LAYER, PER_TIME_STEP, PER_SINGULAR_VALUE)


@dataclass(frozen=True)
class Metric:
    """One recorded metric."""

    name: str
    shape: str  # one of SHAPES
    description: str  # one line: what it measures
    label: str  # axis title
    log_scale: bool = False  # drawn on a log axis
    # recorded only by the families that list it in their ``Family.metrics`` (else by every one)
    own: bool = False
    at_ends: bool = False  # recorded at the first and last step only (else every log step)
    gradients: bool = True  # recorded only with the gradient instruments on
    # (trainer, step) -> None: records it (a family's own metric); None: the trainer's log step
    record: Callable[[VariantTrainer, int], None] | None = None
    # counted matmul FLOPs per seed and log step beyond the step itself (budget.matmul_flops)
    log_flops: Callable[[RunConfig], int] | None = None
    reference: str = ""  # how benchmarks/reference.py's plain loop computes it

    def applies(self, family: str) -> bool:
        """Whether variants of ``family`` record it."""
        return not self.own or self.name in FAMILIES[family].metrics

    @property
    def families(self) -> tuple[str, ...] | None:
        """The families that record it; None: every one."""
        return FAMILIES.names(lambda f: self.applies(f.name)) if self.own else None

    def values(self, cfg: RunConfig) -> int:
        """Values it records at one step for one seed (its rows per seed and record)."""
        fam = FAMILIES[cfg.family]
        if self.shape == PER_LAYER:
            return fam.weight_layers(cfg)
        if self.shape == PER_HIDDEN_LAYER:
            return fam.hidden_layers(cfg)
        if self.shape == PER_TIME_STEP:
            return cfg.seq_len
        if self.shape == PER_SINGULAR_VALUE:  # rank of ∂h_L/∂x
            return min(cfg.width, TASKS[cfg.task].dims(cfg)[0])
        return 1


METRICS: Registry[Metric] = Registry("metric")


def of_family(family: str) -> list[Metric]:
    """The metrics variants of ``family`` record, in registration order."""
    return [m for m in METRICS.entries() if m.applies(family)]


def rows_per_seed(cfg: RunConfig, logs: int) -> int:
    """Metric rows one seed records over a run with ``logs`` log steps (the budget's count;
    update_ratio is counted at every log step, the last included: a small over-estimate)."""
    return sum(m.values(cfg) * (2 if m.at_ends else logs) for m in of_family(cfg.family))


def condition_log10(sv):
    """log10(s_max / s_min) over the last dimension of singular values (a Tensor or an array);
    inf where the smallest is exactly 0 (rank-deficient)."""
    sv = torch.as_tensor(sv)
    big, small = sv.amax(-1), sv.amin(-1)
    return torch.where(small > 0, torch.log10(big / small), torch.inf)


# --- a family's own metrics: recorded by their entry -----------------------------------------


def _record_hidden(tr: VariantTrainer, k: int) -> None:
    tr._emit(k, "hidden_grad_norm", tr.hidden_grad_norms(), 1)


def _record_spectrum(tr: VariantTrainer, k: int) -> None:
    if k == 0 or k >= tr.cfg.steps:  # the spectrum at the start and at the end
        tr._emit(k, "jacobian_sv", tr.jacobian_sv().T)


def _probe_flops(cfg: RunConfig) -> int:
    from .budget import PROBE, train_matmul_flops

    return train_matmul_flops(cfg, min(PROBE, TASKS[cfg.task].val_size(cfg)))


_LOSS = "cross-entropy, or mean squared error for regression tasks"
for _m in (
    Metric(
        "loss",
        SCALAR,
        f"training-batch loss ({_LOSS})",
        "loss",
        log_scale=True,
        gradients=False,
        reference="the batch loss, .item()",
    ),
    Metric(
        "accuracy",
        SCALAR,
        "training-batch accuracy (regression: |error| < 0.04)",
        "accuracy",
        gradients=False,
        reference="the batch accuracy, .item()",
    ),
    Metric(
        "val_loss",
        SCALAR,
        "validation loss",
        "loss",
        log_scale=True,
        gradients=False,
        reference="model.eval() on the validation set",
    ),
    Metric(
        "val_accuracy",
        SCALAR,
        "validation accuracy",
        "accuracy",
        gradients=False,
        reference="model.eval() on the validation set",
    ),
    Metric(
        "grad_norm",
        PER_LAYER,
        "‖∇W_l‖ of each weight matrix, before clipping",
        "‖∇W_l‖",
        log_scale=True,
        reference="w.grad.norm() after loss.backward()",
    ),
    Metric(
        "grad_norm_total",
        SCALAR,
        "global gradient norm of every parameter, before clipping",
        "‖∇θ‖",
        log_scale=True,
        reference="torch.nn.utils.get_total_norm",
    ),
    Metric(
        "grad_to_weight",
        PER_LAYER,
        "‖∇W_l‖ / ‖W_l‖",
        "‖∇W_l‖ / ‖W_l‖",
        log_scale=True,
        reference="w.grad.norm() / w.norm()",
    ),
    Metric(
        "clipped",
        SCALAR,
        "1 if clipping changed this step's gradient",
        "clipped",
        reference="clip_grad_norm_'s returned norm against the threshold",
    ),
    Metric(
        "clipped_share",
        SCALAR,
        "share of the steps since the last log step that clipped",
        "share of steps clipped",
        reference="a count of clipped steps",
    ),
    Metric(
        "saturation",
        PER_HIDDEN_LAYER,
        "share of saturated units (slope < 10% of its maximum, or a ReLU that never fires)",
        "saturated share",
        reference="models.core.layers.saturation on the recorded pre-activations",
    ),
    Metric(
        "wall_s",
        SCALAR,
        "seconds of training so far",
        "seconds",
        gradients=False,
        reference="time.perf_counter()",
    ),
    Metric(
        "update_ratio",
        PER_LAYER,
        "‖ΔW_l‖ / ‖W_l‖ of the update that follows",
        "‖ΔW‖ / ‖W‖",
        log_scale=True,
        reference="the weights' change over opt.step()",
    ),
    Metric(
        "hidden_grad_norm",
        PER_TIME_STEP,
        "‖∂L/∂h_t‖ on the fixed probe batch",
        "‖∂L/∂h_t‖",
        log_scale=True,
        own=True,
        record=_record_hidden,
        log_flops=_probe_flops,
        reference="a Python cell loop over the same weights, h_t.retain_grad()",
    ),
    Metric(
        "jacobian_sv",
        PER_SINGULAR_VALUE,
        "singular values of the input–output Jacobian ∂h_L/∂x at the first probe example",
        "singular value s",
        log_scale=True,
        own=True,
        at_ends=True,
        record=_record_spectrum,
        reference="torch.autograd.functional.jacobian in float64, then svdvals",
    ),
):
    METRICS.register(_m)

"""Grid points that share an architecture train as one stacked model, like seeds do.

A variant's seeds already train as rows of (S, ...) tensors. Points that differ only in numbers
used at initialisation (σ_w, σ_b, the init scheme, the seed) or in the update (lr, momentum,
optimizer, clip thresholds) become more rows of the same tensors: each member's rows start from
the weights its own lone run would draw, and get its own optimizer and clip thresholds.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch

from ..core.config import RunConfig, to_dict
from ..core.nets import build_model
from ..core.optim import StackedOptimizer
from ..core.runner import summarise
from ..core.trainer import VariantTrainer, _flat, _global_norms

# fields a member may set on its own rows: read at initialisation or in the update only
ROW_FIELDS = (
    "seed",
    "init",
    "init_gain",
    "bias_std",
    "recurrent_init",
    "spectral_radius",
    "forget_bias",
    "optimizer",
    "lr",
    "momentum",
    "clip_norm",
    "clip_value",
    "warmup_steps",
)
MAX_GROUP_ROWS = 16  # rows (members × seeds) per stacked model; fixed, so numbers never depend
# on the worker count or the backend


@dataclass
class Member:
    """One grid point × variant inside a group: where its rows sit in the stack."""

    point: int  # grid point index
    cfg: RunConfig
    offset: int = 0  # first row in the stack

    @property
    def rows(self) -> int:
        return self.cfg.seeds


def stack_key(cfg: RunConfig) -> str:
    """Configs with equal keys can share one stacked model."""
    d = to_dict(cfg)
    for k in (*ROW_FIELDS, "name", "seeds"):
        d.pop(k)
    return repr(sorted(d.items()))


def plan_groups(members: list[Member], max_rows: int = MAX_GROUP_ROWS) -> list[list[Member]]:
    """Members sharing a stack key, in order, cut into stacks of at most ``max_rows`` rows."""
    by_key: dict[str, list[list[Member]]] = {}
    for m in members:
        chunks = by_key.setdefault(stack_key(m.cfg), [[]])
        if chunks[-1] and sum(x.rows for x in chunks[-1]) + m.rows > max_rows:
            chunks.append([])
        chunks[-1].append(m)
    groups = [chunk for chunks in by_key.values() for chunk in chunks]
    for g in groups:
        offset = 0
        for m in g:
            m.offset, offset = offset, offset + m.rows
    return groups


class _RowOptimizers:
    """One optimizer per run of equally-set members, each on its own rows of the flat tensor."""

    def __init__(self, flat: torch.Tensor, members: list[Member]):
        self.spans: list[tuple[int, int, StackedOptimizer]] = []
        start = 0
        for i, m in enumerate(members):
            nxt = members[i + 1] if i + 1 < len(members) else None
            if nxt is not None and _opt_key(nxt.cfg) == _opt_key(m.cfg):
                continue  # the next member shares these settings: one span for both
            end = m.offset + m.rows
            c = m.cfg
            opt = StackedOptimizer([flat[start:end]], c.optimizer, c.lr, c.momentum, c.warmup_steps)
            self.spans.append((start, end, opt))
            start = end

    def step(self, grads: list[torch.Tensor]) -> None:
        g = grads[0]  # (S, N)
        for start, end, opt in self.spans:
            opt.step([g[start:end]])


def _opt_key(cfg: RunConfig) -> tuple:
    return (cfg.optimizer, cfg.lr, cfg.momentum, cfg.warmup_steps)


def _per_row(members: list[Member], field: str) -> torch.Tensor | None:
    """A member's threshold on each of its rows, inf where off: (S,), or None if all are off."""
    vals = [getattr(m.cfg, field) for m in members]
    if all(v <= 0 for v in vals):
        return None
    return torch.tensor(
        [v if v > 0 else math.inf for m, v in zip(members, vals) for _ in range(m.rows)]
    )


class StackedPointsTrainer(VariantTrainer):
    """A ``VariantTrainer`` whose rows are several members' seeds (row = member offset + seed)."""

    def __init__(self, members: list[Member], gradients: bool = True):
        first = members[0].cfg
        rows = sum(m.rows for m in members)
        combined = dataclasses.replace(
            first,
            name="stack",
            seeds=rows,
            seed=0,
            # the base class asks for the gradient norm when any row clips by norm
            clip_norm=max(m.cfg.clip_norm for m in members),
            clip_value=max(m.cfg.clip_value for m in members),
        )
        super().__init__(combined, instrument=True, gradients=gradients)
        self.members = members
        with torch.no_grad():  # each member's rows: the weights its lone run draws
            for m in members:
                own = build_model(m.cfg, self.task.input_dim, self.task.output_dim)
                own_params = list(own.parameters())
                self.flat[m.offset : m.offset + m.rows] = _flat(own_params, m.rows)
                own_buffers = dict(own.named_buffers())
                for name, buf in self.model.named_buffers():  # batch norm running statistics
                    other = own_buffers[name]
                    buf.view(rows, -1)[m.offset : m.offset + m.rows] = other.view(m.rows, -1)
        self.opt = _RowOptimizers(self.flat, members)
        self._clip_value = _per_row(members, "clip_value")  # (S,) or None
        self._clip_norm = _per_row(members, "clip_norm")

    def _clip(self, grads: list[torch.Tensor], total_norm: torch.Tensor | None):
        """The base class's clip with per-row thresholds (inf on rows that do not clip)."""
        S = self.S
        self.clip_steps += 1
        if self._clip_value is None and self._clip_norm is None:
            return grads, self._no_clip
        clipped = torch.zeros(S, dtype=torch.bool)
        if self._clip_value is not None:
            cv = self._clip_value.view(S, 1)
            clipped |= grads[0].abs().amax(1) > self._clip_value
            grads = [torch.minimum(torch.maximum(grads[0], -cv), cv)]
            if self._clip_norm is not None:  # the norm clip sees the value-clipped gradient
                total_norm = _global_norms(grads[0])
        if self._clip_norm is not None:
            # Pascanu et al. 2013, Alg. 1 per row: g <- c g/||g|| when ||g|| > c
            over = total_norm > self._clip_norm
            clipped |= over
            scale = torch.where(over, self._clip_norm / total_norm, torch.ones_like(total_norm))
            grads = [grads[0] * scale.view(S, 1)]
        self.clip_counts += clipped.float()
        return grads, clipped


def summarise_members(tr: VariantTrainer, members: list[Member]) -> list[dict[str, Any]]:
    """One summary row per member seed: the runner's summary plus gradient ratios.

    ``grad_ratio_init``/``grad_ratio_final``: ‖∇W_1‖ / ‖∇W_L‖ (input layer over readout) at
    step 0 and at the last logged step; ≪ 1 when the gradient vanishes on its way down.
    """
    base = summarise(tr)  # one per row; "seed" is the row index (the stack's seed 0 + row)
    L = len(tr.weight_pos)
    first: dict[tuple[int, int], float] = {}  # (row, layer) -> grad norm at step 0
    last: dict[tuple[int, int], float] = {}  # (row, layer) -> latest grad norm
    for _, row, step, metric, index, value in tr.rows:
        if metric == "grad_norm" and index in (1, L):
            last[(row, index)] = value
            if step == 0:
                first[(row, index)] = value
    rows_total = max(1, tr.S)
    out = []
    for m in members:
        share = m.rows / rows_total
        for s, seed in enumerate(m.cfg.seed_list()):
            r = m.offset + s
            row = dict(base[r])
            row["variant"], row["seed"] = m.cfg.name, seed
            row["grad_ratio_init"] = _ratio(first, r, L)
            row["grad_ratio_final"] = _ratio(last, r, L)
            # a stack trains its members together: each gets its share of the stack's time
            row["wall_s"] = round(tr.wall_s * share, 4)
            row["s_per_step"] = row["s_per_step"] * share
            row["point"] = m.point
            out.append(row)
    return out


def _ratio(norms: dict[tuple[int, int], float], row: int, L: int) -> float | None:
    a, b = norms.get((row, 1)), norms.get((row, L))
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)) or b <= 0:
        return None
    return a / b

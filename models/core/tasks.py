"""Tasks: data that ships, is generated from a seed, or is the user's own table (task=csv).
Nothing is downloaded at run time.

Every task hands out the same training batches in the same order for a given ``data_seed``,
so all variants of a comparison see identical data and differ only by their mitigation.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from . import tabular
from .config import Comparison, RunConfig
from .csv_parser import Table
from .tabular import bundled_table
from .task_registry import TASKS, TaskSpec

SPLIT_SEED = 1234  # fixes the digits train/validation split for everyone
VAL_SEQS = 256  # validation sequences for the generated sequence tasks
PROBE_SIZE = 32  # examples in the fixed probe batch used for per-time-step gradients


@dataclass
class Task:
    """Data and scoring of one task."""

    name: str
    kind: str  # classification | regression
    input_dim: int
    output_dim: int
    seq_len: int  # 0 for non-sequential tasks
    x_train: torch.Tensor | None  # fixed training set, or None when batches are generated
    y_train: torch.Tensor | None
    x_val: torch.Tensor
    y_val: torch.Tensor
    baseline_loss: float  # chance / mean-predictor loss: the line a model must beat
    target: tuple[str, float]  # (metric, threshold) for steps_to_target
    data_seed: int = 0
    # (n, seq_len, generator) -> a fresh batch, for tasks without a fixed training set
    generate: Callable[[int, int, torch.Generator], tuple[torch.Tensor, torch.Tensor]] | None = None

    def batches(self, steps: int, batch_size: int):
        """Yield ``steps + 1`` training batches (x, y): batch k is used at step k."""
        g = torch.Generator().manual_seed(self.data_seed)
        if self.x_train is None:
            for _ in range(steps + 1):
                yield self._generate(batch_size, g)
            return
        n = self.x_train.shape[0]
        perm, pos = torch.randperm(n, generator=g), 0
        for _ in range(steps + 1):
            if pos + batch_size > n:  # new epoch, reshuffled
                perm, pos = torch.randperm(n, generator=g), 0
            idx = perm[pos : pos + batch_size]
            pos += batch_size
            yield self.x_train[idx], self.y_train[idx]

    def probe(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A fixed small batch (the first validation examples) for gradient probes."""
        return self.x_val[:PROBE_SIZE], self.y_val[:PROBE_SIZE]

    def _generate(self, batch_size: int, g: torch.Generator):
        assert self.generate is not None
        return self.generate(batch_size, self.seq_len, g)


# --- generated sequence tasks -------------------------------------------------------------


def adding_batch(n: int, seq_len: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Adding problem (Le et al. 2015 form): sum the two marked values, one in each half."""
    values = torch.rand(n, seq_len, generator=g)
    half = seq_len // 2
    first = torch.randint(0, half, (n,), generator=g)
    second = torch.randint(half, seq_len, (n,), generator=g)
    markers = torch.zeros(n, seq_len)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=-1)  # (N, T, 2)
    y = (values[rows, first] + values[rows, second]).unsqueeze(-1)  # (N, 1)
    return x, y


def temporal_order_batch(n: int, seq_len: int, g: torch.Generator):
    """Temporal order (Hochreiter & Schmidhuber 1997; Pascanu et al. 2013): the order of X/Y."""
    # symbols 0..3 are distractors a-d, 4 = X, 5 = Y; two relevant ones in early/middle windows
    sym = torch.randint(0, 4, (n, seq_len), generator=g)
    lo1, hi1 = max(1, int(0.1 * seq_len)), max(2, int(0.2 * seq_len))
    lo2 = max(hi1, int(0.5 * seq_len))
    hi2 = min(seq_len, max(lo2 + 1, int(0.6 * seq_len)))
    p1 = torch.randint(lo1, hi1, (n,), generator=g)
    p2 = torch.randint(lo2, hi2, (n,), generator=g)
    s1 = torch.randint(0, 2, (n,), generator=g)
    s2 = torch.randint(0, 2, (n,), generator=g)
    rows = torch.arange(n)
    sym[rows, p1] = 4 + s1
    sym[rows, p2] = 4 + s2
    x = torch.nn.functional.one_hot(sym, 6).float()  # (N, T, 6)
    y = 2 * s1 + s2  # classes XX, XY, YX, YY
    return x, y


def hops_batch(n: int, seq_len: int, g: torch.Generator, hops: int = 3):
    """Pointer chasing: token i holds f(i) ∈ {0..T-1}; the label is f applied ``hops`` times
    to 0 (f∘f∘f(0)). Each hop is one look-up by position, so a stack needs blocks to compose
    them (one block can do about one look-up per head)."""
    f = torch.randint(0, seq_len, (n, seq_len), generator=g)
    rows, cur = torch.arange(n), torch.zeros(n, dtype=torch.long)
    for _ in range(hops):
        cur = f[rows, cur]
    return torch.nn.functional.one_hot(f, seq_len).float(), cur  # (N, T, T), (N,)


# --- fixed data sets -----------------------------------------------------------------------


@lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The digits file scikit-learn ships, read directly: importing sklearn costs ~1 s."""
    spec = importlib.util.find_spec("sklearn")
    path = Path(spec.origin).parent / "datasets" / "data" / "digits.csv.gz" if spec else None
    if path is None or not path.is_file():  # an unusual layout: let sklearn find it
        from sklearn.datasets import load_digits

        d = load_digits()
        return d.data, d.target
    raw = np.loadtxt(path, delimiter=",")  # (1797, 65): 64 pixels in 0..16, then the label
    return raw[:, :-1], raw[:, -1].astype(np.int64)


def _digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled 8x8 digits, standardised per pixel with a fixed split."""
    data, target = _digits_arrays()
    x = torch.tensor(data, dtype=torch.float32) / 16.0  # (1797, 64) in [0, 1]
    y = torch.tensor(target, dtype=torch.long)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(SPLIT_SEED))
    return x[perm], y[perm]


def _digits_split(seq: bool):
    x, y = _digits()
    n_val = 360
    xt, yt, xv, yv = x[n_val:], y[n_val:], x[:n_val], y[:n_val]
    mean, std = xt.mean(0), xt.std(0).clamp_min(0.1)  # train statistics only
    xt, xv = (xt - mean) / std, (xv - mean) / std
    if seq:  # pixel by pixel: (N, 64, 1)
        xt, xv = xt.unsqueeze(-1), xv.unsqueeze(-1)
    return xt, yt, xv, yv


def spirals(n: int, arms: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """K interleaved spiral arms in 2-D with a little noise."""
    y = torch.arange(n) % arms
    t = torch.rand(n, generator=g) * 0.9 + 0.1  # radius fraction, avoids the crowded centre
    angle = t * 3.0 * math.pi + y * (2 * math.pi / arms)
    angle = angle + 0.2 * torch.randn(n, generator=g)
    x = torch.stack([t * torch.cos(angle), t * torch.sin(angle)], dim=1) * 2.0  # (N, 2)
    return x, y


def _digits_task(cfg: RunConfig, table: Table | None = None) -> Task:
    seq = cfg.task == "seq-digits"
    xt, yt, xv, yv = _digits_split(seq)
    return Task(
        cfg.task,
        "classification",
        1 if seq else 64,
        10,
        64 if seq else 0,
        xt,
        yt,
        xv,
        yv,
        chance_loss(cfg),
        ("val_accuracy", 0.9 if not seq else 0.5),
        cfg.data_seed,
    )


def _row_digits_task(cfg: RunConfig, table: Table | None = None) -> Task:
    """The digits read row by row: 8 tokens of 8 pixels (a Transformer's sequence)."""
    xt, yt, xv, yv = _digits_split(False)
    xt, xv = xt.view(-1, 8, 8), xv.view(-1, 8, 8)
    return Task(
        "row-digits",
        "classification",
        8,
        10,
        8,
        xt,
        yt,
        xv,
        yv,
        chance_loss(cfg),
        ("val_accuracy", 0.9),
        cfg.data_seed,
    )


def _hops_task(cfg: RunConfig, table: Table | None = None) -> Task:
    g = torch.Generator().manual_seed(SPLIT_SEED + cfg.seq_len)
    xv, yv = hops_batch(VAL_SEQS, cfg.seq_len, g)
    return Task(
        "hops",
        "classification",
        cfg.seq_len,
        cfg.seq_len,
        cfg.seq_len,
        None,
        None,
        xv,
        yv,
        chance_loss(cfg),
        ("val_accuracy", 0.9),
        cfg.data_seed,
        hops_batch,
    )


def _spirals_task(cfg: RunConfig, table: Table | None = None) -> Task:
    g = torch.Generator().manual_seed(SPLIT_SEED + cfg.arms)
    xt, yt = spirals(1500, cfg.arms, g)
    xv, yv = spirals(500, cfg.arms, g)
    return Task(
        "spirals",
        "classification",
        2,
        cfg.arms,
        0,
        xt,
        yt,
        xv,
        yv,
        chance_loss(cfg),
        ("val_accuracy", 0.9),
        cfg.data_seed,
    )


def _adding_task(cfg: RunConfig, table: Table | None = None) -> Task:
    g = torch.Generator().manual_seed(SPLIT_SEED + cfg.seq_len)
    xv, yv = adding_batch(VAL_SEQS, cfg.seq_len, g)
    return Task(
        "adding",
        "regression",
        2,
        1,
        cfg.seq_len,
        None,
        None,
        xv,
        yv,
        chance_loss(cfg),
        ("val_loss", 0.05),
        cfg.data_seed,
        adding_batch,
    )


def _temporal_order_task(cfg: RunConfig, table: Table | None = None) -> Task:
    g = torch.Generator().manual_seed(SPLIT_SEED + cfg.seq_len)
    xv, yv = temporal_order_batch(VAL_SEQS, cfg.seq_len, g)
    return Task(
        "temporal-order",
        "classification",
        6,
        4,
        cfg.seq_len,
        None,
        None,
        xv,
        yv,
        chance_loss(cfg),
        ("val_accuracy", 0.9),
        cfg.data_seed,
        temporal_order_batch,
    )


def chance_loss(cfg: RunConfig) -> float:
    """The loss of a guess that ignores the input (uniform classes; the adding problem's mean
    predictor, Var of a sum of two U[0,1] = 2/12): the line a model must beat. No data built."""
    return TASKS[cfg.task].chance(cfg)


def table_task(cfg: RunConfig, table: Table | None = None) -> Task:
    """A table task: a bundled scikit-learn set, or the CSV file of task=csv (``table``: it
    parsed already; else the file at ``cfg.data`` is read)."""
    if table is None:
        table = bundled_table(cfg.task) if cfg.task in tabular.BUNDLED else None
    if table is None:
        table = tabular.resolve_tables(Comparison([cfg]))[(cfg.data_sha256, cfg.target)]
    xt, yt, xv, yv = tabular.tensors(table, cfg.data_seed)
    k = len(table.classes)
    goal = tabular.BUNDLED_TARGET if cfg.task in tabular.BUNDLED else tabular.csv_target(yt, k)
    return Task(
        cfg.task,
        "classification",
        xt.shape[1],
        k,
        0,
        xt,
        yt,
        xv,
        yv,
        tabular.prior_loss(yt, k),
        ("val_accuracy", goal),
        cfg.data_seed,
    )


def _table_chance(cfg: RunConfig) -> float:
    return math.log(tabular.table_dims(cfg)[1])  # uniform over the table's classes


def _table_spec(name: str, label: str, description: str, bundled: bool) -> TaskSpec:
    return TaskSpec(
        name,
        "mlp",
        table_task,
        lambda c: tabular.table_dims(c)[:2],
        lambda c: tabular.table_dims(c)[2],
        description,
        _table_chance,
        bundled_table=bundled,
        label=label,
    )


for _t in (
    TaskSpec(
        "digits",
        "mlp",
        _digits_task,
        lambda c: (64, 10),
        lambda c: 360,
        "scikit-learn's 8×8 handwritten digits, 10 classes",
        lambda c: math.log(10),
        label="8×8 digits",
    ),
    TaskSpec(
        "spirals",
        "mlp",
        _spirals_task,
        lambda c: (2, c.arms),
        lambda c: 500,
        "interleaved 2-D spiral arms, one class per arm",
        lambda c: math.log(c.arms),
        label="Spirals",
    ),
    *(_table_spec(name, b.label, b.title, True) for name, b in tabular.BUNDLED.items()),
    _table_spec("csv", "Your CSV", "your own table: a CSV file, one row per example", False),
    # predicting the mean (1.0) of a sum of two U[0,1] scores: Var = 2/12 = 1/6
    TaskSpec(
        "adding",
        "rnn",
        _adding_task,
        lambda c: (2, 1),
        lambda c: VAL_SEQS,
        "adding problem: sum the two marked values of a sequence",
        lambda c: 1 / 6,
        kind="regression",
        label="Adding problem",
    ),
    TaskSpec(
        "seq-digits",
        "rnn",
        _digits_task,
        lambda c: (1, 10),
        lambda c: 360,
        "the digits read pixel by pixel (T = 64)",
        lambda c: math.log(10),
        label="Digits, pixel by pixel",
    ),
    TaskSpec(
        "temporal-order",
        "rnn",
        _temporal_order_task,
        lambda c: (6, 4),
        lambda c: VAL_SEQS,
        "which of X and Y came first among distractors (4 classes)",
        lambda c: math.log(4),
        label="Temporal order",
    ),
    TaskSpec(
        "row-digits",
        "transformer",
        _row_digits_task,
        lambda c: (8, 10),
        lambda c: 360,
        "the 8×8 digits read as 8 row tokens of 8 pixels",
        lambda c: math.log(10),
        label="Digits, row by row",
    ),
    TaskSpec(
        "hops",
        "transformer",
        _hops_task,
        lambda c: (c.seq_len, c.seq_len),
        lambda c: VAL_SEQS,
        "pointer chasing: token i holds f(i); the label is f(f(f(0)))",
        lambda c: math.log(c.seq_len),
        label="Pointer chasing (3 hops)",
    ),
):
    TASKS.register(_t)


def make_task(cfg: RunConfig, table: Table | None = None) -> Task:
    """Build the task a config asks for (``table``: the parsed CSV file of task=csv)."""
    return TASKS[cfg.task].build(cfg, table)


def task_title(name: str) -> str:
    """How a picker shows a task (its registry entry's label)."""
    return (TASKS[name].label or name) if name in TASKS else name

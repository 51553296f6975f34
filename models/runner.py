"""Run a comparison: all variants side by side, with live progress, into one result."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from models.config import Comparison
from models.trainer import Row, VariantTrainer

METRIC_COLUMNS = ["variant", "seed", "step", "metric", "index", "value"]
SUMMARY_COLUMNS = [
    "variant", "seed", "final_loss", "final_val_loss", "final_accuracy", "final_val_accuracy",
    "best_val_loss", "steps_to_target", "diverged_step", "diverged_layer", "wall_s",
    "s_per_step", "params", "error",
]  # fmt: skip
DEFAULT_THREADS = 1  # tiny matmuls: a second OpenMP thread costs more in barriers than it saves


def configure_threads(n: int | None = None) -> int:
    """Set torch's intra-op threads deliberately (env GFL_THREADS overrides); returns it."""
    n = (
        n
        or int(os.environ.get("GFL_THREADS", "0") or 0)
        or min(DEFAULT_THREADS, os.cpu_count() or 1)
    )
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


@dataclass
class RunResult:
    """Both tables of a run: long-format metrics rows and one summary row per variant and seed."""

    comparison: Comparison
    metrics: list[Row] = field(default_factory=list)
    summary: list[dict[str, Any]] = field(default_factory=list)
    stopped: bool = False  # True when the callback asked to stop early
    wall_s: float = 0.0

    def metrics_frame(self):
        """Metrics as a pandas DataFrame (columns variant, seed, step, metric, index, value)."""
        import pandas as pd

        return pd.DataFrame(self.metrics, columns=METRIC_COLUMNS)

    def summary_frame(self):
        """Summary as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.summary, columns=SUMMARY_COLUMNS)

    def write(self, out_dir: str | Path) -> None:
        """Write metrics.csv, summary.csv and config.json into ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.metrics_frame().to_csv(out / "metrics.csv", index=False)
        self.summary_frame().to_csv(out / "summary.csv", index=False)
        (out / "config.json").write_text(json.dumps(self.comparison.to_json_dict(), indent=2))


@dataclass
class Progress:
    """What a progress callback sees."""

    done_steps: int
    total_steps: int
    elapsed_s: float
    _snapshot: Callable[[], RunResult]

    @property
    def result(self) -> RunResult:
        """The results so far (built on demand: cheap callbacks that only show a bar skip it)."""
        return self._snapshot()

    @property
    def fraction(self) -> float:
        return self.done_steps / max(1, self.total_steps)

    @property
    def eta_s(self) -> float:
        """Seconds left, extrapolated from the pace so far."""
        f = self.fraction
        return self.elapsed_s * (1 - f) / f if f > 0 else float("nan")


def summarise(tr: VariantTrainer) -> list[dict[str, Any]]:
    """Summary rows of one trainer (one per seed), from its metric rows."""
    cfg = tr.cfg
    last: dict[tuple[int, str], float] = {}
    best: dict[int, float] = {}
    reached: dict[int, int] = {}
    metric, threshold = tr.task.target
    higher = metric.endswith("accuracy")
    for _, seed, step, m, _, v in tr.rows:
        if m in ("loss", "val_loss", "accuracy", "val_accuracy"):
            last[(seed, m)] = v
        if m == "val_loss" and math.isfinite(v):
            best[seed] = min(best.get(seed, math.inf), v)
        if m == metric and seed not in reached and (v >= threshold if higher else v <= threshold):
            reached[seed] = step
    rows = []
    steps = max(1, tr.steps_done)
    for s, seed in enumerate(cfg.seed_list()):
        div = tr.diverged.get(s)
        rows.append({
            "variant": cfg.name, "seed": seed,
            "final_loss": last.get((seed, "loss")), "final_val_loss": last.get((seed, "val_loss")),
            "final_accuracy": last.get((seed, "accuracy")),
            "final_val_accuracy": last.get((seed, "val_accuracy")),
            "best_val_loss": best.get(seed), "steps_to_target": reached.get(seed),
            "diverged_step": div[0] if div else None, "diverged_layer": div[1] if div else None,
            "wall_s": round(tr.wall_s, 4), "s_per_step": tr.wall_s / steps,
            "params": tr.n_params, "error": tr.error,
        })  # fmt: skip
    return rows


def run_comparison(
    comparison: Comparison,
    callback: Callable[[Progress], bool | None] | None = None,
    instrument: bool = True,
    threads: int | None = None,
) -> RunResult:
    """Train every variant side by side; ``callback`` may return False to stop (results kept)."""
    configure_threads(threads)
    t0 = time.perf_counter()
    result = RunResult(comparison)
    trainers = []
    for cfg in comparison.variants:
        trainers.append(VariantTrainer(cfg, instrument=instrument))
    total = sum(c.steps + 1 for c in comparison.variants)
    chunk = lambda tr: max(1, min(tr.cfg.log_every, 25))  # noqa: E731 - round-robin slice

    def snapshot() -> RunResult:
        result.metrics = [r for tr in trainers for r in tr.rows]
        result.summary = [row for tr in trainers for row in summarise(tr)]
        result.wall_s = time.perf_counter() - t0
        return result

    first_round = True  # step 0 of every variant first: the dashboard's first chart comes fast
    while not all(tr.done for tr in trainers):
        for tr in trainers:
            if tr.done:
                continue
            try:
                tr.advance(1 if first_round else chunk(tr))
            except Exception as e:  # one broken variant must not take the others down
                tr.error, tr.done = f"{type(e).__name__}: {e}", True
        if callback is not None:
            done = sum(tr.cfg.steps + 1 if tr.done else tr.step for tr in trainers)
            if callback(Progress(done, total, time.perf_counter() - t0, snapshot)) is False:
                result.stopped = True
                break
        first_round = False
    return snapshot()

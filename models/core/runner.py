"""Run a comparison: all variants side by side, with live progress, into one result."""

from __future__ import annotations

import json
import math
import queue
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import Comparison, RunConfig
from .csv_parser import Table
from .errors import DataError
from .tabular import resolve_tables
from .threads import configure_threads, configure_workers
from .trainer import Row, VariantTrainer

METRIC_COLUMNS = ["variant", "seed", "step", "metric", "index", "value"]
SUMMARY_COLUMNS = [
    "variant",
    "seed",
    "final_loss",
    "final_val_loss",
    "final_accuracy",
    "final_val_accuracy",
    "best_val_loss",
    "steps_to_target",
    "diverged_step",
    "diverged_layer",
    "wall_s",
    "s_per_step",
    "params",
    "error",
    "step_impl",
]
# step_impl: how the variant's steps ran: autograd (the reference path), manual (hand-written,
# plain Python) or manual-compiled (hand-written, TorchScript)


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
        rows.append(
            {
                "variant": cfg.name,
                "seed": seed,
                "final_loss": last.get((seed, "loss")),
                "final_val_loss": last.get((seed, "val_loss")),
                "final_accuracy": last.get((seed, "accuracy")),
                "final_val_accuracy": last.get((seed, "val_accuracy")),
                "best_val_loss": best.get(seed),
                "steps_to_target": reached.get(seed),
                "diverged_step": div[0] if div else None,
                "diverged_layer": div[1] if div else None,
                "wall_s": round(tr.wall_s, 4),
                "s_per_step": tr.wall_s / steps,
                "params": tr.n_params,
                "error": tr.error,
                "step_impl": tr.step_impl,
            }
        )
    return rows


def slice_steps(cfg: RunConfig) -> int:
    """Steps a variant trains in one turn of the round-robin (a log interval, at most 25)."""
    return max(1, min(cfg.log_every, 25))


def run_comparison(
    comparison: Comparison,
    callback: Callable[[Progress], bool | None] | None = None,
    instrument: bool = True,
    threads: int | None = None,
    workers: int | None = None,
    gradients: bool = True,
    tables: Mapping[tuple[str, str], Table] | None = None,
) -> RunResult:
    """Train every variant side by side; ``callback`` may return False to stop (results kept).

    ``threads``: torch intra-op threads (GFL_THREADS); ``workers``: variants trained at the same
    time on their own Python threads (GFL_WORKERS). Neither changes any number a run records:
    each variant has its own data stream, generators and model. ``instrument=False`` records
    nothing; ``gradients=False`` only the loss and accuracy curves (the benchmark's baselines).
    ``tables``: task=csv's parsed files by (sha256, target), from ``resolve_tables``; without
    them the files are read here (a bad file raises DataError before anything trains).
    """
    if tables is None and any(v.task == "csv" for v in comparison.variants):
        tables = resolve_tables(comparison)
    tables = tables or {}
    configure_threads(threads)
    t0 = time.perf_counter()
    result = RunResult(comparison)
    trainers = []
    for cfg in comparison.variants:
        table = tables.get((cfg.data_sha256, cfg.target)) if cfg.task == "csv" else None
        if cfg.task == "csv" and table is None:
            raise DataError(f"data: variant '{cfg.name}' has no parsed table; use resolve_tables")
        trainers.append(
            VariantTrainer(cfg, instrument=instrument, gradients=gradients, table=table)
        )
    total = sum(c.steps + 1 for c in comparison.variants)
    chunk = lambda tr: slice_steps(tr.cfg)  # noqa: E731

    locks = {id(tr): threading.Lock() for tr in trainers}  # a trainer's slice vs snapshots

    def snapshot() -> RunResult:
        metrics, summary = [], []
        for tr in trainers:
            with locks[id(tr)]:  # never read a trainer half-way through a step
                metrics.extend(tr.rows)
                summary.extend(summarise(tr))
        result.metrics, result.summary = metrics, summary
        result.wall_s = time.perf_counter() - t0
        return result

    def advance(tr: VariantTrainer, n: int) -> None:
        with locks[id(tr)]:
            try:
                tr.advance(n)
            except Exception as e:  # one broken variant must not take the others down
                tr.error, tr.done = f"{type(e).__name__}: {e}", True

    def report() -> bool:
        """Call back with the progress so far; False when the callback asks to stop."""
        if callback is None:
            return True
        done = sum(tr.cfg.steps + 1 if tr.done else tr.step for tr in trainers)
        if callback(Progress(done, total, time.perf_counter() - t0, snapshot)) is False:
            result.stopped = True
            return False
        return True

    n_workers = min(configure_workers(workers), len(trainers))  # no idle threads
    if n_workers > 1:
        _train_parallel(trainers, n_workers, advance, chunk, report)
        return snapshot()
    first_round = True  # step 0 of every variant first: the dashboard's first chart comes fast
    while not all(tr.done for tr in trainers):
        for tr in trainers:
            if not tr.done:
                advance(tr, 1 if first_round else chunk(tr))
        if not report():
            break
        first_round = False
    return snapshot()


def _train_parallel(trainers, n_workers: int, advance, chunk, report) -> None:
    """Slices of every variant on ``n_workers`` threads, round-robin, without a barrier.

    Step 0 of every variant comes first (and is reported at once). After that each trainer has
    at most one slice queued or running, and a worker that finishes a slice queues that
    trainer's next one at the back itself, so variants advance at one pace and training never
    waits for this thread: the callback (the dashboard draws charts in it) runs here, about once
    per round, while the workers go on.
    """
    pool = ThreadPoolExecutor(n_workers, "gfl-variant")
    finished: queue.SimpleQueue = queue.SimpleQueue()  # one entry per slice done
    stopping = threading.Event()

    def chain(tr) -> None:
        try:
            advance(tr, chunk(tr))
        finally:
            more = not tr.done and not stopping.is_set()
            if more:
                try:
                    pool.submit(chain, tr)
                except RuntimeError:  # the pool is shutting down (stopped)
                    more = False
            finished.put(more)

    try:
        # step 0 of every variant, then the first report: the first chart shows them all
        for fut in [pool.submit(advance, tr, 1) for tr in trainers]:
            fut.result()
        if not report():
            return
        live = 0
        for tr in trainers:
            if not tr.done:
                pool.submit(chain, tr)
                live += 1
        slices = 0
        while live:
            if not finished.get():  # that trainer's chain has ended
                live -= 1
            slices += 1
            if slices >= max(1, live) or not live:  # about one round
                slices = 0
                if not report():
                    return
    finally:
        stopping.set()  # no chain queues another slice; queued ones are cancelled
        pool.shutdown(wait=True, cancel_futures=True)

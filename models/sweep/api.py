"""``run_sweep``: train every grid point × variant × seed, with progress, into sweep.csv.

Results are written as each stack finishes, so a stopped or crashed sweep keeps what is done;
run again into the same folder, it skips those points.
"""

from __future__ import annotations

import csv
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.budget import estimate
from ..core.config import Comparison, coerce
from ..core.errors import ConfigError
from ..core.threads import configure_threads, configure_workers
from .backends import BACKENDS, run_local, run_ray
from .spec import SweepSpec
from .stacked import Member, plan_groups

# after the grid's own columns, one per axis
SWEEP_COLUMNS = [
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
    "grad_ratio_init",
    "grad_ratio_final",
    "wall_s",
    "s_per_step",
    "params",
    "error",
]
CSV_NAME, JSON_NAME = "sweep.csv", "sweep.json"


@dataclass
class SweepProgress:
    """What a sweep's progress callback sees."""

    done_points: int  # grid point × variant pairs finished (resumed ones included)
    total_points: int
    fraction: float  # of the work, weighted by each stack's cost
    elapsed_s: float
    rows: list[dict[str, Any]]  # summary rows finished so far (do not modify)

    @property
    def eta_s(self) -> float:
        """Seconds left, extrapolated from the pace so far."""
        f = self.fraction
        return self.elapsed_s * (1 - f) / f if f > 0 else float("nan")


@dataclass
class SweepResult:
    """Every finished row: the grid's values, then ``SWEEP_COLUMNS``."""

    spec: SweepSpec
    rows: list[dict[str, Any]] = field(default_factory=list)
    stopped: bool = False  # the callback asked to stop (finished points kept)
    resumed: int = 0  # rows taken from an earlier run in the same folder
    wall_s: float = 0.0

    @property
    def columns(self) -> list[str]:
        return self.spec.axes + SWEEP_COLUMNS

    def frame(self):
        """The rows as a pandas DataFrame, in grid order."""
        import pandas as pd

        return pd.DataFrame(self.rows, columns=self.columns)

    def write(self, out_dir: str | Path) -> None:
        """Write sweep.csv and sweep.json into ``out_dir`` (all rows at once)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_json(self.spec, out)
        tmp = out / (CSV_NAME + ".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, self.columns, extrasaction="ignore")
            w.writeheader()
            w.writerows(self.rows)
        tmp.replace(out / CSV_NAME)  # atomic: a reader never sees half a file


def write_json(spec: SweepSpec, out: Path) -> None:
    (out / JSON_NAME).write_text(json.dumps(spec.to_json_dict(), indent=2, ensure_ascii=False))


def check_out_dir(spec: SweepSpec, out_dir: str | Path) -> list[dict[str, Any]]:
    """Rows an earlier run of this same sweep left in ``out_dir``; ConfigError if it holds
    another sweep or something else. Reads only: nothing is written here."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out: '{out}' exists and is not a directory")
    old_json = out / JSON_NAME
    if not old_json.exists():
        if (out / CSV_NAME).exists():
            raise ConfigError(
                f"--out: '{out}' has a {CSV_NAME} but no {JSON_NAME}; choose another folder"
            )
        return []
    try:
        old = json.loads(old_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = None
    if old != json.loads(json.dumps(spec.to_json_dict())):
        raise ConfigError(
            f"--out: '{out}' holds a different sweep ({JSON_NAME} differs); choose another "
            "folder, or delete it to start over"
        )
    return read_rows(spec, out / CSV_NAME)


def read_rows(spec: SweepSpec, path: Path) -> list[dict[str, Any]]:
    """The rows of a sweep.csv, typed (missing file: none)."""
    if not path.exists():
        return []
    rows = []
    with open(path, newline="", encoding="utf-8") as f:
        for raw in csv.DictReader(f):
            try:
                row: dict[str, Any] = {a: coerce(a, raw[a]) for a in spec.axes}
                row["point"] = spec.point_for(row).index
            except (ConfigError, KeyError):
                continue  # a torn or foreign line: that point trains again
            for k in SWEEP_COLUMNS:
                row[k] = _typed(raw.get(k))
            row["variant"], row["seed"] = raw.get("variant"), _typed(raw.get("seed"))
            rows.append(row)
    return rows


def _typed(text: str | None) -> Any:
    if text is None or text == "":
        return None
    try:
        x = float(text)
    except ValueError:
        return text
    return int(x) if x.is_integer() and "." not in text and "e" not in text.lower() else x


def run_sweep(
    spec: SweepSpec,
    backend: str = "local",
    callback: Callable[[SweepProgress], bool | None] | None = None,
    workers: int | None = None,
    threads: int | None = None,
    out_dir: str | Path | None = None,
    ray_address: str | None = None,
) -> SweepResult:
    """Train the sweep; ``callback`` may return False to stop (finished points are kept).

    ``out_dir``: sweep.json and sweep.csv are written there, a row group per finished stack,
    and points an earlier run of the same sweep finished there are skipped.
    """
    if backend not in BACKENDS:
        raise ConfigError(f"backend: got {backend!r}; allowed: {', '.join(BACKENDS)}")
    t0 = time.perf_counter()
    result = SweepResult(spec)
    old = check_out_dir(spec, out_dir) if out_dir is not None else []
    done_keys = _complete(spec, old)
    members = []
    for p, comp in zip(spec.points, spec.comparisons):
        for cfg in comp.variants:
            if (p.index, cfg.name) not in done_keys:
                members.append(Member(p.index, cfg))
    keep = [r for r in old if (r["point"], r["variant"]) in done_keys]
    result.rows, result.resumed = list(keep), len(keep)
    stacks = plan_groups(members)
    # the stacks' relative costs weight the progress bar and order the queue (costliest first)
    costs = [max(1.0, estimate(Comparison([m.cfg for m in s])).flops) for s in stacks]
    order = sorted(range(len(stacks)), key=lambda i: -costs[i])
    stacks, costs = [stacks[i] for i in order], [costs[i] for i in order]
    total_cost = sum(costs) or 1.0
    frac = [0.0] * len(stacks)
    n_members = sum(len(c.variants) for c in spec.comparisons)
    done_members = [len(done_keys)]
    lock = threading.Lock()
    stop = threading.Event()
    writer = _CsvAppender(spec, Path(out_dir), keep) if out_dir is not None else None

    def on_tick(i: int, f: float) -> None:
        frac[i] = f

    def on_done(i: int, rows: list[dict[str, Any]]) -> None:
        for r in rows:
            r.update(zip(spec.axes, spec.points[r["point"]].values))
        with lock:
            frac[i] = 1.0
            result.rows.extend(rows)
            done_members[0] += len(stacks[i])
        if writer is not None:
            writer.add(rows)

    def poll() -> None:
        if callback is None or stop.is_set():
            return
        f = sum(c * x for c, x in zip(costs, frac)) / total_cost
        with lock:
            rows = list(result.rows)
        p = SweepProgress(done_members[0], n_members, f, time.perf_counter() - t0, rows)
        if callback(p) is False:
            result.stopped = True
            stop.set()

    n_threads = configure_threads(threads)
    n_workers = min(configure_workers(workers), max(1, len(stacks)))
    try:
        if stacks:
            if backend == "local":
                run_local(stacks, n_workers, n_threads, on_done, on_tick, stop, poll)
            else:
                run_ray(stacks, n_workers, n_threads, on_done, on_tick, stop, poll, ray_address)
    finally:
        if writer is not None:
            writer.close()
    order_key = {(p.index): i for i, p in enumerate(spec.points)}
    names = {n: i for i, n in enumerate(spec.variant_names)}
    result.rows.sort(
        key=lambda r: (order_key[r["point"]], names.get(r["variant"], 0), r["seed"] or 0)
    )
    if out_dir is not None:  # the finished file in grid order (it was in finishing order)
        result.write(out_dir)
    result.wall_s = time.perf_counter() - t0
    if callback is not None and not result.stopped:
        callback(SweepProgress(done_members[0], n_members, 1.0, result.wall_s, list(result.rows)))
    return result


def _complete(spec: SweepSpec, rows: list[dict[str, Any]]) -> set[tuple[int, str]]:
    """(point, variant) pairs with a row for every seed and no error (those are not rerun)."""
    seen: dict[tuple[int, str], set] = {}
    for r in rows:
        if not r.get("error"):
            seen.setdefault((r["point"], r["variant"]), set()).add(r["seed"])
    done = set()
    for p, comp in zip(spec.points, spec.comparisons):
        for cfg in comp.variants:
            if set(cfg.seed_list()) <= seen.get((p.index, cfg.name), set()):
                done.add((p.index, cfg.name))
    return done


class _CsvAppender:
    """sweep.json first, then sweep.csv: the kept rows, and each stack's rows as it finishes."""

    def __init__(self, spec: SweepSpec, out: Path, keep: list[dict[str, Any]]):
        out.mkdir(parents=True, exist_ok=True)
        write_json(spec, out)
        self.columns = spec.axes + SWEEP_COLUMNS
        self.lock = threading.Lock()
        # rewritten once: torn lines and failed points of an earlier run go
        self.f = open(out / CSV_NAME, "w", newline="", encoding="utf-8")  # noqa: SIM115
        self.w = csv.DictWriter(self.f, self.columns, extrasaction="ignore")
        self.w.writeheader()
        self.w.writerows(keep)
        self.f.flush()

    def add(self, rows: list[dict[str, Any]]) -> None:
        with self.lock:
            self.w.writerows(rows)
            self.f.flush()

    def close(self) -> None:
        with self.lock:
            self.f.close()


def finite(x: Any) -> bool:
    """A real, finite number (a cell with a value)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)

"""A watched run's record: metric rows in the CLI's long format, and what the model's layers are.

The files are the CLI's (``models/core/runner.py``): metrics.csv has METRIC_COLUMNS plus a last
column ``layer`` (the layer's name from ``named_modules()``, or the activation module's for
``saturation``; empty for whole-model metrics); ``index`` is the layer's position, 1 = the first
layer the forward pass reaches, as the lab's ``grad_norm`` index. summary.csv has
SUMMARY_COLUMNS (step_impl ``watched``). config.json holds ``title``, ``watched`` (layer and
activation names, model and optimizer classes, ``every``, steps) and one variant.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.config import Comparison, RunConfig
from ..core.runner import METRIC_COLUMNS, RunResult

STEP_IMPL = "watched"  # summary.csv's step_impl of a run from the user's own loop
LAYER_COLUMN = "layer"  # metrics.csv's extra column (after METRIC_COLUMNS)
MAX_NAME = 60  # RunConfig's name field allows 60 printable characters
MAX_STEPS = 100_000  # RunConfig's steps field (the true count is in watched.steps)
LAYER_METRICS = ("grad_norm", "grad_to_weight", "weight_norm", "update_ratio")
WATCHED_PREFIX = "from your code"  # the run store's settings line of a watched run


def _clean_name(text: str) -> str:
    name = "".join(c if c.isprintable() else " " for c in str(text)).strip() or "model"
    return _csv_safe(name)[:MAX_NAME]  # the name is a cell of every CSV file the run writes


@dataclass
class WatchedRun:
    """Rows recorded by watch() and what they describe."""

    name: str
    every: int = 10
    saturation_every: int = 0  # 0: every (the default)
    model: str = ""
    optimizer: str = ""
    scaler: bool = False
    compiled: bool = False
    params: int = 0
    layers: list[str] = field(default_factory=list)
    activations: list[str] = field(default_factory=list)
    activation_kinds: list[str] = field(default_factory=list)  # activation registry names
    rows: list[tuple[str, int, int, str, int, float]] = field(default_factory=list)
    steps: int = 0
    wall_s: float = 0.0
    diverged: tuple[int, int] | None = None  # (step, layer index; 0 = the loss)
    # the recorded step before ``diverged``'s, where everything was finite (None: none before):
    # the first NaN/inf came after it, at or before ``diverged``'s step (exact when every=1)
    diverged_after: int | None = None
    error: str | None = None  # why recording stopped, if it did
    stopped: bool = False  # the loop ended with an exception
    store_id: int | None = None

    def __post_init__(self) -> None:
        self.name = _clean_name(self.name)

    def add(self, step: int, metric: str, index: int, value: float) -> None:
        """One metric row (callers pass ints and floats: recorded steps add ~100 of them)."""
        self.rows.append((self.name, 0, step, metric, index, value))

    def mark_diverged(self, step: int, layer: int, after: int | None = None) -> None:
        """The first non-finite gradient (or loss) seen, at a recorded step: recorded once.
        ``after``: the recorded step before it (the first NaN/inf came after that one)."""
        if self.diverged is None:
            self.diverged = (int(step), int(layer))
            self.diverged_after = None if after is None else int(after)
            self.add(step, "diverged", layer, float(step))

    def set_layers(self, layers: list[str], activations: list[str], kinds: list[str]) -> None:
        self.layers, self.activations = list(layers), list(activations)
        self.activation_kinds = list(kinds)

    # --- the CLI's formats -----------------------------------------------------------------------

    def meta(self) -> dict[str, Any]:
        """config.json's ``watched`` table."""
        n = len(self.layers)
        return {
            "source": "watch",
            "model": self.model,
            "optimizer": self.optimizer,
            "every": self.every,
            "saturation_every": self.saturation_every or self.every,
            "steps": self.steps,
            "params": self.params,
            "scaler": self.scaler,
            "compiled": self.compiled,
            "layers": self.layers,
            "activations": self.activations,
            "activation_kinds": self.activation_kinds,
            "diverged_after": self.diverged_after,
            "settings": f"{WATCHED_PREFIX} · {self.model} · {n} layer{'s' * (n != 1)} · "
            f"{self.steps} steps · every {self.every}",
        }

    def comparison(self) -> Comparison:
        cfg = RunConfig(
            name=self.name,
            steps=min(self.steps, MAX_STEPS),
            log_every=min(self.every, MAX_STEPS),
            seeds=1,
            seed=0,
        )
        return Comparison(variants=[cfg], title=self.name, watched=self.meta())

    def summary(self) -> list[dict[str, Any]]:
        last: dict[str, float] = {}
        best = math.inf
        for _, _, _, m, _, v in self.rows:
            if m in ("loss", "val_loss", "accuracy", "val_accuracy"):
                last[m] = v
            if m == "val_loss" and math.isfinite(v):
                best = min(best, v)
        div = self.diverged
        return [
            {
                "variant": self.name,
                "seed": 0,
                "final_loss": last.get("loss"),
                "final_val_loss": last.get("val_loss"),
                "final_accuracy": last.get("accuracy"),
                "final_val_accuracy": last.get("val_accuracy"),
                "best_val_loss": best if math.isfinite(best) else None,
                "steps_to_target": None,
                "diverged_step": div[0] if div else None,
                "diverged_layer": div[1] if div else None,
                "wall_s": round(self.wall_s, 4),
                "s_per_step": self.wall_s / max(1, self.steps),
                "params": self.params,
                "error": self.error,
                "step_impl": STEP_IMPL,
            }
        ]

    def result(self) -> RunResult:
        result = RunResult(self.comparison(), metrics=list(self.rows), summary=self.summary())
        result.wall_s, result.stopped = self.wall_s, self.stopped
        return result

    def layer_name(self, metric: str, index: int) -> str:
        names = self.activations if metric == "saturation" else self.layers
        if metric in LAYER_METRICS + ("saturation",) or (metric == "diverged" and index > 0):
            return names[index - 1] if 0 < index <= len(names) else ""
        return ""

    def write(self, out_dir: str | Path) -> None:
        """metrics.csv (+ column ``layer``), summary.csv and config.json into ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "metrics.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(METRIC_COLUMNS + [LAYER_COLUMN])
            for row in self.rows:
                w.writerow([*row[:5], repr(row[5]), _csv_safe(self.layer_name(row[3], row[4]))])
        result = self.result()
        result.summary_frame().to_csv(out / "summary.csv", index=False)
        text = json.dumps(result.comparison.to_json_dict(), indent=2)
        (out / "config.json").write_text(text, encoding="utf-8")


def _csv_safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (module names never start so, but a
    model's own class name might)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

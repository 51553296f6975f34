"""Trade-offs: one row per variant (what it bought, what it cost) and a benefit-vs-cost scatter."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.common import DIVERGED_SYMBOL, base_layout, empty_figure, finite, metric
from dashboard.charts.spectrum import condition_log10
from models import DEFAULT_FAMILY, FAMILIES, METRICS

COLUMNS = [
    "variant",
    "final val loss",
    "best val loss",
    "final val accuracy",
    "best val accuracy",
    "steps to target",
    "reached target",
    "diverged at",
    "s/step",
    "params",
    "grad ratio first/last",
    "note",
    "step impl",
    "log10 cond J (init)",
]


def _mean(x) -> float:
    v = finite(x)
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


def grad_ratio(frame: pd.DataFrame, variant: str, name: str, last: int | None = None) -> float:
    """At step 0: the gradient metric ``name`` at index 1 over index ``last`` (None: the last
    recorded): ‖∇W_1‖/‖∇W_depth‖ (MLP, first/last hidden layer), ‖∂L/∂h_1‖/‖∂L/∂h_T‖ (RNN)."""
    rows = metric(frame, name)
    rows = rows[(rows["variant"] == variant) & (rows["step"] == 0)]
    if rows.empty:
        return float("nan")
    last = int(rows["index"].max()) if last is None else last
    first = _mean(rows[rows["index"] == 1]["value"])
    lastv = _mean(rows[rows["index"] == last]["value"])
    if not (np.isfinite(first) and np.isfinite(lastv)) or lastv <= 0:
        return float("nan")
    return first / lastv


def tradeoff_table(
    frame: pd.DataFrame,
    summary: pd.DataFrame,
    variants: list[dict],
) -> pd.DataFrame:
    """Per variant, means across seeds. ``variants``: dicts with name, and the gradient
    ``metric`` over depth with its ``last`` index (or a ``family`` and ``depth``: the family's)."""
    out = []
    for v in variants:
        name = v["name"]
        s = summary[summary["variant"] == name] if not summary.empty else summary
        seeds = max(1, len(s))
        acc = metric(frame, "val_accuracy")
        acc = acc[acc["variant"] == name]
        best_acc = acc.groupby("seed")["value"].max() if not acc.empty else pd.Series(dtype=float)
        reached = pd.to_numeric(s.get("steps_to_target"), errors="coerce") if len(s) else None
        div = pd.to_numeric(s.get("diverged_step"), errors="coerce") if len(s) else None
        n_div = int(div.notna().sum()) if div is not None else 0
        notes = []
        if n_div:
            notes.append(f"diverged ({n_div}/{seeds} seeds)")
        errors = [e for e in (s["error"] if len(s) else []) if isinstance(e, str) and e]
        if errors:
            notes.append(errors[0][:80])
        out.append(
            {
                "variant": name,
                "final val loss": _mean(s["final_val_loss"]) if len(s) else np.nan,
                "best val loss": _mean(s["best_val_loss"]) if len(s) else np.nan,
                "final val accuracy": _mean(s["final_val_accuracy"]) if len(s) else np.nan,
                "best val accuracy": _mean(best_acc),
                "steps to target": _mean(reached) if reached is not None else np.nan,
                "reached target": f"{int(reached.notna().sum()) if reached is not None else 0}/{seeds}",
                "diverged at": float(div.min()) if n_div else np.nan,
                "s/step": _mean(s["s_per_step"]) if len(s) else np.nan,
                "params": int(s["params"].iloc[0]) if len(s) else 0,
                "grad ratio first/last": grad_ratio(frame, name, *_gradient(v)),
                "note": "; ".join(notes),
                # which path trained it: autograd, manual or manual-compiled (runs saved before the
                # column existed have none)
                "step impl": _impls(s),
                # decades between the Jacobian's largest and smallest singular value at init (MLPs)
                "log10 cond J (init)": condition_log10(frame, name, 0),
            }
        )
    return pd.DataFrame(out, columns=COLUMNS)


def _gradient(v: dict) -> tuple[str, int | None]:
    """(gradient metric over depth, its last index) of a variant's table entry."""
    if "metric" in v:
        return v["metric"], v.get("last")
    fam = FAMILIES[v.get("family", DEFAULT_FAMILY)]
    depth = int(v.get("depth", 1))
    # per layer: the last hidden one (the readout is depth + 1); per time step: the last one
    per_layer = METRICS[fam.gradient_metric].shape == "per layer"
    return fam.gradient_metric, (depth if per_layer else None)


def _impls(s: pd.DataFrame) -> str:
    """The variant's step_impl values, joined ('' when the summary has none)."""
    if not len(s) or "step_impl" not in s:
        return ""
    return ", ".join(sorted({str(v) for v in s["step_impl"] if isinstance(v, str) and v}))


def benefit_cost_figure(
    table: pd.DataFrame, colors: dict[str, str], regression: bool = False
) -> go.Figure:
    """x: seconds per step (cost); y: best validation accuracy, or best val loss for regression."""
    if table.empty:
        return empty_figure("no results yet")
    ycol = "best val loss" if regression else "best val accuracy"
    fig = go.Figure()
    for _, row in table.iterrows():
        name = row["variant"]
        x, y = row["s/step"], row[ycol]
        diverged = np.isfinite(row["diverged at"]) if row["diverged at"] is not None else False
        if not np.isfinite(x):
            continue
        if not np.isfinite(y) or (regression and y <= 0):
            y = None
        label = f"{name} (diverged @ {int(row['diverged at'])})" if diverged else name
        # names go in the legend and the hover, not beside the points: labels beside them
        # overlapped each other and were cut at the plot's edge
        fig.add_trace(
            go.Scatter(
                x=[x * 1000],
                y=[y],
                mode="markers",
                name=label,
                marker={
                    "size": 14,
                    "color": colors.get(name, "#888"),
                    "symbol": DIVERGED_SYMBOL if diverged else "circle",
                    "line": {"width": 1, "color": "white"},
                },
                meta={"variant": name},
                hovertemplate=f"{label}<br>%{{x:.2f}} ms/step<br>{ycol}: %{{y:.4g}}<extra></extra>",
            )
        )
    if not fig.data:
        return empty_figure("no timings yet")
    fig = base_layout(
        fig, "Benefit against cost", "milliseconds per step (all seeds)", ycol, log_y=regression
    )
    fig.update_layout(showlegend=True)
    if regression:  # lower loss is better: flip the axis so up means better on every task
        fig.update_yaxes(autorange="reversed", title_text=f"{ycol} (flipped: up is better)")
    return fig

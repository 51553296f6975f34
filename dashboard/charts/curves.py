"""Training curves: loss or accuracy over steps, every variant overlaid, mean with a seed band."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.common import (
    DIVERGED_SYMBOL,
    base_layout,
    diverged_steps,
    empty_figure,
    log_safe,
    metric,
    rgba,
    seed_stats,
)

LABELS = {
    "loss": "train loss",
    "val_loss": "validation loss",
    "accuracy": "train accuracy",
    "val_accuracy": "validation accuracy",
}


def curves_figure(
    frame: pd.DataFrame,
    metrics: tuple[str, ...],
    colors: dict[str, str],
    title: str,
    y_title: str,
    log_y: bool = False,
    baseline: float | None = None,
) -> go.Figure:
    """Mean across seeds per variant (solid: the last metric, dotted: the others), min–max band."""
    fig = go.Figure()
    div = diverged_steps(frame)
    drawn = False
    # one pass over the (long) frame, then per (variant, metric) groups: filtering the whole
    # frame per variant and metric made a live redraw of 6 variants cost ~0.1 s
    groups = {}
    if frame is not None and not frame.empty:
        sub = frame[frame["metric"].isin(metrics)]
        groups = dict(iter(sub.groupby(["variant", "metric"], sort=False)))
    for rank, (name, color) in reversed(list(enumerate(colors.items()))):  # baseline on top
        for m in metrics:
            rows = groups.get((name, m))
            if rows is None or rows.empty:
                continue
            st = seed_stats(rows, ["step"])
            y, lo, hi = st["mean"], st["lo"], st["hi"]
            if log_y:
                y, lo, hi = log_safe(y), log_safe(lo), log_safe(hi)
            main = m == metrics[-1]
            label = f"{name}" if main else f"{name} ({LABELS.get(m, m)})"
            if (st["n"] > 1).any():  # band: min to max across seeds
                fig.add_trace(
                    go.Scatter(
                        x=np.concatenate([st["step"], st["step"][::-1]]),
                        y=np.concatenate([np.asarray(hi), np.asarray(lo)[::-1]]),
                        # mode set: plotly gives traces under 20 points default-coloured markers
                        mode="lines",
                        fill="toself",
                        fillcolor=rgba(color, 0.15),
                        line={"width": 0},
                        hoverinfo="skip",
                        showlegend=False,
                        legendgroup=name,
                        name=f"{label} band",
                    )
                )
            fig.add_trace(
                go.Scatter(
                    x=st["step"],
                    y=y,
                    mode="lines" if len(st) > 2 else "lines+markers",
                    name=label,
                    legendgroup=name,
                    showlegend=main,
                    legendrank=rank,
                    line={
                        "color": color,
                        "width": 2.4 if main else 1.4,
                        "dash": "solid" if main else "dot",
                    },
                    meta={"variant": name, "metric": m},
                    hovertemplate=f"{name}<br>{LABELS.get(m, m)}: %{{y:.4g}}<br>step %{{x}}<extra></extra>",
                )
            )
            drawn = True
        if name in div:
            _mark_diverged(fig, frame, metrics[-1], name, color, div[name], log_y)
    if not drawn:
        return empty_figure("no data yet")
    if baseline is not None and np.isfinite(baseline):
        fig.add_hline(
            y=baseline,
            line={"dash": "dash", "color": "#888", "width": 1},
            annotation_text="chance",
            annotation_position="top right",
        )
    fig = base_layout(fig, title, "step", y_title, log_y)
    if all("accuracy" in m for m in metrics):
        # an accuracy is within [0, 1]: the ✕ label's room above a point near 1 stretched the
        # autorange to 1.5, an axis promising accuracies no run can have
        fig.update_yaxes(autorangeoptions={"minallowed": -0.02, "maxallowed": 1.02})
    return fig


def _mark_diverged(fig, frame, m, name, color, step, log_y) -> None:
    """An ✕ at the step where a seed of this variant diverged, at its last finite value."""
    rows = metric(frame, m)
    rows = rows[(rows["variant"] == name) & (rows["step"] <= step)]
    vals = log_safe(rows["value"]) if log_y else pd.to_numeric(rows["value"]).to_numpy(float)
    vals = vals[np.isfinite(vals)]
    y = float(vals[-1]) if vals.size else None
    # the label reads away from the nearer edge and is never clipped by the plot area: centred
    # on a step near the left edge, "diverged @ 4" lost its "d" and read "liverged @ 4"
    steps = pd.to_numeric(metric(frame, m)["step"], errors="coerce")
    last = float(steps.max()) if steps.notna().any() else float(step)
    side = "top right" if step <= last / 2 else "top left"
    fig.add_trace(
        go.Scatter(
            x=[step],
            y=[y],
            mode="markers+text",
            text=[f"diverged @ {step}"],
            textposition=side,
            cliponaxis=False,
            marker={"symbol": DIVERGED_SYMBOL, "size": 13, "color": color, "line": {"width": 2}},
            name=f"{name} diverged",
            legendgroup=name,
            showlegend=False,
            meta={"variant": name, "diverged": step},
        )
    )

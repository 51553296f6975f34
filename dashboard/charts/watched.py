"""Figures of watched runs (a user's own loop, models.watch): the lab's instruments with the
model's layer names on the axes. Pure plotly; one run or several overlaid (a baseline and a fix).

Each run comes as a ``WatchedFrame``: its metric rows (``variant, seed, step, metric, index,
value``), its layer and activation names (config.json's ``watched`` table) and its colour.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.common import DIVERGED_SYMBOL, base_layout, empty_figure, finite, log_safe
from dashboard.plain import plotly_text
from models import WATCH_INSTRUMENTS

INSTRUMENTS = WATCH_INSTRUMENTS  # what watch() records; anything else is the user's own scalars
UPDATE_RULE = 1e-3  # the update-to-weight ratio's rule of thumb (Karpathy)


@dataclass
class WatchedFrame:
    """One watched run as the figures read it."""

    label: str  # legend name (plain text; escaped here)
    frame: pd.DataFrame
    layers: list[str] = field(default_factory=list)
    activations: list[str] = field(default_factory=list)
    color: str = "#2E86AB"

    def names(self, metric: str) -> list[str]:
        return self.activations if metric == "saturation" else self.layers

    def rows(self, metric: str) -> pd.DataFrame:
        return self.frame[self.frame["metric"] == metric]

    def diverged(self) -> int | None:
        d = self.rows("diverged")
        return int(d["step"].min()) if len(d) else None


def recorded_steps(runs: list[WatchedFrame], metric: str = "grad_norm") -> list[int]:
    steps: set[int] = set()
    for r in runs:
        steps |= set(r.rows(metric)["step"].astype(int))
    return sorted(steps)


def _axis_names(runs: list[WatchedFrame], metric: str) -> list[str]:
    """The layers of every run, in the first run's order, then the others' new ones."""
    return list(dict.fromkeys(plotly_text(n) for r in runs for n in r.names(metric)))


def _at(run: WatchedFrame, metric: str, step: int) -> tuple[list[str], np.ndarray]:
    """(layer names, values) of one metric at the recorded step nearest ``step``."""
    rows = run.rows(metric)
    if rows.empty:
        return [], np.array([])
    steps = rows["step"].unique()
    near = steps[np.abs(steps - step).argmin()]
    rows = rows[rows["step"] == near].sort_values("index")
    names = run.names(metric)
    labels = [plotly_text(names[i - 1]) if 0 < i <= len(names) else f"#{i}" for i in rows["index"]]
    return labels, rows["value"].to_numpy(dtype=float)


def layer_figure(
    runs: list[WatchedFrame],
    metric: str,
    step: int,
    title: str,
    y_title: str,
    log_y: bool = True,
    rule: float | None = None,
) -> go.Figure:
    """One value per layer (x: the layer names, input side first) at a step; runs overlaid."""
    fig = go.Figure()
    for r in runs:
        x, y = _at(r, metric, step)
        if not x:
            continue
        fig.add_trace(
            go.Scatter(
                x=x,
                y=log_safe(y) if log_y else finite(y),
                mode="lines+markers",
                name=plotly_text(r.label),
                line={"color": r.color},
                customdata=y,
                hovertemplate="%{x}<br>%{customdata:.3g}<extra>"
                + plotly_text(r.label)
                + "</extra>",
            )
        )
    if not fig.data:
        return empty_figure(f"no {y_title} recorded")
    if rule is not None:
        fig.add_hline(
            y=rule,
            line={"color": "grey", "dash": "dot"},
            annotation_text=f"~{rule:g}",
            annotation_position="top left",
        )
    base_layout(fig, f"{title} at step {step}", "layer (input side first)", y_title, log_y=log_y)
    fig.update_xaxes(
        type="category",
        categoryorder="array",
        categoryarray=_axis_names(runs, metric),
        tickangle=-45,
    )
    return fig


def heatmap_figure(run: WatchedFrame, metric: str = "grad_norm") -> go.Figure:
    """log10 of a per-layer metric by layer (rows, by name) and recorded step (columns)."""
    rows = run.rows(metric)
    if rows.empty:
        return empty_figure("no gradient recorded")
    grid = rows.pivot_table(index="index", columns="step", values="value", aggfunc="mean")
    names = run.names(metric)
    labels = [plotly_text(names[i - 1]) if 0 < i <= len(names) else f"#{i}" for i in grid.index]
    z = np.log10(log_safe(grid.to_numpy().ravel())).reshape(grid.shape)
    fig = go.Figure(
        go.Heatmap(
            x=[int(s) for s in grid.columns],
            y=labels,
            z=z,
            colorscale="Viridis",
            colorbar={"title": {"text": "log10"}},
            hovertemplate="step %{x}<br>%{y}<br>log10 = %{z:.2f}<extra></extra>",
        )
    )
    div = run.diverged()
    if div is not None:
        fig.add_vline(x=div, line={"color": "black", "dash": "dot"})
    base_layout(fig, f"log10 ‖∇‖ by layer and step: {plotly_text(run.label)}", "step", "layer")
    fig.update_yaxes(type="category", autorange="reversed")  # input side at the top
    fig.update_layout(height=max(320, 18 * len(labels) + 140))
    return fig


def scalars_figure(runs: list[WatchedFrame]) -> go.Figure:
    """The scalars passed to log() (loss, accuracy, …) by step; ✕ where a run diverged."""
    fig = go.Figure()
    dashes = ("solid", "dot", "dash", "dashdot", "longdash")
    names = sorted({m for r in runs for m in r.frame["metric"].unique()} - set(INSTRUMENTS))
    for r in runs:
        for j, m in enumerate(names):
            rows = r.rows(m).sort_values("step")
            if rows.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=rows["step"],
                    y=finite(rows["value"]),
                    mode="lines",
                    name=f"{plotly_text(r.label)}: {plotly_text(m)}",
                    line={"color": r.color, "dash": dashes[j % len(dashes)]},
                )
            )
        div = r.diverged()
        if div is not None:
            fig.add_trace(
                go.Scatter(
                    x=[div],
                    y=[0],
                    mode="markers",
                    name=f"{plotly_text(r.label)} diverged",
                    marker={"symbol": DIVERGED_SYMBOL, "size": 14, "color": r.color},
                    hovertemplate=f"diverged at step {div}<extra></extra>",
                )
            )
    if not fig.data:
        return empty_figure("nothing logged: call w.log(loss=loss) after optimizer.step()")
    return base_layout(fig, "Logged scalars", "step", "value")


def clipping_figure(runs: list[WatchedFrame]) -> go.Figure:
    """Global gradient norm before clipping by step; the steps the loop clipped are marked."""
    fig = go.Figure()
    for r in runs:
        tot = r.rows("grad_norm_total").sort_values("step")
        if tot.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=tot["step"],
                y=log_safe(tot["value"]),
                mode="lines+markers",
                name=plotly_text(r.label),
                line={"color": r.color},
            )
        )
        clip = r.rows("clipped")
        steps = set(clip.loc[clip["value"] > 0, "step"])
        hit = tot[tot["step"].isin(steps)]
        if len(hit):
            fig.add_trace(
                go.Scatter(
                    x=hit["step"],
                    y=log_safe(hit["value"]),
                    mode="markers",
                    name=f"{plotly_text(r.label)}: clipped",
                    marker={"symbol": "triangle-down", "size": 10, "color": r.color},
                )
            )
    if not fig.data:
        return empty_figure("no gradient recorded")
    return base_layout(
        fig, "Global gradient norm before clipping (▼ clipped)", "step", "‖∇‖", log_y=True
    )

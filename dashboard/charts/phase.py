"""Phase-diagram heatmaps: one outcome over two grid axes, one panel per variant, theory on top.

Cells are equal-sized (axis values as tick labels); theory curves are mapped into the same cell
coordinates by piecewise-linear interpolation between the grid's values.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.plain import clean, plotly_text

TITLE_LINE_CHARS = 48  # a phone's width at the title's 14 px


@dataclass(frozen=True)
class Outcome:
    """A heatmap's colour: a column of sweep.csv, how seeds combine, how it is coloured."""

    column: str
    label: str
    colorscale: str
    zmin: float | None = None
    zmax: float | None = None
    transform: str = ""  # "" | "log10" | "diverged" | "reached"


OUTCOMES: dict[str, Outcome] = {
    "final validation accuracy": Outcome("final_val_accuracy", "val. accuracy", "Viridis", 0, 1),
    "final validation loss": Outcome("final_val_loss", "val. loss", "Viridis_r"),
    "steps to target": Outcome("steps_to_target", "steps to target", "Viridis_r"),
    "diverged (share of seeds)": Outcome("diverged_step", "diverged", "Reds", 0, 1, "diverged"),
    "log10 gradient ratio at init": Outcome(
        "grad_ratio_init", "log10 ‖∇W₁‖/‖∇W_L‖", "RdBu", transform="log10"
    ),
    "log10 gradient ratio at the end": Outcome(
        "grad_ratio_final", "log10 ‖∇W₁‖/‖∇W_L‖", "RdBu", transform="log10"
    ),
}
AXIS_LABELS = {"init_gain": "σ_w (init_gain)", "seq_len": "sequence length T"}


def axis_title(axis: str, squared: bool = False) -> str:
    """An axis's title; σ_w² when ``squared`` (init = normal over init_gain)."""
    if axis == "init_gain" and squared:
        return "σ_w² (init_gain²)"
    return AXIS_LABELS.get(axis, axis)


def tick_text(values: list, squared: bool = False) -> list[str]:
    """Axis values as tick labels (σ_w² when ``squared``)."""
    if squared:
        return [f"{float(v) ** 2:.3g}" for v in values]
    return [plotly_text(v, 20) if isinstance(v, str) else f"{v:g}" for v in values]


def seed_values(rows: pd.DataFrame, outcome: Outcome) -> pd.Series:
    """One outcome value per row (per seed), NaN where it has none."""
    col = rows[outcome.column] if outcome.column in rows else pd.Series(np.nan, index=rows.index)
    if outcome.transform == "diverged":
        return col.notna().astype(float).where(rows["error"].isna() if "error" in rows else True)
    v = pd.to_numeric(col, errors="coerce").astype(float)
    if outcome.transform == "log10":
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.log10(v.where(v > 0))
    return v.where(np.isfinite(v))


def cell_grid(
    rows: pd.DataFrame,
    x_axis: str,
    x_values: list,
    y_axis: str | None,
    y_values: list,
    outcome: Outcome,
) -> tuple[np.ndarray, np.ndarray]:
    """(mean over seeds per cell, hover text per cell): shape (len(y_values), len(x_values)).

    Without ``y_axis``, the rows are variants (``y_values`` are variant names).
    """
    z = np.full((len(y_values), len(x_values)), np.nan)
    text = np.full(z.shape, "not trained yet", dtype=object)
    if rows.empty:
        return z, text
    vals = seed_values(rows, outcome)
    y_col = y_axis or "variant"
    for (xv, yv), idx in rows.groupby([x_axis, y_col], sort=False).groups.items():
        try:
            i, j = y_values.index(yv), x_values.index(xv)
        except ValueError:
            continue
        cell = rows.loc[idx]
        v = vals.loc[idx]
        z[i, j] = v.mean() if v.notna().any() else np.nan
        text[i, j] = _hover(cell, v, outcome)
    return z, text


def _num(x) -> str:
    return "–" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.3g}"


def _hover(cell: pd.DataFrame, v: pd.Series, outcome: Outcome) -> str:
    n = len(cell)
    acc = pd.to_numeric(cell.get("final_val_accuracy"), errors="coerce")
    loss = pd.to_numeric(cell.get("final_val_loss"), errors="coerce")
    div = int(cell["diverged_step"].notna().sum()) if "diverged_step" in cell else 0
    reached = cell["steps_to_target"].dropna() if "steps_to_target" in cell else []
    lines = [
        f"{outcome.label}: {_num(v.mean())} (seeds: {', '.join(_num(x) for x in v)})",
        f"val. accuracy {_num(acc.mean())} · val. loss {_num(loss.mean())}",
        f"target reached by {len(reached)} of {n} seeds"
        + (f" (step {int(min(reached))}+)" if len(reached) else ""),
        f"diverged: {div} of {n}",
    ]
    ratio = pd.to_numeric(cell.get("grad_ratio_init"), errors="coerce")
    if ratio.notna().any():
        lines.append(f"‖∇W₁‖/‖∇W_L‖ at init {_num(ratio.mean())}")
    errors = cell["error"].dropna() if "error" in cell else []
    if len(errors):
        lines.append("failed: " + plotly_text(errors.iloc[0], 80))
    return "<br>".join(lines)


def position(values: list[float], v: np.ndarray) -> np.ndarray:
    """Cell coordinates of values ``v`` on an axis with grid ``values`` (NaN outside)."""
    grid = np.asarray(values, dtype=float)
    order = np.argsort(grid)
    out = np.interp(v, grid[order], order.astype(float), left=np.nan, right=np.nan)
    return out


@dataclass
class Panel:
    """One variant's heatmap and its theory lines (already in cell coordinates)."""

    name: str
    z: np.ndarray
    text: np.ndarray
    lines: list[tuple[str, np.ndarray, np.ndarray, str]]  # (label, x, y, dash)
    note: str = ""


CLICK_LAYER = "cells"  # the name of the click layer's traces (the page reads clicks off them)


def click_layer(p: Panel, nx: int, ny: int) -> go.Scatter:
    """An invisible marker on every cell centre, carrying the cell's hover text.

    Plotly cannot select a heatmap's cells, so a click on one selected nothing and the page's
    "Open a grid point" stayed where it was; a click on this layer selects the cell's point (a
    selected cell gets a white outline).
    """
    xs, ys = np.meshgrid(np.arange(nx), np.arange(ny))
    text = (
        np.asarray(p.text, dtype=object).reshape(ny, nx)
        if np.size(p.text) == nx * ny
        else (np.full((ny, nx), "", dtype=object))
    )
    return go.Scatter(
        x=xs.ravel(),
        y=ys.ravel(),
        mode="markers",
        name=CLICK_LAYER,
        showlegend=False,
        text=text.ravel(),
        hovertemplate="%{text}<extra>" + plotly_text(p.name, 30) + "</extra>",
        marker={
            "symbol": "square-open",
            "size": 26,
            "color": "white",
            "opacity": 0,
            "line": {"width": 3},
        },
        selected={"marker": {"opacity": 1}},
        unselected={"marker": {"opacity": 0}},
    )


def phase_figure(
    panels: list[Panel],
    x_ticks: list[str],
    y_ticks: list[str],
    x_title: str,
    y_title: str,
    outcome: Outcome,
    title: str,
) -> go.Figure:
    """Heatmaps side by side (up to 3 per row) with a shared colour scale."""
    n = max(1, len(panels))
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[plotly_text(p.name, 40) for p in panels],
        horizontal_spacing=0.06,
        vertical_spacing=0.16 if rows > 1 else 0.1,
    )
    finite = [p.z[np.isfinite(p.z)] for p in panels]
    allv = np.concatenate(finite) if finite else np.array([])
    zmin = outcome.zmin if outcome.zmin is not None else (float(allv.min()) if allv.size else 0)
    zmax = outcome.zmax if outcome.zmax is not None else (float(allv.max()) if allv.size else 1)
    if outcome.transform == "log10" and allv.size:  # centre the diverging scale on ratio 1
        m = max(abs(zmin), abs(zmax), 1e-9)
        zmin, zmax = -m, m
    shown_legend: set[str] = set()
    for k, p in enumerate(panels):
        r, c = k // cols + 1, k % cols + 1
        fig.add_trace(
            go.Heatmap(
                z=p.z,
                x=list(range(len(x_ticks))),
                y=list(range(len(y_ticks))),
                hoverinfo="skip",  # the click layer below carries the hover text
                colorscale=outcome.colorscale,
                zmin=zmin,
                zmax=zmax,
                showscale=k == 0,
                colorbar={"title": {"text": outcome.label}, "len": 0.8},
                xgap=1,
                ygap=1,
            ),
            row=r,
            col=c,
        )
        fig.add_trace(click_layer(p, len(x_ticks), len(y_ticks)), row=r, col=c)
        for label, lx, ly, dash in p.lines:
            if dash == "solid":  # a dark edge under the white line: visible on any colour
                fig.add_trace(
                    go.Scatter(
                        x=lx,
                        y=ly,
                        mode="lines",
                        showlegend=False,
                        hoverinfo="skip",
                        line={"color": "rgba(0,0,0,0.75)", "width": 5},
                    ),
                    row=r,
                    col=c,
                )
            fig.add_trace(
                go.Scatter(
                    x=lx,
                    y=ly,
                    mode="lines",
                    name=label,
                    legendgroup=label,
                    showlegend=label not in shown_legend,
                    hoverinfo="name",
                    line={
                        "color": "white" if dash == "solid" else "#ff4fa3",
                        "width": 2.5,
                        "dash": dash,
                    },
                ),
                row=r,
                col=c,
            )
            shown_legend.add(label)
        fig.update_xaxes(
            tickvals=list(range(len(x_ticks))),
            ticktext=x_ticks,
            range=[-0.5, len(x_ticks) - 0.5],
            title_text=x_title if r == rows else None,
            row=r,
            col=c,
        )
        fig.update_yaxes(
            tickvals=list(range(len(y_ticks))),
            ticktext=y_ticks,
            range=[-0.5, len(y_ticks) - 0.5],
            title_text=y_title if c == 1 else None,
            row=r,
            col=c,
        )
    # a long title wraps (Plotly's do not): on a 390 px phone one line was cut at "train, be"
    lines = textwrap.wrap(clean(title, 120), TITLE_LINE_CHARS)[:3] or [""]
    fig.update_layout(
        # pinned to the top, the margin growing with its lines: it never reaches the panels'
        # own titles (three lines on a phone ran into "tanh mlp")
        title={
            "text": "<br>".join(plotly_text(x) for x in lines),
            "font": {"size": 14},
            "yref": "container",
            "y": 1,
            "yanchor": "top",
            "pad": {"t": 10},
        },
        # the cell under the pointer is the nearest centre of the click layer: hover and click
        # anywhere in a cell, not only within 20 px of its centre
        hovermode="closest",
        hoverdistance=-1,
        height=max(380, 330 * rows + 100 + 20 * (len(lines) - 1)),
        margin={"l": 70, "r": 20, "t": 56 + 20 * len(lines), "b": 100},
        # the legend at the figure's own bottom edge, under the x-axis title: placed in the
        # plot's coordinates (y = -0.12) it sat on that title, on a phone over it
        legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0, "x": 0},
        plot_bgcolor="#eeeeee",
    )
    return fig

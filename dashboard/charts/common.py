"""Shared helpers of the figure builders: the per-variant palette, log-safe values, layout."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.colors import qualitative

# Every chart uses the white template. Set once as the default: a per-figure
# ``template="plotly_white"`` re-validated the whole template each time (~10 ms a figure).
pio.templates.default = "plotly_white"

# Okabe–Ito-like, colour-blind friendly; the baseline (first variant) gets the dark grey-red.
PALETTE = (
    "#D1495B",
    "#2E86AB",
    "#3BB273",
    "#F4A259",
    "#7768AE",
    "#E07BE0",
    "#1B998B",
    "#8C5E58",
    "#4F6D7A",
    "#C3B300",
    "#FF6F59",
    "#254441",
)
DIVERGED_SYMBOL = "x"


# after the palette (an overlay of several runs): plotly's Dark24, then Alphabet, no repeats
_ALL_COLORS = tuple(
    dict.fromkeys(c.upper() for c in (*PALETTE, *qualitative.Dark24, *qualitative.Alphabet))
)


def variant_colors(names: list[str]) -> dict[str, str]:
    """One colour per variant, keyed by its position in the comparison (same on every chart);
    distinct for up to ~60 names (runs overlaid), cycling only beyond that."""
    return {n: _ALL_COLORS[i % len(_ALL_COLORS)] for i, n in enumerate(dict.fromkeys(names))}


def log_safe(values) -> np.ndarray:
    """Values for a log axis: non-positive, NaN and infinite entries become NaN (plotly gaps)."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float, copy=True)
    v[~np.isfinite(v) | (v <= 0)] = np.nan
    return v


def finite(values) -> np.ndarray:
    """Values with NaN/Inf replaced by NaN (for linear axes)."""
    v = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float, copy=True)
    v[~np.isfinite(v)] = np.nan
    return v


def rgba(hex_color: str, alpha: float) -> str:
    """'#RRGGBB' as an rgba() string with the given opacity (for bands)."""
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


# log axes: labels at decades only (10ⁿ), minor ticks unlabelled; plotly's default labels the
# 2s and 5s between decades with bare digits ("5 2 10 5 2 1") that read as other decades
LOG_AXIS = {
    "type": "log",
    "exponentformat": "power",
    "dtick": 1,
    "minorloglabels": "none",
    "minor": {"ticks": "outside", "ticklen": 3, "showgrid": True, "gridcolor": "rgba(0,0,0,0.04)"},
}
MINOR_TICK_DECADES = 4  # above this many decades a chart's ~300 px leave no room for minor ticks
# spanning under one decade, decade labels alone would leave the axis bare: plotly's own ticks,
# each labelled in full ("0.3", "0.4")
NARROW_LOG_AXIS = {"type": "log", "exponentformat": "power", "minorloglabels": "complete"}
# one or two decades with fewer than two 10ⁿ inside: ticks at 1, 2 and 5 (×10ⁿ), each labelled in
# full; plotly's own ticks there label every digit from 2 to 9 and crowd into each other
FEW_DECADES_LOG_AXIS = {**NARROW_LOG_AXIS, "dtick": "D2"}


def log_axis(values, max_labels: int = 8) -> dict:
    """Axis settings for a log axis over ``values`` (any nested sequences of numbers).

    At most ``max_labels`` decades are labelled (a short panel passes fewer): beyond that every
    2nd (3rd...) decade is, and the minor ticks go, which would otherwise pile up into a bar.
    """
    v = np.asarray(pd.to_numeric(pd.Series(np.ravel(values)), errors="coerce"), dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    span = float(np.log10(v.max()) - np.log10(v.min())) if v.size else 1.0  # (no ratio: overflow)
    # decades (10ⁿ) inside the data's range: with fewer than two, decade labels alone would
    # leave one label (or none) to read the axis by
    decades = math.floor(np.log10(v.max())) - math.ceil(np.log10(v.min())) + 1 if v.size else 2
    if span < 1:
        return NARROW_LOG_AXIS
    if decades < 2:
        return FEW_DECADES_LOG_AXIS
    if span > max_labels:  # many decades: every 2nd (3rd...) one labelled, no minor ticks
        return {
            **LOG_AXIS,
            "dtick": math.ceil(span / max_labels),
            "minor": {"ticks": "", "showgrid": False},
        }
    if span > MINOR_TICK_DECADES:  # minor gridlines only: their tick marks would form a comb
        return {**LOG_AXIS, "minor": {**LOG_AXIS["minor"], "ticks": ""}}
    return LOG_AXIS


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def log_scale_note(fig: go.Figure) -> str:
    """What the y-axis gridlines of ``fig`` are, as drawn ('each gridline is 10×', '10³×'...).

    ``log_axis`` picks the spacing from the data (decades, every k-th decade, or plain values
    over a narrow range), so a caption must read it from the figure rather than assume 10×.
    """
    ax = fig.layout.yaxis
    if ax.type != "log":
        return "linear scale"
    d = ax.dtick
    if isinstance(d, (int, float)) and float(d).is_integer() and d >= 1:
        k = int(d)
        return (
            "log scale: each gridline is 10×"
            if k == 1
            else (
                f"log scale: each labelled gridline is 10{str(k).translate(_SUPERSCRIPT)}× the one "
                "below"
            )
        )
    return "log scale over a narrow range: gridlines at the values labelled, not 10× apart"


def base_layout(fig: go.Figure, title: str, x: str, y: str, log_y: bool = False) -> go.Figure:
    """Common look: title, axis labels, legend above the plot, compact margins."""
    fig.update_layout(
        title={"text": title, "font": {"size": 15}},
        xaxis_title=x,
        yaxis_title=y,
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
        # legend under the plot: a legend above or beside it squeezes the data on narrow columns
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0, "font": {"size": 11}},
        height=460,
        hovermode="closest",
    )
    if log_y:
        ys = [np.asarray(t.y, dtype=float) for t in fig.data if getattr(t, "y", None) is not None]
        fig.update_yaxes(**log_axis(np.concatenate(ys) if ys else []))
    return fig


def empty_figure(message: str) -> go.Figure:
    """A blank figure that says why it is blank (no data yet, nothing to show)."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    fig.update_layout(
        height=220,
        xaxis_visible=False,
        yaxis_visible=False,
        margin={"l": 20, "r": 20, "t": 20, "b": 20},
    )
    return fig


def metric(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Rows of one metric from the long metrics frame."""
    if frame is None or frame.empty:
        return pd.DataFrame(columns=["variant", "seed", "step", "metric", "index", "value"])
    return frame[frame["metric"] == name]


def seed_stats(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean, min and max across seeds of ``value`` grouped by ``by`` (non-finite ignored)."""
    rows = rows.assign(value=finite(rows["value"]))
    g = rows.groupby(by, sort=True)["value"]
    # one cython reduction each: a named multi-function .agg() cost ~40% more per call
    stats = {"mean": g.mean(), "lo": g.min(), "hi": g.max(), "n": g.count()}
    return pd.DataFrame(stats).reset_index()


def diverged_steps(frame: pd.DataFrame) -> dict[str, int]:
    """First step at which any seed of each variant diverged."""
    d = metric(frame, "diverged")
    if d.empty:
        return {}
    return {str(k): int(v) for k, v in d.groupby("variant")["step"].min().items()}


def nearest_step(frame: pd.DataFrame, name: str, step: int) -> int | None:
    """The logged step of metric ``name`` closest to ``step`` (sliders may land between logs)."""
    steps = np.unique(metric(frame, name)["step"].to_numpy())
    if steps.size == 0:
        return None
    return int(steps[np.argmin(np.abs(steps - step))])

"""Where the gradient goes: per-layer gradient norms (profile at one step, layer × step heatmaps).

Works for ``grad_norm`` over layers (MLP) and ``hidden_grad_norm`` over time steps (RNN).
"""

from __future__ import annotations

import html
import math
import textwrap

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.charts.common import (
    base_layout,
    diverged_steps,
    empty_figure,
    log_safe,
    metric,
    nearest_step,
    seed_stats,
)
from dashboard.plain import clean, plotly_text

# a panel of three across half the page is ~200 px: a longer name ran into its neighbours'
PANEL_TITLE_CHARS = 24
# ... and on a 390 px phone a panel is ~90 px: titles wrap onto two lines of this many
# characters (per number of columns), so neighbours never overlap (seen in chromium)
PANEL_LINE_CHARS = {1: 40, 2: 16, 3: 12}


def panel_title(name: str, cols: int) -> str:
    """A heatmap panel's title: the name (escaped for Plotly) cut to PANEL_TITLE_CHARS and
    wrapped onto at most two lines that fit a phone's panel."""
    text = clean(html.unescape(name), PANEL_TITLE_CHARS)
    width = PANEL_LINE_CHARS.get(cols, 12)
    lines = textwrap.wrap(text, width, break_long_words=True) or [""]
    if len(lines) > 2:
        lines = [lines[0], clean(" ".join(lines[1:]), width)]
    return "<br>".join(plotly_text(line) for line in lines)


def profile_figure(
    frame: pd.DataFrame,
    step: int,
    colors: dict[str, str],
    metric_name: str = "grad_norm",
    title: str = "Gradient norm per layer",
    x_title: str = "layer l (1 = input side)",
    y_title: str = "‖∇W_l‖",
    theory: dict[str, np.ndarray] | None = None,
    log_y: bool = True,
) -> go.Figure:
    """Mean across seeds of ``metric_name`` against its index at the logged step nearest ``step``.

    ``theory`` maps a variant to a predicted profile over indices 1..len, already scaled; it is
    drawn dashed in the variant's colour.
    """
    at = nearest_step(frame, metric_name, step)
    if at is None:
        return empty_figure("no gradient data yet")
    rows = metric(frame, metric_name)
    rows = rows[rows["step"] == at]
    div = diverged_steps(frame)
    fig = go.Figure()
    # drawn last-to-first so the first variant (the baseline) lies on top where lines coincide;
    # legendrank keeps the legend in comparison order
    for rank, (name, color) in reversed(list(enumerate(colors.items()))):
        r = rows[rows["variant"] == name]
        if r.empty:
            if name in div and div[name] <= at:  # all seeds gone: say so in the legend
                fig.add_trace(
                    go.Scatter(
                        x=[None],
                        y=[None],
                        mode="markers",
                        marker={"symbol": "x", "color": color},
                        name=f"{name} (diverged @ {div[name]})",
                    )
                )
            continue
        st = seed_stats(r, ["index"])
        y = log_safe(st["mean"]) if log_y else st["mean"].to_numpy(float)
        label = name if name not in div else f"{name} (diverged @ {div[name]})"
        fig.add_trace(
            go.Scatter(
                x=st["index"],
                y=y,
                mode="lines+markers",
                name=label,
                legendgroup=name,
                line={"color": color, "width": 2.2},
                marker={"size": 5},
                meta={"variant": name, "step": at},
                legendrank=rank,
                hovertemplate=f"{name}<br>%{{x}}: %{{y:.3g}}<extra></extra>",
            )
        )
        if theory and name in theory:
            pred = np.asarray(theory[name], dtype=float)
            fig.add_trace(
                go.Scatter(
                    x=np.arange(1, pred.size + 1),
                    y=log_safe(pred) if log_y else pred,
                    mode="lines",
                    name=f"{name}: mean-field prediction",
                    legendgroup=name,
                    line={"color": color, "width": 1.6, "dash": "dash"},
                    showlegend=False,
                    meta={"variant": name, "theory": True},
                )
            )
    if not fig.data:
        return empty_figure(f"nothing recorded at step {at}")
    if theory:
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                name="dashed: mean-field theory (at init)",
                line={"color": "#777", "dash": "dash"},
                legendrank=999,
            )
        )
    fig = base_layout(fig, f"{title} at step {at}", x_title, y_title, log_y)
    if rows["index"].nunique() <= 12:  # a few layers: whole numbers only
        fig.update_xaxes(dtick=1)
    return fig


def heatmap_figure(
    frame: pd.DataFrame,
    colors: dict[str, str],
    metric_name: str = "grad_norm",
    title: str = "log10 ‖∇W_l‖ by layer and step",
    y_title: str = "layer",
    cols: int = 3,
) -> go.Figure:
    """Small multiples (one per variant) of log10 of the seed-mean, sharing one colour scale."""
    rows = metric(frame, metric_name)
    names = [n for n in colors if not rows[rows["variant"] == n].empty]
    if not names:
        return empty_figure("no gradient data yet")
    cols = max(1, min(cols, len(names)))
    nrows = math.ceil(len(names) / cols)
    fig = make_subplots(
        rows=nrows,
        cols=cols,
        # names arrive escaped for Plotly (chart_name): shortened as typed, then re-escaped,
        # so an ellipsis never cuts an entity in half; the hover keeps the whole name
        subplot_titles=[panel_title(n, cols) for n in names],
        shared_yaxes=False,
        horizontal_spacing=0.06,
        vertical_spacing=0.18 if nrows > 1 else 0.1,  # room for two-line panel titles
    )
    div = diverged_steps(frame)
    zs = []
    ys: set[tuple] = set()  # each panel's rows (layers or time steps)
    for i, name in enumerate(names):
        st = seed_stats(rows[rows["variant"] == name], ["index", "step"])
        grid = st.pivot(index="index", columns="step", values="mean")
        ys.add(tuple(grid.index))
        z = np.log10(log_safe(grid.to_numpy().ravel())).reshape(grid.shape)
        zs.append(z)
        r, c = divmod(i, cols)
        fig.add_trace(
            go.Heatmap(
                x=grid.columns.to_numpy(),
                y=grid.index.to_numpy(),
                z=z,
                coloraxis="coloraxis",
                name=name,
                meta={"variant": name},
                hovertemplate=f"{name}<br>step %{{x}}, {y_title} %{{y}}<br>log10 = %{{z:.2f}}<extra></extra>",
            ),
            row=r + 1,
            col=c + 1,
        )
        if name in div:
            fig.add_vline(x=div[name], line={"color": "black", "dash": "dot"}, row=r + 1, col=c + 1)
            # a variant whose seeds all stopped has no columns after it: say so in the panel
            if _all_gone(frame, name):
                ax = "" if i == 0 else str(i + 1)
                fig.add_annotation(
                    text=f"diverged at step {div[name]}:<br>no gradients after it",
                    xref=f"x{ax} domain",
                    yref=f"y{ax} domain",
                    x=0.97,
                    y=0.5,
                    xanchor="right",
                    showarrow=False,
                    font={"size": 11, "color": "#B03A2E"},
                    bgcolor="rgba(255,255,255,0.85)",
                )
    # every panel spans the same steps, so a variant that stopped early shows as stopped
    steps = rows["step"].to_numpy()
    if steps.size:
        gap = float(np.diff(np.unique(steps)).min()) if np.unique(steps).size > 1 else 1.0
        fig.update_xaxes(range=[steps.min() - gap / 2, steps.max() + gap / 2])
    finite_z = np.concatenate([z[np.isfinite(z)] for z in zs]) if zs else np.array([])
    lo, hi = (float(finite_z.min()), float(finite_z.max())) if finite_z.size else (-1.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    fig.update_layout(
        title={"text": title, "font": {"size": 15}},
        coloraxis={
            "colorscale": "Viridis",
            "cmin": lo,
            "cmax": hi,
            "colorbar": {"title": {"text": "log10"}},
        },
        height=max(300, 240 * nrows + 60),
        margin={"l": 50, "r": 20, "t": 84, "b": 40},
    )
    fig.update_annotations(font_size=11)  # the panel titles (two lines at most)
    fig.update_xaxes(title_text="step", row=nrows)
    fig.update_yaxes(title_text=y_title, col=1)
    # every panel over the same rows: only the left column labels them (an inner panel's labels
    # sat on the panel to its left)
    if len(ys) == 1:
        for c in range(2, cols + 1):
            fig.update_yaxes(showticklabels=False, col=c)
    return fig


def _all_gone(frame: pd.DataFrame, name: str) -> bool:
    """Every seed of ``name`` diverged (the seeds that diverged equal those that logged)."""
    d = metric(frame, "diverged")
    seeds = frame.loc[frame["variant"] == name, "seed"].nunique()
    return d[d["variant"] == name]["seed"].nunique() >= seeds


def mean_at(frame: pd.DataFrame, metric_name: str, step: int, variant: str) -> pd.Series:
    """Seed-mean of one metric of one variant at the nearest logged step, indexed by index."""
    at = nearest_step(frame, metric_name, step)
    rows = metric(frame, metric_name)
    rows = rows[(rows["step"] == at) & (rows["variant"] == variant)]
    if rows.empty:
        return pd.Series(dtype=float)
    return seed_stats(rows, ["index"]).set_index("index")["mean"]

"""Clipping: the global gradient norm before clipping over steps, and how often clipping fired."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.common import base_layout, empty_figure, log_safe, metric, seed_stats


def grad_norm_total_figure(
    frame: pd.DataFrame, colors: dict[str, str], thresholds: dict[str, float]
) -> go.Figure:
    """Seed-mean of grad_norm_total per variant (log y); a dashed line per clip_norm threshold."""
    rows = metric(frame, "grad_norm_total")
    fig = go.Figure()
    for rank, (name, color) in reversed(list(enumerate(colors.items()))):  # baseline on top
        r = rows[rows["variant"] == name]
        if r.empty:
            continue
        st = seed_stats(r, ["step"])
        fig.add_trace(
            go.Scatter(
                x=st["step"],
                y=log_safe(st["mean"]),
                mode="lines",
                name=name,
                line={"color": color, "width": 2},
                meta={"variant": name},
                legendrank=rank,
            )
        )
    # one dashed line per threshold, naming every variant that clips there (labels of equal
    # thresholds were drawn on top of each other)
    by_c: dict[float, list[str]] = {}
    drawn = {t.name for t in fig.data}
    for name in colors:
        c = thresholds.get(name, 0.0)
        if c and c > 0 and name in drawn:
            by_c.setdefault(c, []).append(name)
    for c, names in by_c.items():
        color = colors[names[0]] if len(names) == 1 else "#666"
        fig.add_hline(
            y=c,
            line={"color": color, "dash": "dash", "width": 1.2},
            annotation_text=f"clip at {c:g} ({', '.join(names)})",
            annotation_position="bottom right",
            annotation_font_size=10,
        )
    if not fig.data:
        return empty_figure("no gradient data yet")
    return base_layout(fig, "Global gradient norm before clipping", "step", "‖g‖", log_y=True)


def clipped_share_table(frame: pd.DataFrame, colors: dict[str, str]) -> pd.DataFrame:
    """Share of all training steps that were clipped, per variant (weighted by log interval)."""
    rows = metric(frame, "clipped_share")
    out = []
    for name in colors:
        r = rows[(rows["variant"] == name) & (rows["step"] > 0)]
        if r.empty:
            out.append({"variant": name, "clipped_share": 0.0})
            continue
        # each log row covers the steps since the previous log row of the same seed
        shares = []
        for _, g in r.sort_values("step").groupby("seed"):
            span = g["step"].diff().fillna(g["step"]).clip(lower=1)
            shares.append(float((g["value"] * span).sum() / span.sum()))
        out.append({"variant": name, "clipped_share": sum(shares) / len(shares)})
    return pd.DataFrame(out, columns=["variant", "clipped_share"])


def clipped_share_figure(share: pd.DataFrame, colors: dict[str, str]) -> go.Figure:
    """Bars: share of steps whose gradient the clipping changed, per variant."""
    if share.empty:
        return empty_figure("no data yet")
    fig = go.Figure(
        go.Bar(
            x=share["variant"],
            y=share["clipped_share"] * 100,
            marker_color=[colors.get(v, "#888") for v in share["variant"]],
            text=[f"{100 * s:.0f}%" for s in share["clipped_share"]],
            textposition="outside",
        )
    )
    fig = base_layout(fig, "Share of steps clipped", "variant", "% of steps")
    fig.update_yaxes(range=[0, 110])
    return fig

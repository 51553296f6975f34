"""A Transformer's per-block instruments: attention vs feed-forward gradients, attention entropy,
LayerNorm gain drift (metrics of models.core.transformer_family)."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.common import (
    base_layout,
    empty_figure,
    log_safe,
    metric,
    nearest_step,
    seed_stats,
)
from dashboard.charts.gradients import profile_figure


def sublayer_figure(frame: pd.DataFrame, step: int, colors: dict[str, str]) -> go.Figure:
    """Each block's attention (solid) and feed-forward (dotted) gradient norms at one step."""
    at = nearest_step(frame, "attn_grad_norm", step)
    if at is None:
        return empty_figure("no sub-layer gradients recorded (a Transformer's instruments)")
    fig = go.Figure()
    for rank, (name, color) in enumerate(colors.items()):
        for m, dash, what in (
            ("attn_grad_norm", "solid", "attention"),
            ("ffn_grad_norm", "dot", "feed-forward"),
        ):
            rows = metric(frame, m)
            rows = rows[(rows["step"] == at) & (rows["variant"] == name)]
            if rows.empty:
                continue
            st = seed_stats(rows, ["index"])
            fig.add_trace(
                go.Scatter(
                    x=st["index"],
                    y=log_safe(st["mean"]),
                    mode="lines+markers",
                    name=f"{name}: {what}",
                    legendgroup=name,
                    legendrank=rank,
                    line={"color": color, "width": 2, "dash": dash},
                    marker={"size": 4},
                    meta={"variant": name, "sublayer": what},
                    hovertemplate=f"{name} {what}<br>block %{{x}}: %{{y:.3g}}<extra></extra>",
                )
            )
    if not fig.data:
        return empty_figure(f"nothing recorded at step {at}")
    fig = base_layout(fig, f"Gradient per sub-layer at step {at}", "block l", "‖∇θ‖", True)
    fig.update_xaxes(dtick=1)
    return fig


def entropy_figure(
    frame: pd.DataFrame, step: int, colors: dict[str, str], tokens: int | None = None
) -> go.Figure:
    """Mean attention entropy per block at one step; the dashed line is ln T (uniform rows).
    Entropy collapse (Zhai et al. 2023) shows as values falling towards 0."""
    fig = profile_figure(
        frame,
        step,
        colors,
        metric_name="attn_entropy",
        title="Attention entropy per block",
        x_title="block l",
        y_title="entropy (nats)",
        log_y=False,
    )
    if tokens and fig.data:
        fig.add_hline(
            y=math.log(tokens),
            line_dash="dash",
            line_color="#777",
            annotation_text=f"ln T = {math.log(tokens):.2f} (uniform)",
        )
    return fig


def gain_drift_figure(frame: pd.DataFrame, step: int, colors: dict[str, str]) -> go.Figure:
    """RMS distance of each block's LayerNorm gains from their initial 1, at one step."""
    if metric(frame, "ln_gain_drift").empty:
        return empty_figure("no LayerNorm gains (norm = none)")
    return profile_figure(
        frame,
        step,
        colors,
        metric_name="ln_gain_drift",
        title="LayerNorm gain drift",
        x_title="block l",
        y_title="RMS(γ − 1)",
        log_y=False,
    )

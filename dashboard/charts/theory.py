"""Mean-field phase diagram: χ₁ over σ_w² per activation, with the ordered/chaotic boundary."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from dashboard.charts.common import PALETTE, base_layout, log_safe


def chi1_figure(
    grid: np.ndarray,
    curves: dict[str, np.ndarray],
    critical: dict[str, float],
    marker: float,
    other_state: dict[str, np.ndarray] | None = None,
) -> go.Figure:
    """χ₁(σ_w²) per activation (log y); χ₁ = 1 separates ordered (vanishing) from chaotic.

    ``other_state``: per activation, χ₁ at the length map's other attractor where it has two
    (nan elsewhere), drawn dotted in the same colour: the solid curve jumps where the inputs'
    variance (q = 1) crosses from one basin to the other.
    """
    fig = go.Figure()
    for i, (name, chi) in enumerate(curves.items()):
        color = PALETTE[i % len(PALETTE)]
        fig.add_trace(
            go.Scatter(
                x=grid,
                y=log_safe(chi),
                mode="lines",
                name=name,
                line={"color": color, "width": 2.2},
                meta={"activation": name},
            )
        )
        other = (other_state or {}).get(name)
        if other is not None and np.isfinite(other).any():
            fig.add_trace(
                go.Scatter(
                    x=grid,
                    y=log_safe(other),
                    mode="lines",
                    name=f"{name}: other fixed point",
                    line={"color": color, "width": 1.6, "dash": "dot"},
                    meta={"activation": name, "other_state": True},
                    hovertemplate=(
                        f"{name}, other fixed point<br>σ_w² = %{{x:.2f}}<br>"
                        "χ₁ = %{y:.3g}<extra></extra>"
                    ),
                )
            )
        c = critical.get(name, float("nan"))
        if np.isfinite(c):
            fig.add_trace(
                go.Scatter(
                    x=[c],
                    y=[1.0],
                    mode="markers",
                    name=f"{name}: critical σ_w² = {c:.2f}",
                    marker={"color": color, "size": 10, "symbol": "diamond"},
                    showlegend=False,
                    hovertemplate=f"{name}: edge of chaos at σ_w² = {c:.3f}<extra></extra>",
                )
            )
    fig.add_hline(
        y=1.0,
        line={"color": "#333", "dash": "dash"},
        annotation_text="χ₁ = 1: edge of chaos",
        annotation_position="top left",
    )
    fig.add_vline(x=marker, line={"color": "#999", "width": 1})
    fig.add_annotation(
        text="chaotic: gradients explode",
        x=0.98,
        y=0.97,
        xref="paper",
        yref="paper",
        showarrow=False,
        xanchor="right",
        font={"color": "#B03A2E"},
    )
    fig.add_annotation(
        text="ordered: gradients vanish",
        x=0.98,
        y=0.03,
        xref="paper",
        yref="paper",
        showarrow=False,
        xanchor="right",
        font={"color": "#1F618D"},
    )
    return base_layout(fig, "Mean-field χ₁ per layer", "σ_w²", "χ₁", log_y=True)

"""The scalar toy x_t = w σ(x_{t-1}) + b: the Jacobian product over time and the gradient wall."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from dashboard.charts.common import PALETTE, base_layout, log_axis, log_safe


def jacobian_figure(t: np.ndarray, dxdx0: np.ndarray, w: float, gamma: float) -> go.Figure:
    """|∂x_t/∂x_0| over t (log y) beside the bound (|w|γ)^t; 1/γ marks where |w| may explode."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=t,
            y=log_safe(dxdx0),
            mode="lines+markers",
            name="|∂x_t/∂x_0|",
            line={"color": PALETTE[1], "width": 2.4},
            marker={"size": 4},
        )
    )
    bound = (abs(w) * gamma) ** np.asarray(t, dtype=float)
    fig.add_trace(
        go.Scatter(
            x=t,
            y=log_safe(bound),
            mode="lines",
            name="bound (|w|·γ)^t",
            line={"color": PALETTE[0], "dash": "dash"},
        )
    )
    fig.add_hline(y=1.0, line={"color": "#999", "width": 1})
    _say_why_blank(fig, dxdx0)
    regime = "below 1/γ: must vanish" if abs(w) < 1 / gamma else "above 1/γ: may explode"
    return base_layout(
        fig,
        f"Jacobian through time (|w| = {abs(w):g}, 1/γ = {1 / gamma:g}: {regime})",
        "t",
        "|∂x_t/∂x_0|",
        log_y=True,
    )


def _say_why_blank(fig: go.Figure, values: np.ndarray) -> None:
    """When nothing of ``values`` can be drawn on a log axis, say why in the plot."""
    v = np.asarray(values, dtype=float)
    if v.size == 0 or (np.isfinite(v) & (v > 0)).any():
        return
    if (v == 0).all():
        text = (
            "|∂x_t/∂x₀| = 0 at every t: w·σ′ = 0, so x_t does not depend on x₀<br>"
            "(a log axis cannot show 0)"
        )
    elif (~np.isfinite(v)).all():
        text = "overflow: the values pass 1e308 (float64) at every point"
    else:
        text = "nothing positive and finite to draw on a log axis"
    fig.add_annotation(
        text=text,
        showarrow=False,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        font={"color": "#B03A2E"},
    )


def b_grid(lo: float, hi: float, wall: float, n: int = 1200) -> np.ndarray:
    """Values of b to sweep: uniform, plus points crowding the wall (it is ~1e-4 wide at T=50)."""
    b = np.linspace(lo, hi, n)
    if np.isfinite(wall) and lo < wall < hi:
        off = np.geomspace(1e-9, 0.5, 300)
        b = np.concatenate([b, wall - off, wall + off])
    return np.unique(np.clip(b, lo, hi))


TOY_LOG_LABELS = 4  # decade labels on the gradient panel (a half-height subplot)


def wall_figure(
    b: np.ndarray,
    loss: np.ndarray,
    grad: np.ndarray,
    b_now: float,
    b_wall: float,
    saddles: tuple[float, ...] = (),
) -> go.Figure:
    """Loss and |dL/db| against b (log y for the gradient). Marks your b, the basin boundary
    (the wall; nan: none) and the saddle-node bifurcations, with the bistable band between them."""
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.08,
        subplot_titles=("loss (σ(x_T) − 0.7)²", "|∂loss/∂b|  (log)"),
    )
    fig.add_trace(
        go.Scatter(
            x=b,
            y=np.where(np.isfinite(loss), loss, np.nan),
            mode="lines",
            name="loss",
            line={"color": PALETTE[1], "width": 2},
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=b,
            y=log_safe(np.abs(grad)),
            mode="lines",
            name="|gradient|",
            line={"color": PALETTE[0], "width": 2},
        ),
        row=2,
        col=1,
    )
    # half the figure's height: four decade labels fit without crowding
    fig.update_yaxes(**log_axis(np.abs(grad), max_labels=TOY_LOG_LABELS), row=2, col=1)
    _say_overflow(fig, b, loss, grad)
    lo_b, hi_b = float(np.min(b)), float(np.max(b))
    inside = [s for s in saddles if np.isfinite(s) and lo_b <= s <= hi_b]
    if len(saddles) == 2 and all(np.isfinite(saddles)):
        # the bistable band: two stable states and, between them, the unstable one
        band = (max(saddles[0], lo_b), min(saddles[1], hi_b))
        if band[0] < band[1]:
            for row in (1, 2):
                fig.add_vrect(
                    x0=band[0],
                    x1=band[1],
                    fillcolor=PALETTE[2],
                    opacity=0.12,
                    line_width=0,
                    row=row,
                    col=1,
                )
            # named in the legend: lines ~0.04 apart would make their labels overlap
            fig.add_trace(
                go.Scatter(
                    x=[None],
                    y=[None],
                    mode="markers",
                    name="bistable band",
                    marker={"symbol": "square", "size": 11, "color": PALETTE[2], "opacity": 0.35},
                ),
                row=1,
                col=1,
            )
    marks = [
        (b_wall, "basin boundary: the wall", "dot", "#b00"),
        *[(s, "saddle-node", "dash", PALETTE[2]) for s in inside],
    ]
    named = set()
    for x, txt, dash, color in marks:
        if np.isfinite(x) and lo_b <= x <= hi_b:
            line = {"color": color, "dash": dash, "width": 1.5}
            fig.add_vline(x=x, line=line, row=1, col=1)
            fig.add_vline(x=x, line=line, row=2, col=1)
            if txt not in named:  # one legend entry for both saddle-nodes
                named.add(txt)
                fig.add_trace(
                    go.Scatter(x=[None], y=[None], mode="lines", line=line, name=txt), row=1, col=1
                )
    if np.isfinite(b_now) and lo_b <= b_now <= hi_b:
        line = {"color": "#555", "dash": "solid", "width": 1}
        fig.add_vline(x=b_now, line=line, row=1, col=1)
        fig.add_vline(
            x=b_now,
            line=line,
            row=2,
            col=1,
            annotation_text="your b",
            annotation_position="bottom right",
            annotation_font_size=10,
        )
    for trace in fig.data[:2]:  # the curves are named by the panel titles
        trace.showlegend = False
    fig.update_layout(
        height=560,
        showlegend=True,
        legend={"orientation": "h", "y": -0.16, "x": 0, "font": {"size": 11}},
        margin={"l": 60, "r": 20, "t": 50, "b": 40},
    )
    fig.update_xaxes(title_text="b", row=2, col=1)
    return fig


def wall_caption(w: float, x0: float, slope: float, b_wall: float, saddles: tuple) -> str:
    """Plain text: where the wall comes from, for these settings (basin boundary, not a
    bifurcation)."""
    band = (
        f"Between the two saddle-node bifurcations (b = {saddles[0]:.3f} and {saddles[1]:.3f}, "
        "dashed; shaded band) the map x ↦ w·σ(x) + b has two stable states, and an unstable "
        "fixed point between them separates their basins of attraction. "
        if len(saddles) == 2
        else "For these w and σ the map has no pair of saddle-node bifurcations. "
    )
    if not np.isfinite(b_wall):
        return band + (
            f"No wall here: at b = x₀ − w·σ(x₀), x₀ is a stable fixed point (|w·σ′(x₀)| = "
            f"{abs(slope):.2f} ≤ 1), so no basin boundary passes through x₀ and the gradient in b "
            "has no spike."
        )
    return band + (
        f"The wall (dotted, b = {b_wall:.3f}) is where x₀ = {x0:g} is that unstable fixed point "
        f"(|w·σ′(x₀)| = {abs(slope):.2f} > 1): a hair to either side, x_T ends in a different "
        "basin, so the loss jumps and |∂loss/∂b| spikes by orders of magnitude. At the "
        "bifurcations themselves the gradient is only a few times its typical value. Pascanu et "
        "al. (2013, §2.3) discuss both mechanisms."
    )


def _say_overflow(fig: go.Figure, b: np.ndarray, loss: np.ndarray, grad: np.ndarray) -> None:
    """Name what the panels leave out: b values where x_T (and so the loss and its gradient)
    overflowed float64 (ReLU or linear with |w| = 10, T = 200: |x_T| ~ 10^200, squared 10^400)."""
    bad = ~np.isfinite(np.asarray(loss, dtype=float)) | ~np.isfinite(np.asarray(grad, dtype=float))
    if not bad.any():
        return
    share = bad.mean()
    lo, hi = float(np.min(b[bad])), float(np.max(b[bad]))
    where = "every b" if share == 1 else f"b in [{lo:.3g}, {hi:.3g}] ({share:.0%} of the sweep)"
    fig.add_annotation(
        text=f"overflow at {where}:<br>the loss passes 1e308 (float64); left out",
        showarrow=False,
        x=0.5,
        y=1.0 if share < 1 else 0.5,
        xref="paper",
        yref="paper",
        yanchor="top" if share < 1 else "middle",
        font={"color": "#B03A2E", "size": 11},
        bgcolor="rgba(255,255,255,0.8)",
    )

"""Per-layer health: saturated or dead units, and the update-to-weight ratio."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.curves import curves_figure
from dashboard.charts.gradients import profile_figure


def saturation_figure(frame: pd.DataFrame, step: int, colors: dict[str, str]) -> go.Figure:
    """Share of saturated (sigmoid/tanh…) or dead (ReLU) units per layer at one step."""
    fig = profile_figure(
        frame,
        step,
        colors,
        metric_name="saturation",
        title="Saturated or dead units",
        x_title="layer l",
        y_title="share of units",
        log_y=False,
    )
    fig.update_yaxes(range=[-0.02, 1.02])
    return fig


def saturation_steps_figure(frame: pd.DataFrame, colors: dict[str, str]) -> go.Figure:
    """A recurrent net's units are one group: their saturated (or dead) share over training."""
    fig = curves_figure(
        frame, ("saturation",), colors, "Saturated or dead units over training", "share of units"
    )
    fig.update_yaxes(range=[-0.02, 1.02])
    return fig


def update_ratio_figure(
    frame: pd.DataFrame, step: int, colors: dict[str, str], names: tuple[str, ...] = ()
) -> go.Figure:
    """‖ΔW_l‖/‖W_l‖ of the update at one step, per layer (log y); ``names``: the weight
    matrices' names, labelling the x axis instead of layer numbers (a recurrent net's)."""
    fig = profile_figure(
        frame,
        step,
        colors,
        metric_name="update_ratio",
        title="Update-to-weight ratio",
        x_title="weight matrix" if names else "layer l",
        y_title="‖ΔW‖ / ‖W‖",
        log_y=True,
    )
    if names:
        fig.update_xaxes(tickvals=list(range(1, len(names) + 1)), ticktext=list(names))
    return fig

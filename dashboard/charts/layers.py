"""Per-layer health: saturated or dead units, and the update-to-weight ratio."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.gradients import profile_figure


def saturation_figure(frame: pd.DataFrame, step: int, colors: dict[str, str]) -> go.Figure:
    """Share of saturated (sigmoid/tanh…) or dead (ReLU) units per layer at one step."""
    fig = profile_figure(
        frame, step, colors, metric_name="saturation", title="Saturated or dead units",
        x_title="layer l", y_title="share of units", log_y=False,
    )  # fmt: skip
    fig.update_yaxes(range=[-0.02, 1.02])
    return fig


def update_ratio_figure(frame: pd.DataFrame, step: int, colors: dict[str, str]) -> go.Figure:
    """‖ΔW_l‖/‖W_l‖ of the update at one step, per layer (log y)."""
    return profile_figure(
        frame, step, colors, metric_name="update_ratio", title="Update-to-weight ratio",
        x_title="layer l", y_title="‖ΔW_l‖ / ‖W_l‖", log_y=True,
    )  # fmt: skip

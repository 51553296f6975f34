"""The input–output Jacobian's singular values per variant (dynamical isometry)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.common import base_layout, empty_figure, finite, metric, nearest_step, rgba
from models import condition_log10 as condition_log10_of  # the engine's one definition

METRIC = "jacobian_sv"


def spectrum_figure(frame: pd.DataFrame, step: int, colors: dict[str, str]) -> go.Figure:
    """Sorted singular values of ∂h_L/∂x (log y) at the recorded step nearest ``step``: per
    variant the median over seeds as a line, the seeds' range as a band. Variant names come
    already escaped for Plotly (``results_view.chart_frame``)."""
    at = nearest_step(frame, METRIC, step)
    if at is None:
        return empty_figure("no Jacobian spectrum (recorded for MLPs at the first and last step)")
    rows = metric(frame, METRIC)
    rows = rows[rows["step"] == at]
    fig = go.Figure()
    for name in [n for n in colors if n in set(rows["variant"])]:
        v = rows[rows["variant"] == name]
        wide = v.pivot_table(index="index", columns="seed", values="value", aggfunc="first")
        vals = finite(wide.to_numpy().ravel()).reshape(wide.shape)  # (rank, seeds)
        zeros = int(np.sum(vals == 0)) // max(1, vals.shape[1])  # per seed, on average
        logv = np.where(vals > 0, np.log10(np.where(vals > 0, vals, 1.0)), np.nan)
        with warnings.catch_warnings():  # ranks where every seed is zero: all-NaN slices
            warnings.simplefilter("ignore", RuntimeWarning)
            mid = 10 ** np.nanmedian(logv, axis=1)
            lo, hi = 10 ** np.nanmin(logv, axis=1), 10 ** np.nanmax(logv, axis=1)
        x = wide.index.to_numpy()
        color = colors[name]
        label = name + (f" ({zeros} of {len(x)} exactly 0)" if zeros else "")
        fig.add_trace(
            go.Scatter(
                x=np.concatenate([x, x[::-1]]),
                y=np.concatenate([hi, lo[::-1]]),
                fill="toself",
                fillcolor=rgba(color, 0.15),
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=name,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=mid,
                mode="lines+markers",
                name=label,
                legendgroup=name,
                line={"color": color, "width": 2},
                marker={"size": 4, "color": color},
                meta={"variant": name},
                hovertemplate=f"{name}<br>rank %{{x}}: s = %{{y:.3g}}<extra></extra>",
            )
        )
    if not fig.data:
        return empty_figure("no Jacobian spectrum at this step")
    fig.add_hline(
        y=1.0,
        line={"dash": "dash", "color": "#555", "width": 1},
        annotation_text="isometry: every s = 1",
        annotation_position="top right",
    )
    title = f"Singular values of the input–output Jacobian ∂h_L/∂x at step {at}"
    return base_layout(fig, title, "rank (0 = largest)", "singular value s", log_y=True)


def condition_log10(frame: pd.DataFrame, variant: str, step: int = 0) -> float:
    """Mean over seeds of log10(s_max/s_min) at ``step``: inf when a seed's smallest is exactly
    0 (rank-deficient), NaN when not recorded."""
    rows = metric(frame, METRIC)
    rows = rows[(rows["variant"] == variant) & (rows["step"] == step)]
    if rows.empty:
        return float("nan")
    conds = []
    for _, g in rows.groupby("seed"):
        s = finite(g.sort_values("index")["value"])
        if s.size == 0 or not np.isfinite(s).all():
            continue
        conds.append(float(condition_log10_of(s)))
    return float(np.mean(conds)) if conds else float("nan")

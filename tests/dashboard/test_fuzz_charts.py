"""Every chart builder copes with zeros, NaN, Inf, negatives and huge values (log axes too):
random hostile metric frames in, a figure that serialises out, never an exception."""

from __future__ import annotations

import base64
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dashboard.charts import clipping, curves, gradients, layers, tradeoffs
from dashboard.charts.common import variant_colors
from models.core.runner import METRIC_COLUMNS, SUMMARY_COLUMNS

# no shrinking: a failing example of this size takes minutes to shrink; the report is enough
FAST = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
HOSTILE = [0.0, -0.0, -1.0, math.nan, math.inf, -math.inf, 1e-320, 1e-300, 1e300, 1.0, 0.5]
LAYER_METRICS = ("grad_norm", "grad_to_weight", "update_ratio", "saturation", "hidden_grad_norm")
SCALAR_METRICS = (
    "loss",
    "val_loss",
    "accuracy",
    "val_accuracy",
    "grad_norm_total",
    "clipped",
    "clipped_share",
    "wall_s",
)

values = st.one_of(st.sampled_from(HOSTILE), st.floats(allow_nan=True, allow_infinity=True))
# shares and accuracies are in [0, 1] by construction (a count over a count): zeros, ones, NaN
BOUNDED = {"accuracy", "val_accuracy", "clipped", "clipped_share", "saturation"}
shares = st.one_of(st.sampled_from([0.0, 1.0, math.nan, 1e-320]), st.floats(0, 1))


@st.composite
def hostile_runs(draw):
    """(metrics frame, summary frame, variant names) with hostile values everywhere."""
    names = draw(
        st.lists(
            st.sampled_from(["a", "b, c", "ü ✕", "1", ""]), min_size=1, max_size=3, unique=True
        )
    )
    steps = sorted(draw(st.sets(st.integers(0, 50), min_size=1, max_size=4)))
    n_layers = draw(st.integers(1, 4))
    rows, summary = [], []
    for name in names:
        for seed in range(draw(st.integers(1, 2))):
            for k in steps:
                for m in SCALAR_METRICS:
                    if draw(st.booleans()) or m == "loss":
                        rows.append((name, seed, k, m, 0, draw(shares if m in BOUNDED else values)))
                for m in LAYER_METRICS:
                    if draw(st.booleans()):
                        v = shares if m in BOUNDED else values
                        rows += [(name, seed, k, m, i, draw(v)) for i in range(1, n_layers + 1)]
            div = draw(st.one_of(st.none(), st.sampled_from(steps)))
            if div is not None:
                rows.append(
                    (name, seed, div, "diverged", draw(st.integers(0, n_layers)), float(div))
                )
            summary.append(
                {c: draw(st.one_of(st.none(), values)) for c in SUMMARY_COLUMNS}
                | {
                    "variant": name,
                    "seed": seed,
                    "diverged_step": div,
                    "params": 10,
                    "error": draw(st.sampled_from([None, "", "Boom"])),
                }
            )
    frame = pd.DataFrame(rows, columns=METRIC_COLUMNS)
    if draw(st.booleans()):
        frame = frame.iloc[: draw(st.integers(0, len(frame)))]  # a run cut short anywhere
    return frame, pd.DataFrame(summary, columns=SUMMARY_COLUMNS), names


def numbers(v) -> np.ndarray:
    """A plotly JSON array (list, or typed {"dtype", "bdata"}) as floats; text entries dropped."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).astype(float)
    flat = np.ravel(np.array(v, dtype=object)) if isinstance(v, list) else []
    return np.array(
        [
            np.nan if x is None else x
            for x in flat
            if x is None or (isinstance(x, (int, float)) and not isinstance(x, bool))
        ],
        dtype=float,
    )


def serialises(fig) -> None:
    """The figure serialises, and no trace hands the browser an infinite coordinate."""
    spec = json.loads(fig.to_json())  # NaN becomes null or NaN: the browser draws a gap
    for trace in spec["data"]:
        for axis in ("x", "y", "z"):
            if axis in trace:
                assert not np.isinf(numbers(trace[axis])).any(), (trace.get("name"), axis)


@pytest.mark.slow
@FAST
@given(hostile_runs(), st.integers(-5, 60))
def test_every_chart_builder_copes_with_hostile_values(run, step):
    frame, summary, names = run
    colors = variant_colors(names)
    figs = [
        gradients.profile_figure(frame, step, colors),
        gradients.profile_figure(frame, step, colors, metric_name="hidden_grad_norm"),
        gradients.heatmap_figure(frame, colors),
        gradients.heatmap_figure(frame, colors, metric_name="hidden_grad_norm"),
        curves.curves_figure(frame, ("loss", "val_loss"), colors, "Loss", "loss", log_y=True),
        curves.curves_figure(
            frame, ("accuracy", "val_accuracy"), colors, "Acc", "acc", baseline=0.1
        ),
        layers.saturation_figure(frame, step, colors),
        layers.update_ratio_figure(frame, step, colors),
        clipping.grad_norm_total_figure(frame, colors, {n: 1.0 for n in names}),
        clipping.clipped_share_figure(clipping.clipped_share_table(frame, colors), colors),
    ]
    info = [{"name": n, "family": "mlp", "depth": 3} for n in names]
    table = tradeoffs.tradeoff_table(frame, summary, info)
    figs += [tradeoffs.benefit_cost_figure(table, colors, regression=r) for r in (False, True)]
    for fig in figs:
        serialises(fig)


def test_all_zero_and_all_nan_gradients_give_figures_not_errors():
    for v in (0.0, math.nan, math.inf):
        rows = [("a", 0, k, "grad_norm", i, v) for k in (0, 10) for i in (1, 2, 3)]
        rows += [("a", 0, k, "loss", 0, v) for k in (0, 10)]
        frame = pd.DataFrame(rows, columns=METRIC_COLUMNS)
        colors = variant_colors(["a"])
        for fig in (
            gradients.profile_figure(frame, 10, colors),
            gradients.heatmap_figure(frame, colors),
            curves.curves_figure(frame, ("loss",), colors, "L", "l", log_y=True),
        ):
            serialises(fig)

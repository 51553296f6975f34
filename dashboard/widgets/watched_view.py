"""Watched runs (a user's own loop, ``watch()``) on the Runs page: their instruments with the
model's layer names on the axes, several overlaid, and the diagnosis in plain words.

The Runs page calls ``source_of`` (its listing's "source" column), ``render_watched`` (one run's
full view, or several overlaid) and ``is_watched``. Nothing here runs user code: a watched run is
rows and names read from the run store.
"""

from __future__ import annotations

import streamlit as st

from dashboard.charts import watched as charts
from dashboard.charts.common import variant_colors
from dashboard.plain import plain
from dashboard.widgets.results_view import chart
from models import WATCHED_PREFIX, Comparison, RunResult, diagnose, is_watched

__all__ = ["is_watched", "render_watched", "source_of"]

LAB = "lab"


def source_of(run: dict) -> str:
    """A listed run's source: 'from your code' (watch()) or 'lab' (from the run store's row)."""
    return WATCHED_PREFIX if str(run.get("settings") or "").startswith(WATCHED_PREFIX) else LAB


def _frames(runs: list[tuple[int, Comparison, RunResult]]) -> list[charts.WatchedFrame]:
    labels = [f"#{rid} {comp.variants[0].name}" for rid, comp, _ in runs]
    colors = variant_colors(labels)
    out = []
    for (_rid, comp, result), label in zip(runs, labels):
        meta = comp.watched or {}
        out.append(
            charts.WatchedFrame(
                label=label,
                frame=result.metrics_frame(),
                layers=list(meta.get("layers", [])),
                activations=list(meta.get("activations", [])),
                color=colors[label],
            )
        )
    return out


def render_watched(runs: list[tuple[int, Comparison, RunResult]], key: str = "watched") -> None:
    """The instruments of one watched run, or of several overlaid; then each one's diagnosis."""
    frames = _frames(runs)
    steps = charts.recorded_steps(frames)
    if len(runs) == 1:
        rid, comp, _ = runs[0]
        meta = comp.watched or {}
        st.caption(
            plain(
                f"From your code: {meta.get('model', '?')} trained by {meta.get('optimizer', '?')}, "
                f"{meta.get('steps', '?')} steps, recorded every {meta.get('every', '?')}; "
                f"{len(meta.get('layers', []))} layers, named as model.named_modules() names them."
            )
        )
    step = 0
    if len(steps) > 1:
        step = st.select_slider(
            "Recorded step",
            steps,
            value=steps[0],
            key=f"{key}_step",
            help="the step the per-layer charts show (0 = the first)",
        )
    elif steps:
        step = steps[0]
    c1, c2 = st.columns(2)
    with c1:
        chart(
            charts.layer_figure(frames, "grad_norm", step, "Gradient norm per layer", "‖∇‖"),
            f"{key}_grad",
        )
        st.caption("A line falling towards the input side is a vanishing gradient (log scale).")
    with c2:
        chart(charts.heatmap_figure(frames[0]), f"{key}_heatmap")
        st.caption("Colour = log10 of each layer's gradient norm by step; dark rows get little.")
    c1, c2 = st.columns(2)
    with c1:
        chart(
            charts.layer_figure(
                frames,
                "update_ratio",
                step,
                "Update-to-weight ratio",
                "‖ΔW‖ / ‖W‖",
                rule=charts.UPDATE_RULE,
            ),
            f"{key}_update",
        )
        st.caption("How far one step moves each layer's weights; the rule of thumb is ~1e-3.")
    with c2:
        chart(
            charts.layer_figure(
                frames, "saturation", step, "Saturated or dead units", "share", log_y=False
            ),
            f"{key}_saturation",
        )
        st.caption(
            "Per activation module: the share of saturated (sigmoid, tanh, …) or dead "
            "(ReLU-like) units."
        )
    c1, c2 = st.columns(2)
    with c1:
        chart(charts.scalars_figure(frames), f"{key}_scalars")
        st.caption("What the loop passed to w.log(); ✕ marks where a run diverged.")
    with c2:
        chart(charts.clipping_figure(frames), f"{key}_clipping")
        st.caption("The global gradient norm before clipping; ▼ marks the steps the loop clipped.")
    if len(runs) > 1:
        st.caption("The heatmap shows the first run chosen.")
    _diagnosis(runs)


def _diagnosis(runs: list[tuple[int, Comparison, RunResult]]) -> None:
    """One warning per finding (nothing at all when nothing is wrong)."""
    said = [(rid, comp, diagnose(result.metrics, comp.watched or {})) for rid, comp, result in runs]
    if not any(f for _, _, f in said):
        return
    st.markdown("**Diagnosis**")
    for rid, comp, findings in said:
        who = f"Run #{rid} {comp.variants[0].name}: " if len(runs) > 1 else ""
        for f in findings:
            presets = ", ".join(f.presets)
            st.warning(
                plain(f"{who}{f.text} The lab shows the same in the preset {presets}: {f.fix}."),
                icon=":material/troubleshoot:",
            )

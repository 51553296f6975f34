"""Render a run's charts, tables and downloads (Streamlit side; the figures come from charts/)."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import exports
from dashboard.analysis import headline, identical_variants, theory_profiles
from dashboard.charts import clipping, curves, gradients, layers, spectrum, tradeoffs
from dashboard.charts.common import nearest_step, variant_colors
from dashboard.plain import plain, plotly_text
from models import RNN_WEIGHT_NAMES, Comparison, RunResult, chance_loss

# a short mode bar: zoom (drag), reset and save as PNG. The full one covered chart titles on a
# phone (where it always shows), and its zoom ±/pan/autoscale repeat drag and double-click
CHART_CONFIG = {"displaylogo": False, "responsive": True,
                "modeBarButtonsToRemove": ["zoomIn2d", "zoomOut2d", "autoScale2d", "pan2d"]}  # fmt: skip


def chart(fig, key: str) -> None:
    st.plotly_chart(fig, width="stretch", config=CHART_CONFIG, key=key)


def memo_figure(key: str, result: RunResult, build, *extra):
    """The figure ``build()`` makes for ``result`` (and ``extra``, e.g. the step shown), built
    once per session: a rerun that does not change them (the step slider moving, a sidebar
    edit, a page visit) reuses it. Plotly validates every property of a new figure, ~0.1-0.3 s
    a chart on 2 cores, and the results view has nine. The entry holds the result itself, so a
    new result (never equal by identity) always rebuilds."""
    store = st.session_state.setdefault("_figures", {})
    entry = store.get(key)
    if entry is None or entry[0] is not result or entry[1] != extra:
        entry = store[key] = (result, extra, build())
    return entry[2]


def colors_of(comparison: Comparison) -> dict[str, str]:
    """Colour per variant, keyed by its chart name (``chart_name``; pair with ``chart_frame``)."""
    return variant_colors([chart_name(v.name) for v in comparison.variants])


def chart_name(name: str) -> str:
    """A variant's name as the figures show it: Plotly reads HTML in names, so it is escaped."""
    return plotly_text(name)


def chart_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The metrics frame with variants under their chart names (a copy only when one differs)."""
    if frame is None or frame.empty:
        return frame
    names = frame["variant"].unique()
    renamed = {n: chart_name(n) for n in names}
    if all(k == v for k, v in renamed.items()):
        return frame
    return frame.assign(variant=frame["variant"].map(renamed))


def _step_slider(family: str, frame: pd.DataFrame) -> int:
    steps = np.unique(frame["step"].to_numpy()) if not frame.empty else np.array([0])
    last = int(steps.max())
    key = f"{family}_step"
    if key not in st.session_state or not (0 <= st.session_state[key] <= last):
        st.session_state[key] = 0
    if last == 0:
        return 0
    gap = int(np.diff(steps).min()) if steps.size > 1 else 1
    where = "per-layer" if family == "mlp" else "per-time-step and per-layer"
    return st.slider(f"Training step shown in the {where} charts", 0, last, step=max(1, gap),
                     key=key, help="0 = at initialisation, before any update")  # fmt: skip


def table_of(comparison: Comparison, result: RunResult, twins: dict[str, str]) -> pd.DataFrame:
    """The trade-offs table; ``twins``: notes on variants identical to another."""
    frame, summary = result.metrics_frame(), result.summary_frame()
    info = [{"name": v.name, "family": v.family, "depth": v.depth} for v in comparison.variants]
    table = tradeoffs.tradeoff_table(frame, summary, info)
    if twins:  # said in the table: their curves lie one on the other
        table["note"] = [
            "; ".join(x for x in (note, twins.get(name, "")) if x)
            for name, note in zip(table["variant"], table["note"])
        ]
    return table


def render_results(family: str, comparison: Comparison, result: RunResult) -> None:
    """Every chart of a finished (or stopped) run, each with a caption on how to read it."""
    raw = result.metrics_frame()
    frame = chart_frame(raw)  # every figure below reads variant names from here
    colors = colors_of(comparison)
    twins = identical_variants(raw, comparison.variants)
    table = table_of(comparison, result, twins)
    line = headline(table, family, chance_loss(comparison.variants[0]))
    if line:
        st.info(plain(line), icon=":material/search:")  # it quotes variant names
    step = _step_slider(family, frame)

    if family == "mlp":
        c1, c2 = st.columns(2)
        with c1:

            def profile():
                theory = theory_profiles(raw, comparison.variants, step)
                theory = {chart_name(k): v for k, v in theory.items()}
                return gradients.profile_figure(frame, step, colors, theory=theory)

            chart(memo_figure(f"{family}_profile", result, profile, step), f"{family}_profile")
            st.caption(
                "Each line is one variant: the gradient each layer's weights receive. "
                "A line falling towards layer 1 is a vanishing gradient (log scale: "
                "every gridline is 10×). Dashed: mean-field prediction at initialisation. "
                "‖∇W_l‖ is the back-propagated error times the layer's input, so it can look "
                "healthier than the error itself: when the forward signal grows towards the "
                "input as the error shrinks, the two cancel (Glorot & Bengio 2010, eq. 14)."
            )
        with c2:
            chart(
                memo_figure(
                    f"{family}_heatmap", result, lambda: gradients.heatmap_figure(frame, colors)
                ),
                f"{family}_heatmap",
            )
            st.caption(
                "Colour = log10 of the gradient norm, layer (up) by training step "
                "(right); one panel per variant, one colour scale. Dark bottom rows: "
                "the early layers get almost nothing. (Weight gradients, not the error "
                "signal: a level band can hide an error that shrinks layer by layer.)"
            )
    else:
        c1, c2 = st.columns(2)
        with c1:
            chart(memo_figure(f"{family}_profile", result, lambda: gradients.profile_figure(
                frame, step, colors, metric_name="hidden_grad_norm",
                title="Gradient through time ‖∂L/∂h_t‖", x_title="time step t",
                y_title="‖∂L/∂h_t‖"), step), f"{family}_profile")  # fmt: skip
            st.caption(
                "How much the loss at the end still depends on the hidden state at "
                "step t. Falling towards t = 1: early inputs are forgotten (vanishing); "
                "rising: exploding."
            )
        with c2:
            chart(memo_figure(f"{family}_heatmap", result, lambda: gradients.heatmap_figure(
                frame, colors, metric_name="hidden_grad_norm",
                title="log10 ‖∂L/∂h_t‖ by time step and training step", y_title="t")),
                f"{family}_heatmap")  # fmt: skip
            st.caption(
                "Colour = log10 ‖∂L/∂h_t‖, time step (up) by training step (right), one "
                "panel per variant on one colour scale."
            )

    baseline = None
    c1, c2 = st.columns(2)
    with c1:
        chart(memo_figure(f"{family}_loss", result, lambda: curves.curves_figure(
            frame, ("loss", "val_loss"), colors, "Loss", "loss (dotted: train, solid: validation)",
            log_y=True)), f"{family}_loss")  # fmt: skip
        st.caption(
            "Lower is better (log scale, so one variant's spike does not flatten the rest). "
            "Solid = validation, dotted = training batch; the band spans the seeds. "
            "✕ marks the step a variant diverged (NaN/Inf, or its loss blew up past 20× its start)."
        )
        for name, note in twins.items():
            st.caption(plain(f"“{name}” is {note}: its lines lie under the other's."))
    with c2:
        chart(memo_figure(f"{family}_accuracy", result, lambda: curves.curves_figure(
            frame, ("accuracy", "val_accuracy"), colors, "Accuracy",
            "accuracy (dotted: train, solid: validation)", baseline=baseline)),
            f"{family}_accuracy")  # fmt: skip
        st.caption(
            "Higher is better; a flat line near chance means the gradient never "
            "reached the layers that needed it."
        )

    if family == "mlp":
        jacobian_row(frame, step, colors, table)

    c1, c2 = st.columns(2)
    with c1:
        if family == "mlp":
            chart(memo_figure(f"{family}_saturation", result,
                              lambda: layers.saturation_figure(frame, step, colors), step),
                  f"{family}_saturation")  # fmt: skip
            st.caption(
                "Share of units whose slope is under 10% of its maximum (sigmoid/tanh) or "
                "that never fire (ReLU): they pass almost no gradient back."
            )
        else:  # one group of units: over training, not across layers
            chart(memo_figure(f"{family}_saturation", result,
                              lambda: layers.saturation_steps_figure(frame, colors)),
                  f"{family}_saturation")  # fmt: skip
            st.caption(
                "Share of saturated units over training: the vanilla RNN's hidden units (slope "
                "under 10% of its maximum, or never firing for ReLU), the LSTM's and GRU's "
                "sigmoid gates (stuck open or shut). They pass almost no gradient back."
            )
    with c2:
        names = RNN_WEIGHT_NAMES if family == "rnn" else ()
        chart(
            memo_figure(
                f"{family}_update",
                result,
                lambda: layers.update_ratio_figure(frame, max(step, 0), colors, names),
                step,
            ),
            f"{family}_update",
        )
        st.caption(
            "How much one update changes each weight matrix, relative to its size; "
            "around 1e-3 is healthy, far below means it is not learning."
        )

    thresholds = {chart_name(v.name): v.clip_norm for v in comparison.variants}
    share = clipping.clipped_share_table(frame, colors)
    c1, c2 = st.columns([2, 1])
    with c1:
        chart(
            memo_figure(
                f"{family}_gnorm",
                result,
                lambda: clipping.grad_norm_total_figure(frame, colors, thresholds),
            ),
            f"{family}_gnorm",
        )
        st.caption(
            "Global gradient norm before clipping (all weights together, dominated by the "
            "largest layers: it can look steady while the early layers' share vanishes); "
            "dashed lines are the clip thresholds. "
            "Clipping rescales any step above its line to the line: it tames explosions "
            "but cannot lift a vanished gradient."
        )
    with c2:
        chart(
            memo_figure(
                f"{family}_clipshare", result, lambda: clipping.clipped_share_figure(share, colors)
            ),
            f"{family}_clipshare",
        )
        st.caption("Share of training steps in which clipping changed the gradient.")

    st.subheader("Trade-offs")
    regression = comparison.variants[0].task == "adding"
    # the table gets the page's full width: twelve columns in three fifths of it were cut
    st.dataframe(_styled(table), hide_index=True, width="stretch", key=f"{family}_table",
                 column_config=TABLE_COLUMNS,
                 column_order=[c for c in TABLE_COLUMNS if c in table.columns
                               and (family == "mlp" or c != "log10 cond J (init)")])  # fmt: skip
    st.caption(
        "Means over seeds. 'to target': first logged step reaching the task's "
        "target; '1st/last': first over last layer (RNN: time step) "
        "gradient at initialisation, ≪ 1 means vanishing"
        + (
            "; 'log10 cond J': decades between the largest and smallest singular value of "
            "the input–output Jacobian at initialisation (0 = isometry, ∞ = some are exactly 0)"
            if family == "mlp"
            else ""
        )
        + ". The summary CSV below has every column."
    )
    # the note column sits past the table's right edge on most screens: its notes, in full
    for name, note in zip(table["variant"], table["note"]):
        if note:
            st.caption(plain(f"Note on “{name}”: {note}."))
    c1, _ = st.columns(2)
    with c1:
        named = table.assign(variant=table["variant"].map(chart_name))
        chart(
            memo_figure(
                f"{family}_scatter",
                result,
                lambda: tradeoffs.benefit_cost_figure(named, colors, regression),
            ),
            f"{family}_scatter",
        )
        st.caption("Up is better, right costs more time per step; ✕ = diverged.")
    downloads(family, comparison, result)


def jacobian_row(frame: pd.DataFrame, step: int, colors: dict[str, str], table) -> None:
    """The Jacobian's spectrum per variant, and its condition number at the shown step."""
    c1, c2 = st.columns([3, 2])
    with c1:
        chart(spectrum.spectrum_figure(frame, step, colors), "mlp_spectrum")
    with c2:
        at = nearest_step(frame, spectrum.METRIC, step)
        if at is not None:
            cond = pd.DataFrame({
                "variant": table["variant"],
                f"log10 s_max/s_min (step {at})": [
                    spectrum.condition_log10(frame, chart_name(n), at) for n in table["variant"]
                ],
            })  # fmt: skip
            st.dataframe(cond.style.format({cond.columns[1]: _cond}, na_rep="—"),
                         hide_index=True, width="stretch", key="mlp_cond")  # fmt: skip
        st.caption(
            "Dynamical isometry (Saxe et al. 2014; Pennington, Schoenholz & Ganguli 2017): how "
            "the net stretches each direction of its input, from the largest (left) to the "
            "smallest. A flat line near the dashed 1 passes every direction's signal and "
            "gradient through unchanged, and the net trains fast; a line falling over many "
            "decades (log scale) squashes most directions to nothing, however healthy the "
            "mean (χ₁) looks. Orthogonal weights with tanh near σ_w² = 1 keep it decades "
            "flatter than Gaussian weights (flat at 1 only with σ_w just above 1 and small "
            "inputs, Pennington et al.: the dynamical-isometry preset still spans a few "
            "decades); ReLU with any weights does not (its zero slopes make "
            "some values exactly 0: counted in the legend). Band: the seeds' range; recorded "
            "at the first and the last step, on the first probe example."
        )


def _cond(v: float, short: bool = False) -> str:
    """A condition number in decades; ∞ where a singular value is exactly 0 (``short``: "∞"
    alone, for a narrow column whose caption says what it means)."""
    if v == float("inf"):
        return "∞" if short else "∞ (rank-deficient)"
    return f"{v:.1f}"


# the columns shown, with short headers, so that the table fits a 1440 px screen beside the
# sidebar; the summary CSV keeps every number (best val loss and final val accuracy too)
TABLE_COLUMNS = {
    # pinned: scrolled right to the notes, the row still says which variant it is
    "variant": st.column_config.TextColumn("variant", width="medium", pinned=True),
    "final val loss": st.column_config.Column("val loss", width="small",
                                              help="final validation loss"),
    "best val accuracy": st.column_config.Column("best acc.", width="small",
                                                 help="best validation accuracy"),
    "steps to target": st.column_config.Column("to target", width="small",
                                               help="steps to target"),
    "reached target": st.column_config.Column("reached", width="small",
                                              help="seeds that reached the target"),
    "diverged at": st.column_config.Column("diverged", width="small", help="diverged at step"),
    "s/step": st.column_config.Column("s/step", width="small"),
    "params": st.column_config.Column("params", width="small"),
    "grad ratio first/last": st.column_config.Column("1st/last", width="small",
                                                     help="grad ratio first/last at init"),
    "log10 cond J (init)": st.column_config.Column("log10 cond J", width="small",
                                                    help="log10(s_max/s_min) of ∂h_L/∂x at init"),
    "note": st.column_config.TextColumn("note", width="large"),
}  # fmt: skip


def _styled(table: pd.DataFrame):
    fmt = {"final val loss": "{:.4f}", "best val loss": "{:.4f}", "final val accuracy": "{:.3f}",
           "best val accuracy": "{:.3f}", "steps to target": "{:.0f}", "diverged at": "{:.0f}",
           "s/step": "{:.4f}", "params": "{:,}", "grad ratio first/last": "{:.2e}",
           "log10 cond J (init)": partial(_cond, short=True)}  # fmt: skip
    if table["log10 cond J (init)"].isna().all():  # recurrent nets: not measured
        table = table.drop(columns="log10 cond J (init)")
        del fmt["log10 cond J (init)"]
    return table.style.format(fmt, na_rep="—")


def downloads(family: str, comparison: Comparison, result: RunResult) -> None:
    """Metrics CSV, summary CSV and config JSON of this run."""
    c1, c2, c3 = st.columns(3)
    c1.download_button("Metrics CSV", exports.metrics_csv(result), "metrics.csv", "text/csv",
                       key=f"{family}_dl_metrics", width="stretch")  # fmt: skip
    c2.download_button("Summary CSV", exports.summary_csv(result), "summary.csv", "text/csv",
                       key=f"{family}_dl_summary", width="stretch")  # fmt: skip
    c3.download_button("Config JSON", exports.config_json(comparison), "config.json",
                       "application/json", key=f"{family}_dl_config",
                       width="stretch",
                       help="python -m models run --config config.json reproduces the run")  # fmt: skip

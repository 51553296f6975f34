"""Render a run's charts, tables and downloads (Streamlit side; the figures come from charts/)."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from dashboard.charts import tradeoffs
from dashboard.charts.analysis import headline, identical_variants
from dashboard.charts.common import variant_colors
from dashboard.plain import plain
from dashboard.storage import exports
from dashboard.widgets.result_charts import (
    EMPTY_CELL,
    ROWS,
    ChartInput,
    ChartSpec,
    chart_name,
    cond_text,
    rows_of,
    specs_of,
)
from models import FAMILIES, METRICS, Comparison, Family, RunResult, chance_loss

# a short mode bar: zoom (drag), reset and save as PNG. The full one covered chart titles on a
# phone (where it always shows), and its zoom ±/pan/autoscale repeat drag and double-click
CHART_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "modeBarButtonsToRemove": ["zoomIn2d", "zoomOut2d", "autoScale2d", "pan2d"],
}


def chart(fig, key: str) -> None:
    st.plotly_chart(fig, width="stretch", config=CHART_CONFIG, key=key)


def memo_figure(key: str, result: RunResult, build, *extra):
    """The figure ``build()`` makes for ``result`` (and ``extra``, e.g. the step shown), built
    once per session: a rerun that does not change them (the step slider moving, a sidebar
    edit, a page visit) reuses it. Plotly validates every property of a new figure, ~0.1-0.3 s
    a chart on 2 cores, and the results view has nine. The entry holds the result itself, so a
    new result (never equal by identity) always rebuilds. Below the session's memo, the
    result's own (``shared``): a cached result is one object for every visitor, so the second
    visitor to press Train on the same settings gets the figures the first one built."""
    store = st.session_state.setdefault("_figures", {})
    entry = store.get(key)
    if entry is None or entry[0] is not result or entry[1] != extra:
        entry = store[key] = (result, extra, shared(result, (key, *extra), build))
    return entry[2]


# Per result, what drawing it needs (frames, tables, figures, CSV bytes), built once for every
# session: a cached result took 3-4 s of server time per visitor to draw, all of it rebuilding
# the same things. Entries go with their result (weakref.finalize) and are capped per result
# (the step slider adds one per step viewed).
_SHARED: dict[int, OrderedDict] = {}
_SHARED_LOCK = threading.Lock()
SHARED_PER_RESULT = 48
# a run with more metric rows keeps no frames in memory between draws (deep-mlp: 18k rows,
# 1.3 MB a frame; the caps allow runs ~100x that), only its figures and tables
SHARED_FRAME_ROWS = 200_000


def shared(result: RunResult, key, build):
    """``build()`` for ``result`` and ``key``, computed once for all sessions (never mutate it)."""
    rid = id(result)
    with _SHARED_LOCK:
        memo = _SHARED.get(rid)
        if memo is None:
            memo = _SHARED[rid] = OrderedDict()
            weakref.finalize(result, _SHARED.pop, rid, None)
        if key in memo:
            memo.move_to_end(key)
            return memo[key]
    value = build()  # outside the lock: two sessions may build it at once, both get one
    with _SHARED_LOCK:
        memo[key] = value
        while len(memo) > SHARED_PER_RESULT:
            memo.popitem(last=False)
    return value


def colors_of(comparison: Comparison) -> dict[str, str]:
    """Colour per variant, keyed by its chart name (``chart_name``; pair with ``chart_frame``)."""
    return variant_colors([chart_name(v.name) for v in comparison.variants])


def chart_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The metrics frame with variants under their chart names (a copy only when one differs)."""
    if frame is None or frame.empty:
        return frame
    names = frame["variant"].unique()
    renamed = {n: chart_name(n) for n in names}
    if all(k == v for k, v in renamed.items()):
        return frame
    return frame.assign(variant=frame["variant"].map(renamed))


def _step_slider(fam: Family, frame: pd.DataFrame) -> int:
    steps = np.unique(frame["step"].to_numpy()) if not frame.empty else np.array([0])
    last = int(steps.max())
    key = f"{fam.key}_step"
    if key not in st.session_state or not (0 <= st.session_state[key] <= last):
        st.session_state[key] = 0
    if last == 0:
        return 0
    gap = int(np.diff(steps).min()) if steps.size > 1 else 1
    where = fam.slider_where
    return st.slider(
        f"Training step shown in the {where} charts",
        0,
        last,
        step=max(1, gap),
        key=key,
        help="0 = at initialisation, before any update",
    )


def table_of(comparison: Comparison, result: RunResult, twins: dict[str, str]) -> pd.DataFrame:
    """The trade-offs table; ``twins``: notes on variants identical to another."""
    frame, summary = result.metrics_frame(), result.summary_frame()
    info = [
        {
            "name": v.name,
            "metric": FAMILIES[v.family].gradient_metric,
            "last": FAMILIES[v.family].depth_of(v),
        }
        for v in comparison.variants
    ]
    table = tradeoffs.tradeoff_table(frame, summary, info)
    if twins:  # said in the table: their curves lie one on the other
        table["note"] = [
            "; ".join(x for x in (note, twins.get(name, "")) if x)
            for name, note in zip(table["variant"], table["note"])
        ]
    return table


def render_results(family: str, comparison: Comparison, result: RunResult) -> None:
    """Every chart of a finished (or stopped) run, each with a caption on how to read it: the
    family's chart specs (``result_charts``), drawn row by row, each memoised."""
    fam = FAMILIES[family]
    if len(result.metrics) <= SHARED_FRAME_ROWS:
        raw = shared(result, "raw", result.metrics_frame)
        frame = shared(result, "frame", lambda: chart_frame(raw))  # the figures' variant names
    else:  # a big run: its frames are not kept beside its rows (memory), only its figures
        raw = result.metrics_frame()
        frame = chart_frame(raw)
    colors = colors_of(comparison)
    twins = shared(result, "twins", lambda: identical_variants(raw, comparison.variants))
    table = shared(result, "table", lambda: table_of(comparison, result, twins))
    line = headline(table, fam.name, chance_loss(comparison.variants[0]))
    if line:
        st.info(plain(line), icon=":material/search:")  # it quotes variant names
    step = _step_slider(fam, frame)
    ctx = ChartInput(fam, comparison, result, raw, frame, colors, table, twins, step)
    for row in rows_of(specs_of(fam)):
        for spec in row:
            if spec.before is not None:
                spec.before(ctx)
        cols = iter(st.columns(ROWS[row[0].row]))
        for spec in row:
            key = f"{fam.key}_{spec.key}"
            extra = (step,) if spec.step else ()
            with next(cols):
                fig = memo_figure(key, result, partial(spec.build, ctx), *extra)
                ctx.memo["figure"] = fig  # a caption may read what was drawn (its log scale)
                chart(fig, key)
                if spec.beside is None:
                    _caption(spec, ctx)
            if spec.beside is not None:
                with next(cols):
                    spec.beside(ctx)
                    _caption(spec, ctx)
    downloads(family, comparison, result)


def _caption(spec: ChartSpec, ctx: ChartInput) -> None:
    st.caption(spec.caption_of(ctx))
    if spec.after is not None:
        spec.after(ctx)


def trade_offs(ctx: ChartInput) -> None:
    """The trade-offs table and its notes (drawn above the benefit-and-cost chart)."""
    fam, table = ctx.family, ctx.table
    jacobian = METRICS["jacobian_sv"].applies(fam.name)  # its condition number is a column
    st.subheader("Trade-offs")
    # the table gets the page's full width: twelve columns in three fifths of it were cut
    # placeholder: a missing value (no target reached, never diverged) is "—"; Streamlit showed
    # its own grey "None" there, whatever the Styler's na_rep said
    st.dataframe(
        _styled(table),
        hide_index=True,
        width="stretch",
        key=f"{fam.key}_table",
        placeholder=EMPTY_CELL,
        column_config=TABLE_COLUMNS,
        column_order=[
            c
            for c in TABLE_COLUMNS
            if c in table.columns and (jacobian or c != "log10 cond J (init)")
        ],
    )
    st.caption(
        "Means over seeds. 'to target': first logged step reaching the task's "
        "target; '1st/last': first over last layer (RNN: time step) "
        "gradient at initialisation, ≪ 1 means vanishing"
        + (
            "; 'log10 cond J': decades between the largest and smallest singular value of "
            "the input–output Jacobian at initialisation (0 = isometry, ∞ = some are exactly 0)"
            if jacobian
            else ""
        )
        + ". The summary CSV below has every column."
    )
    # the note column sits past the table's right edge on most screens: its notes, in full
    for name, note in zip(table["variant"], table["note"]):
        if note:
            st.caption(plain(f"Note on “{name}”: {note}."))


# the columns shown, with short headers, so that the table fits a 1440 px screen beside the
# sidebar; the summary CSV keeps every number (best val loss and final val accuracy too)
TABLE_COLUMNS = {
    # pinned: scrolled right to the notes, the row still says which variant it is
    "variant": st.column_config.TextColumn("variant", width="medium", pinned=True),
    "final val loss": st.column_config.Column(
        "val loss", width="small", help="final validation loss"
    ),
    "best val accuracy": st.column_config.Column(
        "best acc.", width="small", help="best validation accuracy"
    ),
    "steps to target": st.column_config.Column("to target", width="small", help="steps to target"),
    "reached target": st.column_config.Column(
        "reached", width="small", help="seeds that reached the target"
    ),
    "diverged at": st.column_config.Column("diverged", width="small", help="diverged at step"),
    "s/step": st.column_config.Column("s/step", width="small"),
    "params": st.column_config.Column("params", width="small"),
    "grad ratio first/last": st.column_config.Column(
        "1st/last", width="small", help="grad ratio first/last at init"
    ),
    "log10 cond J (init)": st.column_config.Column(
        "log10 cond J", width="small", help="log10(s_max/s_min) of ∂h_L/∂x at init"
    ),
    "note": st.column_config.TextColumn("note", width="large"),
}


def _styled(table: pd.DataFrame):
    fmt = {
        "final val loss": "{:.4f}",
        "best val loss": "{:.4f}",
        "final val accuracy": "{:.3f}",
        "best val accuracy": "{:.3f}",
        "steps to target": "{:.0f}",
        "diverged at": "{:.0f}",
        "s/step": "{:.4f}",
        "params": "{:,}",
        "grad ratio first/last": "{:.2e}",
        "log10 cond J (init)": partial(cond_text, short=True),
    }
    if table["log10 cond J (init)"].isna().all():  # recurrent nets: not measured
        table = table.drop(columns="log10 cond J (init)")
        del fmt["log10 cond J (init)"]
    return table.style.format(fmt, na_rep=EMPTY_CELL)


def downloads(family: str, comparison: Comparison, result: RunResult) -> None:
    """Metrics CSV, summary CSV and config JSON of this run."""
    c1, c2, c3 = st.columns(3)
    c1.download_button(
        "Metrics CSV",
        shared(result, "metrics.csv", lambda: exports.metrics_csv(result)),
        "metrics.csv",
        "text/csv",
        key=f"{family}_dl_metrics",
        width="stretch",
    )
    c2.download_button(
        "Summary CSV",
        shared(result, "summary.csv", lambda: exports.summary_csv(result)),
        "summary.csv",
        "text/csv",
        key=f"{family}_dl_summary",
        width="stretch",
    )
    c3.download_button(
        "Config JSON",
        exports.config_json(comparison),
        "config.json",
        "application/json",
        key=f"{family}_dl_config",
        width="stretch",
        help="python -m models run --config config.json reproduces the run",
    )

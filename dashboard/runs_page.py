"""The Runs page: every finished or stopped run, overlaid, re-opened, exported or deleted."""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from dashboard.charts import curves, gradients
from dashboard.charts.common import variant_colors
from dashboard.plain import clean, plain
from dashboard.results_view import CHART_CONFIG, chart_frame, chart_name, render_results
from dashboard.runs_store import get_store
from dashboard.store import RunStore, StoreError
from dashboard.sweeps_listing import sweeps_section

MAX_OVERLAY = 6  # runs drawn at once: beyond that the legend is unreadable


def deleting_allowed() -> bool:
    """Whether visitors may delete runs: a public deployment sets GFL_RUNS_DELETE=off so that
    nobody can remove everyone else's runs (the store is shared by all sessions of a server)."""
    value = os.environ.get("GFL_RUNS_DELETE", "on").strip().lower()
    return value not in {"off", "0", "false", "no"}


def _when(iso: str) -> str:
    return (iso or "").replace("T", " ")[:16]


def _label(run: dict) -> str:
    """A run as select boxes list it (their options are plain text: no Markdown to escape)."""
    name = clean(run.get("preset") or run.get("title") or "custom", 50)
    return f"#{run['id']} · {_when(run['created_at'])} · {name}"


def runs_table(runs: list[dict]) -> pd.DataFrame:
    """The listing shown on the page: one row per run, what matters most on the left."""
    columns = ["run", "when (UTC)", "outcome", "steps", "preset / title", "settings", "variants"]
    return pd.DataFrame(
        [
            {
                "run": r["id"],
                "when (UTC)": _when(r["created_at"]),
                "outcome": r["outcome"],
                "steps": f"{r['steps_done']} / {r['total_steps']}",
                "preset / title": clean(r.get("preset") or r.get("title") or "custom", 48),
                "settings": r["settings"],
                "variants": ", ".join(clean(n, 60) for n in r["variant_names"]),
            }
            for r in runs
        ],
        columns=columns,
    )


def overlay_frames(store: RunStore, ids: list[int]) -> tuple[pd.DataFrame, list[str], set[str]]:
    """Metrics of several runs in one frame, variants renamed '#id name'; (frame, names, families)."""
    frames, names, families = [], [], set()
    for rid in ids:
        try:
            comp, result = store.load_run(rid)
        except (KeyError, StoreError):
            continue
        f = result.metrics_frame()
        f["variant"] = f"#{rid} " + f["variant"].astype(str)
        frames.append(f)
        names += [f"#{rid} {v.name}" for v in comp.variants]
        families |= {v.family for v in comp.variants}
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return frame, names, families


def _overlay(store: RunStore, runs: list[dict]) -> None:
    st.subheader("Overlay runs")
    ids = [r["id"] for r in runs]
    labels = {r["id"]: _label(r) for r in runs}
    chosen = st.multiselect(
        "Runs to draw together", ids, default=ids[:1], format_func=labels.get,
        max_selections=MAX_OVERLAY, key="runs_overlay",
    )  # fmt: skip
    if not chosen:
        st.caption("Pick one or more runs to compare their curves.")
        return
    frame, names, families = overlay_frames(store, chosen)
    if frame.empty:
        st.info("These runs have no metrics yet.")
        return
    frame = chart_frame(frame)
    colors = variant_colors([chart_name(n) for n in names])
    c1, c2 = st.columns(2)
    with c1:
        fig = curves.curves_figure(frame, ("loss", "val_loss"), colors, "Loss",
                                   "loss (dotted: train, solid: validation)", log_y=True)  # fmt: skip
        st.plotly_chart(fig, config=CHART_CONFIG, key="runs_overlay_loss")
    with c2:
        fig = curves.curves_figure(frame, ("accuracy", "val_accuracy"), colors, "Accuracy",
                                   "accuracy (dotted: train, solid: validation)")  # fmt: skip
        st.plotly_chart(fig, config=CHART_CONFIG, key="runs_overlay_accuracy")
    if len(families) == 1:
        mlp = families == {"mlp"}
        metric = "grad_norm" if mlp else "hidden_grad_norm"
        steps = frame.loc[frame.metric == metric, "step"]
        last = int(steps.max()) if len(steps) else 0
        step = st.slider("Step of the gradient profile", 0, max(last, 1), 0, key="runs_step",
                         help="0 = at initialisation") if last > 0 else 0  # fmt: skip
        fig = gradients.profile_figure(
            frame, step, colors, metric_name=metric,
            title="Gradient per layer" if mlp else "Gradient through time",
            x_title="layer l (1 = input side)" if mlp else "time step t",
            y_title="‖∇W_l‖" if mlp else "‖∂L/∂h_t‖",
        )  # fmt: skip
        st.plotly_chart(fig, config=CHART_CONFIG, key="runs_overlay_profile")
    st.caption(
        "Variants are named '#run name'. Curves are means over seeds with a min–max band; "
        "✕ marks a diverged variant. The gradient profile needs runs of one family."
    )


def _delete(store: RunStore, rid: int) -> None:
    if deleting_allowed() and store.delete_run(rid):
        st.session_state["runs_deleted"] = rid
    if st.session_state.get("runs_open") == rid:
        st.session_state.pop("runs_open", None)


def _one_run(store: RunStore, runs: list[dict]) -> None:
    st.subheader("One run")
    ids = [r["id"] for r in runs]
    labels = {r["id"]: _label(r) for r in runs}
    wanted = st.session_state.get("runs_open")
    if "runs_pick" not in st.session_state or st.session_state["runs_pick"] not in ids:
        st.session_state["runs_pick"] = wanted if wanted in ids else ids[0]
    rid = st.selectbox("Run", ids, format_func=labels.get, key="runs_pick")
    c1, c2, c3 = st.columns(3)
    if c1.button("Open full view", key="runs_open_btn", width="stretch"):
        st.session_state["runs_open"] = rid
    try:
        data = store.export_run(rid)
    except (KeyError, StoreError) as e:
        data = None
        st.error(f"Run #{rid} cannot be read back: {plain(e, 200)}", icon=":material/error:")
    if data is not None:
        c2.download_button("Export (zip)", data, f"run-{rid}.zip", "application/zip",
                           key="runs_export", width="stretch",
                           help="metrics.csv, summary.csv and config.json, as the CLI writes them")  # fmt: skip
    allowed = deleting_allowed()
    c3.button("Delete", key="runs_delete", width="stretch", on_click=_delete, args=(store, rid),
              disabled=not allowed,
              help="Removes the run from the store for everyone on this server" if allowed
              else "Deleting runs is turned off on this server (GFL_RUNS_DELETE=off)")  # fmt: skip
    if st.session_state.get("runs_open") == rid:
        try:
            comp, result = store.load_run(rid)
        except (KeyError, StoreError) as e:
            st.error(f"Run #{rid} cannot be opened: {plain(e, 200)}", icon=":material/error:")
            return
        if result.stopped:
            st.warning("This run was stopped early: showing what it trained.",
                       icon=":material/stop_circle:")  # fmt: skip
        st.markdown(f"**{plain(comp.title or 'Run', 200)}** — run #{rid}")
        family = "rnn" if comp.variants[0].family == "rnn" else "mlp"
        render_results(family, comp, result)


def runs_page() -> None:
    """Past runs of this server: listing, overlay, full view, export, delete."""
    st.title("Runs")
    store, notice = get_store()
    if notice:
        st.warning(plain(notice), icon=":material/database:")
    st.caption(
        "Every finished or stopped run is kept here, so a reload or a server restart shows it "
        f"again. Store: `{store.path}`."
    )
    deleted = st.session_state.pop("runs_deleted", None)
    if deleted is not None:
        st.success(f"Run #{deleted} deleted.", icon=":material/delete:")
    try:
        runs = store.list_runs()
    except Exception as e:  # noqa: BLE001 - a broken store must not break the page
        st.error(f"The run store cannot be read: {plain(e, 200)}", icon=":material/error:")
        return
    shared = st.query_params.get("run")  # ?run=ID opens that run's full view
    if shared and str(shared).isdigit() and "runs_open" not in st.session_state:
        st.session_state["runs_open"] = int(shared)
    if not runs:
        st.info("No runs yet: train something on the Deep or Recurrent page and it appears here.")
    else:
        st.dataframe(runs_table(runs), hide_index=True, width="stretch", key="runs_table")
        _overlay(store, runs)
        _one_run(store, runs)
    sweeps_section()

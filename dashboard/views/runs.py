"""The Runs page: every finished or stopped run, overlaid, re-opened, exported or deleted."""

from __future__ import annotations

import os

import pandas as pd
import streamlit as st

from dashboard.charts import curves
from dashboard.charts.common import variant_colors
from dashboard.plain import clean, plain
from dashboard.state import visitor
from dashboard.storage.runs_store import get_store
from dashboard.widgets import csv_panel
from dashboard.widgets.result_charts import gradient_profile
from dashboard.widgets.results_view import CHART_CONFIG, chart_frame, chart_name, render_results
from dashboard.widgets.sweeps_listing import sweeps_section
from dashboard.widgets.watched_view import is_watched, render_watched, source_of
from models import FAMILIES, SHARE_ID, RunStore, StoreError, StoreUnavailable

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
    columns = [
        "run",
        "source",
        "when (UTC)",
        "outcome",
        "steps",
        "preset / title",
        "settings",
        "variants",
    ]
    return pd.DataFrame(
        [
            {
                "run": r["id"],
                "source": source_of(r),  # 'from your code' (watch()) or 'lab'
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
        families |= {"watched"} if is_watched(comp) else {v.family for v in comp.variants}
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return frame, names, families


def _overlay(store: RunStore, runs: list[dict]) -> None:
    st.subheader("Overlay runs")
    ids = [r["id"] for r in runs]
    labels = {r["id"]: _label(r) for r in runs}
    chosen = st.multiselect(
        "Runs to draw together",
        ids,
        default=ids[:1],
        format_func=labels.get,
        max_selections=MAX_OVERLAY,
        key="runs_overlay",
    )
    if not chosen:
        st.caption("Pick one or more runs to compare their curves.")
        return
    watched = _all_watched(store, chosen)
    if watched:  # runs from the user's own code: their layers by name
        render_watched(watched, key="runs_overlay_watched")
        return
    frame, names, families = overlay_frames(store, chosen)
    if frame.empty:
        st.info("These runs have no metrics yet.")
        return
    frame = chart_frame(frame)
    colors = variant_colors([chart_name(n) for n in names])
    c1, c2 = st.columns(2)
    with c1:
        fig = curves.curves_figure(
            frame,
            ("loss", "val_loss"),
            colors,
            "Loss",
            "loss (dotted: train, solid: validation)",
            log_y=True,
        )
        st.plotly_chart(fig, config=CHART_CONFIG, key="runs_overlay_loss")
    with c2:
        fig = curves.curves_figure(
            frame,
            ("accuracy", "val_accuracy"),
            colors,
            "Accuracy",
            "accuracy (dotted: train, solid: validation)",
        )
        st.plotly_chart(fig, config=CHART_CONFIG, key="runs_overlay_accuracy")
    if len(families) == 1 and "watched" not in families:
        fam = FAMILIES[next(iter(families))]
        metric = fam.gradient_metric
        steps = frame.loc[frame.metric == metric, "step"]
        last = int(steps.max()) if len(steps) else 0
        step = (
            st.slider(
                "Step of the gradient profile",
                0,
                max(last, 1),
                0,
                key="runs_step",
                help="0 = at initialisation",
            )
            if last > 0
            else 0
        )
        fig = gradient_profile(fam, frame, step, colors)
        st.plotly_chart(fig, config=CHART_CONFIG, key="runs_overlay_profile")
    st.caption(
        "Variants are named '#run name'. Curves are means over seeds with a min–max band; "
        "✕ marks a diverged variant. The gradient profile needs runs of one family."
    )


def _all_watched(store: RunStore, ids: list[int]) -> list | None:
    """[(id, comparison, result)] when every chosen run came from watch(), else None."""
    out = []
    for rid in ids:
        try:
            comp, result = store.load_run(rid)
        except (KeyError, StoreError):
            continue
        if not is_watched(comp):
            return None
        out.append((rid, comp, result))
    return out or None


def _ask_delete(rid: int) -> None:
    st.session_state["runs_confirm"] = rid  # Delete only asks; the confirmation deletes


def _cancel_delete() -> None:
    st.session_state.pop("runs_confirm", None)


def _delete(store: RunStore, rid: int, share_id: str | None = None) -> None:
    st.session_state.pop("runs_confirm", None)
    # public mode: only the run's owner (visitor.owner() is None in local mode: anyone)
    if deleting_allowed() and store.delete_run(rid, owner=visitor.owner()):
        st.session_state["runs_deleted"] = rid
    if st.session_state.get("runs_open") == rid:
        st.session_state.pop("runs_open", None)
    if st.query_params.get("run") in (str(rid), share_id):
        del st.query_params["run"]


def _confirm_delete(store: RunStore, rid: int, share_id: str | None = None) -> None:
    """The question after Delete: the run goes for everyone on this server, for good."""
    who = (
        "? Its share link stops working"
        if visitor.public_mode()
        else " for everyone on this server?"
    )
    with st.container(border=True):
        st.warning(
            f"Delete run #{rid}{who}. This cannot be undone.".replace("?.", "?"),
            icon=":material/delete:",
        )
        c1, c2, _ = st.columns([1, 1, 2])
        c1.button(
            f"Yes, delete run #{rid}",
            key="runs_delete_yes",
            type="primary",
            on_click=_delete,
            args=(store, rid, share_id),
            width="stretch",
        )
        c2.button("Cancel", key="runs_delete_no", on_click=_cancel_delete, width="stretch")


def _open(rid: int, share_id: str | None = None) -> None:
    st.session_state["runs_open"] = rid
    # the address opens this run for whoever gets it (public mode: by its unguessable id)
    st.query_params["run"] = share_id if visitor.public_mode() and share_id else str(rid)


def _one_run(store: RunStore, runs: list[dict]) -> None:
    st.subheader("One run")
    ids = [r["id"] for r in runs]
    labels = {r["id"]: _label(r) for r in runs}
    wanted = st.session_state.get("runs_open")
    if "runs_pick" not in st.session_state or st.session_state["runs_pick"] not in ids:
        st.session_state["runs_pick"] = wanted if wanted in ids else ids[0]
    rid = st.selectbox("Run", ids, format_func=labels.get, key="runs_pick")
    run = next(r for r in runs if r["id"] == rid)
    c1, c2, c3 = st.columns(3)
    c1.button(
        "Open full view",
        key="runs_open_btn",
        width="stretch",
        on_click=_open,
        args=(rid, run.get("share_id")),
    )
    try:
        data = store.export_run(rid)
    except (KeyError, StoreError) as e:
        data = None
        st.error(f"Run #{rid} cannot be read back: {plain(e, 200)}", icon=":material/error:")
    if data is not None:
        c2.download_button(
            "Export (zip)",
            data,
            f"run-{rid}.zip",
            "application/zip",
            key="runs_export",
            width="stretch",
            help="metrics.csv, summary.csv and config.json, as the CLI writes them",
        )
    allowed = deleting_allowed()
    c3.button(
        "Delete",
        key="runs_delete",
        width="stretch",
        on_click=_ask_delete,
        args=(rid,),
        disabled=not allowed,
        help=(
            "Removes your run from this server"
            if visitor.public_mode()
            else "Removes the run from the store for everyone on this server"
        )
        if allowed
        else "Deleting runs is turned off on this server (GFL_RUNS_DELETE=off)",
    )
    if allowed and st.session_state.get("runs_confirm") == rid:
        _confirm_delete(store, rid, run.get("share_id"))
    if run.get("share_id"):
        st.caption(
            "Share link (opens this run for whoever has it; it cannot be guessed, and "
            "it carries no data):"
        )
        st.code(share_url(run["share_id"]), language=None)
    if st.session_state.get("runs_open") == rid:
        _full_view(store, rid, run.get("data_info") or "")


def share_url(share_id: str) -> str:
    """This server's link to a run (the Runs page with ?run=SHARE_ID)."""
    try:
        here = st.context.url or ""
    except Exception:  # no browser context (tests)
        here = ""
    base = here.split("?", 1)[0].split("#", 1)[0]
    if not base.rstrip("/").endswith("/runs"):
        base = base.rstrip("/") + "/runs" if base else "runs"
    return f"{base}?run={share_id}"


def _full_view(store: RunStore, rid: int, data_info: str = "", shared: bool = False) -> None:
    try:
        comp, result = store.load_run(rid)
    except (KeyError, StoreError) as e:
        st.error(f"Run #{rid} cannot be opened: {plain(e, 200)}", icon=":material/error:")
        return
    if result.stopped:
        st.warning(
            "This run was stopped early: showing what it trained.", icon=":material/stop_circle:"
        )
    st.markdown(f"**{plain(comp.title or 'Run', 200)}** — run #{rid}")
    if data_info:
        csv_panel.recall(data_info)  # the table's classes: the chance line of the summary
        st.caption(f"Data: {plain(csv_panel.describe(data_info))} (the data itself is not kept)")
    if shared:
        st.caption("Opened through its share link: read only, and only its owner can delete it.")
    if is_watched(comp):
        render_watched([(rid, comp, result)], key="runs_watched")
        return
    render_results(comp.variants[0].family, comp, result)


def _linked_run(store: RunStore, ids: set[int]) -> int | None:
    """The run ``?run=`` names: a share id (anyone with the link), or in local mode a run
    number; a link that names nothing says so."""
    value = st.query_params.get("run")
    if value is None:
        return None
    text = str(value).strip()
    if SHARE_ID.fullmatch(text):
        rid = store.find_shared(text)
        if rid is None:
            st.warning(
                "No run matches this link: it may have been deleted.", icon=":material/link_off:"
            )
        return rid
    if text.isdigit() and visitor.public_mode():  # numbers can be guessed: links only
        st.warning(
            "This link does not name a run here: runs open through their share link.",
            icon=":material/link_off:",
        )
    elif not text.isdigit():
        st.warning(
            f"The address asks for run '{plain(text, 40)}', which is not a run number.",
            icon=":material/link_off:",
        )
    elif int(text) not in ids:
        kept = " The runs it keeps are listed below." if ids else ""
        st.warning(
            f"Run #{int(text)} does not exist on this server: it may have been deleted.{kept}",
            icon=":material/link_off:",
        )
    else:
        return int(text)
    return None


def runs_page() -> None:
    """Past runs of this server: listing, overlay, full view, export, delete.

    Public mode (GFL_PUBLIC=1): only this visitor's runs; another's run opens through its share
    link, read only; the server's paths are never shown.
    """
    st.title("Runs")
    store, notice = get_store()
    public = visitor.public_mode()
    if notice:
        shown = "The run store could not be opened: runs are kept in memory until the server "
        st.warning(shown + "restarts." if public else plain(notice), icon=":material/database:")
    if public:
        st.caption(
            f"Here are {visitor.describe()}: nobody else on this server sees them. A run's "
            "share link opens it for whoever has the link; only you can delete it."
            + (
                f" You keep up to {store.max_runs_per_owner} runs; the oldest go first."
                if store.max_runs_per_owner and store.max_runs_per_owner > 0
                else ""
            )
        )
    else:
        st.caption(
            "Every finished or stopped run is kept here, so a reload or a server restart shows "
            f"it again. Store: `{store.location}`."
        )
    deleted = st.session_state.pop("runs_deleted", None)
    if deleted is not None:
        st.success(f"Run #{deleted} deleted.", icon=":material/delete:")
    try:
        runs = store.list_runs(owner=visitor.owner())  # local mode: None, every run
    except StoreUnavailable:
        st.warning(
            "The run database cannot be reached right now. Training works; runs are "
            "listed here again as soon as it is back.",
            icon=":material/cloud_off:",
        )
        return
    except Exception as e:  # noqa: BLE001 - a broken store must not break the page
        why = "" if public else f": {plain(e, 200)}"
        st.error(f"The run store cannot be read{why}", icon=":material/error:")
        return
    linked = _linked_run(store, {r["id"] for r in runs})  # ?run=SHARE_ID (or a number locally)
    if linked is not None and linked not in {r["id"] for r in runs}:
        st.subheader("Shared run")
        _full_view(store, linked, store.data_info(linked), shared=True)
        st.divider()
    elif linked is not None and "runs_open" not in st.session_state:
        st.session_state["runs_open"] = linked
    if not runs:
        st.info("No runs yet: train something on the Deep or Recurrent page and it appears here.")
    else:
        st.dataframe(runs_table(runs), hide_index=True, width="stretch", key="runs_table")
        _overlay(store, runs)
        _one_run(store, runs)
    sweeps_section()


if __name__ == "__main__":  # run as the page script (st.Page in app.py)
    runs_page()

"""The Runs page's list of saved sweeps: open one on the Phase diagrams page, or download it."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from dashboard.plain import clean, plain
from dashboard.state import visitor
from models import ConfigError, StoreError, SweepResult, safe_csv, sweep_from_dict


def sweeps_table(sweeps: list[dict]) -> pd.DataFrame:
    """One row per sweep, newest first."""
    return pd.DataFrame(
        [
            {
                "sweep": s["id"],
                "when (UTC)": (s["created_at"] or "").replace("T", " ")[:16],
                "outcome": s["status"],
                "rows": s["points"],
                "preset / title": clean(s.get("preset") or s.get("title") or "custom", 60),
            }
            for s in sweeps
        ],
        columns=["sweep", "when (UTC)", "outcome", "rows", "preset / title"],
    )


def sweeps_section() -> None:
    """Saved sweeps (the Phase diagrams page saves every finished or stopped one)."""
    from dashboard.storage.runs_store import get_sweep_store

    st.subheader("Sweeps")
    store = get_sweep_store()
    try:
        sweeps = store.list(owner=visitor.owner())  # public mode: this visitor's only
    except Exception as e:  # noqa: BLE001 - a broken store must not break the page
        st.error(
            f"The sweep store cannot be read: {plain(visitor.hide_paths(e), 200)}",
            icon=":material/error:",
        )
        return
    if not sweeps:
        st.caption("No sweeps yet: train one on the Phase diagrams page and it appears here.")
        return
    st.dataframe(sweeps_table(sweeps), hide_index=True, width="stretch", key="sweeps_table")
    ids = [s["id"] for s in sweeps]
    labels = {
        s["id"]: f"sweep #{s['id']} · {sweeps_table([s]).iloc[0]['preset / title']}" for s in sweeps
    }
    sid = st.selectbox("Sweep", ids, format_func=labels.get, key="sweeps_pick")
    c1, c2, c3 = st.columns(3)
    if c1.button("Open as a phase diagram", key="sweeps_open", width="stretch"):
        st.session_state["phase_open_id"] = sid
        st.switch_page("views/phase.py")
    try:
        spec_json, rows, _ = store.load(sid)
        spec = sweep_from_dict(spec_json)
    except (KeyError, StoreError, ConfigError) as e:
        st.error(f"Sweep #{sid} cannot be read back: {plain(e, 200)}", icon=":material/error:")
        return
    csv = safe_csv(SweepResult(spec, rows).frame()).encode()
    c2.download_button(
        "sweep.csv", csv, f"sweep-{sid}.csv", "text/csv", key="sweeps_csv", width="stretch"
    )
    c3.download_button(
        "sweep.json",
        json.dumps(spec_json, indent=2, ensure_ascii=False).encode(),
        f"sweep-{sid}.json",
        "application/json",
        key="sweeps_json",
        width="stretch",
    )

"""Task "Your CSV" on the Deep networks page: upload, preview, target column, and the notices.

The uploaded bytes live only in this browser session (``st.session_state``): they are parsed in
memory, never written to disk or the run store, and never reach another session. The config
holds the file's name, its SHA-256 and the target column; a share link therefore carries
those, and a session that opens it is asked for the file.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.plain import clean, plain
from models import (
    CSV_TASK,
    DATA_FIELDS,
    MAX_DATA_BYTES,
    MAX_DATA_CLASSES,
    MAX_DATA_FEATURES,
    MAX_DATA_ROWS,
    DataError,
    RawTable,
    Table,
    build_table,
    read_csv,
    remember_dims,
)

# The upload limit, one number: the engine's (models.core.csv_parser), shown before the upload
# and given to the uploader; .streamlit/config.toml's server.maxUploadSize must say the same
# (the server refuses bigger bodies with a bare HTTP 413; a test reads both).
UPLOAD_MB = MAX_DATA_BYTES // 2**20
UPLOAD = "csv_upload"  # session state: the parsed file (RawTable) of this session, or None
PREVIEW_ROWS = 5


def uploads() -> dict[str, RawTable]:
    """This session's uploaded file by SHA-256 (what training may use; nothing else)."""
    raw = st.session_state.get(UPLOAD)
    return {raw.sha256: raw} if isinstance(raw, RawTable) else {}


def _read_upload(key: str) -> None:
    """Parse a newly uploaded file once (on_change): errors are kept to show, not raised."""
    up = st.session_state.get(key)
    st.session_state.pop(f"{UPLOAD}_error", None)
    if up is None:  # the user removed the file: it goes from this session too
        for k in (UPLOAD, f"{UPLOAD}_tables", f"{UPLOAD}_target"):
            st.session_state.pop(k, None)
        return
    data = up.getvalue()
    try:
        raw = read_csv(data, up.name)
    except DataError as e:
        st.session_state[f"{UPLOAD}_error"] = str(e)
        return
    st.session_state[UPLOAD] = raw  # one file per session: a new one replaces the last
    st.session_state.pop(f"{UPLOAD}_tables", None)
    st.session_state.pop(f"{UPLOAD}_target", None)  # a new file: its own last column


def _table(raw: RawTable, target: str) -> tuple[Table | None, str | None]:
    """(the table for one target, or the problem), kept in this session only (never in a
    server-wide cache: another visitor must not get it back)."""
    cache = st.session_state.setdefault(f"{UPLOAD}_tables", {})
    key = (raw.sha256, target)
    if key not in cache:
        try:
            cache[key] = build_table(raw, target), None
        except DataError as e:
            cache[key] = None, str(e)
        while len(cache) > 4:
            cache.pop(next(iter(cache)))
    return cache[key]


def clear(shared: dict[str, Any]) -> None:
    """Another task: the data fields go (only task=csv may carry them)."""
    for name in DATA_FIELDS:
        shared[name] = ""


def data_info(comparison) -> str:
    """What a run records about its data, as JSON: name, hash, target and shape, never the
    data ('' for other tasks)."""
    for v in comparison.variants:
        if v.task == CSV_TASK:
            raw = uploads().get(v.data_sha256)
            if raw is not None:
                table, _ = _table(raw, v.target)
                if table is not None:
                    rows, feats, classes = table.shape
                    return json.dumps(
                        {
                            "name": raw.name,
                            "sha256": raw.sha256,
                            "target": v.target,
                            "column": table.target,
                            "rows": rows,
                            "features": feats,
                            "classes": classes,
                        }
                    )
    return ""


def _info(info: str) -> dict[str, Any] | None:
    try:
        d = json.loads(info) if info else None
    except ValueError:
        return None
    return d if isinstance(d, dict) else None


def describe(info: str) -> str:
    """A run's data_info for people: 'pets.csv · 80 rows × 2 features, 2 classes · target y'."""
    d = _info(info)
    if d is None:
        return clean(info, 200)
    try:
        f = int(d["features"])
        return (
            f"{clean(d['name'], 80)} · {int(d['rows']):,} rows × {f:,} feature"
            f"{'s' if f != 1 else ''}, {int(d['classes'])} classes · target "
            f"{clean(d['column'], 60)}"
        )
    except (KeyError, TypeError, ValueError):
        return ""


def recall(info: str) -> None:
    """A stored CSV run's shape back into the engine (its chance level needs the classes)."""
    d = _info(info)
    try:
        if d is not None:
            remember_dims(
                str(d["sha256"]),
                str(d["target"]),
                (int(d["rows"]), int(d["features"]), int(d["classes"])),
            )
    except (KeyError, TypeError, ValueError):
        pass


def panel(family: str, shared: dict[str, Any]) -> bool:
    """The upload, preview and target picker; True when a usable table is chosen."""
    st.subheader("Your CSV")
    st.caption(
        "One row per example: numeric feature columns and a label column (text or whole "
        f"numbers). Up to {UPLOAD_MB} MB, {MAX_DATA_ROWS:,} rows, {MAX_DATA_FEATURES:,} feature "
        f"columns and {MAX_DATA_CLASSES} classes. The file stays in this browser session: it is not written to disk "
        "or to the run store, and it never reaches another visitor."
    )
    key = f"{family}_csv_file"
    st.html(_REFUSAL_CSS % {"key": key})
    st.file_uploader(
        "CSV file",
        type=["csv", "tsv", "txt"],
        key=key,
        on_change=_read_upload,
        args=(key,),
        max_upload_size=UPLOAD_MB,
        help="Comma, semicolon or tab separated, UTF-8, with a header row.",
    )
    if st.session_state.get(key) is not None and UPLOAD not in st.session_state:
        _read_upload(key)  # a file the uploader kept across a page switch
    error = st.session_state.get(f"{UPLOAD}_error")
    if error:
        st.error(plain(error, 600), icon=":material/table_rows:")
    raw = st.session_state.get(UPLOAD)
    wanted = shared.get("data_sha256") or ""
    if not isinstance(raw, RawTable):
        if wanted:
            st.warning(
                f"This comparison trains on {plain(_base(shared.get('data')), 80)} (SHA-256 "
                f"{wanted[:12]}…). Share links carry the file's name and hash, never its data: "
                "upload the file to train.",
                icon=":material/upload_file:",
            )
        else:
            st.info("Upload a CSV file to train on it.", icon=":material/upload_file:")
        return False
    if st.session_state.get(key) is None:  # e.g. back from another page: the widget forgot
        st.caption(f"Using {plain(raw.name, 80)}, uploaded earlier in this session.")
    if wanted and wanted != raw.sha256:
        st.info(
            f"The link was made with a different file ({plain(_base(shared.get('data')), 80)}, "
            f"SHA-256 {wanted[:12]}…); training on {plain(raw.name, 80)} instead: its results "
            "will differ.",
            icon=":material/info:",
        )
    target = _target_picker(family, raw, shared)
    shared["data"], shared["data_sha256"], shared["target"] = raw.name, raw.sha256, target
    table, problem = _table(raw, target)
    if problem:
        st.error(plain(problem, 600), icon=":material/table_rows:")
        return False
    _preview(raw, table)
    return True


# A file the browser refuses (over the limit, a wrong type) never reaches the script: Streamlit
# marks its chip with a red "!" and keeps the reason ("File must be 20.0MB or smaller.") in a
# visually hidden alert, readable only as a tooltip. Shown here, under the file's name.
_REFUSAL_CSS = """<style>
.st-key-%(key)s [data-testid=stFileChip][aria-invalid=true] {
  flex-wrap: wrap; height: auto; max-width: none;
}
.st-key-%(key)s [data-testid=stFileChip][aria-invalid=true] [role=alert] {
  position: static !important; width: auto !important; height: auto !important;
  clip: auto !important; clip-path: none !important; overflow: visible !important;
  white-space: normal !important; margin: 0.2rem 0 0 0 !important; flex-basis: 100%%;
  color: #B03A2E; font-size: 0.875rem; font-weight: 600;
}
</style>"""


def _base(name: Any) -> str:
    return str(name or "").replace("\\", "/").rsplit("/", 1)[-1] or "a CSV file"


def _target_picker(family: str, raw: RawTable, shared: dict[str, Any]) -> str:
    key = f"{UPLOAD}_target"
    options = list(raw.columns)
    if st.session_state.get(key) not in options:
        asked = shared.get("target") or ""
        st.session_state[key] = asked if asked in options else options[-1]
    return st.selectbox(
        "Label column (target)",
        options,
        key=key,
        format_func=lambda c: clean(c, 60),
        help="What the network learns to predict; every other column is an input feature.",
    )


def _preview(raw: RawTable, table: Table) -> None:
    rows, feats, classes = table.shape
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Rows", f"{rows:,}")
    c2.metric("Feature columns", f"{feats:,}")
    c3.metric("Classes", classes)
    c4.metric("File", f"{raw.n_bytes / 1024:,.0f} KB")
    counts = table.class_counts()
    balance = pd.DataFrame(
        {
            "class": [clean(c, 40) for c in counts],
            "rows": list(counts.values()),
            "share": [f"{100 * n / rows:.1f} %" for n in counts.values()],
        }
    )
    left, right = st.columns([1, 2])
    with left:
        st.caption(f"Class balance of {plain(table.target, 60)}")
        st.dataframe(balance, hide_index=True, width="stretch", height=min(300, 38 + 35 * classes))
    with right:
        used = ", ".join(clean(c, 30) for c in table.features[:12])
        more = f" and {feats - 12} more" if feats > 12 else ""
        st.caption(
            f"Features used: {plain(used)}{more} (standardised with the training rows' mean and "
            f"std) · label: {plain(table.target, 60)} · 80/20 train/validation split per class"
            + ("" if raw.header else " · no header row: columns are numbered")
        )
        head = pd.DataFrame(
            {clean(c, 40): list(raw.cells[j][:PREVIEW_ROWS]) for j, c in enumerate(raw.columns)}
        )
        st.dataframe(head, hide_index=True, width="stretch")
    st.caption(
        "Share links carry this file's name and SHA-256, never its data: whoever opens one "
        "is asked to upload the file."
    )

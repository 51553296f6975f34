"""Keep a lab page's whole configuration in the address bar (st.query_params)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.live import limits
from dashboard.plain import plain
from dashboard.state.query_codec import decode, encode, link_family
from dashboard.widgets import editor
from models import CSV_TASK, DEFAULT_FAMILY, FAMILIES, load_preset

# each family's page (an st.Page script in app.py), title and default preset: FAMILIES[family]
# the pages app.py makes for families whose entry names no script (st.Page of render_lab)
FAMILY_PAGES: dict[str, Any] = {}


def page_of(family: str) -> Any:
    """What st.switch_page takes for a family's page: its script, or the page app.py made."""
    return FAMILIES[family].page or FAMILY_PAGES[family]


NOTICE_CHARS = 160  # a notice line longer than this is cut with an ellipsis
OTHER_KEYS = ("run", "tab")  # parameters other pages may use; not ours to complain about


def _params() -> dict[str, str]:
    try:
        return {str(k): v for k, v in st.query_params.to_dict().items()}
    except Exception:
        return {}


def load_from_url(family: str) -> None:
    """First visit of the page in this session: build the draft from the URL (or the default).

    A preset of the other family opens the page it belongs to (with the whole address); values
    above the dashboard's caps are lowered to them, with a notice saying so.
    """
    loaded = f"{family}_loaded"
    if st.session_state.get(loaded) and editor.draft_key(family) in st.session_state:
        return
    params = _params()
    owner = link_family(params) or DEFAULT_FAMILY
    # a link just opened: no family's page has loaded its draft yet
    opened = not any(st.session_state.get(f"{f.key}_loaded") for f in FAMILIES.entries())
    if opened and owner != family and link_family(params) is not None:
        st.session_state[f"{owner}_loaded"] = False  # the other page reads this address afresh
        st.session_state[f"{owner}_moved"] = params.get("preset") or ""
        st.switch_page(page_of(owner), query_params=params)
    st.session_state[loaded] = True
    # ?task=csv without a file: a link to "train on your own CSV". The file can only come by
    # upload (links never carry data), so the page opens on the upload panel instead of
    # rejecting the task with the command line's advice.
    asks_csv = (
        FAMILIES[family].accepts_csv and params.get("task") == CSV_TASK and not params.get("data")
    )
    if asks_csv:
        params = {k: v for k, v in params.items() if k != "task"}
    if params:
        comparison, notices, preset = decode(
            params, family=family, default_preset=FAMILIES[family].default_preset, ignore=OTHER_KEYS
        )
        comparison, lowered = limits.clamp(comparison)
        st.session_state[f"{family}_url_notices"] = notices
        st.session_state[f"{family}_url_lowered"] = lowered
    else:
        preset = FAMILIES[family].default_preset
        comparison = load_preset(preset)
    editor.load_into_state(family, comparison, preset)
    if asks_csv:
        st.session_state[editor.draft_key(family)]["shared"]["task"] = CSV_TASK


def write_url(family: str, comparison, preset: str | None) -> None:
    """Put the current comparison into the address (only when it changed)."""
    try:
        wanted = encode(comparison, preset)
    except Exception:
        return
    if _params() != wanted:
        st.query_params.from_dict(wanted)


def url_notices(notices: list[str]) -> None:
    """One warning box listing whatever the address held that could not be used."""
    if notices:
        lines = "\n".join(f"- {plain(n, NOTICE_CHARS)}" for n in notices)
        st.warning(f"Ignored from the address:\n{lines}", icon=":material/warning:")


def url_lowered(lowered: list[str]) -> None:
    """Values of the address above this dashboard's caps, lowered: one notice naming each."""
    if lowered:
        st.warning(
            "Lowered to this dashboard's limits: "
            + plain("; ".join(lowered), 400)
            + ". The address now holds the values used (the command line has no such caps).",
            icon=":material/vertical_align_bottom:",
        )


def moved_notice(family: str) -> None:
    """Said once on the page a link was sent to because its preset (or config) belongs there."""
    preset = st.session_state.pop(f"{family}_moved", None)
    if preset == "":
        st.info(
            f"The link's settings train {FAMILIES[family].title.lower()}, so it opened on the "
            f"{FAMILIES[family].title} page.",
            icon=":material/swap_horiz:",
        )
    elif preset:
        st.info(
            f"The link's preset '{plain(preset, 60)}' trains {FAMILIES[family].title.lower()}, so "
            f"it opened on the {FAMILIES[family].title} page.",
            icon=":material/swap_horiz:",
        )

"""Keep a lab page's whole configuration in the address bar (st.query_params)."""

from __future__ import annotations

import streamlit as st

from dashboard import editor
from dashboard.plain import plain
from dashboard.query_codec import decode, encode
from models import DEFAULT_PRESET, DEFAULT_RNN_PRESET, PRESETS, load_preset

DEFAULTS = {"mlp": DEFAULT_PRESET, "rnn": DEFAULT_RNN_PRESET}
NOTICE_CHARS = 160  # a notice line longer than this is cut with an ellipsis
OTHER_KEYS = ("run", "tab")  # parameters other pages may use; not ours to complain about


def _params() -> dict[str, str]:
    try:
        return {str(k): v for k, v in st.query_params.to_dict().items()}
    except Exception:
        return {}


def load_from_url(family: str) -> None:
    """First visit of the page in this session: build the draft from the URL (or the default)."""
    loaded = f"{family}_loaded"
    if st.session_state.get(loaded) and editor.draft_key(family) in st.session_state:
        return
    st.session_state[loaded] = True
    params = _params()
    foreign = params.get("preset") in PRESETS and PRESETS[params["preset"]].get("family") != family
    if params and not foreign:
        comparison, notices, preset = decode(params, family=family,
                                             default_preset=DEFAULTS[family], ignore=OTHER_KEYS)  # fmt: skip
        st.session_state[f"{family}_url_notices"] = notices
    else:
        preset = DEFAULTS[family]
        comparison = load_preset(preset)
    editor.load_into_state(family, comparison, preset)


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

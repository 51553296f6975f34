"""The training page shared by "Deep networks" and "Recurrent networks" (one per family)."""

from __future__ import annotations

import streamlit as st

from dashboard.charts.analysis import identical_variants
from dashboard.charts.common import log_scale_note
from dashboard.live import limits, memory, training
from dashboard.plain import plain
from dashboard.state import draft as drafts
from dashboard.state.query_codec import config_key, matching_preset
from dashboard.state.url_state import (
    load_from_url,
    moved_notice,
    url_lowered,
    url_notices,
    write_url,
)
from dashboard.storage.cache import RESULTS
from dashboard.widgets import csv_panel, editor
from dashboard.widgets.result_charts import gradient_profile
from dashboard.widgets.results_view import CHART_CONFIG, chart_frame, colors_of, render_results
from models import (
    CSV_TASK,
    FAMILIES,
    PRESETS,
    Comparison,
    ConfigError,
    resolve_tables,
    run_comparison,
)


def render_lab(family: str, title: str | None = None) -> None:
    """Controls in the sidebar, the variant editor on top, then live training and the charts
    (``title``: the page's heading; the family entry's by default)."""
    fam = FAMILIES[family]
    training.recover_interrupted(family)
    load_from_url(family)
    st.title(title or fam.heading)
    d = st.session_state[editor.draft_key(family)]
    try:  # a preset's name and story only over that preset's own settings
        exact = matching_preset(drafts.to_comparison(d))
    except Exception:  # noqa: BLE001 - settings that cannot run match no preset
        exact = None
    preset = PRESETS.get(exact or "", {})
    st.markdown(fam.intro)
    moved_notice(family)
    url_notices(st.session_state.pop(f"{family}_url_notices", []))
    url_lowered(st.session_state.pop(f"{family}_url_lowered", []))

    with st.sidebar:
        editor.preset_picker(family, exact)
        if preset.get("title"):
            st.caption(preset["title"])
        b1, b2 = st.columns(2)
        train_clicked = b1.button("Train", key=f"{family}_train", type="primary", width="stretch")
        b2.button(
            "Stop",
            key=f"{family}_stop",
            width="stretch",
            help="Stops training and keeps what was trained so far.",
        )
        st.subheader("Shared settings")
        editor.shared_settings(family)
    phone_clicked = _phone_bar(family)
    if train_clicked:
        _close_sidebar_on_phones()
    train_clicked = train_clicked or phone_clicked

    ready = True  # task=csv: a file is uploaded and parses for the chosen target
    if fam.accepts_csv and d["shared"].get("task") == CSV_TASK:
        ready = csv_panel.panel(family, d["shared"])
    elif fam.accepts_csv:
        csv_panel.clear(d["shared"])

    # keyed: the count in the label changes on Add/Remove, the expander must stay what it was;
    # open after any edit in it, so a rerun never folds the editor under the user's hands
    with st.expander(
        f"Variants ({len(d['variants'])}): edit, add, remove",
        expanded=bool(st.session_state.get(editor.editor_open_key(family))),
        key=f"{family}_variants",
    ):
        editor.variant_editor(family)
    if not ready:
        return  # the panel said what is missing; the address keeps the link's settings

    comparison, problem, tables = _validate(d)
    if comparison is not None:
        st.sidebar.caption(limits.cost_line(comparison.variants))
    if problem:
        st.error(
            plain(problem[:1].upper() + problem[1:], 400), icon=":material/block:"
        )  # it may quote user text
    if comparison is not None:  # the address always holds the settings on screen
        write_url(family, comparison, d.get("preset"))

    shown = st.session_state.get(training.result_key(family))
    if train_clicked and comparison is not None and not problem:
        cached = training.train(family, comparison, tables, csv_panel.data_info(comparison))
        if cached:
            st.toast(
                "Same settings as an earlier run: results from the cache.", icon=":material/bolt:"
            )
        shown = st.session_state.get(training.result_key(family))
    if shown is None:
        _preview(family, comparison, tables)
        return
    _status(family, shown, comparison)
    render_results(family, shown["comparison"], shown["result"])


PHONE_MAX_PX = 767  # Streamlit folds the sidebar away below 768 px: the phone bar shows there

# The phone bar (Train and Stop in the main area) only where the sidebar is folded away.
_PHONE_CSS = (  # the wrapper too (:has), or its empty slot leaves a gap on wide screens
    "<style>@media (min-width: %(px)dpx){.st-key-%(f)s_phone_bar,"
    "[data-testid=stLayoutWrapper]:has(> .st-key-%(f)s_phone_bar){display:none !important}}"
    "</style>"
)
# After Train in the sidebar on a phone, the open sidebar would cover the progress and the
# charts: fold it (the same click as the user's own « button).
_CLOSE_SIDEBAR_JS = """<script>
if (window.parent.innerWidth <= %d) {
  const doc = window.parent.document;
  const side = doc.querySelector('[data-testid=stSidebar]');
  const btn = doc.querySelector('[data-testid=stSidebarCollapseButton] button');
  if (side && side.getAttribute('aria-expanded') !== 'false' && btn) btn.click();
}
</script>"""


def _phone_bar(family: str) -> bool:
    """Train and Stop in the main area, shown on narrow screens only; True when Train clicked."""
    st.html(_PHONE_CSS % {"px": PHONE_MAX_PX + 1, "f": family})
    with st.container(key=f"{family}_phone_bar"):
        st.caption("Settings are in the sidebar (» at the top left).")
        c1, c2 = st.columns(2)
        clicked = c1.button("Train", key=f"{family}_train_phone", type="primary", width="stretch")
        c2.button(
            "Stop",
            key=f"{family}_stop_phone",
            width="stretch",
            help="Stops training and keeps what was trained so far.",
        )
    return clicked


def _close_sidebar_on_phones() -> None:
    st.html(_CLOSE_SIDEBAR_JS % PHONE_MAX_PX, unsafe_allow_javascript=True)


def _validate(d: dict) -> tuple[Comparison | None, str | None, dict]:
    """(comparison, why it cannot run, task=csv's tables from this session's upload only)."""
    try:
        comparison = drafts.to_comparison(d)
        tables = resolve_tables(comparison, uploads=csv_panel.uploads())  # never reads a path
    except ConfigError as e:
        return None, f"These settings cannot run: {e}", {}
    except Exception as e:  # never a traceback in the page
        return None, f"These settings cannot run: {e}", {}
    too_big = limits.check(comparison.variants)
    return comparison, too_big, tables


def _status(family: str, shown: dict, comparison: Comparison | None) -> None:
    if shown.get("stopped"):
        st.warning(stop_message(shown, comparison), icon=":material/stop_circle:")
    if comparison is not None and config_key(comparison) != shown["key"]:
        st.info(
            "The charts show the settings you last trained; press **Train** to run the "
            "current settings.",
            icon=":material/info:",
        )


def stop_message(shown: dict, comparison: Comparison | None) -> str:
    """Why training stopped and where, counted per variant like the progress bar and Runs page."""
    step, last = shown.get("step"), shown.get("last")
    at = f" at step {step} of {last}" if last else ""
    why = shown.get("why")
    if why == "stop":
        reason = "you pressed Stop"
    elif why == "rerun" and comparison is not None and config_key(comparison) != shown["key"]:
        reason = "a setting changed while it ran (any change reloads the page, which ends the run)"
    elif why == "rerun":
        reason = "the page was reloaded by a control while it ran (any change ends the run)"
    else:
        reason = "it was cut short"
    return f"Training was stopped{at}: {reason}. Showing what was trained so far."


def _preview(family: str, comparison: Comparison | None, tables: dict) -> None:
    """Before any training: the gradient at initialisation (a steps = 0 run, cached)."""
    st.info(
        "Press **Train** to train every variant side by side. Below: the "
        "gradient each variant receives at initialisation, before any training.",
        icon=":material/arrow_back:",
    )
    if comparison is None:
        return
    zero = training.at_init(comparison)
    key = training.preview_key(comparison)
    res = RESULTS.get(key)
    if res is None:
        with st.spinner("Measuring the gradients at initialisation…"):
            res = run_comparison(zero, tables=tables)
        RESULTS.put(key, res)
        memory.trim()  # the preview's activations are freed: give them back (dashboard/live/memory.py)
    raw = res.metrics_frame()
    frame = chart_frame(raw)
    colors = colors_of(zero)
    fig = gradient_profile(FAMILIES[family], frame, 0, colors)
    st.plotly_chart(fig, config=CHART_CONFIG, key=f"{family}_preview")
    note = log_scale_note(fig)  # the spacing drawn: 10×, 10³×, or values over a narrow range
    st.caption(
        f"{note[:1].upper()}{note[1:]}. A line that drops towards the left means the "
        "early layers (or time steps) barely get any gradient: they cannot learn."
    )
    for name, note in identical_variants(raw, zero.variants, at_init=True).items():
        st.caption(plain(f"“{name}” is {note}: its line lies under the other's."))

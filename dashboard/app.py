"""Gradient Flow Lab: `streamlit run dashboard/app.py`. Sets up, then hands over to the pages."""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

# `streamlit run dashboard/app.py` puts only dashboard/ on sys.path; the engine (models/) and
# this package live one level up, so make them importable without an editable install.
ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import streamlit as st  # noqa: E402

import dashboard.warm  # noqa: E402, F401  (once per process: heavy imports, then gc.freeze)
from dashboard.state import visitor  # noqa: E402
from dashboard.state.url_state import FAMILY_PAGES  # noqa: E402
from dashboard.storage import runs_store  # noqa: E402
from dashboard.widgets.lab import render_lab  # noqa: E402
from models import FAMILIES, configure_threads  # noqa: E402

# torch's intra-op threads: models.core.threads.DEFAULT_THREADS (1: variants run in parallel on
# worker threads instead), set once here rather than left to torch's guess of all cores;
# env GFL_THREADS overrides.
configure_threads()

# A local icon: a ":material/...:" page icon makes every visitor's browser fetch the favicon
# from fonts.gstatic.com, a request leaving the server (tests/browser/test_trust.py).
ICON = str(Path(__file__).resolve().parent / "icon.png")
st.set_page_config(page_title="Gradient Flow Lab", page_icon=ICON, layout="wide")
st.session_state.setdefault("variant_counter", 0)  # ids for variant widgets, never reused

# Adding a page is one line here (a script path relative to this file, or a callable).
# The default page is served at "/" (Streamlit ignores its url_path there), so "/deep" needs a
# page of its own: a hidden one that forwards to "/" with the address's parameters.
DEEP = st.Page(
    "views/deep.py", title="Deep networks", icon=":material/stacks:", url_path="", default=True
)


def _deep_alias() -> None:
    """/deep (an address people share): the Deep networks page, which lives at /."""
    st.switch_page(DEEP, query_params=st.query_params.to_dict())


PAGES = [
    DEEP,
    st.Page(
        "views/recurrent.py",
        title="Recurrent networks",
        icon=":material/repeat:",
        url_path="recurrent",
    ),
    st.Page(
        "views/transformer.py",
        title="Transformers",
        icon=":material/hub:",
        url_path="transformers",
    ),
    st.Page(
        "views/phase.py",
        title="Phase diagrams",
        icon=":material/grid_on:",
        url_path="phase",
    ),
    st.Page("views/toy.py", title="The toy model", icon=":material/science:", url_path="toy"),
    st.Page("views/theory.py", title="Theory", icon=":material/functions:", url_path="theory"),
    st.Page("views/runs.py", title="Runs", icon=":material/history:", url_path="runs"),
    st.Page(_deep_alias, title="Deep networks", url_path="deep", visibility="hidden"),
]
# A family whose FAMILIES entry names no page script (one registered later) gets the shared lab
# page under its own address, after the two above: adding a family needs nothing here.
for _fam in FAMILIES.entries():
    if not _fam.page:
        FAMILY_PAGES[_fam.name] = st.Page(
            partial(render_lab, _fam.name), title=_fam.title, url_path=_fam.key
        )
        PAGES.insert(2, FAMILY_PAGES[_fam.name])

# Streamlit's default top padding pushes the first chart below the fold on a laptop screen.
st.html("<style>[data-testid='stMainBlockContainer']{padding-top:2.5rem}</style>")
with st.sidebar:
    st.markdown("### :material/trending_down: Gradient Flow Lab")
visitor.remember()  # public mode: who this is (login or a browser cookie); local mode: nothing
runs_store.status_banner()  # the run database is away: say runs wait, save them when back
st.navigation(PAGES).run()

"""Issue 11 through AppTest: user text stays plain text on every page it reaches (§1)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.plain import plain
from dashboard.query_codec import encode
from models import Comparison
from models.io.presets import load_preset

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")

# what Markdown or Plotly would turn into something other than the text itself
HOSTILE_NAMES = [
    "[click](http://evil.example/a)",
    "![px](http://evil.example/p.png)",
    "<img src=http://evil.example/i.png>",
    "$\\frac{1}{0}$ :red[red]",
    ":material/home: :smile: www.evil.example",
    "<a href='http://evil.example'>a</a> " + "W" * 20,
]
HOSTILE_TITLE = (
    "[t](http://evil.example/t) ![p](http://evil.example/t.png) <b>x</b> $x^2$ :blue[b] "
    "\u202eRTL\u202c \x07bell\n# heading " + "long " * 18
)
RAW = ("](http", "<img", "<a ", "$\\frac", ":red[", ":smile:", ":material/home:", "\u202e", "\x07")
MARKDOWN_ELEMENTS = ("markdown", "caption", "info", "warning", "error", "success", "subheader",
                     "title", "header", "toast")  # fmt: skip


@pytest.fixture(autouse=True, scope="module")
def _private_run_store(tmp_path_factory):
    old = os.environ.get("GFL_STORE")
    os.environ["GFL_STORE"] = str(tmp_path_factory.mktemp("store") / "runs.sqlite")
    yield
    if old is None:
        os.environ.pop("GFL_STORE", None)
    else:
        os.environ["GFL_STORE"] = old


def hostile_comparison(steps: int = 8) -> Comparison:
    base = load_preset("deep-mlp", {"steps": steps, "seeds": 1, "depth": 6})
    variants = [dataclasses.replace(v, name=n) for v, n in zip(base.variants, HOSTILE_NAMES)]
    return Comparison(variants, HOSTILE_TITLE)


def app(page: str | None = None, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    if page:
        at.switch_page(page)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def markdown_texts(at: AppTest) -> list[str]:
    """The Markdown source of every text element and widget label on the page."""
    out = []
    for kind in MARKDOWN_ELEMENTS:
        out += [str(e.value) for e in at.get(kind)]
    for kind in ("button", "text_input", "number_input", "selectbox", "slider", "toggle",
                 "multiselect", "segmented_control", "tab", "expander"):  # fmt: skip
        for e in at.get(kind):
            label = getattr(e, "label", None) or getattr(e.proto, "label", "")
            out.append(str(label))
    for e in at.get("segmented_control") + at.get("button_group"):
        out += [str(o) for o in getattr(e, "options", [])]
    return out


def strings(obj) -> list[str]:
    """Every string inside a JSON value."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in strings(v)]
    return []


def assert_inert(at: AppTest) -> None:
    for text in markdown_texts(at):
        live = re.sub(r"\\.", "", text)  # what Markdown reads as syntax: escaped pairs dropped
        for raw in RAW:
            assert raw not in live, f"{raw!r} reaches Markdown in {text!r}"
    for el in at.get("plotly_chart"):
        for text in strings(json.loads(el.proto.spec)):
            for tag in ("<a ", "<img", "<b>", "\u202e"):
                assert tag not in text, f"{tag!r} reaches a Plotly text: {text!r}"


@pytest.fixture(scope="module")
def hostile_run(_private_run_store):
    """The deep page opened from a crafted link with hostile names and title, then trained."""
    at = app(**encode(hostile_comparison()))
    ok(at)
    at.button(key="mlp_train").click().run()
    ok(at)
    return at


def test_a_crafted_link_loads_hostile_names_as_plain_text(hostile_run):
    d = hostile_run.session_state["mlp_draft"]
    assert [v["name"] for v in d["variants"]] == HOSTILE_NAMES  # the names are kept as typed
    assert d["title"] == HOSTILE_TITLE
    assert_inert(hostile_run)
    texts = " ".join(markdown_texts(hostile_run))
    assert plain(HOSTILE_NAMES[0], 28) in texts  # shown, escaped, in the variant picker
    headline = hostile_run.info[0].value
    assert "At initialisation" in headline and "](http" not in headline


def test_hostile_names_are_escaped_in_every_chart(hostile_run):
    names = set()
    for el in hostile_run.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        names |= {t.get("name", "") for t in spec["data"]}
    assert "&lt;img src=http://evil.example/i.png&gt;" in names
    assert "[click](http://evil.example/a)" in names  # no HTML: Plotly shows it as typed


def test_a_second_visitor_opens_the_run_safely(hostile_run):
    from dashboard.runs_store import get_store

    store, _ = get_store()
    rid = store.list_runs()[0]["id"]
    at = app("views/runs.py", run=str(rid))
    ok(at)
    assert at.session_state["runs_open"] == rid
    assert "Trade-offs" in [h.value for h in at.subheader]
    assert_inert(at)
    heading = [m.value for m in at.markdown if f"run #{rid}" in m.value]
    assert heading and plain(HOSTILE_TITLE, 200) in heading[0]
    table = at.dataframe[0].value
    assert "\u202e" not in " ".join(table["preset / title"]) and "\n" not in " ".join(
        table["preset / title"]
    )

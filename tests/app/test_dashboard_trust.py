"""Issue 11 through AppTest: user text stays plain text on every page it reaches (§1)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.plain import plain
from dashboard.state.query_codec import encode
from models import Comparison
from models.io.presets import load_preset
from tests.helpers import APP_TIMEOUT, ok

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")

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
MARKDOWN_ELEMENTS = (
    "markdown",
    "caption",
    "info",
    "warning",
    "error",
    "success",
    "subheader",
    "title",
    "header",
    "toast",
)


def hostile_comparison(steps: int = 8) -> Comparison:
    base = load_preset("deep-mlp", {"steps": steps, "seeds": 1, "depth": 6})
    variants = [dataclasses.replace(v, name=n) for v, n in zip(base.variants, HOSTILE_NAMES)]
    return Comparison(variants, HOSTILE_TITLE)


def app(page: str | None = None, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    if page:
        at.switch_page(page)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def markdown_texts(at: AppTest) -> list[str]:
    """The Markdown source of every text element and widget label on the page."""
    out = []
    for kind in MARKDOWN_ELEMENTS:
        out += [str(e.value) for e in at.get(kind)]
    for kind in (
        "button",
        "text_input",
        "number_input",
        "selectbox",
        "slider",
        "toggle",
        "multiselect",
        "segmented_control",
        "tab",
        "expander",
    ):
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


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_second_visitor_opens_the_run_safely(hostile_run):
    from dashboard.storage.runs_store import get_store

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


# §2: edits land on the variant they were made on ------------------------------------------


@pytest.mark.slow
def test_edits_after_a_rename_land_on_that_variant():
    at = app()
    at.button(key="mlp_add").click().run()
    d = at.session_state["mlp_draft"]
    seventh = d["variants"][6]["_id"]
    assert at.segmented_control(key="mlp_editing").value == seventh  # Add opens the new one
    assert at.session_state["mlp_editor_open"]
    at.text_input(key=f"mlp_v{seventh}_name").input("seventh, renamed").run()
    assert at.segmented_control(key="mlp_editing").value == seventh  # still selected
    at.selectbox(key=f"mlp_v{seventh}_init").select("orthogonal").run()
    at.number_input(key=f"mlp_v{seventh}_clip_norm").set_value(0.5).run()
    at.number_input(key=f"mlp_v{seventh}_clip_value").set_value(0.05).run()
    ok(at)
    assert at.segmented_control(key="mlp_editing").value == seventh
    d = at.session_state["mlp_draft"]
    v7, base = d["variants"][6], d["variants"][0]
    assert (v7["name"], v7["init"], v7["clip_norm"], v7["clip_value"]) == (
        "seventh, renamed",
        "orthogonal",
        0.5,
        0.05,
    )
    fresh = load_preset("deep-mlp").variants[0]
    assert (base["name"], base["init"], base["clip_norm"], base["clip_value"]) == (
        fresh.name,
        fresh.init,
        fresh.clip_norm,
        fresh.clip_value,
    )
    # only the chosen variant's widgets are on the page: no edit can reach another one
    assert {w.key for w in at.number_input if w.key.startswith("mlp_v")} <= {
        f"mlp_v{seventh}_{f}"
        for f in ("init_gain", "lr", "momentum", "clip_norm", "clip_value", "bias_std")
    }


def test_removing_the_edited_variant_selects_its_neighbour():
    at = app()
    d = at.session_state["mlp_draft"]
    third, fourth = d["variants"][2]["_id"], d["variants"][3]["_id"]
    at.segmented_control(key="mlp_editing").set_value(third).run()
    at.button(key=f"mlp_v{third}_remove").click().run()
    ok(at)
    assert at.segmented_control(key="mlp_editing").value == fourth


def _stopped_app(steps: int = 100):
    from models import run_comparison

    comp = load_preset("deep-mlp", {"steps": steps, "seeds": 1})
    seen = []
    partial = run_comparison(comp, callback=lambda p: seen.append(p.done_steps) or len(seen) < 2)
    at = app()
    at.session_state["mlp_running"] = {
        "key": "k",
        "comparison": comp,
        "result": partial,
        "done": seen[-1],
        "total": 6 * (steps + 1),
    }
    return at, seen[-1] // 6 - 1


@pytest.mark.slow
def test_stop_says_why_and_counts_steps_per_variant():
    at, step = _stopped_app()
    at.button(key="mlp_stop").click().run()
    ok(at)
    text = " ".join(w.value for w in at.warning)
    assert f"at step {step} of 100" in text and "you pressed Stop" in text


@pytest.mark.slow
def test_a_setting_changed_mid_run_says_that_is_why_training_stopped():
    at, step = _stopped_app()
    at.number_input(key="mlp_s_depth").set_value(7).run()
    ok(at)
    text = " ".join(w.value for w in at.warning)
    assert f"at step {step} of 100" in text and "a setting changed while it ran" in text


# §4: links, limits and messages ---------------------------------------------------------


def test_a_recurrent_preset_on_the_deep_page_opens_the_recurrent_page():
    at = app(preset="exploding-rnn")
    ok(at)
    assert at.title[0].value.startswith("Recurrent networks")
    assert at.session_state["rnn_draft"]["preset"] == "exploding-rnn"
    assert any("opened on the Recurrent networks page" in i.value for i in at.info)
    at = app("views/recurrent.py", preset="deep-mlp")  # and the other way round
    ok(at)
    assert at.title[0].value.startswith("Deep networks")
    assert at.session_state["mlp_draft"]["preset"] == "deep-mlp"


def test_values_over_the_caps_are_lowered_with_a_notice_and_the_address_rewritten():
    at = app(steps="50000", width="512", seeds="16")
    assert not at.exception
    lowered = [w.value for w in at.warning if "Lowered" in w.value]
    assert lowered and all(s in lowered[0] for s in ("50000", "3000", "512", "256", "16", "4"))
    shared = at.session_state["mlp_draft"]["shared"]
    assert (shared["steps"], shared["width"], shared["seeds"]) == (3000, 256, 4)
    q = {k: at.query_params[k] for k in ("steps", "width", "seeds")}
    assert {k: (v[-1] if isinstance(v, list) else v) for k, v in q.items()} == {
        "steps": "3000",
        "width": "256",
        "seeds": "4",
    }


def test_a_refused_run_says_what_to_lower_not_how_to_raise_the_cap():
    at = app(steps="3000", width="256", seeds="4")
    text = " ".join(e.value for e in at.error)
    assert "GFLOP" in text and "Lower the training steps" in text
    assert "GFL_MAX" not in text and "raise" not in text


def test_a_link_to_a_missing_run_says_it_does_not_exist():
    at = app("views/runs.py", run="999999")
    assert not at.exception
    assert any("Run #999999 does not exist" in w.value for w in at.warning)
    at = app("views/runs.py", run="abc")
    assert any("not a run number" in w.value for w in at.warning)


def test_delete_asks_for_confirmation(hostile_run):
    from dashboard.storage.runs_store import get_store

    store, _ = get_store()
    rid = store.list_runs()[0]["id"]
    at = app("views/runs.py")
    at.selectbox(key="runs_pick").set_value(rid).run()
    at.button(key="runs_delete").click().run()
    ok(at)
    assert rid in [r["id"] for r in store.list_runs()]  # nothing deleted yet: it asks
    assert any(f"Delete run #{rid} for everyone" in w.value for w in at.warning)
    at.button(key="runs_delete_no").click().run()
    assert rid in [r["id"] for r in store.list_runs()]
    assert not any("Delete run" in w.value for w in at.warning)
    at.button(key="runs_delete").click().run()
    at.button(key="runs_delete_yes").click().run()
    ok(at)
    assert rid not in [r["id"] for r in store.list_runs()]
    assert any(f"Run #{rid} deleted" in s.value for s in at.success)


def test_phones_get_a_train_button_in_the_main_area():
    at = app(steps="5", seeds="1")
    at.button(key="mlp_train_phone").click().run()
    ok(at)
    assert at.session_state["mlp_result"]["comparison"].variants[0].steps == 5

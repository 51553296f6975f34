"""Issue 22 §3, "What a visitor found", through AppTest and the export functions.

Browser-only behaviour (the 413 upload, a phase-diagram click, phone layouts) is in
tests/browser/test_visitor_browser.py.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import threading
import tomllib
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import streamlit.testing.v1.app_test as app_test_module
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from dashboard.live import training
from dashboard.state import draft as drafts
from dashboard.state.query_codec import config_key, decode, encode, pack
from dashboard.storage.cache import RESULTS
from dashboard.widgets import csv_panel
from models import (
    MAX_DATA_BYTES,
    MAX_DATA_ROWS,
    Comparison,
    RunResult,
    load_preset,
    run_comparison,
    safe_csv,
)
from models.io.safe_csv import FORMULA_STARTS, neutralise

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "dashboard" / "app.py")
# the names the visitor put in a crafted link (issue 22), and the rest of OWASP's starts
HOSTILE = [
    '=HYPERLINK("http://attacker.invalid","x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3+cmd|' /C calc'!A0",
    "\t=1+2",  # the engine strips a name's spaces: what reaches the file starts with =
    "\r=3+4",
]


@pytest.fixture(autouse=True, scope="module")
def _private_run_store(tmp_path_factory):
    old = os.environ.get("GFL_STORE")
    os.environ["GFL_STORE"] = str(tmp_path_factory.mktemp("store") / "runs.sqlite")
    yield
    if old is None:
        os.environ.pop("GFL_STORE", None)
    else:
        os.environ["GFL_STORE"] = old


def app(page: str | None = None, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    if page:
        at.switch_page(page)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def hostile_link(steps: int = 4) -> str:
    """A crafted ?cfg= value: deep-mlp's first variants renamed to formulas."""
    base = load_preset("deep-mlp", {"steps": steps, "seeds": 1, "depth": 4, "width": 16})
    variants = [dataclasses.replace(v, name=n) for v, n in zip(base.variants, HOSTILE)]
    return pack(Comparison(variants, "=1+1 title").to_json_dict())


def cells(text: str) -> list[str]:
    return [c for row in csv.reader(io.StringIO(text)) for c in row]


def assert_inert(text: str) -> None:
    """No cell a spreadsheet would run: any that starts with = + - @ tab CR is a number."""
    for c in cells(text):
        if c.startswith(FORMULA_STARTS):
            float(c)  # raises for text: a formula reached the file


# --- uploads ---------------------------------------------------------------------------------


def test_the_upload_limit_is_one_number_in_config_toml_the_uploader_and_the_page():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    mb = config["server"]["maxUploadSize"]
    assert mb == MAX_DATA_BYTES // 2**20 == csv_panel.UPLOAD_MB  # the server refuses above it
    at = app(preset="deep-mlp", task="csv")  # the upload panel, before any upload
    ok(at)
    uploader = at.get("file_uploader")[0]
    assert uploader.proto.max_upload_size_mb == mb
    said = " ".join(c.value for c in at.caption)
    assert f"Up to {mb} MB, {MAX_DATA_ROWS:,} rows" in said


def test_a_task_csv_link_opens_the_upload_panel_with_no_command_line_advice():
    at = app(task="csv")
    ok(at)
    assert at.selectbox(key="mlp_s_task").value == "csv"
    assert at.get("file_uploader"), "the link must lead to the upload"
    text = " ".join(str(e.value) for k in ("warning", "info", "caption") for e in at.get(k))
    assert "--set" not in text and "data=table.csv" not in text
    assert "Upload a CSV file" in text


# --- CSV injection -----------------------------------------------------------------------------


def test_neutralise_prefixes_text_formulas_and_leaves_numbers_alone():
    for h in [*HOSTILE, "\t=1+1", "\r=1+1", "-1+1"]:
        assert neutralise(h) == "'" + h
    for same in ("-0.5", "+3", "-1e-05", "-inf", "plain", "a=b", "", -0.5, 3, None):
        assert neutralise(same) == same
    frame = pd.DataFrame({"name": ["=1+1", "ok", "-0.5"], "value": [-0.5, 1e-300, -2.0]})
    out = pd.read_csv(io.StringIO(safe_csv(frame)))
    assert [str(x) for x in out["name"]] == ["'=1+1", "ok", "-0.5"]
    assert out["value"].tolist() == frame["value"].tolist()  # numbers exactly as before


@pytest.fixture(scope="module")
def hostile_run():
    comp, notices, _ = decode({"cfg": hostile_link()}, family="mlp")
    assert not notices and [v.name for v in comp.variants] == [h.strip() for h in HOSTILE]
    return comp, run_comparison(comp)


def test_every_export_of_a_crafted_link_is_formula_safe_and_numbers_are_unchanged(
    hostile_run, tmp_path
):
    from dashboard.storage import exports
    from models.store.runs import open_store

    comp, res = hostile_run
    metrics, summary = exports.metrics_csv(res).decode(), exports.summary_csv(res).decode()
    assert_inert(metrics)
    assert_inert(summary)
    # the names are still there, as text a spreadsheet shows
    assert f"'{HOSTILE[0]}" in cells(metrics) and f"'{HOSTILE[1]}" in cells(summary)
    # numbers: what the CLI writes (RunResult.write) for the same run, value for value
    res.write(tmp_path)
    cli = pd.read_csv(tmp_path / "metrics.csv")
    ours = pd.read_csv(io.StringIO(metrics))
    pd.testing.assert_series_equal(cli["value"], ours["value"])
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "summary.csv").drop(columns="variant"),
        pd.read_csv(io.StringIO(summary)).drop(columns="variant"),
    )
    store = open_store(tmp_path / "runs.sqlite")
    rid = store.save_run(comp, res, "finished")
    z = zipfile.ZipFile(io.BytesIO(store.export_run(rid)))
    for name in ("metrics.csv", "summary.csv"):
        assert_inert(z.read(name).decode())


def test_sweep_csv_downloads_are_formula_safe():
    from models.sweep import SweepResult, sweep_from_dict
    from models.sweep.presets import sweep_preset_dict

    d = sweep_preset_dict("tanh-phase-diagram")
    d.update(steps=2, seeds=1, grid={"init_gain": [1.0], "depth": [3]})
    d["variants"] = [{"name": HOSTILE[0]}]
    spec = sweep_from_dict(d)
    row = {c: -0.5 for c in SweepResult(spec, []).columns}
    row.update({"variant": HOSTILE[0], "error": HOSTILE[2]})
    text = safe_csv(SweepResult(spec, [row]).frame())
    assert_inert(text)
    assert f"'{HOSTILE[0]}" in cells(text) and "-0.5" in cells(text)


@pytest.mark.slow
def test_the_crafted_link_downloads_on_the_page_and_the_runs_zip_are_formula_safe(monkeypatch):
    stores: list[MemoryMediaFileStorage] = []

    class Capture(MemoryMediaFileStorage):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            stores.append(self)

    def files(at: AppTest) -> dict[str, bytes]:
        out = {}
        for el in at.get("download_button"):
            name = el.proto.url.rsplit("/", 1)[-1]
            out[el.proto.label] = stores[-1].get_file(name).content
        return out

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", Capture)
    at = app(cfg=hostile_link(steps=3))
    ok(at)
    at.button(key="mlp_train").click().run()
    ok(at)
    got = files(at)
    for label in ("Metrics CSV", "Summary CSV"):
        assert_inert(got[label].decode())
        assert f"'{HOSTILE[0]}" in cells(got[label].decode())
    at.switch_page("views/runs.py").run()
    ok(at)
    z = zipfile.ZipFile(io.BytesIO(files(at)["Export (zip)"]))
    for name in ("metrics.csv", "summary.csv"):
        text = z.read(name).decode()
        assert_inert(text)
        assert f"'{HOSTILE[0]}" in cells(text)


# --- a crafted config never wears a preset's name ----------------------------------------------


def _sidebar_story(at: AppTest) -> str:
    return " ".join(c.value for c in at.sidebar.caption)


def test_a_crafted_config_shows_custom_not_the_preset_it_was_decoded_over():
    story = load_preset("deep-mlp").title
    at = app(cfg=hostile_link())
    ok(at)
    assert at.selectbox(key="mlp_preset").value == "custom"
    assert story not in _sidebar_story(at)
    assert "preset" not in at.query_params  # the address does not name it either
    same = app(preset="deep-mlp")  # the preset itself keeps its name and story
    assert same.selectbox(key="mlp_preset").value == "deep-mlp"
    assert story in _sidebar_story(same)
    edited = app(preset="deep-mlp", steps="7")  # a readable link: preset + override, "custom"
    assert edited.selectbox(key="mlp_preset").value == "custom"
    assert story not in _sidebar_story(edited)


def test_encode_never_puts_a_preset_name_beside_a_whole_config():
    comp, _, _ = decode({"cfg": hostile_link()}, family="mlp")
    assert encode(comp, "deep-mlp").keys() == {"cfg"}


def test_a_sweep_point_opened_on_the_training_page_is_custom():
    from models.sweep import sweep_from_dict
    from models.sweep.presets import sweep_preset_dict

    spec = sweep_from_dict(sweep_preset_dict("tanh-phase-diagram"))
    comp = spec.point_comparison(3)
    at = app()
    at.session_state["mlp_draft"] = drafts.from_comparison(comp, "")  # as _open_point does
    at.session_state["mlp_loaded"] = True
    at.run()
    ok(at)
    assert at.selectbox(key="mlp_preset").value == "custom"
    assert load_preset("deep-mlp").title not in _sidebar_story(at)


# --- identical runs: a queued run takes the result the first one left --------------------------


def test_a_queued_identical_run_returns_the_first_runs_result_without_training(monkeypatch):
    at = app(preset="deep-mlp", steps="4", seeds="1", depth="4", width="16")
    ok(at)
    comp = drafts.to_comparison(at.session_state["mlp_draft"])
    first = run_comparison(comp)  # what the first visitor's run will leave in the cache
    key = config_key(comp)
    RESULTS.clear()
    calls = []
    real = training.run_comparison

    def counting(*a, **k) -> RunResult:
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(training, "run_comparison", counting)
    # GFL_CONCURRENT_RUNS=1 (the default): one slot, and the first visitor is training in it
    monkeypatch.setattr(training, "_SLOTS", threading.BoundedSemaphore(1))
    assert training._SLOTS.acquire(timeout=5)

    def first_visitor_done() -> None:
        RESULTS.put(key, first)
        training._SLOTS.release()

    done = threading.Timer(1.5, first_visitor_done)
    done.start()
    try:
        at.button(key="mlp_train").click().run()
    finally:
        done.join()
    ok(at)
    assert calls == [], "the queued run trained again instead of taking the cached result"
    assert at.session_state["mlp_result"]["result"] is first
    assert any("from the cache" in t.value for t in at.toast)


# --- the smaller findings ----------------------------------------------------------------------


def _profile(values_by_layer: list[float]):
    from dashboard.charts import common, gradients

    rows = [("a", 0, 0, "grad_norm", i + 1, v) for i, v in enumerate(values_by_layer)]
    frame = pd.DataFrame(rows, columns=["variant", "seed", "step", "metric", "index", "value"])
    return gradients.profile_figure(frame, 0, common.variant_colors(["a"]))


def test_the_log_scale_caption_says_the_gridlines_the_axis_draws():
    from dashboard.charts.common import log_scale_note

    assert log_scale_note(_profile([1e-3, 1e-2, 1e-1, 1.0])) == "log scale: each gridline is 10×"
    many = log_scale_note(_profile([1e-30, 1e-20, 1e-10, 1.0]))  # 30 decades: every 4th labelled
    assert "10⁴×" in many and "each gridline is 10×" not in many
    narrow = log_scale_note(_profile([0.50, 0.52, 0.54]))  # less than a decade
    assert "10×" not in narrow.replace("not 10×", "")


def test_the_preview_caption_is_read_from_the_figure():
    import json

    import plotly.graph_objects as go

    from dashboard.charts.common import log_scale_note

    for preset in ("deep-mlp", "init-showdown"):  # 10× gridlines, and many decades
        at = app(preset=preset)
        ok(at)
        spec = json.loads(at.get("plotly_chart")[0].proto.spec)
        note = log_scale_note(go.Figure(spec))
        captions = [c.value for c in at.caption if "gridline" in c.value]
        assert len(captions) == 1 and captions[0].lower().startswith(note), (note, captions)


def test_a_diverged_label_near_the_left_edge_reads_rightwards_and_is_not_clipped():
    from dashboard.charts import common, curves

    rows = [("a", 0, s, "loss", 0, 1.0) for s in range(0, 101, 4)]
    rows += [("a", 0, 4, "diverged", 0, 1.0)]
    frame = pd.DataFrame(rows, columns=["variant", "seed", "step", "metric", "index", "value"])
    fig = curves.curves_figure(frame, ("loss",), common.variant_colors(["a"]), "L", "l")
    mark = [t for t in fig.data if (t.meta or {}).get("diverged") == 4][0]
    assert mark.text == ("diverged @ 4",)
    assert mark.textposition == "top right" and mark.cliponaxis is False


def test_an_accuracy_axis_never_runs_past_1():
    from dashboard.charts import common, curves

    rows = [("a", 0, s, "val_accuracy", 0, 0.99) for s in range(0, 50, 5)]
    rows += [("a", 0, 45, "diverged", 0, 1.0)]
    frame = pd.DataFrame(rows, columns=["variant", "seed", "step", "metric", "index", "value"])
    fig = curves.curves_figure(frame, ("val_accuracy",), common.variant_colors(["a"]), "A", "a")
    opts = fig.layout.yaxis.autorangeoptions
    assert opts.maxallowed is not None and opts.maxallowed <= 1.05
    assert opts.minallowed is not None and opts.minallowed >= -0.05


@pytest.mark.parametrize("preset", ["init-showdown", "deep-residual", "deep-mlp"])
def test_heatmap_panel_titles_fit_a_phone_panel(preset):
    from dashboard.charts import common, gradients
    from dashboard.widgets.results_view import chart_name

    names = [chart_name(v.name) for v in load_preset(preset).variants]
    rows = [(n, 0, s, "grad_norm", i, 0.1) for n in names for s in (0, 5) for i in (1, 2)]
    frame = pd.DataFrame(rows, columns=["variant", "seed", "step", "metric", "index", "value"])
    fig = gradients.heatmap_figure(frame, common.variant_colors(names))
    titles = [a.text for a in fig.layout.annotations if a.text and "diverged" not in a.text]
    assert len(titles) == len(names)
    for t in titles:  # a 390 px phone gives a panel of three ~90 px: 12 characters of 11 px
        lines = t.split("<br>")
        assert len(lines) <= 2
        assert all(len(line.replace("&lt;", "<").replace("&gt;", ">")) <= 12 for line in lines)


def test_the_sweep_sidebar_line_counts_the_seeds():
    from dashboard.views.phase import seeds_line
    from models.sweep import sweep_from_dict
    from models.sweep.presets import sweep_preset_dict

    d = sweep_preset_dict("tanh-phase-diagram")
    assert seeds_line(sweep_from_dict(d)) == "45 grid points × 1 variant × 2 seeds = 90 runs"
    d.update(seeds=1)
    assert seeds_line(sweep_from_dict(d)).endswith("× 1 seed = 45 runs")


def test_the_sweep_progress_line_agrees_with_the_bar():
    from dashboard.views.phase import progress_text

    class P:
        fraction, done_points, total_points, eta_s = 0.2, 0, 45, 30.0

    text = progress_text(P(), 1)
    assert "20% of the work" in text and "0 of 45 grid points finished" in text
    assert "done" not in text  # "0 of 45 done" beside a fifth-full bar read as a contradiction


def test_the_phase_page_says_what_the_6_xi_line_promises_and_what_the_budget_adds():
    from dashboard.views.phase import figure
    from models.sweep import run_sweep, sweep_from_dict
    from models.sweep.presets import sweep_preset_dict

    d = sweep_preset_dict("tanh-phase-diagram")
    d.update(steps=5, seeds=1, grid={"init_gain": [0.7071, 2.0], "depth": [3, 30]})
    spec = sweep_from_dict(d)
    _, before = figure(spec, [], "final validation accuracy")
    said = " ".join(before)
    assert "signals stop propagating" in said and "bound" in said and "5 training steps" in said
    assert "trainable while" not in said  # the old promise
    rows = run_sweep(spec).rows
    _, after = figure(spec, rows, "final validation accuracy")
    said = " ".join(after)
    assert "trained cells below the line" in said and "did not reach the target in 5 steps" in said


def test_the_theory_pages_chi1_table_has_the_pages_width():
    at = app("views/theory.py")
    ok(at)

    def chi_tables(node) -> list:
        return [t for t in node.dataframe if "χ₁" in list(t.value.columns)]

    assert len(chi_tables(at)) == 1
    # not inside the quarter-width column of controls, where it was cut at its 4th column
    assert not [t for c in at.columns for t in chi_tables(c)]
    assert list(chi_tables(at)[0].value.columns) == [
        "activation",
        "χ₁",
        "depth scale |ξ|",
        "trainable depth 6ξ_c",
        "gradients",
    ]


def test_trade_off_tables_show_a_dash_not_none_for_missing_values():
    at = app(preset="init-showdown", steps="3", seeds="1", depth="6")
    at.button(key="mlp_train").click().run()
    ok(at)
    table = [t for t in at.dataframe if "steps to target" in t.value.columns][0]
    assert table.value["steps to target"].isna().any()  # a missing value to show
    assert table.proto.placeholder == "—", "Streamlit shows a missing value as 'None'"
    cond = [t for t in at.dataframe if any("s_max/s_min" in c for c in t.value.columns)][0]
    assert cond.proto.placeholder == "—"


def test_the_phase_diagrams_long_title_wraps_to_fit_a_phone():
    from dashboard.views.phase import figure
    from models.sweep import sweep_from_dict
    from models.sweep.presets import sweep_preset_dict

    spec = sweep_from_dict(sweep_preset_dict("tanh-phase-diagram"))
    assert len(spec.title) > 60  # one line of it was cut at 390 px
    fig, _ = figure(spec, [], "final validation accuracy")
    lines = fig.layout.title.text.split("<br>")
    assert len(lines) >= 2 and all(len(x) <= 48 for x in lines)

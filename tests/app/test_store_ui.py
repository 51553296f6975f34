"""The Runs page through AppTest, on a temporary store seeded via GFL_STORE."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from models import comparison_from_dict, run_comparison
from models.store.runs import RunStore
from tests.helpers import APP_TIMEOUT, ok

MLP = {
    "title": "tiny mlp",
    "depth": 3,
    "width": 8,
    "steps": 6,
    "log_every": 2,
    "variants": [{"name": "sigmoid"}, {"name": "relu", "activation": "relu"}],
}
RNN = {
    "title": "tiny rnn",
    "family": "rnn",
    "task": "adding",
    "seq_len": 8,
    "hidden": 6,
    "steps": 4,
    "log_every": 2,
    "variants": [{"name": "lstm", "cell": "lstm"}],
}


def _script():
    from dashboard.views.runs import runs_page

    runs_page()


@pytest.fixture(scope="module")
def trained():
    out = {}
    for key, cfg in (("mlp", MLP), ("rnn", RNN)):
        comp = comparison_from_dict(cfg)
        out[key] = (comp, run_comparison(comp, threads=1))
    return out


@pytest.fixture
def store_path(tmp_path, monkeypatch, trained):
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("GFL_STORE", str(path))
    store = RunStore(path)
    store.save_run(*trained["mlp"], "finished", preset="tiny-mlp")
    store.save_run(*trained["rnn"], "stopped")
    store.close()
    return path


def app() -> AppTest:
    return AppTest.from_function(_script, default_timeout=APP_TIMEOUT).run()


def charts(at: AppTest) -> dict[str, list[str]]:
    """Trace names of every chart by title."""
    out = {}
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        title = spec["layout"].get("title", {}).get("text", "")
        out[title.split(" at step")[0]] = [t.get("name", "") for t in spec["data"]]
    return out


def test_lists_runs_newest_first_with_settings_and_outcome(store_path):
    at = app()
    ok(at)
    table = at.dataframe[0].value
    assert list(table["run"]) == [2, 1]
    assert list(table["outcome"]) == ["stopped", "finished"]
    assert table["preset / title"].tolist() == ["tiny rnn", "tiny-mlp"]
    assert "depth 3 × width 8" in table["settings"].iloc[1]
    assert table["steps"].tolist() == ["4 / 4", "6 / 6"]


def test_overlay_draws_the_chosen_runs_together(store_path):
    at = app()
    ok(at)
    assert at.multiselect(key="runs_overlay").value == [2]
    at.multiselect(key="runs_overlay").set_value([1, 2]).run()
    ok(at)
    loss = [n for n in charts(at)["Loss"] if not n.endswith("band")]
    assert {"#1 sigmoid", "#1 relu", "#2 lstm"} <= {n.split(" (")[0] for n in loss}
    assert not any("Gradient" in t for t in charts(at))  # mixed families: no shared profile
    at.multiselect(key="runs_overlay").set_value([1]).run()
    ok(at)
    profile = [t for t in charts(at) if t.startswith("Gradient per layer")]
    assert profile and {"#1 sigmoid", "#1 relu"} <= set(charts(at)[profile[0]])


@pytest.mark.slow
def test_open_full_view_and_export(store_path):
    at = app()
    at.selectbox(key="runs_pick").set_value(1).run()
    at.button(key="runs_open_btn").click().run()
    ok(at)
    assert "Trade-offs" in [h.value for h in at.subheader]
    assert any(
        t.startswith("Gradient norm per layer") or t.startswith("Gradient") for t in charts(at)
    )


def test_delete_removes_the_run_for_good(store_path):
    at = app()
    at.selectbox(key="runs_pick").set_value(1).run()
    at.button(key="runs_delete").click().run()
    assert [r["id"] for r in RunStore(store_path).list_runs()] == [2, 1]  # it asks first
    at.button(key="runs_delete_yes").click().run()
    ok(at)
    assert list(at.dataframe[0].value["run"]) == [2]
    assert any("Run #1 deleted" in s.value for s in at.success)
    assert [r["id"] for r in RunStore(store_path).list_runs()] == [2]


def test_public_server_can_turn_deleting_off(store_path, monkeypatch):
    monkeypatch.setenv("GFL_RUNS_DELETE", "off")
    at = app()
    at.selectbox(key="runs_pick").set_value(1).run()
    ok(at)
    assert at.button(key="runs_delete").disabled
    assert [r["id"] for r in RunStore(store_path).list_runs()] == [2, 1]
    from dashboard.views.runs import deleting_allowed

    for value, allowed in (("off", False), ("0", False), (" False ", False), ("on", True)):
        monkeypatch.setenv("GFL_RUNS_DELETE", value)
        assert deleting_allowed() is allowed
    monkeypatch.delenv("GFL_RUNS_DELETE")
    assert deleting_allowed()  # on by default (a local app)


def test_empty_store_says_how_to_get_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("GFL_STORE", str(tmp_path / "empty.sqlite"))
    at = app()
    ok(at)
    assert any("No runs yet" in i.value for i in at.info)


def test_corrupt_store_falls_back_to_memory_with_a_notice(tmp_path, monkeypatch):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"not a database at all" * 50)
    monkeypatch.setenv("GFL_STORE", str(bad))
    at = app()
    ok(at)
    assert any("in memory" in w.value for w in at.warning)


def test_run_saver_keeps_a_run_cut_short(tmp_path, monkeypatch, trained):
    from dashboard.storage import runs_store

    monkeypatch.setenv("GFL_STORE", str(tmp_path / "s.sqlite"))
    comp, _ = trained["mlp"]
    saver = runs_store.RunSaver(comp, preset="tiny-mlp", every_s=0.0)
    seen = []

    def cb(p):
        seen.append(saver.tick(p))
        return p.done_steps < 6

    result = run_comparison(comp, callback=cb, threads=1)
    assert seen and seen[0] is not None and set(seen) == {seen[0]}
    store, notice = runs_store.get_store()
    assert notice is None and store.list_runs()[0]["outcome"] == "running"
    assert (
        runs_store.save_interrupted({"comparison": comp, "result": result, "saver": saver})
        == seen[0]
    )
    [row] = store.list_runs()
    assert row["outcome"] == "stopped" and row["preset"] == "tiny-mlp" and row["steps_done"] > 0


APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
WIRED = "views/runs.py" in APP.read_text(encoding="utf-8")


@pytest.mark.slow
@pytest.mark.skipif(not WIRED, reason="dashboard/app.py does not list the Runs page yet")
def test_a_run_trained_in_the_app_is_kept_and_listed(tmp_path, monkeypatch):
    monkeypatch.setenv("GFL_STORE", str(tmp_path / "app.sqlite"))
    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT)
    at.query_params["preset"] = "deep-mlp"
    at.query_params["steps"] = "7"  # a config nobody else trains: no result cache hit
    at.query_params["seeds"] = "1"
    at.run()
    at.button(key="mlp_train").click().run()
    ok(at)
    [run] = RunStore(tmp_path / "app.sqlite").list_runs()
    assert run["outcome"] == "finished" and run["steps_done"] == 7 and run["n_variants"] == 6
    at.switch_page("views/runs.py").run()
    ok(at)
    assert list(at.dataframe[0].value["run"]) == [run["id"]]


def test_the_store_location_may_come_from_streamlit_secrets(monkeypatch, tmp_path):
    """Community Cloud: GFL_STORE set under Settings → Secrets (the environment wins)."""
    import streamlit as st

    from dashboard.storage import runs_store

    url = "postgresql://u:secret@db.example/runs"
    monkeypatch.setattr(st, "secrets", {"GFL_STORE": url})
    monkeypatch.delenv("GFL_STORE", raising=False)
    assert runs_store.location() == url
    monkeypatch.setenv("GFL_STORE", str(tmp_path / "env.sqlite"))
    assert runs_store.location() == str(tmp_path / "env.sqlite")
    monkeypatch.setattr(st, "secrets", {})
    monkeypatch.delenv("GFL_STORE")
    assert runs_store.location().endswith("runs.sqlite")  # the default file

"""Public mode (GFL_PUBLIC=1) and "Your CSV" through AppTest and the run store: each visitor's
runs are their own, share links cannot be guessed, only owners delete, no server path shows,
and uploaded data stays in its session (the run records only name, shape and hash)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.widgets.csv_panel import describe
from models import comparison_from_dict, read_csv, run_comparison
from models.core.csv_parser import sha256_of
from models.core.tabular import _SHAPES, table_dims
from models.store.runs import SCHEMA_VERSION, SHARE_ID, RunStore
from tests.helpers import APP_TIMEOUT, ok

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
TINY = {
    "title": "tiny",
    "depth": 2,
    "width": 8,
    "steps": 2,
    "log_every": 1,
    "variants": [{"name": "v"}],
}


def pets(n: int = 80, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    rows = ["height,weight,animal"]
    rows += [
        f"{rng.normal(3 * (i % 2), 1):.3f},{rng.normal(i % 2, 1):.3f},{'cat dog'.split()[i % 2]}"
        for i in range(n)
    ]
    return ("\n".join(rows) + "\n").encode()


@pytest.fixture(scope="module")
def tiny():
    comp = comparison_from_dict(TINY)
    return comp, run_comparison(comp, threads=1)


# --- the store ----------------------------------------------------------------------------------


def test_owners_list_and_delete_only_their_own(tiny, store_location):
    store = RunStore(store_location)
    a = store.save_run(*tiny, owner="visitor:a")
    b = store.save_run(*tiny, owner="visitor:b")
    assert [r["id"] for r in store.list_runs(owner="visitor:a")] == [a]
    assert [r["id"] for r in store.list_runs()] == [b, a]  # local mode: every run
    assert not store.delete_run(a, owner="visitor:b") and store.owner_of(a) == "visitor:a"
    assert store.delete_run(a, owner="visitor:a") and store.list_runs(owner="visitor:a") == []
    store.save_run(*tiny, "finished", run_id=b, owner="visitor:a")  # an update keeps the owner
    assert store.owner_of(b) == "visitor:b"


def test_share_ids_are_random_and_resolve(tiny, store_location):
    store = RunStore(store_location)
    ids = [store.save_run(*tiny) for _ in range(3)]
    shares = [r["share_id"] for r in store.list_runs()]
    assert len(set(shares)) == 3 and all(SHARE_ID.fullmatch(s) and len(s) >= 22 for s in shares)
    assert sorted(store.find_shared(s) for s in shares) == sorted(ids)
    assert store.find_shared("1") is None and store.find_shared("x" * 22) is None


def test_per_visitor_cap_drops_only_that_visitors_oldest(tiny, store_location):
    store = RunStore(store_location, max_runs_per_owner=2)
    other = store.save_run(*tiny, owner="visitor:b")
    mine = [store.save_run(*tiny, owner="visitor:a") for _ in range(4)]
    assert [r["id"] for r in store.list_runs(owner="visitor:a")] == mine[:-3:-1]
    assert [r["id"] for r in store.list_runs(owner="visitor:b")] == [other]
    local = RunStore(":memory:", max_runs_per_owner=2)
    assert len([local.save_run(*tiny) for _ in range(4)]) == len(local.list_runs())  # no owner


def test_v2_store_migrates_with_share_ids(tmp_path, tiny):
    path = tmp_path / "v2.sqlite"
    RunStore(path).save_run(*tiny)
    con = sqlite3.connect(path)  # make it look like v2: no v3 columns or indexes
    con.execute("DROP INDEX runs_share_id")
    con.execute("DROP INDEX runs_owner")
    for col in ("owner", "share_id", "data_info"):
        con.execute(f"ALTER TABLE runs DROP COLUMN {col}")
    con.execute("UPDATE schema_version SET version = 2")
    con.commit()
    con.close()
    store = RunStore(path)
    [run] = store.list_runs()
    assert (
        store.schema_version == SCHEMA_VERSION == 4
        and SHARE_ID.fullmatch(run["share_id"])
        and store.check()
    )
    assert store.owner_of(run["id"]) is None


# --- who a visitor is ---------------------------------------------------------------------------


class _User:
    """A stand-in for st.user (Streamlit's login is not configured in tests)."""

    def __init__(self, info: dict):
        self.info = info

    def to_dict(self) -> dict:
        return self.info


def test_visitor_is_the_account_when_logged_in_else_the_browser_cookie(monkeypatch):
    import streamlit as st

    from dashboard.state import visitor

    monkeypatch.setenv("GFL_PUBLIC", "1")
    monkeypatch.setattr(st, "user", _User({"is_logged_in": True, "sub": "google|42"}))
    first = visitor.owner()
    assert first.startswith("user:") and first == visitor.owner() and "google" not in first
    monkeypatch.setattr(st, "user", _User({"is_logged_in": False}))  # login set up, logged out
    token = "t" * 32
    monkeypatch.setattr(visitor, "_cookie", lambda: token)
    st.session_state.pop("_gfl_token", None)
    owner = visitor.owner()
    assert owner.startswith("visitor:") and token not in owner  # the store keeps a hash
    assert not st.session_state.get("_gfl_new_token")  # the cookie was there: none written
    monkeypatch.setattr(st, "user", _User({}))  # no login configured
    assert visitor._login() == (False, None)
    msg = "run store '/srv/app/runs.sqlite' cannot be opened: disk I/O error"
    assert visitor.hide_paths(msg) == "run store '…' cannot be opened: disk I/O error"
    monkeypatch.delenv("GFL_PUBLIC")
    assert visitor.owner() is None  # local mode: no owners
    assert visitor.hide_paths(msg) == msg  # one person, their own machine: the path helps


# --- the app ------------------------------------------------------------------------------------


def texts(at: AppTest) -> str:
    parts = [*at.caption, *at.markdown, *at.info, *at.warning, *at.success, *at.code, *at.subheader]
    return "\n".join(str(p.value) for p in parts)


def deep_csv(store: Path, upload: bytes | None, steps: int = 3, **params) -> AppTest:
    """The Deep page with task 'Your CSV' and (if given) a file in this session."""
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    at.query_params.update({"preset": "deep-mlp", "steps": str(steps), "seeds": "1", **params})
    at.run()
    if at.selectbox(key="mlp_s_task").value != "csv":
        at.selectbox(key="mlp_s_task").set_value("csv").run()
    if upload is not None:
        at.session_state["csv_upload"] = read_csv(upload, "/home/me/private/pets.csv")
        at.run()
    return at


@pytest.fixture
def public(tmp_path, monkeypatch):
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("GFL_STORE", str(path))
    monkeypatch.setenv("GFL_PUBLIC", "1")
    return path


@pytest.mark.slow
def test_csv_task_asks_for_a_file_then_previews_and_trains(public):
    at = deep_csv(public, None)
    ok(at)
    assert "Upload a CSV file" in texts(at) and not at.button(key="mlp_train").disabled
    at.session_state["csv_upload"] = read_csv(pets(), "pets.csv")
    at.run()
    ok(at)
    shown = {m.label: m.value for m in at.metric}
    assert shown["Rows"] == "80" and shown["Feature columns"] == "2" and shown["Classes"] == "2"
    assert at.selectbox(key="csv_upload_target").value == "animal"
    assert "Share links carry this file's name and SHA-256, never its data" in texts(at)
    at.button(key="mlp_train").click().run()
    ok(at)
    [run] = RunStore(public).list_runs()
    info = json.loads(run["data_info"])  # name, hash, shape: never the data
    assert info == {
        "name": "pets.csv",
        "sha256": sha256_of(pets()),
        "target": "animal",
        "column": "animal",
        "rows": 80,
        "features": 2,
        "classes": 2,
    }
    assert (
        describe(run["data_info"]) == "pets.csv · 80 rows × 2 features, 2 classes · target animal"
    )
    comp, _ = RunStore(public).load_run(run["id"])
    assert comp.variants[0].data == "pets.csv" and comp.variants[0].target == "animal"


def test_bad_upload_and_bad_target_get_one_message_and_no_training(public):
    at = deep_csv(public, b"colour,a,label\n red,1,0\nblue,2,1\nred,3,0\nblue,4,1\n")
    [error] = [e.value.replace("\\", "").replace("\u2060", "") for e in at.error]
    assert error.startswith(
        "data 'pets.csv': feature columns must hold numbers, and 'colour' (line 2: ' red') does not"
    )
    assert not at.get("plotly_chart")  # nothing measured, nothing trained
    at.selectbox(key="csv_upload_target").set_value("colour").run()  # the text column as target
    ok(at)
    assert {m.label: m.value for m in at.metric}["Classes"] == "2"


def test_a_link_opened_elsewhere_asks_for_the_file(public):
    raw = read_csv(pets(), "pets.csv")
    at = deep_csv(
        public, None, task="csv", data="pets.csv", target="animal", data_sha256=raw.sha256
    )
    ok(at)
    assert "This comparison trains on pets.csv" in texts(at).replace("\\", "")
    assert "upload the file to train" in texts(at)
    assert at.query_params["data_sha256"] == raw.sha256  # the link's settings are kept
    at.session_state["csv_upload"] = read_csv(pets(seed=1), "pets.csv")  # another file
    at.run()
    ok(at)
    assert "The link was made with a different file" in texts(at)


@pytest.mark.slow
def test_visitor_b_never_sees_a_runs_opens_the_link_and_cannot_delete(public):
    a = deep_csv(public, pets(), steps=4)  # steps: no result-cache hit from another test
    a.button(key="mlp_train").click().run()
    ok(a)
    a.switch_page("views/runs.py").run()
    ok(a)
    [run] = RunStore(public).list_runs()
    page = texts(a)
    assert run["share_id"] in page and str(public) not in page and "Store:" not in page
    assert "pets.csv · 80 rows" not in page  # data_info only in the full view

    b = AppTest.from_file(APP, default_timeout=APP_TIMEOUT).run()
    b.switch_page("views/runs.py").run()
    ok(b)
    assert "No runs yet" in texts(b) and not b.dataframe
    assert "pets" not in texts(b)
    assert "csv_upload" not in b.session_state  # A's file never reached B's session

    b.query_params["run"] = str(run["id"])  # a guessable id opens nothing in public mode
    b.run()
    assert "does not name a run here" in texts(b) and "Shared run" not in texts(b)
    b.query_params["run"] = run["share_id"]
    b.run()
    ok(b)
    page = texts(b)
    assert "Shared run" in page and "only its owner can delete it" in page
    assert "pets.csv · 80 rows × 2 features" in page.replace("\\", "")
    assert not [x for x in b.button if x.key == "runs_delete"]  # B has no delete for it
    b_owner = "visitor:" + "0" * 40
    assert not RunStore(public).delete_run(run["id"], owner=b_owner)
    assert len(RunStore(public).list_runs()) == 1

    # the same settings and file trained by B come from the cache, and B's Runs page lists
    # B's own copy (saved once), still without A's
    b2 = deep_csv(public, pets(), steps=4)
    b2.button(key="mlp_train").click().run()
    b2.button(key="mlp_train").click().run()
    ok(b2)
    runs = RunStore(public).list_runs()
    assert len(runs) == 2 and runs[0]["share_id"] != run["share_id"]
    assert RunStore(public).owner_of(runs[0]["id"]) != RunStore(public).owner_of(run["id"])


@pytest.mark.slow
def test_a_stored_csv_run_recalls_its_classes_for_the_chance_line(public):
    a = deep_csv(public, pets(), steps=5)
    a.button(key="mlp_train").click().run()
    [run] = RunStore(public).list_runs()
    comp, _ = RunStore(public).load_run(run["id"])
    _SHAPES.clear()  # as in a new server process
    assert table_dims(comp.variants[0])[1] == 100  # unknown: the largest a file may be
    a.query_params["run"] = run["share_id"]
    a.switch_page("views/runs.py").run()
    ok(a)
    assert table_dims(comp.variants[0]) == (2, 2, 16)
    assert "(chance 0.693)" in texts(a).replace("\\", "")  # ln 2, not ln 100


def test_local_mode_lists_every_run_and_shows_the_store(tmp_path, monkeypatch, tiny):
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("GFL_STORE", str(path))
    monkeypatch.delenv("GFL_PUBLIC", raising=False)
    store = RunStore(path)
    store.save_run(*tiny, owner="visitor:a")
    rid = store.save_run(*tiny)
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT).run()
    at.switch_page("views/runs.py").run()
    ok(at)
    assert len(at.dataframe[0].value) == 2 and str(path) in texts(at)
    at.query_params["run"] = str(rid)  # local links by number keep working
    at.run()
    ok(at)

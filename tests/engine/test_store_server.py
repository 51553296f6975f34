"""The app on a database server (GFL_STORE=postgresql://…), through AppTest and a real
PostgreSQL: a database that goes away mid-session, share links that outlive the app's disk,
two servers on one database. Skipped with one line without a server (see tests/conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from models.store.runs import RunStore

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def texts(at: AppTest) -> str:
    parts = [*at.caption, *at.markdown, *at.info, *at.warning, *at.success, *at.subheader]
    return "\n".join(str(p.value) for p in parts)


def deep(steps: int, **params) -> AppTest:
    """The Deep page on deep-mlp with ``steps`` (a value no other test trains: no cache hit)."""
    at = AppTest.from_file(APP, default_timeout=240)
    at.query_params.update({"preset": "deep-mlp", "steps": str(steps), "seeds": "1", **params})
    return at.run()


@pytest.fixture
def on_postgres(pg_database, monkeypatch):
    """The app's store is a fresh PostgreSQL database; every server-process cache starts empty
    (as after a restart) and waiting saves are retried at every rerun (no backoff to wait out)."""
    from dashboard.storage import runs_store

    monkeypatch.setenv("GFL_STORE", pg_database)
    monkeypatch.setattr(runs_store, "RETRY_S", 0.0)
    st.cache_resource.clear()
    yield pg_database
    st.cache_resource.clear()


@pytest.mark.slow
def test_a_database_that_goes_away_mid_session_loses_no_run(on_postgres, pg_outage):
    at = deep(8)
    ok(at)
    pg_outage.down(on_postgres)
    try:
        at.button(key="mlp_train").click().run()
        ok(at)  # training worked: no traceback, no error
        assert at.get("plotly_chart")
        page = texts(at)
        assert (
            "Runs are not being saved" in page and "saved as soon as the database is back" in page
        )
        at.run()  # any rerun while it is away: the page keeps saying so
        ok(at)
        assert "Runs are not being saved: the run database cannot be reached" in texts(at)
        assert "this server keeps 1 run and saves them" in texts(at)
        at.switch_page("views/runs.py").run()
        ok(at)
        assert "The run database cannot be reached right now" in texts(at)
    finally:
        pg_outage.up(on_postgres)
    at.run()  # the next page run finds it back: the run goes in, whole
    ok(at)
    assert "The run database is back: every run that waited is saved." in texts(at)
    [run] = RunStore(on_postgres).list_runs()
    assert run["outcome"].startswith("finished") and run["steps_done"] == 8
    _, result = RunStore(on_postgres).load_run(run["id"])
    assert {r[2] for r in result.metrics} >= {0, 8} and run["n_rows"] == len(result.metrics)
    assert list(at.dataframe[0].value["run"]) == [run["id"]]  # and the Runs page lists it
    at.run()
    assert "The run database is back" not in texts(at)  # said once


@pytest.mark.slow
def test_a_share_link_opens_after_the_disk_is_wiped_and_the_server_restarted(
    on_postgres, monkeypatch, tmp_path
):
    disk = tmp_path / "app-disk"  # everything the app may write locally
    disk.mkdir()
    monkeypatch.setenv("HOME", str(disk))
    monkeypatch.setenv("GFL_PUBLIC", "1")
    a = deep(9)
    a.button(key="mlp_train").click().run()
    ok(a)
    [run] = RunStore(on_postgres).list_runs()
    assert run["steps_done"] == 9

    shutil.rmtree(disk)  # Community Cloud's sleep: the disk is gone ...
    st.cache_resource.clear()  # ... and so is the server process with its caches
    b = AppTest.from_file(APP, default_timeout=240)  # another visitor, from the link
    b.switch_page("views/runs.py")
    b.query_params["run"] = run["share_id"]
    b.run()
    ok(b)
    page = texts(b)
    assert "Shared run" in page and "only its owner can delete it" in page
    assert b.get("plotly_chart")  # the run's charts, read back from the database


def test_two_app_servers_on_one_database_see_each_others_runs(on_postgres, tmp_path):
    """Two server processes' stores (what two `streamlit run` on one GFL_STORE hold); the Runs
    page of one lists what the other saved."""
    from models import comparison_from_dict, run_comparison

    comp = comparison_from_dict(
        {
            "title": "from server two",
            "depth": 2,
            "width": 8,
            "steps": 3,
            "variants": [{"name": "a"}],
        }
    )
    other = RunStore(on_postgres)  # the other server
    rid = other.save_run(comp, run_comparison(comp, threads=1), "finished")
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page("views/runs.py").run()
    ok(at)
    assert list(at.dataframe[0].value["run"]) == [rid]
    assert "from server two" in at.dataframe[0].value["preset / title"].tolist()
    assert "Store: `postgresql+psycopg://gfl@/" in texts(at)  # where, without a password

"""The run store: round trips, periodic saves, old schemas, corrupt files, concurrent writers.

Tests taking ``store_location`` run twice: on a SQLite file and on a real PostgreSQL database
(tests/conftest.py; ./scripts/test.sh starts a throwaway server).
"""

from __future__ import annotations

import io
import json
import math
import multiprocessing as mp
import shutil
import sqlite3
import sys
import threading
import types
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from models import comparison_from_dict, run_comparison
from models.core.runner import METRIC_COLUMNS, RunResult
from models.store.db import engine_url, safe_location
from models.store.runs import (
    SCHEMA_VERSION,
    RunStore,
    StoreError,
    StoreUnavailable,
    encode_metrics,
    open_store,
)
from models.store.sweeps import SweepStore
from tests.conftest import store_sql

SMALL = {
    "title": "tiny, with a comma",
    "depth": 2,
    "width": 8,
    "steps": 6,
    "log_every": 2,
    "seeds": 2,
    "variants": [
        {"name": 'base, "quoted" ü'},
        {"name": "explodes", "activation": "linear", "init": "normal", "init_gain": 20, "lr": 100},
    ],
}


@pytest.fixture(scope="module")
def small_run():
    comp = comparison_from_dict(SMALL)
    return comp, run_comparison(comp, threads=1)


def same_rows(a, b) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x[:5] != y[:5]:
            return False
        if not (x[5] == y[5] or (math.isnan(x[5]) and math.isnan(y[5]))):
            return False
    return True


def test_save_list_load_export_delete_round_trip(small_run, store_location):
    comp, result = small_run
    store = RunStore(store_location)
    rid = store.save_run(comp, result, "finished", preset="tiny")
    [row] = store.list_runs()
    assert row["id"] == rid and row["preset"] == "tiny" and row["title"] == comp.title
    assert row["n_variants"] == 2 and row["steps_done"] == 6 and row["total_steps"] == 6
    assert row["variant_names"] == ['base, "quoted" ü', "explodes"]
    assert "depth 2 × width 8" in row["settings"] and "2 seeds" in row["settings"]
    assert row["outcome"].startswith("finished")
    comp2, res2 = store.load_run(rid)
    assert comp2.to_json_dict() == comp.to_json_dict()
    assert same_rows(res2.metrics, result.metrics)  # exact floats, NaN/Inf included
    assert res2.summary_frame().shape == result.summary_frame().shape
    z = zipfile.ZipFile(io.BytesIO(store.export_run(rid)))
    assert sorted(z.namelist()) == ["config.json", "metrics.csv", "summary.csv"]
    m = pd.read_csv(z.open("metrics.csv"))
    assert list(m.columns) == METRIC_COLUMNS and len(m) == len(result.metrics)
    assert comparison_from_dict(json.loads(z.read("config.json"))).title == comp.title
    assert store.delete_run(rid) and store.list_runs() == []
    assert not store.delete_run(rid)
    with pytest.raises(KeyError):
        store.load_run(rid)
    assert store.check()


def test_diverged_variant_is_counted_in_the_outcome(small_run, store_location):
    comp, result = small_run
    assert any(r["diverged_step"] is not None for r in result.summary)
    store = RunStore(store_location)
    store.save_run(comp, result, "stopped")
    assert store.list_runs()[0]["outcome"] == "stopped, 1 diverged"


def test_a_run_saved_while_training_keeps_what_it_trained_and_is_updated_in_place(store_location):
    comp = comparison_from_dict(
        {"depth": 2, "width": 8, "steps": 40, "log_every": 5, "variants": [{"name": "a"}]}
    )
    store = RunStore(store_location)
    rid = store.start_run(comp, preset="p")
    assert store.list_runs()[0]["outcome"] == "running"
    seen = []

    def cb(p):
        seen.append(store.save_run(comp, p.result, "running", run_id=rid))
        return p.done_steps < 20  # stop half way, as a closed tab would

    res = run_comparison(comp, callback=cb, threads=1)
    assert set(seen) == {rid}
    _, saved = store.load_run(rid)
    assert len(saved.metrics) == len(res.metrics) and 0 < store.list_runs()[0]["steps_done"] < 40
    store.save_run(comp, res, "stopped", run_id=rid)
    [row] = store.list_runs()
    assert row["outcome"] == "stopped" and row["preset"] == "p"  # preset kept on update


def test_stale_running_run_shows_as_interrupted(store_location):
    comp = comparison_from_dict({"variants": [{"name": "a"}]})
    store = RunStore(store_location)
    rid = store.start_run(comp)
    store_sql(
        store_location,
        "UPDATE runs SET updated_at = '2020-01-01T00:00:00+00:00' WHERE id = :id",
        id=rid,
    )
    assert store.list_runs()[0]["outcome"] == "interrupted"


def test_100k_rows_round_trip(store_location):
    comp = comparison_from_dict({"variants": [{"name": "a"}]})
    rows = [("a", 0, k, "grad_norm", i, k * 1e-3 + i / 7) for k in range(5000) for i in range(20)]
    result = RunResult(comp, metrics=rows, summary=[{"variant": "a", "seed": 0}])
    store = RunStore(store_location)
    rid = store.save_run(comp, result)
    assert store.load_run(rid)[1].metrics == rows
    assert len(encode_metrics(rows)) < 2_000_000  # compressed: ~1 MB for 100k rows


# --- old versions, newer versions, damaged files ---------------------------------------------

V1_METRICS = "variant,seed,step,metric,index,value\na,0,0,loss,0,2.3\na,0,5,loss,0,nan\nbroken\n"
V0_CONFIG = json.dumps({"depth": 3, "width": 8, "steps": 5, "variants": [{"name": "a"}]})


def make_v0(path):
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE runs (id INTEGER PRIMARY KEY, created_at TEXT, config_json TEXT, "
        "summary_json TEXT, metrics_csv TEXT)"
    )
    con.execute(
        "INSERT INTO runs VALUES (1, '2024-01-01T10:00:00+00:00', ?, ?, ?)",
        (V0_CONFIG, json.dumps([{"variant": "a", "seed": 0, "diverged_step": 5}]), V1_METRICS),
    )
    con.commit()
    con.close()


def make_v1(path):
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    con.execute("INSERT INTO schema_version VALUES (1)")
    con.execute(
        "CREATE TABLE runs (id INTEGER PRIMARY KEY, created_at TEXT, config_json TEXT, "
        "summary_json TEXT, metrics_csv TEXT, title TEXT NOT NULL DEFAULT '', "
        "status TEXT NOT NULL DEFAULT 'finished')"
    )
    con.execute(
        "INSERT INTO runs VALUES (1, '2025-01-01T10:00:00+00:00', ?, '[]', ?, 'old one', 'stopped')",
        (V0_CONFIG, V1_METRICS),
    )
    # a run whose config no longer validates: listed, but loading it is a clear error
    con.execute(
        "INSERT INTO runs VALUES (2, '2025-01-02T10:00:00+00:00', ?, 'junk', NULL, '', 'finished')",
        (json.dumps({"depth": 999, "variants": [{"name": "x"}]}),),
    )
    con.commit()
    con.close()


@pytest.mark.parametrize("make", [make_v0, make_v1])
def test_a_store_from_an_older_version_is_migrated(make, tmp_path):
    path = tmp_path / "old.sqlite"
    make(path)
    store = RunStore(path)
    assert store.schema_version == SCHEMA_VERSION and store.check()
    runs = {r["id"]: r for r in store.list_runs()}
    assert runs[1]["n_variants"] == 1 and runs[1]["steps_done"] == 5 and runs[1]["total_steps"] == 5
    assert "depth 3 × width 8" in runs[1]["settings"]
    comp, res = store.load_run(1)
    assert comp.variants[0].depth == 3
    assert len(res.metrics) == 2 and math.isnan(res.metrics[1][5])  # damaged row dropped
    if make is make_v0:
        assert runs[1]["outcome"] == "finished, 1 diverged"
    else:
        assert runs[1]["outcome"] == "stopped" and runs[1]["title"] == "old one"
        with pytest.raises(StoreError, match="run 2 cannot be read back"):
            store.load_run(2)
    # new runs go in beside the old ones; opening again is a no-op
    store.save_run(comp, res, "finished")
    store.close()
    again = RunStore(path)
    assert len(again.list_runs()) == (2 if make is make_v0 else 3)


def test_a_store_from_a_newer_version_is_refused_clearly(store_location):
    RunStore(store_location).close()
    store_sql(store_location, "UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError, match="newer version"):
        RunStore(store_location)


@pytest.mark.parametrize(
    "content", [b"this is not a database" * 100, b"SQLite format 3\x00" + b"\xff" * 5000]
)
def test_a_corrupt_file_gives_a_clear_error_and_memory_works_as_fallback(content, tmp_path):
    path = tmp_path / "bad.sqlite"
    path.write_bytes(content)
    with pytest.raises(StoreError, match="cannot be opened"):
        open_store(path)
    assert open_store(":memory:").list_runs() == []


def test_location_comes_from_gfl_store(monkeypatch, tmp_path):
    monkeypatch.setenv("GFL_STORE", str(tmp_path / "sub" / "x.sqlite"))
    store = open_store()
    assert store.path.endswith("x.sqlite") and (tmp_path / "sub" / "x.sqlite").exists()


def test_unknown_status_is_refused(small_run, store_location):
    with pytest.raises(ValueError):
        RunStore(store_location).save_run(*small_run, status="exploded")


# --- concurrency -----------------------------------------------------------------------------


@pytest.fixture
def spawn(monkeypatch):
    """A spawn context whose children never re-run this process's __main__: an AppTest run
    earlier on the same xdist worker leaves a temporary script there, which a child cannot run."""
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    return mp.get_context("spawn")


def _writer(path: str, tag: str, n: int) -> None:
    comp = comparison_from_dict({"title": tag, "variants": [{"name": tag}]})
    rows = [(tag, 0, k, "loss", 0, k / 3) for k in range(3000)]
    store = RunStore(path)
    for i in range(n):
        rid = store.save_run(comp, RunResult(comp, metrics=rows[: 100 * (i + 1)]), "running")
        store.save_run(comp, RunResult(comp, metrics=rows), "finished", run_id=rid)
        store.list_runs()
    store.close()


@pytest.mark.slow
def test_two_processes_writing_at_once_never_corrupt_the_store(store_location, spawn):
    path = store_location
    RunStore(path).close()
    ctx = spawn
    procs = [ctx.Process(target=_writer, args=(path, tag, 12)) for tag in ("left", "right")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    store = RunStore(path)
    assert store.check()
    runs = store.list_runs()
    assert len(runs) == 24 and {r["outcome"] for r in runs} == {"finished"}
    for r in runs:
        _, res = store.load_run(r["id"])
        assert len(res.metrics) == 3000 and res.metrics[0][0] == r["title"]


def test_oldest_runs_beyond_the_limit_are_dropped(monkeypatch, store_location):
    comp = comparison_from_dict({"variants": [{"name": "a"}]})
    rows = [("a", 0, 0, "loss", 0, 1.0)]
    store = RunStore(store_location, max_runs=3)
    ids = [store.save_run(comp, RunResult(comp, metrics=rows)) for _ in range(5)]
    assert [r["id"] for r in store.list_runs()] == ids[:1:-1]
    store.save_run(comp, RunResult(comp, metrics=rows), run_id=ids[2])  # updates never prune
    assert store_sql(store_location, "SELECT COUNT(*) FROM metrics") == [(3,)]
    monkeypatch.setenv("GFL_STORE_MAX_RUNS", "2")
    assert RunStore(":memory:").max_runs == 2


# --- the release before SQLAlchemy, database URLs, several servers, a database that goes away -----

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_a_store_written_by_the_schema_3_release_upgrades_with_every_run_intact(tmp_path):
    """tests/fixtures/store_v3.sqlite: written by main's sqlite3 store (schema 3) with runs of
    every kind and two sweeps; store_v3.json says what it held."""
    path = tmp_path / "v3.sqlite"
    shutil.copy(FIXTURES / "store_v3.sqlite", path)
    expected = json.loads((FIXTURES / "store_v3.json").read_text())
    store = RunStore(path)
    assert store.schema_version == SCHEMA_VERSION == 4 and store.check()
    listed = {r["id"]: r for r in store.list_runs()}
    assert sorted(listed) == [r["id"] for r in expected["runs"]]
    for want in expected["runs"]:
        got = listed[want["id"]]
        for key in (
            "title",
            "preset",
            "share_id",
            "data_info",
            "n_rows",
            "steps_done",
            "n_variants",
            "settings",
            "created_at",
            "updated_at",
        ):
            assert got[key] == want[key], key
        assert store.owner_of(want["id"]) == want["owner"]
        assert store.find_shared(want["share_id"]) == want["id"]  # old links still open
    assert listed[4]["outcome"] == "interrupted"  # saved 'running' long ago: cut off
    assert listed[2]["outcome"] == "stopped" and listed[1]["outcome"] == "finished, 1 diverged"
    for rid, rows in expected["metrics"].items():
        _, res = store.load_run(int(rid))
        assert same_rows(res.metrics, [tuple(r) for r in rows])
    sweeps = SweepStore(path)
    assert [(s["id"], s["status"], s["preset"], s["points"]) for s in sweeps.list()] == [
        (s["id"], s["status"], s["preset"], s["points"]) for s in expected["sweeps"][::-1]
    ]
    assert [s["id"] for s in sweeps.list(owner="visitor:" + "a" * 40)] == [2]
    spec, rows, status = sweeps.load(1)
    assert (
        spec == expected["sweep_spec"]
        and status == "stopped"
        and math.isnan(rows[1]["final_val_loss"])
    )
    # the upgraded store takes new runs and sweeps, and opening it again changes nothing
    comp, res = store.load_run(1)
    new = store.save_run(comp, res, "finished", owner="visitor:new")
    assert new == 5 and sweeps.save(spec, rows, "finished") == 3
    store.close()
    again = RunStore(path)
    assert [r["id"] for r in again.list_runs()] == [5, 4, 3, 2, 1] and again.check()


def test_locations_database_urls_and_what_may_be_shown():
    assert engine_url("postgresql://u:secret@db.example/runs").startswith("postgresql+psycopg://")
    assert engine_url("postgres://u:secret@db.example/runs").startswith("postgresql+psycopg://")
    assert engine_url(":memory:") == "sqlite://"
    assert engine_url("~/x.sqlite") == "sqlite:///" + str(Path("~/x.sqlite").expanduser())
    shown = safe_location("postgresql://u:secret@db.example/runs?sslmode=require")
    assert "secret" not in shown and "db.example" in shown
    assert safe_location("/srv/runs.sqlite") == "/srv/runs.sqlite"
    with pytest.raises(StoreError):
        RunStore("nosuchdialect://x/y")


def test_gfl_store_takes_a_database_url(monkeypatch, pg_database):
    monkeypatch.setenv("GFL_STORE", pg_database)
    store = open_store()
    assert store.is_server and store.path == pg_database and store.list_runs() == []
    assert SweepStore().list() == []


def test_one_memory_store_is_shared_by_threads(small_run):
    store = RunStore(":memory:")
    ids = []
    threads = [
        threading.Thread(target=lambda: ids.append(store.save_run(*small_run))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["id"] for r in store.list_runs()) == sorted(ids) == [1, 2, 3, 4]


def test_two_servers_on_one_database_see_each_others_runs(small_run, store_location):
    """Two app servers (two store objects, as in two processes) on one database."""
    left, right = RunStore(store_location), RunStore(store_location)
    a = left.save_run(*small_run, owner="visitor:a")
    b = right.save_run(*small_run, owner="visitor:b")
    assert [r["id"] for r in left.list_runs()] == [r["id"] for r in right.list_runs()] == [b, a]
    share = right.list_runs(owner="visitor:a")[0]["share_id"]
    assert (
        left.find_shared(share) == a and right.load_run(a)[1].metrics == left.load_run(a)[1].metrics
    )
    assert left.delete_run(b) and [r["id"] for r in right.list_runs()] == [a]
    SweepStore(store_location).save({"title": "s"}, [{"x": 1}])
    assert [s["title"] for s in SweepStore(store_location).list()] == ["s"]


def _open_and_save(url: str, title: str) -> None:
    comp = comparison_from_dict({"title": title, "variants": [{"name": "a"}]})
    store = RunStore(url)
    store.save_run(comp, RunResult(comp, metrics=[("a", 0, 0, "loss", 0, 1.0)]), "finished")
    store.close()


@pytest.mark.slow
def test_two_processes_create_one_new_database_once(pg_database, spawn):
    ctx = spawn
    procs = [ctx.Process(target=_open_and_save, args=(pg_database, t)) for t in ("p", "q")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    store = RunStore(pg_database)
    assert sorted(r["title"] for r in store.list_runs()) == ["p", "q"]
    assert store_sql(pg_database, "SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]


def test_a_database_that_goes_away_raises_store_unavailable_and_works_again(
    small_run, pg_database, pg_outage
):
    store = RunStore(pg_database)
    rid = store.save_run(*small_run)
    pg_outage.down(pg_database)
    try:
        with pytest.raises(StoreUnavailable, match="cannot be reached"):
            store.list_runs()
        with pytest.raises(StoreUnavailable):
            store.save_run(*small_run, "finished", run_id=rid)
    finally:
        pg_outage.up(pg_database)
    # the same store object: the pool reconnects (pool_pre_ping), nothing was lost
    assert store.save_run(*small_run, "stopped", run_id=rid) == rid
    assert [(r["id"], r["outcome"].split(",")[0]) for r in store.list_runs()] == [(rid, "stopped")]


def test_a_store_opened_while_its_database_is_down_works_once_it_is_up(
    small_run, pg_database, pg_outage
):
    pg_outage.down(pg_database)
    try:
        store = RunStore(pg_database)  # a server starting while the database is away
        with pytest.raises(StoreUnavailable):
            store.save_run(*small_run)
    finally:
        pg_outage.up(pg_database)
    rid = store.save_run(*small_run)
    assert store.schema_version == SCHEMA_VERSION and store.load_run(rid)[0].title

"""Shared test fixtures, and the `unit` marker (the inner loop).

Nothing heavy is imported here: a test file that does not need torch is collected without it.
"""

from __future__ import annotations

import os

import pytest

# The inner loop, `pytest -m unit`: every test not marked slow or browser (fast science checks
# are in). Marked here, from the other markers, so no test carries it by hand; a test leaves the
# inner loop by being marked slow (more than a second or so on an idle machine).
NOT_UNIT = ("slow", "browser")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not any(item.get_closest_marker(m) for m in NOT_UNIT):
            item.add_marker(pytest.mark.unit)


def run_small(variants: list[dict], **shared):
    """Run a comparison given as a config dict; returns (result, metrics frame)."""
    from models import comparison_from_dict, run_comparison  # torch: only when a test runs one

    comp = comparison_from_dict({**shared, "variants": variants})
    result = run_comparison(comp, threads=1)
    return result, result.metrics_frame()


def at(frame, metric: str, step: int, seed: int | None = None, variant: str | None = None):
    """Values of one metric at one step, indexed by layer index."""
    m = frame[(frame.metric == metric) & (frame.step == step)]
    if seed is not None:
        m = m[m.seed == seed]
    if variant is not None:
        m = m[m.variant == variant]
    return m.set_index("index")["value"].sort_index()


@pytest.fixture
def small():
    return run_small


@pytest.fixture(autouse=True, scope="module")
def _private_run_store(tmp_path_factory):
    """Each test module (and the streamlit servers it starts) writes into a store of its own,
    never the user's and never another module's: modules may run in any order, on any xdist
    worker. Tests that want a store of their own set GFL_STORE with monkeypatch."""
    old = os.environ.get("GFL_STORE")
    os.environ["GFL_STORE"] = str(tmp_path_factory.mktemp("store") / "runs.sqlite")
    yield
    if old is None:
        os.environ.pop("GFL_STORE", None)
    else:
        os.environ["GFL_STORE"] = old


# --- the run store's databases: a SQLite file and a real PostgreSQL server ---------------------
# ./scripts/test.sh starts a throwaway PostgreSQL and exports its URL as GFL_TEST_PG_URL (or says
# in GFL_TEST_PG_SKIP why it could not); without one the PostgreSQL cases skip with that reason.

PG_SKIP = (
    "PostgreSQL tests skipped: no server (./scripts/test.sh starts a throwaway one; "
    "or set GFL_TEST_PG_URL=postgresql://…)"
)


@pytest.fixture(scope="session")
def pg_admin():
    """An AUTOCOMMIT engine on the test PostgreSQL server's maintenance database."""
    url = os.environ.get("GFL_TEST_PG_URL", "").strip()
    if not url:
        pytest.skip(os.environ.get("GFL_TEST_PG_SKIP", "").strip() or PG_SKIP)
    from sqlalchemy import create_engine, text

    from models.store.db import engine_url

    engine = create_engine(engine_url(url), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as con:
            con.execute(text("SELECT 1"))
    except Exception as e:  # noqa: BLE001 - a server that is not there: say so and skip
        engine.dispose()
        pytest.skip(f"PostgreSQL tests skipped: {url} does not answer ({type(e).__name__})")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_database(pg_admin):
    """A fresh, empty PostgreSQL database for one test (its URL), dropped afterwards."""
    import secrets

    from sqlalchemy import text

    name = "gfl_test_" + secrets.token_hex(6)
    with pg_admin.connect() as con:
        con.execute(text(f'CREATE DATABASE "{name}"'))
    yield pg_admin.url.set(database=name).render_as_string(hide_password=False)
    with pg_admin.connect() as con:
        con.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request, tmp_path):
    """Where a test's store lives: a SQLite file, then a PostgreSQL database (same tests)."""
    if request.param == "sqlite":
        return str(tmp_path / "runs.sqlite")
    return request.getfixturevalue("pg_database")


class PgOutage:
    """Takes one test database away and brings it back, as a server restart would: new
    connections are refused and the open ones are cut."""

    def __init__(self, admin):
        self.admin = admin

    def _name(self, url: str) -> str:
        from sqlalchemy.engine import make_url

        return make_url(url).database

    def down(self, url: str) -> None:
        from sqlalchemy import text

        name = self._name(url)
        with self.admin.connect() as con:
            con.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            con.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )

    def up(self, url: str) -> None:
        from sqlalchemy import text

        with self.admin.connect() as con:
            con.execute(text(f'ALTER DATABASE "{self._name(url)}" ALLOW_CONNECTIONS true'))


@pytest.fixture
def pg_outage(pg_admin):
    return PgOutage(pg_admin)


def store_sql(location: str, sql: str, **params) -> list:
    """Run one statement on a store's database behind its back (tests that age or break rows)."""
    from sqlalchemy import create_engine, text

    from models.store.db import engine_url

    engine = create_engine(engine_url(location))
    try:
        with engine.begin() as con:
            res = con.execute(text(sql), params)
            return [tuple(r) for r in res.all()] if res.returns_rows else []
    finally:
        engine.dispose()

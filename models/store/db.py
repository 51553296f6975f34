"""Where the store lives and how it talks to it: one schema on SQLAlchemy Core, for a SQLite file
(the default) or a database server (``postgresql://user:pass@host/db``).

One schema for both, versioned in ``schema_version`` and upgraded on open by MIGRATIONS (0 -> 4):
stores written by older releases (always SQLite files) open with every run intact. A server
database starts empty and is created at the current version.

SQLite: WAL journal, a busy timeout, ``BEGIN IMMEDIATE`` for writes (the write lock up front: two
writers never deadlock upgrading a read lock) and one thread lock per store object. PostgreSQL:
a small pool whose connections are checked before use (``pool_pre_ping``: a server that restarted
is reconnected to, not reported as an error) and an advisory lock around migrations (two app
servers opening one new database at once create it once).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    create_engine,
    delete,
    event,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

SCHEMA_VERSION = 4
DEFAULT_PATH = Path.home() / ".local" / "share" / "gradient-flow-lab" / "runs.sqlite"
CONNECT_TIMEOUT_S = 5  # a database server that does not answer: fail fast, training goes on
_MIGRATION_LOCK = 0x6766_6C73  # 'gfls': the advisory lock key for migrations on PostgreSQL


class StoreError(RuntimeError):
    """The run store cannot be opened or read (corrupt, newer version, unwritable)."""


class StoreUnavailable(StoreError):
    """The store's database server cannot be reached right now (down, network, restarting).

    Unlike other StoreErrors this one passes: the same store object works again once the server
    is back, so callers keep what they meant to save and try again later.
    """


def default_path() -> str:
    """Where the store lives: env GFL_STORE (a file path or a database URL), else the per-user
    data directory."""
    return os.environ.get("GFL_STORE", "").strip() or str(DEFAULT_PATH)


def is_url(location: str) -> bool:
    """A database URL (``postgresql://…``, ``sqlite:///…``) rather than a file path."""
    return "://" in location


def engine_url(location: str) -> str:
    """The SQLAlchemy URL for a store location (a path, ``:memory:`` or a database URL)."""
    if location == ":memory:":
        return "sqlite://"
    if not is_url(location):
        return "sqlite:///" + str(Path(location).expanduser().resolve())
    try:
        url = make_url(location)
    except sa_exc.ArgumentError as e:
        raise StoreError(f"run store URL {safe_location(location)!r} is not valid: {e}") from None
    # postgres:// (Heroku, Neon's older links) and postgresql:// mean psycopg 3, the driver shipped
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def safe_location(location: str) -> str:
    """The location as it may be shown: a URL's password becomes ***."""
    if not is_url(location):
        return location
    try:
        return make_url(location).render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return location.split("://", 1)[0] + "://…"


def new_share_id() -> str:
    return secrets.token_urlsafe(16)  # 128 random bits: a link cannot be guessed


# --- the schema (version 4) --------------------------------------------------------------------

metadata = MetaData()
schema_version_table = Table("schema_version", metadata, Column("version", Integer, nullable=False))
runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    Column("title", Text, nullable=False, server_default=""),
    Column("preset", Text),
    Column("status", Text, nullable=False, server_default="finished"),
    Column("config_json", Text, nullable=False),
    Column("summary_json", Text, nullable=False, server_default="[]"),
    Column("settings", Text, nullable=False, server_default=""),
    Column("variant_names", Text, nullable=False, server_default="[]"),
    Column("n_variants", Integer, nullable=False, server_default="0"),
    Column("steps_done", Integer, nullable=False, server_default="0"),
    Column("total_steps", Integer, nullable=False, server_default="0"),
    Column("n_diverged", Integer, nullable=False, server_default="0"),
    Column("n_rows", Integer, nullable=False, server_default="0"),
    Column("wall_s", Float, nullable=False, server_default="0"),
    Column("owner", Text),  # public mode: a hash of the visitor (dashboard/state/visitor.py)
    Column("share_id", Text),  # the run's link: random, unguessable
    Column("data_info", Text, nullable=False, server_default=""),
    Index("runs_share_id", "share_id", unique=True),
    Index("runs_owner", "owner", "id"),
    sqlite_autoincrement=True,  # ids are never reused: a deleted run's number names nothing
)
metrics = Table(
    "metrics",
    metadata,
    Column(
        "run_id",
        Integer,
        ForeignKey("runs.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    Column("csv_zlib", LargeBinary, nullable=False),  # zlib CSV: see runs.encode_metrics
)
sweeps = Table(
    "sweeps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", Text, nullable=False),
    Column("title", Text),
    Column("preset", Text),
    Column("status", Text, nullable=False),
    Column("points", Integer),
    Column("spec", Text, nullable=False),  # the resolved sweep.json
    Column("rows", LargeBinary),  # zlib JSON of sweep.csv's rows
    Column("owner", Text),
    Index("sweeps_owner", "owner", "id"),
    sqlite_autoincrement=True,
)


# --- migrations ---------------------------------------------------------------------------------
# Versions 0-3 only ever existed as SQLite files (written by the sqlite3 store before 4); the
# steps are written against SQLAlchemy all the same, so one code path opens every store.


def _columns(con: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(con).get_columns(table)}


def _add_columns(con: Connection, table: str, decls: list[tuple[str, str]]) -> None:
    have = _columns(con, table)
    for name, decl in decls:
        if name not in have:
            con.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {decl}"))


def _migrate_0_to_1(con: Connection) -> None:
    """v0 (no version table): runs(id, created_at, config_json, summary_json, metrics_csv)."""
    _add_columns(
        con,
        "runs",
        [("title", "TEXT NOT NULL DEFAULT ''"), ("status", "TEXT NOT NULL DEFAULT 'finished'")],
    )


def _migrate_1_to_2(con: Connection) -> None:
    """v1 kept metrics as plain CSV in runs.metrics_csv; v2 compresses them in their own table
    and keeps the listing columns (settings, steps, outcome) so listing never parses configs."""
    from .runs import encode_metrics, fill_listing, parse_old_csv

    metrics.create(con, checkfirst=True)
    _add_columns(
        con,
        "runs",
        [
            ("updated_at", "TEXT NOT NULL DEFAULT ''"),
            ("preset", "TEXT"),
            ("summary_json", "TEXT NOT NULL DEFAULT '[]'"),
            ("settings", "TEXT NOT NULL DEFAULT ''"),
            ("variant_names", "TEXT NOT NULL DEFAULT '[]'"),
            ("n_variants", "INTEGER NOT NULL DEFAULT 0"),
            ("steps_done", "INTEGER NOT NULL DEFAULT 0"),
            ("total_steps", "INTEGER NOT NULL DEFAULT 0"),
            ("n_diverged", "INTEGER NOT NULL DEFAULT 0"),
            ("n_rows", "INTEGER NOT NULL DEFAULT 0"),
            ("wall_s", "REAL NOT NULL DEFAULT 0"),
        ],
    )
    con.execute(text("UPDATE runs SET updated_at = created_at WHERE updated_at = ''"))
    if "metrics_csv" in _columns(con, "runs"):
        for run_id, csv_text in con.execute(text("SELECT id, metrics_csv FROM runs")).all():
            rows = parse_old_csv(csv_text or "")
            con.execute(delete(metrics).where(metrics.c.run_id == run_id))
            con.execute(insert(metrics).values(run_id=run_id, csv_zlib=encode_metrics(rows)))
            con.execute(
                text("UPDATE runs SET n_rows = :n, steps_done = :s WHERE id = :id"),
                {"n": len(rows), "s": max((r[2] for r in rows), default=0), "id": run_id},
            )
        con.execute(text("UPDATE runs SET metrics_csv = NULL"))
    # fill the listing columns from each stored config where it still validates
    for run_id, cfg_json, summ in con.execute(
        text("SELECT id, config_json, summary_json FROM runs")
    ).all():
        values = fill_listing(cfg_json, summ)
        if values is None:
            continue
        con.execute(
            text(
                "UPDATE runs SET settings = :settings, variant_names = :variant_names, "
                "n_variants = :n_variants, total_steps = :total_steps, n_diverged = :n_diverged,"
                " title = CASE WHEN title = '' THEN :title ELSE title END WHERE id = :id"
            ),
            {**values, "id": run_id},
        )


def _migrate_2_to_3(con: Connection) -> None:
    """v3: owner (public mode), an unguessable share id per run, the data's shape."""
    _add_columns(
        con,
        "runs",
        [("owner", "TEXT"), ("share_id", "TEXT"), ("data_info", "TEXT NOT NULL DEFAULT ''")],
    )
    for (run_id,) in con.execute(text("SELECT id FROM runs WHERE share_id IS NULL")).all():
        con.execute(
            text("UPDATE runs SET share_id = :s WHERE id = :id"),
            {"s": new_share_id(), "id": run_id},
        )
    for index in runs.indexes:
        index.create(con, checkfirst=True)


def _migrate_3_to_4(con: Connection) -> None:
    """v4: the sweeps table joins the versioned schema (before, SweepStore created it on the
    side and added its owner column when missing), with an index for a visitor's listing."""
    sweeps.create(con, checkfirst=True)
    _add_columns(con, "sweeps", [("owner", "TEXT")])
    for index in sweeps.indexes:
        index.create(con, checkfirst=True)


MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    0: _migrate_0_to_1,
    1: _migrate_1_to_2,
    2: _migrate_2_to_3,
    3: _migrate_3_to_4,
}


def _version(con: Connection) -> int:
    """The schema version of a database: -1 empty, 0 for v0 (no version table)."""
    tables = set(inspect(con).get_table_names())
    if "schema_version" not in tables:
        return 0 if "runs" in tables else -1
    value = con.execute(
        select(schema_version_table.c.version)
        .order_by(schema_version_table.c.version.desc())
        .limit(1)
    ).scalar()
    return int(value) if value is not None else 0


def migrate(con: Connection, where: str) -> int:
    """Create or upgrade the schema inside the caller's transaction; returns the version."""
    version = _version(con)
    if version == -1:  # a new, empty store
        metadata.create_all(con)
        con.execute(insert(schema_version_table).values(version=SCHEMA_VERSION))
        return SCHEMA_VERSION
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"run store '{where}' was written by a newer version of the app "
            f"(schema {version}, this app knows up to {SCHEMA_VERSION})"
        )
    while version < SCHEMA_VERSION:
        MIGRATIONS[version](con)
        version += 1
        schema_version_table.create(con, checkfirst=True)
        con.execute(delete(schema_version_table))
        con.execute(insert(schema_version_table).values(version=version))
    return version


# --- the connection -------------------------------------------------------------------------------


class Database:
    """One store location: its engine, its schema (migrated once, on first use) and error
    handling that turns driver errors into StoreError / StoreUnavailable."""

    def __init__(self, location: str | os.PathLike, timeout_s: float = 15.0):
        self.location = str(location)
        self.shown = safe_location(self.location)  # never a password in a message
        url = engine_url(self.location)
        self.sqlite = url.startswith("sqlite")
        # SQLite: one writer at a time anyway, so one lock per store (threads of one server);
        # a server database handles concurrency itself.
        self._lock: contextlib.AbstractContextManager = (
            threading.RLock() if self.sqlite else contextlib.nullcontext()
        )
        self._migrate_lock = threading.Lock()
        self.version: int | None = None
        if self.sqlite and self.location != ":memory:" and not is_url(self.location):
            try:
                Path(self.location).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"run store '{self.shown}' cannot be created: {e}") from None
        try:
            self.engine = self._create_engine(url, timeout_s)
        except (sa_exc.ArgumentError, ImportError) as e:
            raise StoreError(f"run store '{self.shown}' cannot be opened: {e}") from None
        self._writer = self.engine.execution_options(gfl_write=True)

    def _create_engine(self, url: str, timeout_s: float) -> Engine:
        if self.sqlite:
            memory = url == "sqlite://"
            engine = create_engine(
                url,
                connect_args={"check_same_thread": False, "timeout": timeout_s},
                # in memory: one connection shared by every thread (else each has its own db)
                poolclass=StaticPool if memory else None,
            )

            @event.listens_for(engine, "connect")
            def _on_connect(dbapi_con: Any, _record: Any) -> None:
                dbapi_con.isolation_level = None  # SQLAlchemy's BEGIN below, not sqlite3's
                dbapi_con.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
                dbapi_con.execute("PRAGMA foreign_keys = ON")
                if not memory:
                    dbapi_con.execute("PRAGMA journal_mode = WAL")
                    dbapi_con.execute("PRAGMA synchronous = NORMAL")

            @event.listens_for(engine, "begin")
            def _on_begin(con: Connection) -> None:
                # writes take the write lock up front: no deadlock upgrading a read lock
                write = con.get_execution_options().get("gfl_write")
                con.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

            return engine
        return create_engine(
            url,
            pool_size=2,  # free hosted plans allow few connections; a store needs few
            max_overflow=4,
            pool_pre_ping=True,  # a server that restarted: reconnect instead of failing once
            pool_recycle=280,  # hosted servers drop idle connections (Neon after 5 min)
            connect_args={
                "connect_timeout": CONNECT_TIMEOUT_S,
                "application_name": "gradient-flow-lab",
                # no server-side prepared statements: hosted poolers in transaction mode
                # (Supabase's port 6543, PgBouncer) hand each transaction another connection
                "prepare_threshold": None,
            },
        )

    def _translate(self, e: Exception) -> StoreError:
        if isinstance(e, StoreError):
            return e
        detail = str(getattr(e, "orig", None) or e).strip().splitlines()
        why = detail[0] if detail else type(e).__name__
        if not self.sqlite and isinstance(
            e, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError)
        ):
            return StoreUnavailable(f"run store '{self.shown}' cannot be reached: {why}")
        return StoreError(f"run store '{self.shown}' cannot be used: {why}")

    def ensure(self) -> None:
        """Create or upgrade the schema once (the first time the database answers)."""
        if self.version is not None:
            return
        with self._migrate_lock, self._lock:
            if self.version is not None:
                return
            try:
                with self._writer.begin() as con:
                    if not self.sqlite:  # two servers opening one new database at once
                        con.execute(select(text(f"pg_advisory_xact_lock({_MIGRATION_LOCK})")))
                    self.version = migrate(con, self.shown)
            except StoreError:
                raise
            except (sa_exc.SQLAlchemyError, OSError) as e:
                err = self._translate(e)
                if isinstance(err, StoreUnavailable):
                    raise err from None
                raise StoreError(
                    f"run store '{self.shown}' cannot be opened: {err_detail(e)}"
                ) from None

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One short write transaction (committed on leaving, rolled back on an error)."""
        self.ensure()
        with self._lock:
            try:
                with self._writer.begin() as con:
                    yield con
            except sa_exc.SQLAlchemyError as e:
                raise self._translate(e) from None

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction."""
        self.ensure()
        with self._lock:
            try:
                with self.engine.connect() as con:
                    yield con
            except sa_exc.SQLAlchemyError as e:
                raise self._translate(e) from None

    def check(self) -> bool:
        """SQLite's integrity check; a server database: it answers."""
        with self.read() as con:
            if self.sqlite:
                return con.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            return con.execute(select(1)).scalar() == 1

    def close(self) -> None:
        self.engine.dispose()


def err_detail(e: Exception) -> str:
    detail = str(getattr(e, "orig", None) or e).strip().splitlines()
    return detail[0] if detail else type(e).__name__


def json_text(obj: Any) -> str:
    return json.dumps(obj, allow_nan=True, separators=(",", ":"))


__all__ = [
    "DEFAULT_PATH",
    "SCHEMA_VERSION",
    "Database",
    "StoreError",
    "StoreUnavailable",
    "default_path",
    "engine_url",
    "is_url",
    "metrics",
    "new_share_id",
    "runs",
    "safe_location",
    "sweeps",
    "update",
]

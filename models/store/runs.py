"""An embedded SQLite store of runs, so a page reload or a server restart loses nothing.

Everything is stored as text: the config as the CLI's config.json, the summary as JSON and the
metrics as zlib-compressed CSV (``variant,seed,step,metric,index,value``). Nothing is pickled.
Several processes/threads may write at once: WAL journal, a busy timeout and one short
transaction per call. Stores written by older versions are migrated on open (see MIGRATIONS).

Location: the ``path`` argument, else env ``GFL_STORE``, else
``~/.local/share/gradient-flow-lab/runs.sqlite``; ``:memory:`` keeps it in memory (tests).

Owners (public mode, see dashboard/visitor.py): a run may carry an ``owner`` key (a hash; never
the visitor's token itself) and always carries a random ``share_id`` that its link uses. Listing
and deleting take an ``owner``: ``None`` means every run (local mode, one person), a key means
only that owner's runs. Each owner keeps at most ``max_runs_per_owner`` runs (oldest dropped).
Runs never hold a user's data: a CSV run records only its file name, hash (in the config) and
shape (``data_info``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import secrets
import sqlite3
import threading
import time
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..core.config import Comparison, to_dict
from ..core.errors import ConfigError
from ..core.family_registry import FAMILIES
from ..core.runner import METRIC_COLUMNS, RunResult
from ..io.comparison_io import comparison_from_dict

SCHEMA_VERSION = 3
STATUSES = ("running", "finished", "stopped")
STALE_AFTER_S = 300  # a 'running' run not saved for this long was cut off (tab closed, restart)
DEFAULT_MAX_RUNS = (
    1000  # oldest runs beyond this are dropped (env GFL_STORE_MAX_RUNS; 0 = keep all)
)
DEFAULT_MAX_RUNS_PER_OWNER = 50  # one visitor cannot fill the store (env GFL_VISITOR_MAX_RUNS)
SHARE_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")  # what a share id looks like (token_urlsafe)
DEFAULT_PATH = Path.home() / ".local" / "share" / "gradient-flow-lab" / "runs.sqlite"


class StoreError(RuntimeError):
    """The run store cannot be opened or read (corrupt, newer version, unwritable)."""


def _env_int(name: str, default: int = DEFAULT_MAX_RUNS) -> int:
    try:
        return int(os.environ.get(name, "").strip() or default)
    except ValueError:
        return default


def default_path() -> str:
    """Where the store lives: env GFL_STORE, else the per-user data directory."""
    return os.environ.get("GFL_STORE", "").strip() or str(DEFAULT_PATH)


# --- encoding ----------------------------------------------------------------------------------


def encode_metrics(rows: list[tuple]) -> bytes:
    """Metric rows -> compressed CSV (floats written with repr, so they round-trip exactly)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(METRIC_COLUMNS)
    w.writerows(rows)
    return zlib.compress(buf.getvalue().encode("utf-8"), 1)


def decode_metrics(blob: bytes | None) -> list[tuple[str, int, int, str, int, float]]:
    """Compressed CSV -> metric rows (variant, seed, step, metric, index, value)."""
    if not blob:
        return []
    reader = csv.reader(io.StringIO(zlib.decompress(blob).decode("utf-8")))
    next(reader, None)  # header
    return [(v, int(s), int(k), m, int(i), float(x)) for v, s, k, m, i, x in reader]


def _json(obj: Any) -> str:
    return json.dumps(obj, allow_nan=True, separators=(",", ":"))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def settings_summary(comparison: Comparison) -> str:
    """Key shared settings in one line: 'mlp · digits · depth 20 × width 48 · 150 steps · 2 seeds'."""
    if not comparison.variants:
        return ""
    c = comparison.variants[0]
    same = lambda k: all(getattr(v, k) == getattr(c, k) for v in comparison.variants)  # noqa: E731
    shape = FAMILIES[c.family].size_text.format(**to_dict(c)) if c.family in FAMILIES else ""
    parts = [c.family, c.task if same("task") else "mixed tasks"]
    parts.append(shape if (same("depth") and same("width") and same("seq_len")) else "mixed sizes")
    steps = max(v.steps for v in comparison.variants)
    parts += [f"{steps} steps", f"{c.seeds} seed{'s' if c.seeds != 1 else ''}"]
    return " · ".join(parts)


# --- schema and migrations ---------------------------------------------------------------------

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    preset TEXT,
    status TEXT NOT NULL DEFAULT 'finished',
    config_json TEXT NOT NULL,
    summary_json TEXT NOT NULL DEFAULT '[]',
    settings TEXT NOT NULL DEFAULT '',
    variant_names TEXT NOT NULL DEFAULT '[]',
    n_variants INTEGER NOT NULL DEFAULT 0,
    steps_done INTEGER NOT NULL DEFAULT 0,
    total_steps INTEGER NOT NULL DEFAULT 0,
    n_diverged INTEGER NOT NULL DEFAULT 0,
    n_rows INTEGER NOT NULL DEFAULT 0,
    wall_s REAL NOT NULL DEFAULT 0,
    owner TEXT,
    share_id TEXT,
    data_info TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,
    csv_zlib BLOB NOT NULL
);
"""
INDEXES = """
CREATE UNIQUE INDEX IF NOT EXISTS runs_share_id ON runs(share_id);
CREATE INDEX IF NOT EXISTS runs_owner ON runs(owner, id);
"""


def _create_schema(con: sqlite3.Connection, indexes: bool = True) -> None:
    # statement by statement: executescript would commit the surrounding transaction
    for stmt in (SCHEMA + (INDEXES if indexes else "")).split(";"):
        if stmt.strip():
            con.execute(stmt)


def _columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {r[1] for r in con.execute(f"PRAGMA table_info({table})")}


def _tables(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _migrate_0_to_1(con: sqlite3.Connection) -> None:
    """v0 (no version table): runs(id, created_at, config_json, summary_json, metrics_csv)."""
    cols = _columns(con, "runs")
    if "title" not in cols:
        con.execute("ALTER TABLE runs ADD COLUMN title TEXT NOT NULL DEFAULT ''")
    if "status" not in cols:
        con.execute("ALTER TABLE runs ADD COLUMN status TEXT NOT NULL DEFAULT 'finished'")


def _new_share_id() -> str:
    return secrets.token_urlsafe(16)  # 128 random bits: a link cannot be guessed


def _migrate_2_to_3(con: sqlite3.Connection) -> None:
    """v3: owner (public mode), an unguessable share id per run, the data's shape."""
    cols = _columns(con, "runs")
    for name, decl in [("owner", "TEXT"), ("share_id", "TEXT"),
                       ("data_info", "TEXT NOT NULL DEFAULT ''")]:  # fmt: skip
        if name not in cols:
            con.execute(f"ALTER TABLE runs ADD COLUMN {name} {decl}")
    for (run_id,) in con.execute("SELECT id FROM runs WHERE share_id IS NULL").fetchall():
        con.execute("UPDATE runs SET share_id = ? WHERE id = ?", (_new_share_id(), run_id))
    _create_schema(con)  # the indexes


def _migrate_1_to_2(con: sqlite3.Connection) -> None:
    """v1 kept metrics as plain CSV in runs.metrics_csv; v2 compresses them in their own table
    and keeps the listing columns (settings, steps, outcome) so listing never parses configs."""
    _create_schema(con, indexes=False)  # v3's indexes need v3's columns
    cols = _columns(con, "runs")
    for name, decl in [
        ("updated_at", "TEXT NOT NULL DEFAULT ''"), ("preset", "TEXT"),
        ("summary_json", "TEXT NOT NULL DEFAULT '[]'"), ("settings", "TEXT NOT NULL DEFAULT ''"),
        ("variant_names", "TEXT NOT NULL DEFAULT '[]'"),
        ("n_variants", "INTEGER NOT NULL DEFAULT 0"), ("steps_done", "INTEGER NOT NULL DEFAULT 0"),
        ("total_steps", "INTEGER NOT NULL DEFAULT 0"), ("n_diverged", "INTEGER NOT NULL DEFAULT 0"),
        ("n_rows", "INTEGER NOT NULL DEFAULT 0"), ("wall_s", "REAL NOT NULL DEFAULT 0"),
    ]:  # fmt: skip
        if name not in cols:
            con.execute(f"ALTER TABLE runs ADD COLUMN {name} {decl}")
    con.execute("UPDATE runs SET updated_at = created_at WHERE updated_at = ''")
    if "metrics_csv" in cols:
        for run_id, text in con.execute("SELECT id, metrics_csv FROM runs").fetchall():
            rows = _parse_old_csv(text or "")
            con.execute(
                "INSERT OR REPLACE INTO metrics (run_id, csv_zlib) VALUES (?, ?)",
                (run_id, encode_metrics(rows)),
            )
            con.execute(
                "UPDATE runs SET n_rows = ?, steps_done = ? WHERE id = ?",
                (len(rows), max((r[2] for r in rows), default=0), run_id),
            )
        con.execute("UPDATE runs SET metrics_csv = NULL")
    # fill the listing columns from each stored config where it still validates
    for run_id, cfg_json, summ in con.execute(
        "SELECT id, config_json, summary_json FROM runs"
    ).fetchall():
        try:
            comp = comparison_from_dict(json.loads(cfg_json))
        except (ConfigError, ValueError, TypeError):
            continue
        con.execute(
            "UPDATE runs SET settings = ?, variant_names = ?, n_variants = ?, total_steps = ?, "
            "n_diverged = ?, title = CASE WHEN title = '' THEN ? ELSE title END WHERE id = ?",
            (
                settings_summary(comp), _json([v.name for v in comp.variants]),
                len(comp.variants), max(v.steps for v in comp.variants),
                _count_diverged(_safe_json_list(summ)), comp.title, run_id,
            ),
        )  # fmt: skip


def _parse_old_csv(text: str) -> list[tuple]:
    rows = []
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header != METRIC_COLUMNS:
        return rows
    for r in reader:
        try:
            rows.append((r[0], int(r[1]), int(r[2]), r[3], int(r[4]), float(r[5])))
        except (ValueError, IndexError):
            continue  # a damaged row is dropped, the run is kept
    return rows


MIGRATIONS = {0: _migrate_0_to_1, 1: _migrate_1_to_2, 2: _migrate_2_to_3}


def _safe_json_list(text: str | None) -> list:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        return []
    return value if isinstance(value, list) else []


def _count_diverged(summary: list) -> int:
    """Variants with at least one diverged seed."""
    return len(
        {
            r.get("variant")
            for r in summary
            if isinstance(r, dict) and r.get("diverged_step") is not None
        }
    )


# --- the store -------------------------------------------------------------------------------


class RunStore:
    """Runs kept in one SQLite file; safe to share between threads and processes."""

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        timeout_s: float = 15.0,
        max_runs: int | None = None,
        max_runs_per_owner: int | None = None,
    ):
        self.path = str(path) if path is not None else default_path()
        # a public server must not grow without bound: each run is up to a few MB compressed
        self.max_runs = max_runs if max_runs is not None else _env_int("GFL_STORE_MAX_RUNS")
        self.max_runs_per_owner = (
            max_runs_per_owner
            if max_runs_per_owner is not None
            else _env_int("GFL_VISITOR_MAX_RUNS", DEFAULT_MAX_RUNS_PER_OWNER)
        )
        self._lock = threading.RLock()
        try:
            if self.path != ":memory:":
                Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            self._con = sqlite3.connect(
                self.path if self.path == ":memory:" else str(Path(self.path).expanduser()),
                timeout=timeout_s, check_same_thread=False, isolation_level=None,
            )  # fmt: skip
            self._con.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
            self._con.execute("PRAGMA foreign_keys = ON")
            if self.path != ":memory:":
                self._con.execute("PRAGMA journal_mode = WAL")
                self._con.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
        except sqlite3.DatabaseError as e:
            raise StoreError(f"run store '{self.path}' cannot be opened: {e}") from None
        except OSError as e:
            raise StoreError(f"run store '{self.path}' cannot be created: {e}") from None

    # --- plumbing ---

    def _tx(self):
        """A short write transaction (BEGIN IMMEDIATE takes the write lock up front)."""
        return _Transaction(self._con, self._lock)

    def _version(self) -> int:
        tables = _tables(self._con)
        if "schema_version" not in tables:
            return 0 if "runs" in tables else -1
        row = self._con.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def _migrate(self) -> None:
        with self._tx():
            version = self._version()
            if version == -1:  # a new, empty store
                _create_schema(self._con)
                self._con.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
                return
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"run store '{self.path}' was written by a newer version of the app "
                    f"(schema {version}, this app knows up to {SCHEMA_VERSION})"
                )
            while version < SCHEMA_VERSION:
                MIGRATIONS[version](self._con)
                version += 1
                self._con.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
                )
                self._con.execute("DELETE FROM schema_version")
                self._con.execute("INSERT INTO schema_version VALUES (?)", (version,))

    def close(self) -> None:
        with self._lock:
            self._con.close()

    @property
    def schema_version(self) -> int:
        with self._lock:
            return self._version()

    # --- writing ---

    def start_run(
        self, comparison: Comparison, preset: str | None = None, owner: str | None = None
    ) -> int:
        """Register a run that is about to train (status 'running', no metrics yet)."""
        return self.save_run(comparison, None, status="running", preset=preset, owner=owner)

    def save_run(
        self,
        comparison: Comparison,
        result: RunResult | None,
        status: str = "finished",
        preset: str | None = None,
        run_id: int | None = None,
        owner: str | None = None,
        data_info: str = "",
    ) -> int:
        """Insert a run, or replace what ``run_id`` holds (periodic saves while training).

        ``owner`` is set when the run is inserted and never changed by an update; ``data_info``
        describes a CSV run's data (name and shape, never its contents).
        """
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        rows = list(result.metrics) if result is not None else []
        summary = list(result.summary) if result is not None else []
        blob = encode_metrics(rows)  # compress outside the lock: other writers keep going
        now = _now()
        fields = {
            "updated_at": now, "title": comparison.title or "", "preset": preset,
            "status": status, "config_json": _json(comparison.to_json_dict()),
            "summary_json": _json(_clean(summary)), "settings": settings_summary(comparison),
            "variant_names": _json([v.name for v in comparison.variants]),
            "n_variants": len(comparison.variants),
            "steps_done": max((r[2] for r in rows), default=0),
            "total_steps": max((v.steps for v in comparison.variants), default=0),
            "n_diverged": _count_diverged(summary), "n_rows": len(rows),
            "wall_s": float(result.wall_s) if result is not None else 0.0,
            "data_info": data_info,
        }  # fmt: skip
        with self._tx():
            exists = (
                run_id is not None
                and self._con.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone()
            )
            if exists:
                sets = ", ".join(f"{k} = ?" for k in fields)
                if preset is None:
                    sets = sets.replace("preset = ?, ", "")
                    fields.pop("preset")
                self._con.execute(
                    f"UPDATE runs SET {sets} WHERE id = ?", (*fields.values(), run_id)
                )
            else:
                fields["created_at"], fields["owner"] = now, owner
                fields["share_id"] = _new_share_id()
                cols = ", ".join(fields)
                marks = ", ".join("?" * len(fields))
                cur = self._con.execute(
                    f"INSERT INTO runs ({cols}) VALUES ({marks})", tuple(fields.values())
                )
                run_id = int(cur.lastrowid)
                self._prune(owner)
            self._con.execute(
                "INSERT OR REPLACE INTO metrics (run_id, csv_zlib) VALUES (?, ?)", (run_id, blob)
            )
        return int(run_id)

    def _prune(self, owner: str | None = None) -> None:
        """Drop the oldest runs beyond ``max_runs``, and the owner's oldest beyond
        ``max_runs_per_owner`` (inside the caller's transaction)."""
        if self.max_runs and self.max_runs > 0:
            old = "SELECT id FROM runs ORDER BY id DESC LIMIT -1 OFFSET ?"
            self._con.execute(f"DELETE FROM metrics WHERE run_id IN ({old})", (self.max_runs,))
            self._con.execute(f"DELETE FROM runs WHERE id IN ({old})", (self.max_runs,))
        cap = self.max_runs_per_owner
        if owner is not None and cap and cap > 0:
            old = "SELECT id FROM runs WHERE owner = ? ORDER BY id DESC LIMIT -1 OFFSET ?"
            self._con.execute(f"DELETE FROM metrics WHERE run_id IN ({old})", (owner, cap))
            self._con.execute(f"DELETE FROM runs WHERE id IN ({old})", (owner, cap))

    def delete_run(self, run_id: int, owner: str | None = None) -> bool:
        """Remove a run; False if there was none with that id (owned by ``owner``, when given)."""
        mine = "" if owner is None else " AND owner = ?"
        args = (int(run_id),) if owner is None else (int(run_id), owner)
        with self._tx():
            if not self._con.execute(f"SELECT 1 FROM runs WHERE id = ?{mine}", args).fetchone():
                return False
            self._con.execute("DELETE FROM metrics WHERE run_id = ?", (int(run_id),))
            cur = self._con.execute("DELETE FROM runs WHERE id = ?", (int(run_id),))
            return cur.rowcount > 0

    def owner_of(self, run_id: int) -> str | None:
        """The run's owner key (None: no owner, or no such run)."""
        with self._lock:
            row = self._con.execute(
                "SELECT owner FROM runs WHERE id = ?", (int(run_id),)
            ).fetchone()
        return row[0] if row else None

    def data_info(self, run_id: int) -> str:
        """What a run recorded about its data (name and shape; '' for built-in tasks)."""
        with self._lock:
            row = self._con.execute(
                "SELECT data_info FROM runs WHERE id = ?", (int(run_id),)
            ).fetchone()
        return str(row[0] or "") if row else ""

    def find_shared(self, share_id: str) -> int | None:
        """The id of the run a share link names, or None (malformed or unknown)."""
        if not isinstance(share_id, str) or not SHARE_ID.fullmatch(share_id):
            return None
        with self._lock:
            row = self._con.execute(
                "SELECT id FROM runs WHERE share_id = ?", (share_id,)
            ).fetchone()
        return int(row[0]) if row else None

    # --- reading ---

    def list_runs(self, limit: int = 500, owner: str | None = None) -> list[dict[str, Any]]:
        """Newest first: id, created_at, title, preset, settings, variants, steps, outcome,
        share_id, data_info; every run, or only ``owner``'s when given."""
        mine = "" if owner is None else " WHERE owner = ?"
        args = (int(limit),) if owner is None else (owner, int(limit))
        with self._lock:
            cur = self._con.execute(
                "SELECT id, created_at, updated_at, title, preset, status, settings, variant_names,"
                " n_variants, steps_done, total_steps, n_diverged, n_rows, wall_s, share_id,"
                f" data_info FROM runs{mine} ORDER BY id DESC LIMIT ?",
                args,
            )
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, r)) for r in cur.fetchall()]
        for r in rows:
            r["variant_names"] = [str(n) for n in _safe_json_list(r["variant_names"])]
            r["outcome"] = outcome(r)
        return rows

    def load_run(self, run_id: int) -> tuple[Comparison, RunResult]:
        """The comparison and its results (metrics and summary) as saved."""
        with self._lock:
            row = self._con.execute(
                "SELECT r.config_json, r.summary_json, r.status, r.wall_s, m.csv_zlib FROM runs r "
                "LEFT JOIN metrics m ON m.run_id = r.id WHERE r.id = ?",
                (int(run_id),),
            ).fetchone()
        if row is None:
            raise KeyError(f"no run with id {run_id}")
        cfg_json, summ_json, status, wall_s, blob = row
        try:
            comp = comparison_from_dict(json.loads(cfg_json))
            rows = decode_metrics(blob)
        except (ConfigError, ValueError, zlib.error) as e:
            raise StoreError(f"run {run_id} cannot be read back: {e}") from None
        summary = [r for r in _safe_json_list(summ_json) if isinstance(r, dict)]
        result = RunResult(comp, metrics=rows, summary=summary, stopped=status == "stopped")
        result.wall_s = float(wall_s or 0.0)
        return comp, result

    def export_run(self, run_id: int) -> bytes:
        """A zip of metrics.csv, summary.csv and config.json (the CLI's output format)."""
        comp, result = self.load_run(run_id)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("metrics.csv", result.metrics_frame().to_csv(index=False))
            z.writestr("summary.csv", result.summary_frame().to_csv(index=False))
            z.writestr("config.json", json.dumps(comp.to_json_dict(), indent=2))
        return buf.getvalue()

    def check(self) -> bool:
        """SQLite's integrity check."""
        with self._lock:
            return self._con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def outcome(row: dict[str, Any]) -> str:
    """'finished', 'stopped', 'running', 'interrupted' (+ ', N diverged')."""
    status = row.get("status") or "finished"
    if status == "running":
        try:
            age = time.time() - datetime.fromisoformat(row["updated_at"]).timestamp()
        except (TypeError, ValueError, KeyError):
            age = math.inf
        if age > STALE_AFTER_S:
            status = "interrupted"
    n = int(row.get("n_diverged") or 0)
    return status + (f", {n} diverged" if n else "")


def _clean(summary: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Summary rows with plain JSON types (numpy/torch scalars become floats)."""
    out = []
    for r in summary:
        d = {}
        for k, v in r.items():
            if v is None or isinstance(v, (str, bool, int, float)):
                d[k] = v
            else:
                try:
                    d[k] = float(v)
                except (TypeError, ValueError):
                    d[k] = str(v)
        out.append(d)
    return out


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT under the store's thread lock; ROLLBACK on error."""

    def __init__(self, con: sqlite3.Connection, lock: threading.RLock):
        self.con, self.lock = con, lock

    def __enter__(self):
        self.lock.acquire()
        try:
            self.con.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise
        return self.con

    def __exit__(self, exc_type, exc, tb):
        try:
            self.con.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.lock.release()
        return False


def open_store(path: str | os.PathLike | None = None) -> RunStore:
    """Open (creating or migrating) the store at ``path`` / GFL_STORE / the default location."""
    return RunStore(path)

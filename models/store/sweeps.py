"""Sweeps kept beside the runs, in the same SQLite file (their own table, no schema change).

A sweep is stored as its resolved spec (sweep.json) and its rows (sweep.csv's rows, zlib JSON):
the Runs page lists them, the Phase diagrams page reopens them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .runs import StoreError, default_path

DEFAULT_MAX_SWEEPS = 100  # oldest beyond this are dropped (env GFL_STORE_MAX_SWEEPS)
STATUSES = ("finished", "stopped")


def _max_sweeps() -> int:
    try:
        return int(os.environ.get("GFL_STORE_MAX_SWEEPS", "").strip() or DEFAULT_MAX_SWEEPS)
    except ValueError:
        return DEFAULT_MAX_SWEEPS


class SweepStore:
    """Save, list, load and delete sweeps; safe to share between threads."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = str(path) if path is not None else default_path()
        self._lock = threading.RLock()
        try:
            if self.path != ":memory:":
                Path(self.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
            target = self.path if self.path == ":memory:" else str(Path(self.path).expanduser())
            self._con = sqlite3.connect(
                target, timeout=15, check_same_thread=False, isolation_level=None
            )
            self._con.execute(
                "CREATE TABLE IF NOT EXISTS sweeps (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "created_at TEXT NOT NULL, title TEXT, preset TEXT, status TEXT NOT NULL, "
                "points INTEGER, spec TEXT NOT NULL, rows BLOB)"
            )
            # public mode (dashboard/visitor.py): whose sweep; NULL = local mode / older stores
            cols = {r[1] for r in self._con.execute("PRAGMA table_info(sweeps)")}
            if "owner" not in cols:
                self._con.execute("ALTER TABLE sweeps ADD COLUMN owner TEXT")
        except (sqlite3.DatabaseError, OSError) as e:
            raise StoreError(f"sweep store '{self.path}' cannot be opened: {e}") from None

    def save(
        self, spec_json: dict[str, Any], rows: list[dict[str, Any]], status: str = "finished",
        preset: str | None = None, owner: str | None = None,
    ) -> int:  # fmt: skip
        """Keep one sweep (``owner``: the public-mode visitor's key); returns its id."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        blob = zlib.compress(json.dumps(rows, default=_plain).encode("utf-8"), 6)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._lock:
            cur = self._con.execute(
                "INSERT INTO sweeps (created_at, title, preset, status, points, spec, rows, owner)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (now, spec_json.get("title", ""), preset, status, len(rows),
                 json.dumps(spec_json, ensure_ascii=False), blob, owner),
            )  # fmt: skip
            new_id = int(cur.lastrowid)
            keep = _max_sweeps()
            if keep > 0:
                self._con.execute(
                    "DELETE FROM sweeps WHERE id NOT IN "
                    "(SELECT id FROM sweeps ORDER BY id DESC LIMIT ?)",
                    (keep,),
                )
        return new_id

    def list(self, limit: int = 200, owner: str | None = None) -> list[dict[str, Any]]:
        """Newest first: id, created_at, title, preset, status, points (rows); every sweep, or
        only ``owner``'s when given (public mode)."""
        mine = "" if owner is None else "WHERE owner = ? "
        args = (limit,) if owner is None else (owner, limit)
        with self._lock:
            cur = self._con.execute(
                "SELECT id, created_at, title, preset, status, points FROM sweeps "
                f"{mine}ORDER BY id DESC LIMIT ?",
                args,
            )
            names = [c[0] for c in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]

    def load(self, sweep_id: int) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
        """(resolved spec dict, rows, status); KeyError if there is no such sweep."""
        with self._lock:
            row = self._con.execute(
                "SELECT spec, rows, status FROM sweeps WHERE id = ?", (sweep_id,)
            ).fetchone()
        if row is None:
            raise KeyError(sweep_id)
        try:
            rows = json.loads(zlib.decompress(row[1]).decode("utf-8")) if row[1] else []
            return json.loads(row[0]), rows, row[2]
        except (ValueError, zlib.error) as e:
            raise StoreError(f"sweep #{sweep_id} is damaged: {e}") from None

    def delete(self, sweep_id: int) -> bool:
        with self._lock:
            cur = self._con.execute("DELETE FROM sweeps WHERE id = ?", (sweep_id,))
            return cur.rowcount > 0


def _plain(x: Any) -> Any:
    """numpy scalars and the like as plain JSON values."""
    try:
        return x.item()
    except AttributeError:
        return str(x)

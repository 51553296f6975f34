"""Sweeps kept beside the runs, in the same database (the ``sweeps`` table of schema 4).

A sweep is stored as its resolved spec (sweep.json) and its rows (sweep.csv's rows, zlib JSON):
the Runs page lists them, the Phase diagrams page reopens them.
"""

from __future__ import annotations

import json
import os
import zlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select

from .db import Database, StoreError, StoreUnavailable, default_path, sweeps

DEFAULT_MAX_SWEEPS = 100  # oldest beyond this are dropped (env GFL_STORE_MAX_SWEEPS)
STATUSES = ("finished", "stopped")
LISTED = ("id", "created_at", "title", "preset", "status", "points")


def _max_sweeps() -> int:
    try:
        return int(os.environ.get("GFL_STORE_MAX_SWEEPS", "").strip() or DEFAULT_MAX_SWEEPS)
    except ValueError:
        return DEFAULT_MAX_SWEEPS


class SweepStore:
    """Save, list, load and delete sweeps; safe to share between threads and processes."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = str(path) if path is not None else default_path()
        self._db = Database(self.path)
        try:
            self._db.ensure()
        except StoreUnavailable:
            pass  # a database server that is down: calls raise until it is back

    @property
    def location(self) -> str:
        """Where the sweeps are, fit to be shown (no password)."""
        return self._db.shown

    def close(self) -> None:
        self._db.close()

    def save(
        self,
        spec_json: dict[str, Any],
        rows: list[dict[str, Any]],
        status: str = "finished",
        preset: str | None = None,
        owner: str | None = None,
    ) -> int:
        """Keep one sweep (``owner``: the public-mode visitor's key); returns its id."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        blob = zlib.compress(json.dumps(rows, default=_plain).encode("utf-8"), 6)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with self._db.write() as con:
            new_id = con.execute(
                insert(sweeps).values(
                    created_at=now,
                    title=spec_json.get("title", ""),
                    preset=preset,
                    status=status,
                    points=len(rows),
                    owner=owner,
                    rows=blob,
                    spec=json.dumps(spec_json, ensure_ascii=False),
                )
            ).inserted_primary_key[0]
            keep = _max_sweeps()
            if keep > 0:
                old = select(sweeps.c.id).order_by(sweeps.c.id.desc()).offset(keep)
                ids = [r[0] for r in con.execute(old).all()]
                if ids:
                    con.execute(delete(sweeps).where(sweeps.c.id.in_(ids)))
        return int(new_id)

    def list(self, limit: int = 200, owner: str | None = None) -> list[dict[str, Any]]:
        """Newest first: id, created_at, title, preset, status, points (rows); every sweep, or
        only ``owner``'s when given (public mode)."""
        query = select(*(sweeps.c[k] for k in LISTED)).order_by(sweeps.c.id.desc())
        if owner is not None:
            query = query.where(sweeps.c.owner == owner)
        with self._db.read() as con:
            return [dict(r._mapping) for r in con.execute(query.limit(int(limit))).all()]

    def load(self, sweep_id: int) -> tuple[dict[str, Any], list[dict[str, Any]], str]:
        """(resolved spec dict, rows, status); KeyError if there is no such sweep."""
        query = select(sweeps.c.spec, sweeps.c.rows, sweeps.c.status)
        with self._db.read() as con:
            row = con.execute(query.where(sweeps.c.id == int(sweep_id))).first()
        if row is None:
            raise KeyError(sweep_id)
        try:
            rows = json.loads(zlib.decompress(bytes(row[1])).decode("utf-8")) if row[1] else []
            return json.loads(row[0]), rows, row[2]
        except (ValueError, zlib.error) as e:
            raise StoreError(f"sweep #{sweep_id} is damaged: {e}") from None

    def delete(self, sweep_id: int) -> bool:
        with self._db.write() as con:
            return con.execute(delete(sweeps).where(sweeps.c.id == int(sweep_id))).rowcount > 0


def _plain(x: Any) -> Any:
    """numpy scalars and the like as plain JSON values."""
    try:
        return x.item()
    except AttributeError:
        return str(x)

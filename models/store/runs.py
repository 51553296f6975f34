"""The run store: runs kept in a database, so a page reload, a server restart or (with a database
server) a wiped disk loses nothing.

Everything is stored as text: the config as the CLI's config.json, the summary as JSON and the
metrics as zlib-compressed CSV (``variant,seed,step,metric,index,value``). Nothing is pickled.
Several processes/threads may write at once: one short transaction per call. Stores written by
older versions are migrated on open (``db.MIGRATIONS``).

Location: the ``path`` argument, else env ``GFL_STORE``, else
``~/.local/share/gradient-flow-lab/runs.sqlite``. A location is a SQLite file path, ``:memory:``
(tests) or a database URL such as ``postgresql://user:pass@host/db`` (several app servers share
one database; runs and share links outlive the app's disk). See db.py.

A database server that cannot be reached does not make opening fail: every call then raises
StoreUnavailable until it answers again, and the same store object works again after that.

Owners (public mode, see dashboard/state/visitor.py): a run may carry an ``owner`` key (a hash; never
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
import time
import zipfile
import zlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, insert, select, update

from ..core.config import Comparison, to_dict
from ..core.errors import ConfigError
from ..core.family_registry import FAMILIES
from ..core.runner import METRIC_COLUMNS, RunResult
from ..io.comparison_io import comparison_from_dict
from ..io.safe_csv import safe_csv  # the export zip's CSVs: formula cells neutralised
from .db import (
    DEFAULT_PATH,
    SCHEMA_VERSION,
    Database,
    StoreError,
    StoreUnavailable,
    default_path,
    metrics,
    new_share_id,
    runs,
)

STATUSES = ("running", "finished", "stopped")
STALE_AFTER_S = 300  # a 'running' run not saved for this long was cut off (tab closed, restart)
DEFAULT_MAX_RUNS = (
    1000  # oldest runs beyond this are dropped (env GFL_STORE_MAX_RUNS; 0 = keep all)
)
DEFAULT_MAX_RUNS_PER_OWNER = 50  # one visitor cannot fill the store (env GFL_VISITOR_MAX_RUNS)
SHARE_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")  # what a share id looks like (token_urlsafe)
LISTED = (
    "id",
    "created_at",
    "updated_at",
    "title",
    "preset",
    "status",
    "settings",
    "variant_names",
    "n_variants",
    "steps_done",
    "total_steps",
    "n_diverged",
    "n_rows",
    "wall_s",
    "share_id",
    "data_info",
)


def _env_int(name: str, default: int = DEFAULT_MAX_RUNS) -> int:
    try:
        return int(os.environ.get(name, "").strip() or default)
    except ValueError:
        return default


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
    if comparison.watched is not None:  # a run from the user's own code (models.watch)
        return str(comparison.watched.get("settings", "from your code"))
    c = comparison.variants[0]
    same = lambda k: all(getattr(v, k) == getattr(c, k) for v in comparison.variants)  # noqa: E731
    shape = FAMILIES[c.family].size_text.format(**to_dict(c)) if c.family in FAMILIES else ""
    parts = [c.family, c.task if same("task") else "mixed tasks"]
    parts.append(shape if (same("depth") and same("width") and same("seq_len")) else "mixed sizes")
    steps = max(v.steps for v in comparison.variants)
    parts += [f"{steps} steps", f"{c.seeds} seed{'s' if c.seeds != 1 else ''}"]
    return " · ".join(parts)


# --- what the migrations need from the encoding ----------------------------------------------


def parse_old_csv(text: str) -> list[tuple]:
    """v1's plain metrics CSV -> rows (a damaged row is dropped, the run is kept)."""
    rows = []
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header != METRIC_COLUMNS:
        return rows
    for r in reader:
        try:
            rows.append((r[0], int(r[1]), int(r[2]), r[3], int(r[4]), float(r[5])))
        except (ValueError, IndexError):
            continue
    return rows


def fill_listing(cfg_json: str, summary_json: str | None) -> dict[str, Any] | None:
    """The listing columns of a stored config (None when it no longer validates)."""
    try:
        comp = comparison_from_dict(json.loads(cfg_json))
    except (ConfigError, ValueError, TypeError):
        return None
    return {
        "settings": settings_summary(comp),
        "variant_names": _json([v.name for v in comp.variants]),
        "n_variants": len(comp.variants),
        "total_steps": max(v.steps for v in comp.variants),
        "n_diverged": _count_diverged(_safe_json_list(summary_json)),
        "title": comp.title,
    }


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
    """Runs kept in one SQLite file or database; safe to share between threads and processes."""

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
        self._db = Database(self.path, timeout_s)
        try:
            self._db.ensure()
        except StoreUnavailable:
            pass  # a database server that is down: calls raise until it is back

    @property
    def location(self) -> str:
        """Where the runs are, fit to be shown (a database URL without its password)."""
        return self._db.shown

    @property
    def is_server(self) -> bool:
        """True for a database server (PostgreSQL), False for a SQLite file or memory."""
        return not self._db.sqlite

    def close(self) -> None:
        self._db.close()

    @property
    def schema_version(self) -> int:
        self._db.ensure()
        return int(self._db.version or 0)

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
        blob = encode_metrics(rows)  # compress outside the transaction: other writers go on
        now = _now()
        fields = {
            "updated_at": now,
            "title": comparison.title or "",
            "preset": preset,
            "status": status,
            "config_json": _json(comparison.to_json_dict()),
            "summary_json": _json(_clean(summary)),
            "settings": settings_summary(comparison),
            "variant_names": _json([v.name for v in comparison.variants]),
            "n_variants": len(comparison.variants),
            "steps_done": max((r[2] for r in rows), default=0),
            "total_steps": max((v.steps for v in comparison.variants), default=0),
            "n_diverged": _count_diverged(summary),
            "n_rows": len(rows),
            "wall_s": float(result.wall_s) if result is not None else 0.0,
            "data_info": data_info,
        }
        with self._db.write() as con:
            exists = (
                run_id is not None
                and con.execute(select(runs.c.id).where(runs.c.id == int(run_id))).first()
            )
            if exists:
                if preset is None:
                    fields.pop("preset")  # an update keeps the preset it was saved with
                con.execute(update(runs).where(runs.c.id == int(run_id)).values(**fields))
                con.execute(delete(metrics).where(metrics.c.run_id == int(run_id)))
            else:
                fields.update(created_at=now, owner=owner, share_id=new_share_id())
                run_id = int(con.execute(insert(runs).values(**fields)).inserted_primary_key[0])
            con.execute(insert(metrics).values(run_id=int(run_id), csv_zlib=blob))
            if not exists:
                self._prune(con, owner)
        return int(run_id)

    def _prune(self, con: Any, owner: str | None = None) -> None:
        """Drop the oldest runs beyond ``max_runs``, and the owner's oldest beyond
        ``max_runs_per_owner`` (inside the caller's transaction)."""
        doomed = []
        if self.max_runs and self.max_runs > 0:
            doomed.append(select(runs.c.id).order_by(runs.c.id.desc()).offset(int(self.max_runs)))
        cap = self.max_runs_per_owner
        if owner is not None and cap and cap > 0:
            doomed.append(
                select(runs.c.id)
                .where(runs.c.owner == owner)
                .order_by(runs.c.id.desc())
                .offset(int(cap))
            )
        for old in doomed:
            ids = [r[0] for r in con.execute(old).all()]
            if ids:
                con.execute(delete(metrics).where(metrics.c.run_id.in_(ids)))
                con.execute(delete(runs).where(runs.c.id.in_(ids)))

    def delete_run(self, run_id: int, owner: str | None = None) -> bool:
        """Remove a run; False if there was none with that id (owned by ``owner``, when given)."""
        which = runs.c.id == int(run_id)
        if owner is not None:
            which = which & (runs.c.owner == owner)
        with self._db.write() as con:
            if not con.execute(select(runs.c.id).where(which)).first():
                return False
            con.execute(delete(metrics).where(metrics.c.run_id == int(run_id)))
            return con.execute(delete(runs).where(runs.c.id == int(run_id))).rowcount > 0

    def _one(self, column: Any, run_id: int) -> Any:
        with self._db.read() as con:
            return con.execute(select(column).where(runs.c.id == int(run_id))).first()

    def owner_of(self, run_id: int) -> str | None:
        """The run's owner key (None: no owner, or no such run)."""
        row = self._one(runs.c.owner, run_id)
        return row[0] if row else None

    def data_info(self, run_id: int) -> str:
        """What a run recorded about its data (name and shape; '' for built-in tasks)."""
        row = self._one(runs.c.data_info, run_id)
        return str(row[0] or "") if row else ""

    def find_shared(self, share_id: str) -> int | None:
        """The id of the run a share link names, or None (malformed or unknown)."""
        if not isinstance(share_id, str) or not SHARE_ID.fullmatch(share_id):
            return None
        with self._db.read() as con:
            row = con.execute(select(runs.c.id).where(runs.c.share_id == share_id)).first()
        return int(row[0]) if row else None

    # --- reading ---

    def count_runs(self, owner: str | None = None) -> int:
        """How many runs there are (``owner``'s only, when given)."""
        query = select(func.count()).select_from(runs)
        if owner is not None:
            query = query.where(runs.c.owner == owner)
        with self._db.read() as con:
            return int(con.execute(query).scalar() or 0)

    def list_runs(self, limit: int = 500, owner: str | None = None) -> list[dict[str, Any]]:
        """Newest first: id, created_at, title, preset, settings, variants, steps, outcome,
        share_id, data_info; every run, or only ``owner``'s when given."""
        query = select(*(runs.c[k] for k in LISTED)).order_by(runs.c.id.desc()).limit(int(limit))
        if owner is not None:
            query = query.where(runs.c.owner == owner)
        with self._db.read() as con:
            rows = [dict(r._mapping) for r in con.execute(query).all()]
        for r in rows:
            r["variant_names"] = [str(n) for n in _safe_json_list(r["variant_names"])]
            r["outcome"] = outcome(r)
        return rows

    def load_run(self, run_id: int) -> tuple[Comparison, RunResult]:
        """The comparison and its results (metrics and summary) as saved."""
        query = (
            select(
                runs.c.config_json,
                runs.c.summary_json,
                runs.c.status,
                runs.c.wall_s,
                metrics.c.csv_zlib,
            )
            .select_from(runs.outerjoin(metrics, metrics.c.run_id == runs.c.id))
            .where(runs.c.id == int(run_id))
        )
        with self._db.read() as con:
            row = con.execute(query).first()
        if row is None:
            raise KeyError(f"no run with id {run_id}")
        cfg_json, summ_json, status, wall_s, blob = row
        try:
            comp = comparison_from_dict(json.loads(cfg_json))
            rows = decode_metrics(bytes(blob) if blob is not None else None)
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
            z.writestr("metrics.csv", safe_csv(result.metrics_frame()))
            z.writestr("summary.csv", safe_csv(result.summary_frame()))
            z.writestr("config.json", json.dumps(comp.to_json_dict(), indent=2))
        return buf.getvalue()

    def check(self) -> bool:
        """SQLite's integrity check (a database server: it answers)."""
        return self._db.check()


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


def open_store(path: str | os.PathLike | None = None) -> RunStore:
    """Open (creating or migrating) the store at ``path`` / GFL_STORE / the default location."""
    return RunStore(path)


__all__ = [
    "DEFAULT_PATH",
    "SCHEMA_VERSION",
    "SHARE_ID",
    "STATUSES",
    "RunStore",
    "StoreError",
    "StoreUnavailable",
    "decode_metrics",
    "default_path",
    "encode_metrics",
    "open_store",
    "outcome",
    "settings_summary",
]

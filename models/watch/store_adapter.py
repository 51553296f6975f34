"""The one place a watched run meets the run store (the lead repoints it when the store moves).

``save_watched`` writes a run; ``load_watched`` reads one back as (WatchedRun-like metadata,
RunResult). Everything else in models.watch and the dashboard goes through these two.
"""

from __future__ import annotations

import os
from typing import Any

from ..core.config import Comparison
from ..core.runner import RunResult
from ..store import open_store
from .run import WatchedRun


def save_watched(run: WatchedRun, path: str | os.PathLike | None = None) -> int:
    """Save a watched run in the run store at ``path`` (None: GFL_STORE or the default)."""
    store = open_store(path)
    try:
        status = "stopped" if run.stopped else "finished"
        return store.save_run(run.comparison(), run.result(), status=status)
    finally:
        store.close()


def load_watched(store: Any, run_id: int) -> tuple[Comparison, RunResult]:
    """A stored run (watched or not) as (comparison, result); ``comparison.watched`` says which."""
    return store.load_run(run_id)


def is_watched(comparison: Comparison) -> bool:
    """Whether a stored run came from watch() (a user's loop) rather than the lab."""
    return getattr(comparison, "watched", None) is not None

"""The dashboard's side of the run store: one store per server process, and save hooks for
the training pages (periodically while training, and when a run finishes or is stopped).

Saving must never break training: every hook swallows store errors (reported once per session
as a warning), and a store that cannot be opened falls back to an in-memory one with a notice.
"""

from __future__ import annotations

import time
from typing import Any

import streamlit as st

from dashboard import visitor
from dashboard.plain import plain
from models import Comparison, RunResult, RunStore, StoreError
from models import default_store_path as default_path

SAVE_EVERY_S = 5.0  # periodic saves while training: a closed tab loses at most this much


@st.cache_resource(show_spinner=False)
def _open(path: str) -> tuple[RunStore, str | None]:
    try:
        return RunStore(path), None
    except StoreError as e:
        return RunStore(":memory:"), (
            f"{e}. Runs are kept in memory only until the server restarts "
            "(set GFL_STORE to a writable file to keep them)."
        )


def get_store() -> tuple[RunStore, str | None]:
    """(the server's run store, a notice when it had to fall back to memory)."""
    return _open(default_path())


def _warn_once(e: Exception) -> None:
    if not st.session_state.get("_runs_store_warned"):
        st.session_state["_runs_store_warned"] = True
        st.warning(
            f"This run could not be saved to the run store: {plain(visitor.hide_paths(e), 200)}",
            icon=":material/save:",
        )


def save(
    comparison: Comparison,
    result: RunResult | None,
    status: str,
    preset: str | None = None,
    run_id: int | None = None,
    owner: str | None = None,
    data_info: str = "",
) -> int | None:
    """Save (or update) a run; returns its id, or None if the store failed (never raises)."""
    try:
        store, _ = get_store()
        return store.save_run(comparison, result, status, preset=preset, run_id=run_id,
                              owner=owner, data_info=data_info)  # fmt: skip
    except Exception as e:  # noqa: BLE001 - saving is best effort, training goes on
        _warn_once(e)
        return run_id


class RunSaver:
    """Saves one training run: ``tick`` from the progress callback, ``finish`` at the end."""

    def __init__(
        self,
        comparison: Comparison,
        preset: str | None = None,
        every_s: float = SAVE_EVERY_S,
        owner: str | None = None,
        data_info: str = "",
    ):
        self.comparison, self.preset, self.every_s = comparison, preset, every_s
        self.owner, self.data_info = owner, data_info  # public mode: whose run; CSV: its data
        self.run_id: int | None = None
        self._last = time.monotonic()  # the first periodic save comes after every_s

    def tick(self, progress: Any) -> int | None:
        """Save the run so far at most every ``every_s`` seconds (status 'running')."""
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            self.run_id = save(self.comparison, progress.result, "running", self.preset,
                               self.run_id, self.owner, self.data_info)  # fmt: skip
        return self.run_id

    def finish(self, result: RunResult) -> int | None:
        """Save the final result: 'stopped' when it was cut short, else 'finished'."""
        status = "stopped" if result.stopped else "finished"
        self.run_id = save(self.comparison, result, status, self.preset, self.run_id,
                           self.owner, self.data_info)  # fmt: skip
        return self.run_id


def save_interrupted(run: dict[str, Any]) -> int | None:
    """A run cut short by a rerun (Stop, a widget): keep what it trained, marked 'stopped'.

    ``run`` is the training page's running-run dict: comparison, result, and optionally
    ``saver`` (a RunSaver) or ``store_id``/``preset``.
    """
    result = run.get("result")
    if result is None or not result.metrics:
        return None
    saver = run.get("saver")
    if isinstance(saver, RunSaver):
        result.stopped = True
        return saver.finish(result)
    return save(run["comparison"], result, "stopped", run.get("preset"), run.get("store_id"))

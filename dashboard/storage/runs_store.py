"""The dashboard's side of the run store: one store per server process, save hooks for the
training pages (periodically while training, and when a run finishes or is stopped), and what
happens when the store's database goes away.

Saving must never break training: every hook swallows store errors. A save that fails is kept
(``Pending``, one per server process) and tried again as the pages rerun, at most every
``RETRY_S`` seconds (doubling while the database stays away, up to ``RETRY_MAX_S``): when the
database is back, every run is saved, none lost. While some wait, every page says so
(``status_banner``). A store that cannot be opened at all (a corrupt file) falls back to an
in-memory one with a notice.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import streamlit as st

from dashboard.plain import plain
from dashboard.state import visitor
from models import Comparison, RunResult, RunStore, StoreError, StoreUnavailable, SweepStore
from models import default_store_path as default_path

SAVE_EVERY_S = 5.0  # periodic saves while training: a closed tab loses at most this much
RETRY_S = 5.0  # the database was away: the first retry after this long ...
RETRY_MAX_S = 60.0  # ... doubling up to this (a dead host costs a connect timeout per try)
MAX_PENDING = 200  # unsaved runs kept in memory while the database is away (oldest dropped)


def location() -> str:
    """The store's location: env GFL_STORE, else Streamlit's secrets (Community Cloud's
    Settings → Secrets: ``GFL_STORE = "postgresql://…"``), else the default file."""
    if not os.environ.get("GFL_STORE", "").strip():
        try:
            value = st.secrets.get("GFL_STORE")
        except Exception:  # noqa: BLE001 - no secrets file: the default location
            value = None
        if isinstance(value, str) and value.strip():
            return value.strip()
    return default_path()


@st.cache_resource(show_spinner=False)
def _open(path: str) -> tuple[RunStore, str | None]:
    try:
        return RunStore(path), None
    except StoreError as e:
        return RunStore(":memory:"), (
            f"{e}. Runs are kept in memory only until the server restarts "
            "(set GFL_STORE to a writable file or a database URL to keep them)."
        )


def get_store() -> tuple[RunStore, str | None]:
    """(the server's run store, a notice when it had to fall back to memory)."""
    return _open(location())


# --- saves that wait for the database --------------------------------------------------------


class Job:
    """One save: ``attempt`` tries it once and raises what the store raised."""

    def __init__(self, attempt: Callable[[], Any], what: str = "run"):
        self.attempt, self.what = attempt, what


class Pending:
    """The saves this server process could not make yet, retried with a backoff."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.lock = threading.Lock()
        self.next_try = 0.0  # monotonic time before which no save is tried (database away)
        self.wait = RETRY_S
        self.error = ""  # why the last save failed ('' while saves succeed)
        self.saved_late = 0  # how many waiting saves went through (for the 'back' message)

    def away(self) -> bool:
        """True while the database was away at the last try and the next is not due."""
        return bool(self.error) and time.monotonic() < self.next_try

    def failed(self, e: Exception) -> None:
        self.error = str(e)
        self.next_try = time.monotonic() + self.wait
        self.wait = min(self.wait * 2, RETRY_MAX_S)

    def succeeded(self) -> None:
        self.error, self.wait, self.next_try = "", RETRY_S, 0.0

    def add(self, job: Job) -> None:
        with self.lock:
            if job not in self.jobs:
                self.jobs.append(job)
            del self.jobs[:-MAX_PENDING]

    def flush(self) -> int:
        """Try the waiting saves (when due, one thread at a time); how many went through."""
        if not self.jobs or self.away() or not self.lock.acquire(blocking=False):
            return 0
        done = 0
        try:
            while self.jobs:
                try:
                    self.jobs[0].attempt()
                except Exception as e:  # noqa: BLE001 - still away: keep it, try later
                    self.failed(e)
                    break
                self.jobs.pop(0)
                done += 1
                self.succeeded()
        finally:
            self.lock.release()
        self.saved_late += done
        return done


@st.cache_resource(show_spinner=False)
def pending() -> Pending:
    """The server process's waiting saves (shared by every session)."""
    return Pending()


def _try(job: Job) -> bool:
    """Run a save now (unless the database is known to be away); keep it when it fails."""
    queue = pending()
    if queue.away():
        queue.add(job)
        return False
    try:
        job.attempt()
    except Exception as e:  # noqa: BLE001 - saving is best effort, training goes on
        queue.failed(e)
        queue.add(job)
        _warn_once(e, job.what)
        return False
    if queue.error:
        queue.succeeded()
    queue.flush()  # the database answers: what waited goes in now
    return True


def keep_trying(attempt: Callable[[], Any], what: str = "sweep") -> bool:
    """Save now, or as soon as the database is back (sweeps and other saves); True if saved."""
    return _try(Job(attempt, what))


def _warn_once(e: Exception, what: str = "run") -> None:
    if st.session_state.get("_runs_store_warned"):
        return
    st.session_state["_runs_store_warned"] = True
    if isinstance(e, StoreUnavailable):
        st.warning(
            "Runs are not being saved right now: the run database cannot be reached. Training "
            f"goes on; this {what} is kept and saved as soon as the database is back.",
            icon=":material/cloud_off:",
        )
    else:
        st.warning(
            f"This {what} could not be saved to the run store: {plain(visitor.hide_paths(e), 200)}",
            icon=":material/save:",
        )


def status_banner() -> None:
    """On every page: retry waiting saves; say plainly while runs are not being saved, and once
    when they have been saved after all."""
    try:
        queue = pending()
        queue.flush()
    except Exception:  # noqa: BLE001 - the banner must never break a page
        return
    waiting = len(queue.jobs)
    if waiting:
        st.session_state["_runs_store_waited"] = True
        runs = f"{waiting} run{'s' if waiting != 1 else ''}"
        why = "" if visitor.public_mode() else f" ({plain(visitor.hide_paths(queue.error), 160)})"
        st.warning(
            f"Runs are not being saved: the run database cannot be reached{why}. Training works; "
            f"this server keeps {runs} and saves them as soon as the database is back.",
            icon=":material/cloud_off:",
        )
    elif st.session_state.pop("_runs_store_waited", False):
        st.session_state.pop("_runs_store_warned", None)
        st.success(
            "The run database is back: every run that waited is saved.",
            icon=":material/cloud_done:",
        )


# --- the save hooks ------------------------------------------------------------------------------


def save(
    comparison: Comparison,
    result: RunResult | None,
    status: str,
    preset: str | None = None,
    run_id: int | None = None,
    owner: str | None = None,
    data_info: str = "",
) -> int | None:
    """Save (or update) a run; returns its id, or ``run_id`` when the store failed (the save
    then waits for the database; never raises)."""
    saver = RunSaver(comparison, preset, owner=owner, data_info=data_info)
    saver.run_id = run_id
    return saver.save(result, status)


class RunSaver:
    """Saves one training run: ``tick`` from the progress callback, ``finish`` at the end.

    A save that fails waits in ``pending()`` with this saver's newest result; a later save of
    the same run replaces it, so the run is written once, as it last was, under one id.
    """

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
        self._unsaved: tuple[RunResult | None, str] | None = None
        self._job = Job(self._attempt)
        self._lock = threading.Lock()

    def _attempt(self) -> None:
        with self._lock:
            if self._unsaved is None:
                return
            result, status = self._unsaved
            store, _ = get_store()
            self.run_id = store.save_run(
                self.comparison,
                result,
                status,
                preset=self.preset,
                run_id=self.run_id,
                owner=self.owner,
                data_info=self.data_info,
            )
            if self._unsaved[0] is result and self._unsaved[1] == status:  # none newer
                self._unsaved = None

    def save(self, result: RunResult | None, status: str) -> int | None:
        """Save now (or when the database is back); the run's id when known."""
        with self._lock:
            self._unsaved = (result, status)
        _try(self._job)
        return self.run_id

    @property
    def saved(self) -> bool:
        """True when the newest result is in the store."""
        return self._unsaved is None

    def tick(self, progress: Any) -> int | None:
        """Save the run so far at most every ``every_s`` seconds (status 'running')."""
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            self.save(progress.result, "running")
        return self.run_id

    def finish(self, result: RunResult) -> int | None:
        """Save the final result: 'stopped' when it was cut short, else 'finished'."""
        return self.save(result, "stopped" if result.stopped else "finished")


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


@st.cache_resource(show_spinner=False)
def sweep_store(path: str) -> SweepStore:
    try:
        return SweepStore(path)
    except StoreError:
        return SweepStore(":memory:")


def get_sweep_store() -> SweepStore:
    return sweep_store(location())

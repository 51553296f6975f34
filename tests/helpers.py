"""Helpers shared by test files: `from tests.helpers import ok, run_bounded`.

Nothing heavy is imported at module level (no torch, no streamlit).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


# AppTest's limit on one script run (it raises past it): a net for a hang, not a speed limit;
# a run that trains takes seconds on an idle machine and many times that on a busy one.
APP_TIMEOUT = 600


def ok(at) -> None:
    """An AppTest run that raised nothing and showed no error."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


try:  # resolved here, not in the forked child (no dynamic loading between fork and exec)
    _PRCTL = ctypes.CDLL(None).prctl if sys.platform.startswith("linux") else None
except (OSError, AttributeError):
    _PRCTL = None


def _die_with_parent() -> None:
    """In the child, before exec: the kernel kills it if the test process dies (even by
    SIGKILL, when no finaliser can run). Linux only; elsewhere the finalisers must do."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _proc_table() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, session id) of every process we can see."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        table[int(entry.name)] = (int(fields[1]), int(fields[3]))
    return table


def tree(pid: int) -> set[int]:
    """``pid``, its descendants, and what is left of its session (orphans re-parented)."""
    if not Path("/proc").is_dir():
        return {pid}
    table = _proc_table()
    found, todo = {pid}, [pid]
    while todo:
        parent = todo.pop()
        kids = [p for p, (pp, _) in table.items() if pp == parent and p not in found]
        found.update(kids)
        todo += kids
    return found | {p for p, (_, sid) in table.items() if sid == pid}


def kill_tree(proc: subprocess.Popen) -> None:
    """Kill a process started with ``start_new_session=True`` and everything it started
    (a streamlit server, chromium in a session of its own), then reap it."""
    for pid in tree(proc.pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.wait(timeout=30)


def popen(cmd: list[str], **kwargs) -> subprocess.Popen:
    """Popen for a test: its own session (killable as a group) and dies with the test."""
    return subprocess.Popen(cmd, start_new_session=True, preexec_fn=_die_with_parent, **kwargs)


def run_bounded(cmd: list[str], timeout: float, **kwargs) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(cmd, capture_output=True, text=True)`` for a command that may start
    processes of its own. ``timeout`` is the test's own bound: set it for a very busy machine
    (it makes a test slower, it must not make it red). Whatever ends the test (the command's
    end, the bound, a pytest-timeout, Ctrl-C) ends every process the command started."""
    kwargs.setdefault("cwd", ROOT)
    proc = popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(proc)
        out, err = proc.communicate()
        raise AssertionError(
            f"{' '.join(map(str, cmd))} still ran after {timeout:.0f} s\n{err[-3000:]}"
        ) from None
    finally:
        kill_tree(proc)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)

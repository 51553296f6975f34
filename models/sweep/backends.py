"""Where a sweep's stacks train: on this machine's threads (``local``) or on a Ray cluster.

Both run the same pure function, ``train_stack``, on the same stacks, so the numbers do not
depend on the backend or the worker count.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..core.config import RunConfig
from ..core.errors import ConfigError
from ..core.runner import slice_steps
from ..core.threads import configure_threads
from .stacked import Member, StackedPointsTrainer, summarise_members

BACKENDS = ("local", "ray")
Done = Callable[[int, list[dict[str, Any]]], None]  # (stack index, its summary rows)
Tick = Callable[[int, float], None]  # (stack index, fraction of it done)


def train_stack(
    members: list[Member],
    threads: int = 1,
    tick: Callable[[float], None] | None = None,
    stop: threading.Event | None = None,
) -> list[dict[str, Any]] | None:
    """Train one stack to the end; its summary rows (None when ``stop`` was set first)."""
    configure_threads(threads)
    try:
        tr = StackedPointsTrainer(members)
    except Exception as e:  # a broken stack reports itself; the others keep training
        return _failed(members, e)
    total = tr.cfg.steps + 1
    chunk = slice_steps(tr.cfg)
    while not tr.done:
        if stop is not None and stop.is_set():
            return None
        try:
            tr.advance(chunk)
        except Exception as e:
            return _failed(members, e)
        if tick is not None:
            tick(min(1.0, tr.step / total))
    return summarise_members(tr, members)


def _failed(members: list[Member], e: Exception) -> list[dict[str, Any]]:
    msg = f"{type(e).__name__}: {e}"
    return [
        {"variant": m.cfg.name, "seed": s, "point": m.point, "error": msg}
        for m in members
        for s in m.cfg.seed_list()
    ]


def run_local(
    stacks: list[list[Member]],
    workers: int,
    threads: int,
    on_done: Done,
    on_tick: Tick,
    stop: threading.Event,
    poll: Callable[[], None],
) -> None:
    """Stacks on ``workers`` Python threads (the compiled steps run without the GIL)."""
    finished: queue.SimpleQueue = queue.SimpleQueue()

    def job(i: int) -> None:
        try:
            rows = train_stack(stacks[i], threads, lambda f: on_tick(i, f), stop)
        except BaseException as e:  # never lose a worker's failure silently
            rows = _failed(stacks[i], e)
        finished.put((i, rows))

    pool = ThreadPoolExecutor(max(1, workers), "gfl-sweep")
    try:
        for i in range(len(stacks)):
            pool.submit(job, i)
        left = len(stacks)
        while left:
            try:
                i, rows = finished.get(timeout=0.25)
            except queue.Empty:
                poll()
                continue
            left -= 1
            if rows is not None:
                on_done(i, rows)
            poll()
    finally:
        stop.set()  # (a no-op once all are done) queued stacks return at once
        pool.shutdown(wait=True, cancel_futures=True)


def _ray_stack(payload: list[tuple[int, int, dict[str, Any]]], threads: int):
    """A Ray task: rebuild the members from plain data and train them."""
    members = [Member(p, RunConfig(**cfg), off) for p, off, cfg in payload]
    return train_stack(members, threads)


def ray_available() -> bool:
    """Whether the optional Ray extra is installed."""
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def _init_ray(ray, kwargs: dict[str, Any], root: str | None) -> None:
    """``ray.init``; a local Ray's workers find this checkout through the inherited PYTHONPATH.

    Not through ``runtime_env``: on 2 cores its agent added ~2.3 s to every local start (measured:
    init 3.4 s and first tasks 3.0 s with it, 2.3 s and 1.7 s without). A cluster at an address
    runs what its workers have installed (README: Sweeps on a Ray cluster).
    """
    if root is None:
        ray.init(**kwargs)
        return
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, before) if p)
    try:
        ray.init(**kwargs)  # the raylet and its workers inherit this environment
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before


def run_ray(
    stacks: list[list[Member]],
    workers: int,
    threads: int,
    on_done: Done,
    on_tick: Tick,
    stop: threading.Event,
    poll: Callable[[], None],
    address: str | None = None,
) -> None:
    """Stacks as Ray tasks: on the cluster at ``address`` (or RAY_ADDRESS), else a local Ray."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--backend ray needs Ray: pip install -e '.[ray]' (or pip install 'ray>=2.9')"
        ) from None
    import dataclasses

    address = address or os.environ.get("RAY_ADDRESS") or None
    started_here = not ray.is_initialized()
    if started_here:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        kwargs: dict[str, Any] = {"ignore_reinit_error": True, "log_to_driver": False}
        if address:
            kwargs["address"] = address
        else:  # a local Ray for this run: its workers import this checkout
            kwargs["num_cpus"] = max(1, workers)
            kwargs["include_dashboard"] = False
        _init_ray(ray, kwargs, None if address else root)
    try:
        remote = ray.remote(num_cpus=1, max_retries=1)(_ray_stack)
        pending: dict[Any, int] = {}
        for i, stack in enumerate(stacks):
            payload = [(m.point, m.offset, dataclasses.asdict(m.cfg)) for m in stack]
            pending[remote.remote(payload, threads)] = i
        while pending:
            if stop.is_set():
                for ref in pending:
                    ray.cancel(ref, force=True)
                return
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.25)
            for ref in ready:
                i = pending.pop(ref)
                try:
                    rows = ray.get(ref)
                except Exception as e:  # a task that crashed on its worker
                    rows = _failed(stacks[i], e)
                on_tick(i, 1.0)
                on_done(i, rows)
            poll()
    finally:
        if started_here:
            ray.shutdown()

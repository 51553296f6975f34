"""Finished runs by resolved config: identical settings come back at once instead of retraining."""

from __future__ import annotations

import threading
from collections import OrderedDict

from models import RunResult

MAX_ITEMS = 12  # a handful of comparisons: each holds at most a few MB of metric rows
# ... and at most this many metric rows together (~150 B each held): the largest run the memory
# cap allows has ~250k, so a dozen of those would not fit a 690 MB Community Cloud server
# (docs/deploy.md). The newest result is always kept.
MAX_ROWS = 500_000


class ResultCache:
    """A small thread-safe LRU of complete (not stopped) run results, shared by all sessions."""

    def __init__(self, max_items: int = MAX_ITEMS, max_rows: int = MAX_ROWS):
        self.max_items, self.max_rows = max_items, max_rows
        self._items: OrderedDict[str, RunResult] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> RunResult | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: str, result: RunResult) -> None:
        if result.stopped:
            return  # a partial run is not what these settings produce
        with self._lock:
            self._items[key] = result
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)
            rows = sum(len(r.metrics) for r in self._items.values())
            while len(self._items) > 1 and rows > self.max_rows:
                _, dropped = self._items.popitem(last=False)
                rows -= len(dropped.metrics)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


RESULTS = ResultCache()

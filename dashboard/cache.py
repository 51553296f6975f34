"""Finished runs by resolved config: identical settings come back at once instead of retraining."""

from __future__ import annotations

import threading
from collections import OrderedDict

from models import RunResult

MAX_ITEMS = 12  # a handful of comparisons: each holds at most a few MB of metric rows


class ResultCache:
    """A small thread-safe LRU of complete (not stopped) run results, shared by all sessions."""

    def __init__(self, max_items: int = MAX_ITEMS):
        self.max_items = max_items
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

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


RESULTS = ResultCache()

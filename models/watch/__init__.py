"""``watch()``: the lab's gradient instruments on a user's own PyTorch training loop.

``recorder`` (the hooks), ``run`` (the record and its files, in the CLI's formats),
``diagnosis`` (plain-words findings from a run's metrics; pure, no torch), ``store_adapter``
(the one place a watched run meets the run store). Users import it as
``from gradient_flow_lab import watch``.
"""

from .diagnosis import Finding, diagnose
from .recorder import INSTRUMENTS, Watch, activation_kind, watch
from .run import WATCHED_PREFIX, WatchedRun
from .store_adapter import is_watched, load_watched, save_watched

__all__ = [
    "INSTRUMENTS",
    "Finding",
    "WATCHED_PREFIX",
    "Watch",
    "WatchedRun",
    "activation_kind",
    "diagnose",
    "is_watched",
    "load_watched",
    "save_watched",
    "watch",
]

"""How many threads a run uses: torch's intra-op threads and the variants trained side by side."""

from __future__ import annotations

import os

import torch

DEFAULT_THREADS = 1  # tiny matmuls: a second OpenMP thread costs more in barriers than it saves
# Variants train in parallel on this many Python threads, one per core: each variant's ops
# are small, so two variants side by side use two cores where one variant's second OpenMP
# thread would mostly wait. PyTorch releases the GIL inside its ops and autograd.
DEFAULT_WORKERS = 2


def env_int(name: str) -> int:
    """A positive whole number from the environment, or 0 (unset or not a positive number)."""
    try:
        return max(0, int(os.environ.get(name, "") or 0))
    except ValueError:
        return 0


def configure_threads(n: int | None = None) -> int:
    """Set torch's intra-op threads deliberately (env GFL_THREADS overrides); returns it."""
    n = max(1, n or env_int("GFL_THREADS") or min(DEFAULT_THREADS, os.cpu_count() or 1))
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def configure_workers(n: int | None = None) -> int:
    """Python threads that train variants side by side (env GFL_WORKERS overrides)."""
    return max(1, n or env_int("GFL_WORKERS") or min(DEFAULT_WORKERS, os.cpu_count() or 1))

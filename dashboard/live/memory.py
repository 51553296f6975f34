"""Hand freed memory back to the system, so a small server (Community Cloud: 690 MB) is not
charged for heap that Python has freed but glibc's malloc keeps.

Two knobs of glibc, through ctypes (a no-op where there is no glibc: macOS, Windows, musl):
- ``limit_arenas``: at most a few malloc arenas. By default glibc gives busy threads their own
  arenas (up to 8 per core), and the training threads' freed metric rows then sit in arenas
  that are never returned; measured with scripts/measure_memory.py (docs/deploy.md).
- ``fix_mmap_threshold``: allocations of 4 MiB and more get their own mmap, unmapped when
  freed. By default glibc raises this threshold each time such a block is freed (up to 32 MiB),
  after which the big arrays of a run (metric columns, chart frames, tensors) land in the heap
  and stay there as fragments between live objects. Three visitors training peaked at 670-713
  MB, with it fixed at 4 MiB at 648-676 MB (scripts/measure_memory.py, docs/deploy.md). Lower
  thresholds save more (128 KiB: 613-633 MB) but map and zero-fill every tensor anew: the
  engine took 1.5-2x as long; at 4 MiB its time is unchanged (within the machine's noise).
- ``trim``: ``malloc_trim(0)`` after a run has trained and been saved, when the most memory
  has just been freed (the live charts' frames, the save's compressed CSV).
"""

from __future__ import annotations

import ctypes

M_ARENA_MAX = -8  # mallopt's parameter numbers (glibc malloc.h)
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 4 << 20  # bytes: see the module's docstring for the measurements
try:
    _LIBC = ctypes.CDLL("libc.so.6")
except OSError:  # not glibc
    _LIBC = None


def limit_arenas(n: int = 2) -> bool:
    """Cap glibc's malloc arenas for threads created from now on; False where unsupported."""
    fn = getattr(_LIBC, "mallopt", None)
    return bool(fn and fn(M_ARENA_MAX, int(n)) == 1)


def fix_mmap_threshold(nbytes: int = MMAP_THRESHOLD) -> bool:
    """Serve blocks of ``nbytes`` and more by mmap from now on, a fixed threshold (glibc stops
    raising it); False where unsupported."""
    fn = getattr(_LIBC, "mallopt", None)
    return bool(fn and fn(M_MMAP_THRESHOLD, int(nbytes)) == 1)


def trim() -> bool:
    """Return free heap memory to the system; True if glibc released some."""
    fn = getattr(_LIBC, "malloc_trim", None)
    return bool(fn and fn(0) == 1)

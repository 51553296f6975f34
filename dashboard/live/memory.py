"""Hand freed memory back to the system, so a small server (Community Cloud: 690 MB) is not
charged for heap that Python has freed but glibc's malloc keeps.

Two knobs of glibc, through ctypes (a no-op where there is no glibc: macOS, Windows, musl):
- ``limit_arenas``: at most a few malloc arenas. By default glibc gives busy threads their own
  arenas (up to 8 per core), and the training threads' freed metric rows then sit in arenas
  that are never returned; measured with scripts/measure_memory.py (docs/deploy.md).
- ``trim``: ``malloc_trim(0)`` after a run has trained and been saved, when the most memory
  has just been freed (the live charts' frames, the save's compressed CSV).
"""

from __future__ import annotations

import ctypes

M_ARENA_MAX = -8  # mallopt's parameter number (glibc malloc.h)
try:
    _LIBC = ctypes.CDLL("libc.so.6")
except OSError:  # not glibc
    _LIBC = None


def limit_arenas(n: int = 2) -> bool:
    """Cap glibc's malloc arenas for threads created from now on; False where unsupported."""
    fn = getattr(_LIBC, "mallopt", None)
    return bool(fn and fn(M_ARENA_MAX, int(n)) == 1)


def trim() -> bool:
    """Return free heap memory to the system; True if glibc released some."""
    fn = getattr(_LIBC, "malloc_trim", None)
    return bool(fn and fn(0) == 1)

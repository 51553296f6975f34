"""dashboard/live/memory.py: the malloc settings the server makes at startup (glibc only)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# In a fresh process: allocate and free a 6 MiB block twice, and say whether the second one got a
# mapping of its own. glibc's default raises the mmap threshold past 6 MiB when the first block
# is freed, so the second lands in the heap; a fixed threshold maps it again.
PROBE = """
import sys
sys.path.insert(0, {root!r})
{setup}

def anonymous_bytes():  # unnamed mappings: mmapped blocks (the main heap is "[heap]")
    n = 0
    for line in open("/proc/self/maps"):
        parts = line.split()
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        n += (hi - lo) * (len(parts) < 6)
    return n

for _ in range(2):
    before = anonymous_bytes()
    block = bytearray(6 << 20)
    mapped = anonymous_bytes() - before >= 6 << 20
    del block
print(mapped)
"""


def _second_block_mapped(setup: str) -> bool:
    code = PROBE.format(root=str(ROOT), setup=setup)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    return out.stdout.strip() == "True"


glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not Path("/proc/self/maps").exists(),
    reason="glibc malloc and /proc only",
)


@glibc
def test_fixed_mmap_threshold_maps_big_blocks_every_time():
    from dashboard.live import memory

    if memory._LIBC is None or not hasattr(memory._LIBC, "mallopt"):
        pytest.skip("not glibc")
    assert not _second_block_mapped("")  # glibc's default: the freed block raised the threshold
    setup = "from dashboard.live import memory; assert memory.fix_mmap_threshold()"
    assert _second_block_mapped(setup)


@glibc
def test_the_server_fixes_the_threshold_at_startup():
    """dashboard.warm (imported by the app before any page) sets it, before torch runs."""
    from dashboard.live import memory

    if memory._LIBC is None or not hasattr(memory._LIBC, "mallopt"):
        pytest.skip("not glibc")
    assert _second_block_mapped("import dashboard.warm")

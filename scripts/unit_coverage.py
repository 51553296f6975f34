"""Which source modules the inner loop (`pytest -m unit`) never runs a function of.

    .venv/bin/python scripts/unit_coverage.py [extra pytest args]

Runs the unit tests in this process with a profile hook that notes every function called (not
module bodies: importing a module is not testing it), then lists the modules of models/ and
dashboard/ none of whose functions ran. Exit status 1 when there are any. About 2-3x the
unit set's own time (the hook sees every call); one process, no xdist.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Reached only through a browser: app.py's one function serves the /deep address, a URL path
# AppTest cannot open (tests/browser/test_trust.py visits it).
BROWSER_ONLY = {"dashboard/app.py"}
seen: set[str] = set()


def _hook(frame, event, arg):
    if event == "call":
        code = frame.f_code
        if code.co_name != "<module>":
            seen.add(code.co_filename)


class _KeepHooked:
    """Some tests (hypothesis, torch) set a profile or trace function of their own and drop
    ours: put it back before every test."""

    @staticmethod
    def pytest_runtest_setup(item):
        sys.setprofile(_hook)
        threading.setprofile(_hook)  # AppTest runs the page scripts on a thread of their own


def main(argv: list[str]) -> int:
    try:
        rc = pytest.main(
            ["-m", "unit", "-q", "-p", "no:cacheprovider", *argv], plugins=[_KeepHooked()]
        )
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    ran = {str(Path(f).resolve()) for f in seen if f.endswith(".py")}
    missing = []
    for package in ("models", "dashboard"):
        for path in sorted((ROOT / package).rglob("*.py")):
            body = path.read_text()
            if "def " not in body:  # nothing to call: constants, re-exports
                continue
            if str(path.resolve()) not in ran and str(path.relative_to(ROOT)) not in BROWSER_ONLY:
                missing.append(str(path.relative_to(ROOT)))
    print(f"\npytest exit status {rc}; modules with functions none of which ran: {len(missing)}")
    for m in missing:
        print("  ", m)
    return 1 if missing or rc else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

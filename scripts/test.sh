#!/usr/bin/env bash
# Set up everything from a fresh clone and run the whole test suite (the README's test command).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -m pip install -q -e '.[dev,ray]'  # ray: the sweep tests run a real local Ray
# The browser test drives Debian's chromium (Playwright cannot download its own browser here).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 \
      || echo "warning: could not install chromium; browser tests will be skipped" >&2
  else
    echo "note: chromium not found; browser tests will be skipped (apt-get install chromium)" >&2
  fi
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
# The run store's tests also run against a real PostgreSQL: a throwaway server on a private
# socket, stopped and deleted on exit (trap), even when the tests fail; where none can be had,
# those tests skip with one line saying why.
# shellcheck source=scripts/throwaway_pg.sh
source scripts/throwaway_pg.sh
pg_start
# Two workers (the suite is xdist-safe: free ports, a store per test module, tmp_path files; the
# tests that start a local Ray share one worker through xdist_group). PYTEST_WORKERS=0: one process.
# The inner loop is `.venv/bin/python -m pytest -m unit` (about a minute; see ARCHITECTURE.md).
set +e  # no exec: the trap must run after pytest
.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadgroup "$@"
rc=$?
exit $rc

"""Checks on a Streamlit page in Playwright, shared by the browser tests."""

from __future__ import annotations

from benchmarks.browser_timing import SCRIPT_IDLE_JS


def no_errors(pg) -> None:
    """No Python exception and no error box on the page."""
    assert pg.locator("[data-testid=stException]").count() == 0, "a Python exception is shown"
    errors = pg.locator("[data-testid=stAlertContentError]")
    assert errors.count() == 0, f"error shown: {errors.first.inner_text()}"


IDLE = SCRIPT_IDLE_JS  # the benchmark waits on the same check
# Every wait in the browser tests is for a condition, bounded by this: a bound for a very busy
# machine (a loaded one makes the tests slower, never red), not a speed requirement.
WAIT_MS = 300_000


def settle(pg, timeout_ms: int = WAIT_MS) -> None:
    """Wait until the script run a click started has finished.

    The status widget alone is not enough: it shows only after the run has lasted a moment, so a
    short rerun can still be on its way. The app's own script state says "notRunning" only when
    no run is going or requested; it must hold twice, 250 ms apart.
    """
    pg.wait_for_timeout(300)
    for _ in range(2):
        pg.wait_for_function(IDLE, timeout=timeout_ms)
        pg.wait_for_timeout(250)
    pg.wait_for_function(IDLE, timeout=timeout_ms)


def charts(pg, n: int, timeout_ms: int = WAIT_MS) -> None:
    """Wait until at least ``n`` plotly charts are drawn."""
    pg.wait_for_function(
        f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n}", timeout=timeout_ms
    )

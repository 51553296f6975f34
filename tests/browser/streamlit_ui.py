"""Checks on a Streamlit page in Playwright, shared by the browser tests."""

from __future__ import annotations


def no_errors(pg) -> None:
    """No Python exception and no error box on the page."""
    assert pg.locator("[data-testid=stException]").count() == 0, "a Python exception is shown"
    errors = pg.locator("[data-testid=stAlertContentError]")
    assert errors.count() == 0, f"error shown: {errors.first.inner_text()}"


def settle(pg, timeout_ms: int = 60_000) -> None:
    """Wait until the script has finished running (no 'Running…' status widget)."""
    pg.wait_for_timeout(300)
    pg.locator("[data-testid=stStatusWidget]").wait_for(state="detached", timeout=timeout_ms)


def charts(pg, n: int, timeout_ms: int = 60_000) -> None:
    """Wait until at least ``n`` plotly charts are drawn."""
    pg.wait_for_function(
        f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n}", timeout=timeout_ms
    )

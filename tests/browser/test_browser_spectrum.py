"""Real browser: the dynamical-isometry preset draws the Jacobian spectrum and its table."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit_ui import WAIT_MS, charts, no_errors, settle

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts"


def test_isometry_preset_shows_the_spectrum(page, server):
    page.goto(f"{server}/?preset=dynamical-isometry&steps=20&seeds=1")
    page.get_by_role("heading", name="Deep networks").first.wait_for()
    settle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Trade-offs").wait_for(timeout=WAIT_MS)
    settle(page, 120_000)
    charts(page, 9)
    no_errors(page)
    chart = page.locator(".js-plotly-plot").filter(has_text="Singular values of the input")
    assert chart.count() == 1
    chart.scroll_into_view_if_needed()
    assert "exactly 0" in chart.inner_text()  # ReLU's dead units, counted in the legend
    # the condition-number table beside it (a canvas grid: its cells are not DOM text)
    row = page.locator("[data-testid=stHorizontalBlock]").filter(has=chart)
    assert row.last.locator("[data-testid=stDataFrame]").count() == 1
    row.last.screenshot(path=str(ARTIFACTS / "isometry_spectrum.png"))

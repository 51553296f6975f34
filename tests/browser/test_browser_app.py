"""Real browser: `streamlit run dashboard/app.py` driven by Debian's chromium through Playwright.

The server and browser fixtures live in conftest.py, page checks in streamlit_ui.py.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from streamlit_ui import WAIT_MS
from streamlit_ui import charts as _charts
from streamlit_ui import no_errors as _no_errors
from streamlit_ui import settle as _settle

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
SCREENSHOT = ROOT / "docs" / "screenshot.png"


def test_every_page_renders(page, server):
    for path, title in (
        ("theory", "Theory"),
        ("toy", "toy model"),
        ("recurrent", "Recurrent"),
        ("runs", "Runs"),
    ):
        page.goto(f"{server}/{path}")
        page.get_by_role("heading", name=title).first.wait_for()
        _settle(page)
        if path != "runs":  # an empty run store has nothing to draw yet
            _charts(page, 1)
        _no_errors(page)
        page.screenshot(path=str(ARTIFACTS / f"page_{path}.png"))


def test_crafted_address_gives_one_notice_without_links(page, server):
    page.goto(f"{server}/?preset=deep-mlp&depth=%5Bclick%5D(http://evil.example)&lr=www.x.org")
    page.get_by_role("heading", name="Deep networks").first.wait_for()
    _settle(page)
    notice = page.locator("[data-testid=stAlert]").filter(has_text="Ignored from the address")
    assert notice.count() == 1
    assert "depth" in notice.inner_text() and "lr" in notice.inner_text()
    assert notice.locator("a").count() == 0  # the address cannot plant a link in the app
    _no_errors(page)


def test_train_small_preset(page, server):
    page.goto(f"{server}/?preset=deep-mlp&steps=40&seeds=1")
    page.get_by_role("heading", name="Deep networks").first.wait_for()
    _settle(page)
    _charts(page, 1)  # the gradient at initialisation, before any training
    _no_errors(page)
    page.screenshot(path=str(ARTIFACTS / "landing_before_train.png"), full_page=False)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Trade-offs").wait_for(timeout=WAIT_MS)
    _settle(page)
    _charts(page, 9)
    _no_errors(page)
    page.screenshot(path=str(ARTIFACTS / "landing_after_train.png"), full_page=False)
    # Streamlit scrolls inside its main container, so a tall viewport shows the whole page
    page.set_viewport_size({"width": 1500, "height": 4200})
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "landing_after_train_full.png"))
    page.set_viewport_size({"width": 1500, "height": 1000})
    # the README's screenshot: refreshed on request only, so a test run leaves the tree clean
    if os.environ.get("GFL_UPDATE_SCREENSHOT") or not SCREENSHOT.exists():
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(ARTIFACTS / "landing_after_train.png", SCREENSHOT)


def test_stop_keeps_what_was_trained(page, server):
    page.goto(f"{server}/?preset=deep-mlp&steps=1500&seeds=1&log_every=20")  # within the caps
    page.get_by_role("heading", name="Deep networks").first.wait_for()
    _settle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Training:").first.wait_for(timeout=WAIT_MS)  # the progress bar's text
    _charts(page, 2)  # the live charts
    page.screenshot(path=str(ARTIFACTS / "landing_while_training.png"))
    page.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("Training was stopped").wait_for(timeout=WAIT_MS)
    _settle(page)
    _charts(page, 9)
    _no_errors(page)

"""Real browser: `streamlit run dashboard/app.py` driven by Debian's chromium through Playwright."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"
SCREENSHOT = ROOT / "docs" / "screenshot.png"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-dev-shm-usage"]  # fmt: skip


def _chromium() -> str | None:
    for p in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if p and Path(p).exists():
            return p
    return None


def _need(what: str, ok: bool) -> None:
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"{what} is required in CI")
        pytest.skip(f"{what} not available")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": "",  # the app must find the engine by itself
           "GFL_STORE": str(tmp_path_factory.mktemp("store") / "runs.sqlite")}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
         "--server.headless", "true", "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except Exception:
                if proc.poll() is not None:
                    pytest.fail("streamlit exited:\n" + (proc.stdout.read() if proc.stdout else ""))
                time.sleep(0.2)
        else:
            pytest.fail("streamlit did not become healthy in 30 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def page(server):
    chromium = _chromium()
    _need("chromium (/usr/bin/chromium)", chromium is not None)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("playwright (python package)", False)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=FLAGS, headless=True)
        pg = browser.new_page(viewport={"width": 1500, "height": 1000})
        pg.set_default_timeout(60_000)
        yield pg
        browser.close()


def _no_errors(pg) -> None:
    assert pg.locator("[data-testid=stException]").count() == 0, "a Python exception is shown"
    errors = pg.locator("[data-testid=stAlertContentError]")
    assert errors.count() == 0, f"error shown: {errors.first.inner_text()}"


def _settle(pg) -> None:
    """Wait until the script has finished running (no 'Running…' status widget)."""
    pg.wait_for_timeout(300)
    pg.locator("[data-testid=stStatusWidget]").wait_for(state="detached", timeout=60_000)


def _charts(pg, n: int) -> None:
    pg.wait_for_function(
        f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n}", timeout=60_000
    )


def test_every_page_renders(page, server):
    for path, title in (("theory", "Theory"), ("toy", "toy model"), ("recurrent", "Recurrent"),
                        ("runs", "Runs")):  # fmt: skip
        page.goto(f"{server}/{path}")
        page.get_by_role("heading", name=title).first.wait_for()
        _settle(page)
        if path != "runs":  # an empty run store has nothing to draw yet
            _charts(page, 1)
        _no_errors(page)
        page.screenshot(path=str(ARTIFACTS / f"page_{path}.png"))


def test_train_small_preset(page, server):
    page.goto(f"{server}/?preset=deep-mlp&steps=40&seeds=1")
    page.get_by_role("heading", name="Deep networks").first.wait_for()
    _settle(page)
    _charts(page, 1)  # the gradient at initialisation, before any training
    _no_errors(page)
    page.screenshot(path=str(ARTIFACTS / "landing_before_train.png"), full_page=False)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Trade-offs").wait_for(timeout=90_000)
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
    page.goto(f"{server}/?preset=deep-mlp&steps=1500&seeds=1")
    page.get_by_role("heading", name="Deep networks").first.wait_for()
    _settle(page)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("Training:").first.wait_for(timeout=60_000)  # the progress bar's text
    _charts(page, 2)  # the live charts
    page.screenshot(path=str(ARTIFACTS / "landing_while_training.png"))
    page.get_by_role("button", name="Stop", exact=True).click()
    page.get_by_text("Training was stopped").wait_for(timeout=60_000)
    _settle(page)
    _charts(page, 9)
    _no_errors(page)

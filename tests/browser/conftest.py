"""Shared browser-test fixtures: a private `streamlit run` server and Debian's chromium."""

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

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"  # git-ignored screenshots, to look at by eye
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
def server(request, tmp_path_factory):
    """One server per test module (its result cache and run queue start empty); a module's
    SERVER_ENV dict adds environment settings for its server."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": "",  # the app must find the engine by itself
           "GFL_STORE": str(tmp_path_factory.mktemp("store") / "runs.sqlite"),
           **getattr(request.module, "SERVER_ENV", {})}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port),
         "--server.headless", "true", "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # 120 s: a loaded 2-core machine starts torch slowly
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except Exception:
                if proc.poll() is not None:
                    pytest.fail("streamlit exited:\n" + (proc.stdout.read() if proc.stdout else ""))
                time.sleep(0.2)
        else:
            pytest.fail("streamlit did not become healthy in 120 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser():
    """Headless Debian chromium (Playwright cannot download its own here)."""
    chromium = _chromium()
    _need("chromium (/usr/bin/chromium)", chromium is not None)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("playwright (python package)", False)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def page(browser, server):
    """One page (one Streamlit session) shared by a module's tests."""
    pg = browser.new_page(viewport={"width": 1500, "height": 1000})
    pg.set_default_timeout(60_000)
    yield pg
    pg.close()

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
from streamlit_ui import WAIT_MS

from tests.helpers import kill_tree, popen

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"  # git-ignored screenshots, to look at by eye
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
]


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


def _start(env: dict, log: Path) -> tuple[subprocess.Popen, str]:
    """A `streamlit run` on a free port, healthy; a port taken between the probe and the
    server's bind (another xdist worker) is retried on another port. Its output goes to a
    file (a pipe nobody reads fills up and stalls the server)."""
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "dashboard/app.py",
        "--server.headless",
        "true",
        "--server.address",
        "127.0.0.1",
        "--server.port",
    ]
    for _ in range(3):
        port = _free_port()
        with open(log, "w") as out:
            proc = popen([*cmd, str(port)], cwd=ROOT, env=env, stdout=out, stderr=out)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 600  # a loaded 2-core machine starts torch slowly
            while proc.poll() is None:
                try:
                    urllib.request.urlopen(url + "/_stcore/health", timeout=5)
                    return proc, url
                except Exception:
                    if time.monotonic() > deadline:
                        pytest.fail("streamlit did not become healthy in 600 s")
                    time.sleep(0.2)
        except BaseException:  # a failure, a pytest-timeout, Ctrl-C: no server left behind
            kill_tree(proc)
            raise
        kill_tree(proc)
        said = log.read_text(errors="replace")
        if "already in use" not in said:
            pytest.fail("streamlit exited:\n" + said)
    pytest.fail("streamlit found no free port in 3 tries")


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    """One server per test module (its result cache and run queue start empty); a module's
    SERVER_ENV dict adds environment settings for its server. It is stopped (with anything it
    started) however the module ends, and dies with the test process if that is killed."""
    env = {
        **os.environ,
        "PYTHONPATH": "",  # the app must find the engine by itself
        "GFL_STORE": str(tmp_path_factory.mktemp("store") / "runs.sqlite"),
        **getattr(request.module, "SERVER_ENV", {}),
    }
    proc, url = _start(env, tmp_path_factory.mktemp("server") / "streamlit.log")
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        kill_tree(proc)


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
    pg.set_default_timeout(WAIT_MS)
    yield pg
    pg.close()

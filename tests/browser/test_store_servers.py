"""Real `streamlit run` servers on one PostgreSQL database (GFL_STORE=postgresql://…), in a
real browser: a run trained on server A opens from its share link on server B, and again on a
server started after A's disk was wiped (Community Cloud's sleep). Skipped without a PostgreSQL
server (tests/conftest.py) or chromium."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from streamlit_ui import charts, no_errors, settle

from models.store.runs import RunStore

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def serve(store: str, disk: Path):
    """One public-mode server on ``store``, its HOME and temp files on ``disk``; stopped on
    leaving, whatever happened."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    disk.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": "",
        "GFL_STORE": store,
        "GFL_PUBLIC": "1",
        "HOME": str(disk),
        "TMPDIR": str(disk),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "dashboard/app.py",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # 120 s: a loaded 2-core machine starts torch slowly
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except Exception:  # noqa: BLE001 - not up yet
                if proc.poll() is not None:
                    pytest.fail("streamlit exited")
                time.sleep(0.2)
        else:
            pytest.fail("streamlit did not become healthy in 120 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def open_shared(browser, url: str, share_id: str) -> None:
    """A new visitor (own cookies) opens the share link and sees the run, read only."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg = ctx.new_page()
        pg.set_default_timeout(120_000)
        pg.goto(f"{url}/runs?run={share_id}")
        pg.get_by_text("Shared run").first.wait_for()
        settle(pg)
        charts(pg, 2)
        assert "only its owner can delete it" in pg.locator("body").inner_text()
        no_errors(pg)
    finally:
        ctx.close()


def test_a_share_link_outlives_the_server_and_its_disk(browser, pg_database, tmp_path):
    disk_a = tmp_path / "disk-a"
    with serve(pg_database, disk_a) as a_url, serve(pg_database, tmp_path / "disk-b") as b_url:
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            a = ctx.new_page()
            a.set_default_timeout(180_000)
            a.goto(f"{a_url}/?preset=deep-mlp&steps=11&seeds=1")
            a.get_by_role("button", name="Train", exact=True).click()
            a.get_by_text("Trade-offs").first.wait_for()
            settle(a)
            no_errors(a)
        finally:
            ctx.close()
        [run] = RunStore(pg_database).list_runs()
        assert run["outcome"] == "finished" and run["steps_done"] == 11
        open_shared(browser, b_url, run["share_id"])  # the other server, the same database
    shutil.rmtree(disk_a)  # the app's disk is gone with its server ...
    with serve(pg_database, tmp_path / "disk-a-again") as url:  # ... and it wakes up afresh
        open_shared(browser, url, run["share_id"])

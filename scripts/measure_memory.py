"""Measure the app server's memory as Community Cloud would see it: a real `streamlit run`
server, three visitors (three browser contexts of Debian's chromium, three cookie jars) who open
the Deep page and press Train at once on the largest run the server's caps allow.

    python scripts/measure_memory.py                 # the caps as deployed (defaults / env)
    GFL_MAX_MB=300 python scripts/measure_memory.py  # other caps

The runs: what the caps let a visitor keep and use the most of. Two visitors train the run
with the most metric rows the caps allow (rows are what a run keeps in memory once trained: a
32-layer, 16-wide MLP, 4 seeds, every metric logged at every step, steps raised to the cap; one
step apart, so neither comes from the other's cache); the third the run with the largest
working set the memory cap allows (found by searching the dashboard's ranges: 16 × 256, batch
256, 2 seeds; its memory does not grow with steps, so 30 steps). Prints the server's resident
memory (VmRSS) after the three pages have loaded, its peak (VmHWM) and its RSS when all three
have finished; figures go into docs/deploy.md.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard.state.query_codec import encode  # noqa: E402
from models import ConfigError, check_budget, comparison_from_dict  # noqa: E402

HEAVIEST = {
    "depth": 32,
    "width": 16,
    "batch_size": 128,
    "seeds": 4,
    "log_every": 1,
    "variants": [{"name": "rows"}],
}
WIDEST = {
    "depth": 16,
    "width": 256,
    "batch_size": 256,
    "seeds": 2,
    "steps": 30,
    "log_every": 10,
    "variants": [{"name": "wide"}],
}
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def _fits(cfg: dict) -> bool:
    try:
        check_budget(comparison_from_dict(cfg), defaults=True)
        return True
    except ConfigError:
        return False


def largest(fewer: int = 0) -> dict:
    """HEAVIEST with as many steps as the caps allow (less ``fewer``)."""
    lo, hi = 1, 3000  # the dashboard's step cap
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if _fits({**HEAVIEST, "steps": mid}) else (lo, mid - 1)
    return {**HEAVIEST, "steps": lo - fewer}


def _status(pid: int) -> dict[str, int]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) * 1024
    return out


def main() -> int:
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    tmp = tempfile.mkdtemp(prefix="gfl-mem-")
    env = {
        **os.environ,
        "PYTHONPATH": "",
        "GFL_PUBLIC": "1",
        "GFL_STORE": os.environ.get("GFL_STORE") or f"{tmp}/runs.sqlite",
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
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            try:
                samples.append((time.time(), _status(proc.pid)["VmRSS"]))
            except (OSError, KeyError):
                return
            time.sleep(0.25)

    runs = [largest(0), largest(1), WIDEST]
    assert _fits(WIDEST), "the caps have changed: search WIDEST again"
    report: dict = {
        "caps": {
            k: os.environ.get(k, "default") for k in ("GFL_MAX_MB", "GFL_MAX_GFLOP", "GFL_MAX_ROWS")
        },
        "runs": runs,
    }
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except Exception:  # noqa: BLE001 - not up yet
                time.sleep(0.2)
        report["rss_started_mb"] = _status(proc.pid)["VmRSS"] / 2**20
        threading.Thread(target=sample, daemon=True).start()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            pages = []
            for run in runs:
                ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                pg = ctx.new_page()
                pg.set_default_timeout(900_000)
                query = urllib.parse.urlencode(encode(comparison_from_dict(run)))
                pg.goto(f"{url}/?{query}")
                pg.get_by_role("button", name="Train", exact=True).wait_for()
                pages.append(pg)
            time.sleep(5)  # the previews (step 0) drawn
            report["rss_three_pages_mb"] = _status(proc.pid)["VmRSS"] / 2**20
            t0 = report["train_started"] = time.time()
            for pg in pages:
                pg.get_by_role("button", name="Train", exact=True).click()
            report["finished_s"] = []
            for pg in pages:
                pg.get_by_text("Trade-offs").first.wait_for(timeout=1_800_000)
                report["finished_s"].append(round(time.time() - t0, 1))
            report["train_s"] = time.time() - t0
            time.sleep(5)
            report["rss_after_mb"] = _status(proc.pid)["VmRSS"] / 2**20
            report["hwm_mb"] = _status(proc.pid)["VmHWM"] / 2**20
            for i, pg in enumerate(pages):
                pg.screenshot(path=f"{tmp}/visitor{i}.png")
            browser.close()
    finally:
        stop.set()
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
    report["peak_sampled_mb"] = max(r for _, r in samples) / 2**20 if samples else None
    t0 = report.get("train_started", samples[0][0] if samples else 0)
    report["timeline"] = [(round(t - t0, 1), round(r / 2**20)) for t, r in samples[::4]]
    report["screenshots"] = tmp
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What a visitor waits for, measured in a real browser: page loads and the Train click.

Starts a private ``streamlit run dashboard/app.py`` (empty run store in a temporary folder) and
drives Debian's chromium through Playwright:

- first load: the very first visit after the server started (imports, caches cold), from the
  address to the last chart drawn and the script finished;
- warm load: a new visitor (a fresh browser profile: nothing cached, a new session) opening a
  page the server has served before;
- return load: a returning visitor (the browser has the app's files cached) opening the page in
  a new tab;
- navigation: a visitor already in the app clicking the page in the sidebar (no page reload:
  what moving between pages costs);
- train: the deep-mlp preset's Train click to its final charts (every results chart drawn, the
  script finished); each repeat uses another seed, so none comes from the result cache;
- cached click: a new visitor's Train click on settings trained before (the first train
  click's): the result comes from the server's cache, so this is drawing alone.

A page load in a new tab pays two fixed costs before this app's first chart: Streamlit's own
start-up (~1 s on 2 cores, measured on the empty Runs page) and evaluating its 4.7 MB Plotly
bundle on the first chart (~0.85 s, measured with ``import()`` in a loaded page).

Run ``python -m benchmarks --browser`` (or ``python -m benchmarks.browser_timing``); it prints
each measurement, the best of N, and writes ``benchmarks/results/browser_timing.json``. Timings
on a shared machine are noisy: compare best-of-N values and read the load average printed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
]
FINAL_CHARTS = 9  # the deep page after training: profile, heatmap, loss, accuracy, saturation,
# update ratio, gradient norm, clipped share, benefit-vs-cost
TARGETS = {"warm_load_s": 1.5, "train_click_s": 4.0}  # the goals on a 2-core machine
PAGES = {
    "deep": "/",
    "recurrent": "/recurrent",
    "phase": "/phase",
    "toy": "/toy",
    "theory": "/theory",
    "runs": "/runs",
}
NAV_LABELS = {
    "deep": "Deep networks",
    "recurrent": "Recurrent networks",
    "phase": "Phase diagrams",
    "toy": "The toy model",
    "theory": "Theory",
    "runs": "Runs",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(store: Path, app: str = "dashboard/app.py") -> tuple[subprocess.Popen, str]:
    """A headless streamlit server for ``app`` on a free port, healthy (or raises after 120 s)."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": "", "GFL_STORE": str(store)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            app,
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(url + "/_stcore/health", timeout=1)
            return proc, url
        except Exception:
            if proc.poll() is not None:
                raise RuntimeError("streamlit exited before it was healthy") from None
            time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError("streamlit did not become healthy in 120 s")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop a server from ``start_server`` (killed if it does not exit within 10 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


_TICK = os.sysconf("SC_CLK_TCK")


def _proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds used so far) of every process we can read."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        out[int(d.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICK)
    return out


class CpuMeter:
    """CPU seconds the server and the browser (every other process under this one) use.

    On a machine shared with other work, wall times stretch with the load; CPU seconds do not:
    server + browser CPU for an action is close to what it takes on an idle machine.

    ``read`` returns the server's CPU and each other process's, by pid; ``used`` sums per-pid
    growth between two reads. Summing totals instead went negative when a process (the tab
    closed just before) exited in between and took its whole past CPU out of the sum.
    """

    def __init__(self, server_pid: int):
        self.server_pid = server_pid

    def read(self) -> tuple[float, dict[int, float]]:
        procs = _proc_table()
        kids: dict[int, list[int]] = {}
        for pid, (ppid, _) in procs.items():
            kids.setdefault(ppid, []).append(pid)
        todo, tree = [os.getpid()], []
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(kids.get(pid, []))
        server = procs.get(self.server_pid, (0, 0.0))[1]
        others = {p: procs[p][1] for p in tree if p not in (os.getpid(), self.server_pid)}
        return server, others

    @staticmethod
    def used(before: dict[int, float], after: dict[int, float]) -> float:
        """CPU the processes used between two reads: each live one's growth (a process born in
        between counts whole; one that exited in between is lost, ~nothing by then)."""
        total = 0.0
        for pid, cpu in after.items():
            start = before.get(pid, 0.0)
            total += cpu - start if cpu >= start else cpu  # lower: a new process reusing the pid
        return total


def _charts_drawn(pg, n: int, timeout_ms: int) -> None:
    pg.wait_for_function(
        f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n}", timeout=timeout_ms
    )


# true when no script run is going or requested (the app's own script state) and no 'Running…'
# status widget shows; the browser tests wait on it too (tests/browser/streamlit_ui.py)
SCRIPT_IDLE_JS = """() => {
  const app = document.querySelector('[data-testid=stApp]');
  return app !== null && app.getAttribute('data-test-script-state') === 'notRunning'
         && document.querySelector('[data-testid=stStatusWidget]') === null;
}"""


def _script_done(pg, timeout_ms: int) -> None:
    """The script has finished (``SCRIPT_IDLE_JS``, polled, so the measurement ends within ~50 ms
    of it). The status widget alone shows only after a run has lasted a moment, so a short rerun
    could be missed."""
    pg.wait_for_function(SCRIPT_IDLE_JS, timeout=timeout_ms, polling=50)


Timing = dict  # {"wall_s", "server_cpu_s", "browser_cpu_s"}
VIEWPORT = {"width": 1440, "height": 900}


def _open(browser, url: str, meter: CpuMeter, charts: int = 1, context=None):
    """A new tab (a new session) on ``url``, loaded (its first ``charts`` charts drawn, or its
    title when it has none): (page, its Timing). ``context``: a browser profile to open it in
    (its cache); by default a fresh one."""
    opener = context if context is not None else browser
    pg = opener.new_page(**({} if context is not None else {"viewport": VIEWPORT}))
    t0, (s0, b0) = time.perf_counter(), meter.read()
    pg.goto(url)
    if charts:
        _charts_drawn(pg, charts, 120_000)
    else:  # the Runs page of an empty store draws nothing
        pg.locator("h1").first.wait_for(timeout=120_000)
    pg.wait_for_timeout(150)  # the status widget appears a beat after the first paint
    _script_done(pg, 120_000)
    return pg, _since(t0, s0, b0, meter)


def _since(t0: float, s0: float, b0: dict[int, float], meter: CpuMeter) -> Timing:
    s1, b1 = meter.read()
    return {
        "wall_s": round(time.perf_counter() - t0, 3),
        "server_cpu_s": round(s1 - s0, 3),
        "browser_cpu_s": round(meter.used(b0, b1), 3),
    }


def time_load(browser, url: str, meter: CpuMeter, charts: int = 1, context=None) -> Timing:
    """Opening ``url`` in a new tab to its charts drawn and the script done."""
    pg, timing = _open(browser, url, meter, charts, context)
    pg.close()
    return timing


def time_navigation(pg, label: str, charts: int, meter: CpuMeter) -> Timing:
    """A click on ``label`` in the sidebar's page list to that page drawn and its script done."""
    link = pg.locator("[data-testid=stSidebarNav] a").filter(has_text=label).first
    t0, (s0, b0) = time.perf_counter(), meter.read()
    link.click()
    pg.wait_for_timeout(100)  # the click's rerun has begun
    pg.get_by_role("heading", name=re.compile("^" + re.escape(label))).first.wait_for(
        timeout=120_000
    )
    if charts:
        _charts_drawn(pg, charts, 120_000)
    _script_done(pg, 120_000)
    return _since(t0, s0, b0, meter)


def time_train(browser, url: str, meter: CpuMeter) -> Timing:
    """The Train click to the final charts drawn and the script done."""
    pg, _ = _open(browser, url, meter)
    try:
        button = pg.get_by_role("button", name="Train", exact=True)
        t0, (s0, b0) = time.perf_counter(), meter.read()
        button.click()
        pg.get_by_text("Trade-offs").wait_for(timeout=180_000)
        _charts_drawn(pg, FINAL_CHARTS, 180_000)
        _script_done(pg, 180_000)
        return _since(t0, s0, b0, meter)
    finally:
        pg.close()


def measure(repeat: int) -> dict:
    """Every measurement, ``repeat`` times each (the first load once: it is only first once)."""
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        chromium = shutil.which("chromium") or chromium
    out: dict = {"load_before": list(os.getloadavg()), "repeat": repeat, "runs": {}}
    runs = out["runs"]
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_server(Path(tmp) / "runs.sqlite")
        meter = CpuMeter(proc.pid)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=chromium, args=FLAGS, headless=True)
                runs["first_load"] = [time_load(browser, url, meter)]
                _say("first load", runs["first_load"][0])
                for name, path in PAGES.items():
                    n = 0 if name == "runs" else 1  # an empty run store: nothing to draw
                    time_load(browser, url + path, meter, n)  # this page's own first visit
                    runs[f"warm_load_{name}"] = [
                        time_load(browser, url + path, meter, n) for _ in range(repeat)
                    ]
                    for t in runs[f"warm_load_{name}"]:
                        _say(f"warm load /{name}", t)
                returning = browser.new_context(viewport=VIEWPORT)  # one profile: its cache
                time_load(browser, url + "/", meter, 1, returning)  # the files are cached now
                for name, path in PAGES.items():
                    n = 0 if name == "runs" else 1
                    runs[f"return_load_{name}"] = [
                        time_load(browser, url + path, meter, n, returning) for _ in range(repeat)
                    ]
                    for t in runs[f"return_load_{name}"]:
                        _say(f"return load /{name}", t)
                pg = returning.new_page()
                pg.goto(url + "/")
                _charts_drawn(pg, 1, 120_000)
                _script_done(pg, 120_000)
                order = [*list(PAGES)[1:], "deep"]  # each page from the one before it
                for _ in range(repeat):
                    for name in order:
                        n = 0 if name == "runs" else 1
                        t = time_navigation(pg, NAV_LABELS[name], n, meter)
                        runs.setdefault(f"navigation_{name}", []).append(t)
                        _say(f"navigation to {name}", t)
                pg.close()
                returning.close()
                runs["train_click"] = []
                for i in range(repeat):  # another seed each time: never from the cache
                    t = time_train(browser, f"{url}/?preset=deep-mlp&seed={1000 + i}", meter)
                    runs["train_click"].append(t)
                    _say("deep-mlp Train click to final charts", t)
                runs["cached_click"] = []
                for _ in range(repeat):  # the first click's settings: from the result cache
                    t = time_train(browser, f"{url}/?preset=deep-mlp&seed=1000", meter)
                    runs["cached_click"].append(t)
                    _say("the same settings again (cached) to charts", t)
                browser.close()
        finally:
            stop_server(proc)
    out["load_after"] = list(os.getloadavg())
    out["best"] = {k: _best(v) for k, v in runs.items()}
    return out


def _best(timings: list[Timing]) -> Timing:
    """The fastest wall time, and the least server and browser CPU, each over the repeats."""
    return {k: min(t[k] for t in timings) for k in timings[0]}


def _say(what: str, t: Timing) -> None:
    print(
        f"{what:40s} {t['wall_s']:6.2f} s wall, CPU {t['server_cpu_s']:5.2f} s server + "
        f"{t['browser_cpu_s']:5.2f} s browser",
        file=sys.stderr,
        flush=True,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks --browser", description=__doc__)
    ap.add_argument("--repeat", type=int, default=3, help="measurements per case (best is kept)")
    ap.add_argument("--out", default=str(RESULTS), help="directory for browser_timing.json")
    args = ap.parse_args(argv)
    report = measure(max(1, args.repeat))
    print(
        f"load average {report['load_before'][0]:.1f} -> {report['load_after'][0]:.1f} "
        f"(best of {report['repeat']}; CPU = seconds of CPU the server and the browser used)"
    )
    print(f"{'case':28s} {'wall':>8s} {'server CPU':>11s} {'browser CPU':>12s}  goal")
    for k, t in report["best"].items():
        loads = ("warm_load", "return_load", "navigation")
        goal = (
            TARGETS["train_click_s"]
            if k == "train_click"
            else (TARGETS["warm_load_s"] if k.startswith(loads) else None)
        )
        mark = "" if goal is None else f"< {goal} s"
        print(
            f"{k:28s} {t['wall_s']:7.2f}s {t['server_cpu_s']:10.2f}s {t['browser_cpu_s']:11.2f}s"
            f"  {mark}"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "browser_timing.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

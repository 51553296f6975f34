"""What the chart library costs a page opened in a new tab: ``python -m benchmarks.chart_probe``.

Serves ``benchmarks/chart_probe_app.py`` (a title and one chart) and opens it in chromium with
Plotly, ECharts and Vega-Lite, each in its own browser profile: the first open (nothing cached)
and ``--repeat`` more in new tabs of the same profile (files cached). Prints the wall time from
the address to the chart drawn. Streamlit loads each library's bundle only for a page that
draws it, so the difference between the three is that bundle's cost.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from benchmarks.browser_timing import FLAGS, start_server, stop_server

DRAWN = {
    "plotly": ".js-plotly-plot .main-svg",
    "echarts": "[data-testid=stEChartsChart] canvas",
    "vega": "[data-testid=stVegaLiteChart] canvas, .vega-embed canvas, .vega-embed svg",
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.chart_probe", description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    app = Path(__file__).with_name("chart_probe_app.py")
    proc, url = start_server(Path("/nonexistent-store.sqlite"), app=str(app))
    try:
        with sync_playwright() as p:
            chromium = shutil.which("chromium") or "/usr/bin/chromium"
            browser = p.chromium.launch(executable_path=chromium, args=FLAGS)
            for kind, selector in DRAWN.items():
                ctx = browser.new_context(viewport={"width": 1440, "height": 900})
                walls = []
                for _ in range(1 + args.repeat):
                    pg = ctx.new_page()
                    t0 = time.perf_counter()
                    pg.goto(f"{url}/?k={kind}")
                    pg.wait_for_selector(selector, timeout=60_000)
                    walls.append(time.perf_counter() - t0)
                    pg.close()
                ctx.close()
                cached = ", ".join(f"{w:.2f}" for w in walls[1:])
                best = min(walls[1:])
                print(f"{kind:8s} first {walls[0]:.2f} s, cached {cached} s (best {best:.2f})")
    finally:
        stop_server(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())

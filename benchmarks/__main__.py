"""``python -m benchmarks``: engine against the hand-written reference, written to results/.

Every case runs in its own subprocess (peak RSS per case, no warm caches shared between cases).
Wall times are the best of ``--repeat`` runs. The CLI case times a whole ``python -m models run``
process, start-up and file writing included.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.sweeps import run_sweeps
from models import (
    DEFAULT_PRESET,
    DEFAULT_RNN_PRESET,
    FAMILIES,
    PRESETS,
    RunConfig,
    configure_threads,
    configure_workers,
)

RESULTS = Path(__file__).parent / "results"
ROOT = Path(__file__).resolve().parent.parent
COLUMNS = [
    "preset",
    "case",
    "wall_s",
    "cpu_s",
    "s_per_step",
    "gflops",
    "peak_share",
    "speedup_vs_ref",
    "rss_mb",
    "first_chart_s",
]
CASES = {  # case name -> spec (the preset is filled in)
    "engine": {"kind": "engine"},
    "engine, metrics off": {"kind": "engine", "instrument": False},
    # loss and accuracy curves (training and validation) only: no gradient instruments
    "engine, curves only": {"kind": "engine", "gradients": False},
    "engine, 1 worker": {"kind": "engine", "workers": 1},  # variants one after another
    "engine, 1 seed": {"kind": "engine", "seeds": 1},
    "engine, 5 seeds": {"kind": "engine", "seeds": 5},
    # the reference path: every variant through autograd (GFL_FASTPATH=off), beside the
    # hand-written steps above: what the accelerator is worth
    "engine, autograd path": {"kind": "engine", "env": {"GFL_FASTPATH": "off"}},
    "reference": {"kind": "reference"},
}


def workloads(preset: str) -> dict[str, dict]:
    """Variations of a preset's workload: the ≥ 4× goal must hold beyond the preset's settings."""
    size = FAMILIES[PRESETS[preset].get("family", RunConfig().family)].size_field
    big = 96 if size == "width" else 64
    return {
        "log_every=1": {"log_every": 1},
        "log_every=50": {"log_every": 50},
        f"{size}={big}": {size: big},
        "batch_size=16": {"batch_size": 16},
        "batch_size=128": {"batch_size": 128},
        "seeds=4": {"seeds": 4},
    }


def _env(extra: dict | None = None) -> dict:
    env = dict(os.environ) | (extra or {})
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _wait(cmd: list[str], env: dict | None = None) -> tuple[str, float, float]:
    """Run a child; returns (stdout, wall s, its own peak RSS in MB via wait4)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(env), cwd=ROOT
    )
    out = p.stdout.read().decode()
    err = p.stderr.read().decode()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{err}")
    return out, wall, usage.ru_maxrss / 1024


def run_case(spec: dict, module: str = "benchmarks.case") -> dict:
    out, _, rss = _wait([sys.executable, "-m", module, json.dumps(spec)], spec.get("env"))
    res = json.loads(out.strip().splitlines()[-1])
    res["rss_mb"] = rss
    return res


def run_cli(preset: str, steps: int | None = None, overrides: dict | None = None) -> dict:
    with tempfile.TemporaryDirectory() as d:
        cmd = [sys.executable, "-m", "models", "run", "--preset", preset, "--out", d, "--quiet"]
        cmd += ["--steps", str(steps)] if steps is not None else []
        for key, value in (overrides or {}).items():
            cmd += ["--set", f"{key}={value}"]
        _, wall, rss = _wait(cmd)
    return {"wall_s": wall, "rss_mb": rss}


def best(runs: list[dict]) -> dict:
    """The run with the least wall time; peak RSS is the largest seen."""
    top = dict(min(runs, key=lambda r: r["wall_s"]))
    top["rss_mb"] = max(r["rss_mb"] for r in runs)
    return top


def load() -> list[float]:
    return list(os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--browser" in argv:  # what a visitor waits for, in chromium (benchmarks/browser_timing)
        from benchmarks import browser_timing

        return browser_timing.main([a for a in argv if a != "--browser"])
    if "--watch" in argv:  # what watch() costs a user's plain loop (benchmarks/watch_case)
        from benchmarks import watch_case

        return watch_case.main([a for a in argv if a != "--watch"])
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument("--repeat", type=int, default=1, help="runs per case (best wall is kept)")
    ap.add_argument("--presets", nargs="*", default=[DEFAULT_PRESET, DEFAULT_RNN_PRESET])
    ap.add_argument("--out", default=str(RESULTS), help="directory for benchmark.json/.csv")
    ap.add_argument("--steps", type=int, help="override the presets' steps (a quick smoke run)")
    ap.add_argument(
        "--browser",
        action="store_true",
        help="instead: page loads and the Train click in chromium (browser_timing)",
    )
    ap.add_argument(
        "--watch",
        action="store_true",
        help="instead: watch()'s cost on three plain loops (watch_case)",
    )
    ap.add_argument(
        "--sweeps",
        choices=("on", "off", "only"),
        default="on",
        help="the sweep cases (phase-diagram preset, loop reference, Ray)",
    )
    ap.add_argument(
        "--transformer",
        choices=("on", "off"),
        default="on",
        help="the Transformer cases (instruments, stacked seeds, its presets' CLI)",
    )
    ap.add_argument(
        "--no-workloads",
        action="store_true",
        help="skip the workload variations (log interval, width, batch, seeds)",
    )
    args = ap.parse_args(argv)
    if args.sweeps == "only":
        args.presets = []
    threads = configure_threads()
    load_before = load()
    peak = max(run_case({"kind": "peak"})["gflops"] for _ in range(max(1, args.repeat)))
    print(f"matmul peak: {peak:.1f} GFLOP/s on {threads} thread(s)", file=sys.stderr)
    rows, derived = [], {}
    for preset in args.presets:
        res = {}
        for name, spec in CASES.items():
            spec = {**spec, "preset": preset, "steps": args.steps}
            res[name] = best([run_case(spec) for _ in range(args.repeat)])
            print(f"{preset:12s} {name:22s} {res[name]['wall_s']:7.2f} s", file=sys.stderr)
        res["cli (whole process)"] = best([run_cli(preset, args.steps) for _ in range(args.repeat)])
        print(f"{preset:12s} cli {res['cli (whole process)']['wall_s']:7.2f} s", file=sys.stderr)
        ref = res["reference"]
        for name, r in res.items():
            steps = ref["steps"]
            flops = r.get("flops", ref["flops"]) if name != "cli (whole process)" else None
            rows.append(
                {
                    "preset": preset,
                    "case": name,
                    "wall_s": round(r["wall_s"], 3),
                    "cpu_s": round(r["cpu_s"], 3) if "cpu_s" in r else None,
                    "s_per_step": round(r["wall_s"] / steps, 5),
                    "gflops": round(flops / r["wall_s"] / 1e9, 2) if flops else None,
                    "peak_share": round(flops / r["wall_s"] / 1e9 / peak, 4) if flops else None,
                    "speedup_vs_ref": round(ref["wall_s"] / r["wall_s"], 2)
                    if name.startswith("engine") and "seed" not in name
                    else None,
                    "rss_mb": round(r["rss_mb"], 1),
                    "first_chart_s": round(r["first_chart_s"], 3)
                    if r.get("first_chart_s")
                    else None,
                }
            )
        eng = res["engine"]
        varied = {}
        for label, over in ({} if args.no_workloads else workloads(preset)).items():
            spec = {"preset": preset, "steps": args.steps, "overrides": over}
            e = best([run_case({**spec, "kind": "engine"}) for _ in range(args.repeat)])
            r = best([run_case({**spec, "kind": "reference"}) for _ in range(args.repeat)])
            c = best([run_cli(preset, args.steps, over) for _ in range(args.repeat)])
            varied[label] = {
                "engine_s": round(e["wall_s"], 3),
                "reference_s": round(r["wall_s"], 3),
                "cli_s": round(c["wall_s"], 3),
                "speedup": round(r["wall_s"] / e["wall_s"], 2),
                # the whole CLI process (start-up, data, writing files) against the reference
                "speedup_cli": round(r["wall_s"] / c["wall_s"], 2),
            }
            print(
                f"{preset:12s} {label:16s} engine {e['wall_s']:6.2f} s, reference "
                f"{r['wall_s']:6.2f} s, cli {c['wall_s']:6.2f} s",
                file=sys.stderr,
            )
        derived[preset] = {
            "speedup_vs_reference": round(ref["wall_s"] / eng["wall_s"], 2),
            "speedup_vs_reference_cpu": round(ref["cpu_s"] / eng["cpu_s"], 2),
            "speedup_vs_reference_1_worker": round(
                ref["wall_s"] / res["engine, 1 worker"]["wall_s"], 2
            ),
            "speedup_vs_reference_autograd_path": round(
                ref["wall_s"] / res["engine, autograd path"]["wall_s"], 2
            ),
            "fast_path_over_autograd": round(
                res["engine, autograd path"]["wall_s"] / eng["wall_s"], 2
            ),
            "instrumentation_overhead": round(
                eng["wall_s"] / res["engine, metrics off"]["wall_s"] - 1, 3
            ),
            "instrumentation_overhead_cpu": round(
                eng["cpu_s"] / res["engine, metrics off"]["cpu_s"] - 1, 3
            ),
            # the gradient instruments alone, over a run that records the loss curves only
            "gradient_instruments_overhead": round(
                eng["wall_s"] / res["engine, curves only"]["wall_s"] - 1, 3
            ),
            "seeds5_over_seeds1": round(
                res["engine, 5 seeds"]["wall_s"] / res["engine, 1 seed"]["wall_s"], 2
            ),
            "cli_wall_s": round(res["cli (whole process)"]["wall_s"], 2),
            "first_chart_s": round(eng["first_chart_s"], 3),
            "max_rss_mb": round(max(r["rss_mb"] for r in res.values()), 1),
            "workloads": varied,
        }
    if args.transformer == "on" and args.sweeps != "only":
        from benchmarks.transformer_case import run_transformer

        derived["transformer"] = run_transformer(run_case, best, run_cli, args.repeat, args.steps)
        print(f"transformer: {derived['transformer']}", file=sys.stderr)
    if args.sweeps != "off":
        sweep_rows, derived["sweep"] = run_sweeps(run_case, best, _wait, args.repeat, args.steps)
        rows += [{c: r.get(c) for c in COLUMNS} for r in sweep_rows]
    report = {
        "machine": {
            "nproc": os.cpu_count(),
            "cpu": _cpu_model(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "threads": threads,
            "workers": configure_workers(),
            "load_before": load_before,
            "load_after": load(),
        },
        "matmul_peak_gflops": round(peak, 1),
        "repeat": args.repeat,
        "derived": derived,
        "rows": rows,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "benchmark.json").write_text(json.dumps(report, indent=2) + "\n")
    with open(out / "benchmark.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    print_table(report)
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def print_table(report: dict) -> None:
    m = report["machine"]
    print(
        f"machine: {m['nproc']} cores, {m['cpu']}, torch {m['torch']}, {m['threads']} thread(s), "
        f"{m.get('workers', 1)} worker(s), "
        f"load {m['load_before'][0]:.1f} -> {m['load_after'][0]:.1f}; "
        f"matmul peak {report['matmul_peak_gflops']} GFLOP/s"
    )
    print(" | ".join(COLUMNS))
    for r in report["rows"]:
        print(" | ".join("" if r[c] is None else str(r[c]) for c in COLUMNS))
    for preset, d in report["derived"].items():
        print(f"{preset}: " + ", ".join(f"{k} {v}" for k, v in d.items()))


if __name__ == "__main__":
    sys.exit(main())

"""Sweep benchmarks (issue targets, on 2 cores): the MLP phase-diagram preset end to end.

- ``cli (whole process)``: ``python -m models sweep --preset ...``, start-up and files included
  (target ≤ 60 s); its peak RSS (target ≤ 1.5 GB);
- ``local`` against ``loop`` (one nn.Sequential per point, trained one after another, validation
  at every log step): target ≥ 4× faster;
- ``ray, 1 worker`` / ``ray, 2 workers`` (a local Ray started inside the clock): target ≤ 1.5× the
  local backend's time, and points per second with 1 and 2 workers.
"""

from __future__ import annotations

import sys
import tempfile

from models.sweep.backends import ray_available

SWEEP_PRESET = "tanh-phase-diagram"
PRESET_STEPS = 150  # the preset's own steps (a --steps smoke run scales the 4× cases from it)
CASES = {
    "local": {"kind": "local"},
    "local, 1 worker": {"kind": "local", "workers": 1},
    "loop (nn.Sequential per point)": {"kind": "loop"},
    "ray, 1 worker": {"kind": "ray", "workers": 1},
    "ray, 2 workers": {"kind": "ray", "workers": 2},
    # Ray's fixed cost alone (start, two workers importing torch and the engine, shut down)
    "ray start-up only, 2 workers": {"kind": "ray-startup", "workers": 2},
    # the same grid at 4× the steps: a sweep big enough that the fixed cost is amortised
    "local, 600 steps": {"kind": "local", "steps_factor": 4},
    "ray, 2 workers, 600 steps": {"kind": "ray", "workers": 2, "steps_factor": 4},
}


def run_sweeps(run_case, best, wait, repeat: int, steps: int | None) -> tuple[list, dict]:
    """(rows for the report, derived numbers); ``run_case``/``best``/``wait`` from __main__."""
    res = {}
    for name, spec in CASES.items():
        if spec["kind"].startswith("ray") and not ray_available():
            print(
                f"sweep {name}: skipped (ray not installed: pip install -e '.[ray]')",
                file=sys.stderr,
            )
            continue
        scale = spec.get("steps_factor", 1)
        run_steps = None if steps is None and scale == 1 else (steps or PRESET_STEPS) * scale
        spec = {**spec, "preset": SWEEP_PRESET, "steps": run_steps}
        res[name] = best([run_case(spec, "benchmarks.sweep_case") for _ in range(repeat)])
        print(f"sweep {name:32s} {res[name]['wall_s']:7.2f} s", file=sys.stderr)
    runs = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as d:
            cmd = [
                sys.executable,
                "-m",
                "models",
                "sweep",
                "--preset",
                SWEEP_PRESET,
                "--out",
                d,
                "--quiet",
            ] + (["--steps", str(steps)] if steps else [])
            _, wall, rss = wait(cmd)
            runs.append({"wall_s": wall, "rss_mb": rss})
    res["cli (whole process)"] = best(runs)
    print(
        f"sweep cli (whole process) {res['cli (whole process)']['wall_s']:7.2f} s", file=sys.stderr
    )
    local = res["local"]
    rows = [
        {
            "preset": SWEEP_PRESET,
            "case": f"sweep: {k}",
            "wall_s": round(r["wall_s"], 3),
            "cpu_s": round(r["cpu_s"], 3) if "cpu_s" in r else None,
            "speedup_vs_ref": round(
                res["loop (nn.Sequential per point)"]["wall_s"] / r["wall_s"], 2
            )
            if k in ("local", "local, 1 worker")
            else None,
            "rss_mb": round(r["rss_mb"], 1),
        }
        for k, r in res.items()
    ]
    derived = {
        "points": local["points"],
        "runs": local["runs"],
        "cli_wall_s": round(res["cli (whole process)"]["wall_s"], 2),
        "cli_peak_rss_mb": round(res["cli (whole process)"]["rss_mb"], 1),
        "local_wall_s": round(local["wall_s"], 2),
        "speedup_vs_loop": round(
            res["loop (nn.Sequential per point)"]["wall_s"] / local["wall_s"], 2
        ),
        "local_points_per_s": round(local["points_per_s"], 2),
    }
    for k in ("ray, 1 worker", "ray, 2 workers"):
        if k in res:
            tag = k.replace(", ", "_").replace(" ", "_")
            derived[f"{tag}_wall_s"] = round(res[k]["wall_s"], 2)
            derived[f"{tag}_points_per_s"] = round(res[k]["points_per_s"], 2)
    if "ray, 2 workers" in res:
        derived["ray_over_local"] = round(res["ray, 2 workers"]["wall_s"] / local["wall_s"], 2)
    if "ray start-up only, 2 workers" in res:
        derived["ray_startup_s"] = round(res["ray start-up only, 2 workers"]["wall_s"], 2)
    if "ray, 2 workers, 600 steps" in res:
        derived["ray_over_local_600_steps"] = round(
            res["ray, 2 workers, 600 steps"]["wall_s"] / res["local, 600 steps"]["wall_s"], 2
        )
    return rows, derived

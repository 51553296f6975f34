"""Every preset's metrics at 20 steps, as digests: a refactoring must leave them bit for bit.

``python -m benchmarks.metrics_digest write FILE`` records the digests of the current code (fast
path, ``GFL_FASTPATH=off`` and the plain reference loop, each in its own process);
``python -m benchmarks.metrics_digest check FILE`` recomputes them and names every preset and
metric that changed. ``wall_s`` (a time) is left out. Not a timing: the numbers only.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

PATHS = ("fast", "autograd", "reference")
STEPS, LOG_EVERY = 20, 5


def _digests(rows) -> dict[str, str]:
    """sha256 per metric of the rows (variant, seed, step, metric, index, value), in order."""
    by_metric: dict[str, list] = {}
    for variant, seed, step, metric, index, value in rows:
        if metric != "wall_s":
            by_metric.setdefault(metric, []).append((variant, seed, step, index, float(value)))
    return {
        m: hashlib.sha256(repr(sorted(r, key=lambda t: t[:4])).encode()).hexdigest()[:16]
        for m, r in sorted(by_metric.items())
    }


def compute(path: str) -> dict[str, dict[str, str]]:
    """{preset: {metric: digest}} for one path, in this process."""
    from models import PRESETS, load_preset, run_comparison

    out = {}
    for preset in PRESETS:
        comp = load_preset(preset, {"steps": STEPS, "log_every": LOG_EVERY})
        if path == "reference":
            from benchmarks.reference import run_reference

            try:  # a preset that diverges within 20 steps may fail in the plain loop's SVD
                rows = run_reference(comp)
            except Exception as e:  # recorded as such: it must fail the same way after
                out[preset] = {"error": type(e).__name__}
                continue
        else:
            result = run_comparison(comp, workers=1)
            rows = result.metrics_frame().itertuples(index=False)
        out[preset] = _digests(rows)
    return out


def budget() -> dict[str, dict[str, str]]:
    """The budget's estimate of every preset (FLOPs, bytes, rows per variant): also numbers."""
    from models import PRESETS, estimate, load_preset
    from models.core.budget import matmul_flops

    out = {}
    for preset in PRESETS:
        comp = load_preset(preset)
        est = estimate(comp)
        out[preset] = {
            v.name: repr(
                (
                    v.flops,
                    v.step_flops,
                    v.persistent_bytes,
                    v.transient_bytes,
                    v.rows,
                    matmul_flops(c),
                )
            )
            for v, c in zip(est.variants, comp.variants)
        }
    return out


def compute_all() -> dict:
    """Every path, each in a fresh process (the fast-path switch is read from the environment)."""
    out = {"budget": budget()}
    for path in PATHS:
        env = dict(os.environ, GFL_FASTPATH="off" if path == "autograd" else "on")
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.metrics_digest", "one", path],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        out[path] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def diff(old: dict, new: dict) -> list[str]:
    """Every (path, preset, metric) whose digest differs or is missing on one side."""
    lines = []
    for path in sorted(set(old) | set(new)):
        o, n = old.get(path, {}), new.get(path, {})
        for preset in sorted(set(o) | set(n)):
            om, nm = o.get(preset, {}), n.get(preset, {})
            for metric in sorted(set(om) | set(nm)):
                if om.get(metric) != nm.get(metric):
                    lines.append(f"{path} {preset} {metric}: {om.get(metric)} -> {nm.get(metric)}")
    return lines


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else ""
    if cmd == "one":
        print(json.dumps(compute(argv[1])))
        return 0
    if cmd in ("write", "check") and len(argv) == 2:
        new = compute_all()
        if cmd == "write":
            Path(argv[1]).write_text(json.dumps(new, indent=1, sort_keys=True) + "\n")
            return 0
        changed = diff(json.loads(Path(argv[1]).read_text()), new)
        print("\n".join(changed) or "identical")
        return 1 if changed else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

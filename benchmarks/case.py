"""One benchmark case in this process: ``python -m benchmarks.case '<json spec>'``.

Prints one JSON line: the timed wall seconds, the counted FLOPs, the first-chart latency (engine)
and this process's peak RSS. Imports and the first ``torch.optim`` construction are warmed up
before the clock starts, for the engine and the reference alike.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import torch

from models import configure_threads, configure_workers, load_preset, run_comparison
from models.core.budget import matmul_flops
from models.core.tasks import make_task


def matmul_peak(threads: int, n: int = 1024, reps: int = 5) -> float:
    """Best float32 matmul rate in GFLOP/s with ``threads`` intra-op threads."""
    configure_threads(threads)
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def run_case(spec: dict) -> dict:
    threads = configure_threads(spec.get("threads"))
    if spec["kind"] == "peak":
        return {"gflops": matmul_peak(threads), "threads": threads}
    overrides = {key: spec[key] for key in ("seeds", "steps") if spec.get(key) is not None}
    overrides.update(spec.get("overrides") or {})  # a workload variation (width, batch size...)
    comp = load_preset(spec["preset"], overrides)
    for cfg in comp.variants:  # warm imports (scikit-learn's digits) and data caches
        make_task(cfg)
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)  # its first call imports dynamo
    first = []
    c0, t0 = time.process_time(), time.perf_counter()
    if spec["kind"] == "reference":
        from benchmarks.reference import run_reference

        run_reference(comp)
    else:

        def callback(p):
            if not first and p.result.metrics:
                first.append(time.perf_counter() - t0)

        run_comparison(
            comp,
            callback=callback,
            instrument=spec.get("instrument", True),
            workers=spec.get("workers"),
            gradients=spec.get("gradients", True),
        )
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        "cpu_s": time.process_time() - c0,  # steadier than wall when others share the cores
        "first_chart_s": first[0] if first else None,
        "steps": max(c.steps for c in comp.variants) + 1,
        "model_steps": sum((c.steps + 1) * c.seeds for c in comp.variants),
        "flops": sum(matmul_flops(c) for c in comp.variants),
        "threads": threads,
        "workers": 1 if spec["kind"] == "reference" else configure_workers(spec.get("workers")),
    }


def peak_rss_mb() -> float:
    """This process's own peak RSS (VmHWM); ru_maxrss can carry a parent's peak across exec."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    out = run_case(json.loads(sys.argv[1]))
    out["rss_mb"] = peak_rss_mb()
    print(json.dumps(out))

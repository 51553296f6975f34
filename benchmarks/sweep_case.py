"""One sweep benchmark case in this process: ``python -m benchmarks.sweep_case '<json spec>'``.

Kinds: ``local`` (run_sweep, the stacked local backend), ``ray`` (run_sweep on a local Ray
started inside the clock: its start-up is part of the cost) and ``loop`` (the loop a user writes:
one nn.Sequential per grid point and seed, trained one after another with torch.optim, the
validation set evaluated at every log step). Prints one JSON line.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.case import peak_rss_mb
from benchmarks.reference import Act
from models import RunConfig, configure_threads
from models.core.tasks import make_task
from models.sweep import run_sweep
from models.sweep.presets import load_sweep_preset


def naive_loop(spec) -> int:
    """Every grid point × variant × seed as its own nn.Sequential, one after another."""
    runs = 0
    for comp in spec.comparisons:
        for cfg in comp.variants:
            task = make_task(cfg)
            for seed in cfg.seed_list():
                _train_one(cfg, task, seed)
                runs += 1
    return runs


def _train_one(cfg: RunConfig, task, seed: int) -> None:
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    n_in = task.input_dim
    for _ in range(cfg.depth):
        lin = nn.Linear(n_in, cfg.width)
        nn.init.normal_(lin.weight, 0.0, cfg.init_gain / math.sqrt(n_in))  # σ_w²/fan_in
        nn.init.normal_(lin.bias, 0.0, cfg.bias_std)
        layers += [lin, Act(cfg.activation)]  # the registered activation as a module
        n_in = cfg.width
    layers.append(nn.Linear(n_in, task.output_dim))
    model = nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    batches = task.batches(cfg.steps, cfg.batch_size)
    for step in range(cfg.steps + 1):
        x, y = next(batches)
        loss = F.cross_entropy(model(x), y)
        if step % cfg.log_every == 0 or step == cfg.steps:
            with torch.no_grad():  # what a user logs: validation loss and accuracy
                out = model(task.x_val)
                F.cross_entropy(out, task.y_val).item()
                (out.argmax(-1) == task.y_val).float().mean().item()
        if step == cfg.steps:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()


def _ray_startup(workers: int) -> int:
    """Start a local Ray as the backend does, run one task per worker that imports torch and
    the engine (what a sweep's first tasks pay), and shut it down: no training at all."""
    import ray

    from models.sweep.backends import _init_ray

    root = str(Path(__file__).resolve().parents[1])
    _init_ray(
        ray,
        {
            "ignore_reinit_error": True,
            "log_to_driver": False,
            "num_cpus": workers,
            "include_dashboard": False,
        },
        root,
    )

    @ray.remote(num_cpus=1)
    def ready() -> int:
        import models  # noqa: F401

        return 1

    try:
        return sum(ray.get([ready.remote() for _ in range(workers)]))
    finally:
        ray.shutdown()


def run(spec: dict) -> dict:
    configure_threads(spec.get("threads"))
    sweep = load_sweep_preset(
        spec["preset"], {"steps": spec["steps"]} if spec.get("steps") else None
    )
    for comp in sweep.comparisons[:1]:  # warm the data caches (scikit-learn's digits)
        make_task(comp.variants[0])
    t0 = time.perf_counter()
    c0 = time.process_time()
    if spec["kind"] == "loop":
        n = naive_loop(sweep)
    elif spec["kind"] == "ray-startup":  # Ray's fixed cost alone: start, workers ready, stop
        n = _ray_startup(spec.get("workers") or 2)
    else:
        res = run_sweep(sweep, backend=spec["kind"], workers=spec.get("workers"))
        n = len(res.rows)
    wall = time.perf_counter() - t0
    return {
        "wall_s": wall,
        "cpu_s": time.process_time() - c0,
        "runs": n,
        "points": len(sweep.points),
        "points_per_s": len(sweep.points) / wall,
    }


if __name__ == "__main__":
    out = run(json.loads(sys.argv[1]))
    out["rss_mb"] = peak_rss_mb()
    print(json.dumps(out))

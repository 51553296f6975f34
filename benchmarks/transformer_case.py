"""Transformer timings, one case per process: ``python -m benchmarks.transformer_case '{json}'``.

Cases (all on the transformer-ln preset's first variant, all seeds stacked unless said):
- ``engine``: the engine's ``VariantTrainer`` with every instrument (per-block gradient norms,
  sub-layer norms, update ratios, LayerNorm gain drift, attention entropy, saturation).
- ``plain``: a plain loop recording only the loss: the same stacked net, autograd, the same
  optimizer step, ``loss.tolist()`` every step.
- ``per-seed``: one module per seed (S = 1 each), trained one after another in the same loop.
- ``vmap``: one module per seed, their states stacked by ``torch.func.stack_module_state`` and
  the forward run under ``torch.func.vmap`` (the standard way to stack an arbitrary nn.Module).
Prints one JSON line: wall and CPU seconds of the training steps, and the steps.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
import time

import torch
import torch.nn.functional as F

from models import configure_threads, load_preset
from models.core.nets import build_model
from models.core.optim import StackedOptimizer
from models.core.tasks import make_task
from models.core.trainer import VariantTrainer


def _cfg(spec: dict):
    cfg = load_preset(spec.get("preset", "transformer-ln")).variants[spec.get("variant", 0)]
    over = {k: v for k, v in (spec.get("overrides") or {}).items()}
    if spec.get("steps") is not None:
        over["steps"] = spec["steps"]
    return dataclasses.replace(cfg, **over)


def _loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    S, B, C = out.shape
    return F.cross_entropy(out.reshape(S * B, C), y.repeat(S), reduction="none").view(S, B).mean(1)


def _timed(fn) -> tuple[float, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def engine(cfg) -> tuple[float, float]:
    tr = VariantTrainer(cfg)
    return _timed(lambda: tr.advance(cfg.steps + 1))


def plain(cfg, seeds_apart: bool = False) -> tuple[float, float]:
    """A loop recording only the loss: stacked (one model of S seeds) or one model per seed."""
    task = make_task(cfg)
    if seeds_apart:
        cfgs = [dataclasses.replace(cfg, seeds=1, seed=s) for s in cfg.seed_list()]
    else:
        cfgs = [cfg]
    models = [build_model(c, task.input_dim, task.output_dim) for c in cfgs]
    opts = [
        StackedOptimizer(list(m.parameters()), c.optimizer, c.lr, c.momentum, c.warmup_steps)
        for m, c in zip(models, cfgs)
    ]
    losses: list[float] = []

    def run() -> None:
        for x, y in task.batches(cfg.steps, cfg.batch_size):
            for m, opt in zip(models, opts):
                loss = _loss(m(x), y)
                grads = torch.autograd.grad(loss.sum(), list(m.parameters()))
                opt.step(list(grads))
                losses.extend(loss.tolist())

    return _timed(run)


def vmapped(cfg) -> tuple[float, float]:
    """torch.func: S one-seed modules' states stacked, the forward vmapped over them."""
    from torch.func import functional_call, stack_module_state, vmap

    task = make_task(cfg)
    mods = [
        build_model(dataclasses.replace(cfg, seeds=1, seed=s), task.input_dim, task.output_dim)
        for s in cfg.seed_list()
    ]
    params, buffers = stack_module_state(mods)
    base = copy.deepcopy(mods[0]).to("meta")
    names = list(params)
    leaves = [params[n] for n in names]
    opt = StackedOptimizer(leaves, cfg.optimizer, cfg.lr, cfg.momentum, cfg.warmup_steps)

    def one(p, b, x):
        return functional_call(base, (p, b), (x,))[0]  # (B, C): the module's own S = 1

    def run() -> None:
        for x, y in task.batches(cfg.steps, cfg.batch_size):
            out = vmap(one, in_dims=(0, 0, None))(params, buffers, x)  # (S, B, C)
            loss = _loss(out, y)
            grads = torch.autograd.grad(loss.sum(), leaves)
            opt.step(list(grads))
            loss.tolist()

    return _timed(run)


TRANSFORMER_CASES = ("engine", "plain", "per-seed", "vmap")
SEEDS = 4  # the stacked-seed comparison's seed count (the "4 seeds")


def run_transformer(run_case, best, run_cli, repeat: int, steps: int | None) -> dict:
    """The Transformer's derived figures: instruments over a loss-only loop (goal ≤ 1.3×),
    stacked seeds over one module per seed and over vmap, and every Transformer preset's whole
    CLI process (goal ≤ 30 s). ``run_case``/``best``/``run_cli``: benchmarks.__main__'s."""
    from models import PRESETS
    from models.core.transformer_family import TRANSFORMER

    res = {}
    for case in TRANSFORMER_CASES:
        spec = {"case": case, "steps": steps, "overrides": {"seeds": SEEDS}}
        res[case] = best([run_case(spec, "benchmarks.transformer_case") for _ in range(repeat)])
    names = [name for name, p in PRESETS.items() if p.get("family") == TRANSFORMER.name]
    cli = {
        name: round(best([run_cli(name, steps) for _ in range(repeat)])["wall_s"], 2)
        for name in names
    }
    # the CLI's CPU seconds (user + system, children included): on a loaded machine the wall
    # time says more about the neighbours than about the run
    cli_cpu = {name: round(min(cli_cpu_s(name, steps) for _ in range(repeat)), 2) for name in names}
    r = lambda a, b, k="wall_s": round(res[a][k] / res[b][k], 2)  # noqa: E731
    return {
        "seeds": SEEDS,
        "wall_s": {c: round(v["wall_s"], 3) for c, v in res.items()},
        "cpu_s": {c: round(v["cpu_s"], 3) for c, v in res.items()},
        "instruments_over_plain": r("engine", "plain"),
        "instruments_over_plain_cpu": r("engine", "plain", "cpu_s"),
        "per_seed_over_stacked": r("per-seed", "plain"),
        "vmap_over_stacked": r("vmap", "plain"),
        "cli_wall_s": cli,
        "cli_cpu_s": cli_cpu,
    }


def cli_cpu_s(preset: str, steps: int | None = None) -> float:
    """CPU seconds (user + system) of a whole ``python -m models run`` process."""
    import os
    import subprocess
    import tempfile
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryDirectory() as d:
        cmd = [sys.executable, "-m", "models", "run", "--preset", preset, "--out", d, "--quiet"]
        cmd += ["--steps", str(steps)] if steps is not None else []
        p = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=root
        )
        err = p.stderr.read().decode()
        _, status, usage = os.wait4(p.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{err}")
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    spec = json.loads(sys.argv[1])
    configure_threads(spec.get("threads"))
    cfg = _cfg(spec)
    case = spec["case"]
    wall, cpu = {
        "engine": lambda: engine(cfg),
        "plain": lambda: plain(cfg),
        "per-seed": lambda: plain(cfg, seeds_apart=True),
        "vmap": lambda: vmapped(cfg),
    }[case]()
    print(
        json.dumps(
            {"case": case, "wall_s": wall, "cpu_s": cpu, "steps": cfg.steps + 1, "seeds": cfg.seeds}
        )
    )


if __name__ == "__main__":
    main()

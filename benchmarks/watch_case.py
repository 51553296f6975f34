"""``python -m benchmarks --watch``: what ``watch()`` costs a plain training loop (issue 23).

Three loops written the plain way — a 20-layer MLP, a small CNN on sklearn's 8×8 digits, a small
``nn.TransformerEncoder`` reading a digit's 8 rows as 8 tokens — each trained for ``--steps``
steps (Adam, batch 64) without ``watch``, with ``watch(every=10)`` and with ``watch(every=1)``
and with ``every=1, saturation_every=10`` (``store=False``: the loop, not the store, is timed).
Targets: every=10 ≤ 1.05×, every=1 ≤ 1.3× the plain loop's wall time.

The runs are interleaved (each repeat runs the three modes in a rotating order, each from the same
seed) and the medians reported, with the median of the per-repeat ratios beside the ratio of the
medians: on a shared, busy machine a slow moment then hits one run of each mode, not one mode.
Everything runs in one process on ``--threads`` torch threads (default 1), after one warm-up run
of each loop and mode.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

from models.watch import watch

MODES = ("plain", "every=10", "every=1", "every=1, saturation_every=10")
TARGETS = {"every=10": 1.05, "every=1": 1.3, "every=1, saturation_every=10": 1.3}
RESULTS = Path(__file__).parent / "results"


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data, dtype=torch.float32) / 16.0
    return x, torch.tensor(d.target)


def mlp() -> nn.Module:
    layers: list[nn.Module] = [nn.Linear(64, 64), nn.ReLU()]
    for _ in range(18):
        layers += [nn.Linear(64, 64), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(64, 10))  # 20 Linear layers


class CNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.act2 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        x = self.act1(self.conv1(x.view(-1, 1, 8, 8)))
        return self.head(self.pool(self.act2(self.conv2(x))).flatten(1))


class Encoder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(8, 32)
        layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        return self.head(self.encoder(self.embed(x.view(-1, 8, 8))).mean(1))


LOOPS = {"mlp-20": mlp, "cnn-digits": CNN, "encoder": Encoder}


def train(kind: str, mode: str, steps: int, data) -> tuple[float, float]:
    """(wall, CPU) seconds of ``steps`` plain training steps (model built outside the clock)."""
    x, y = data
    torch.manual_seed(0)
    model = LOOPS[kind]()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(1)
    idx = [torch.randint(0, len(x), (64,), generator=g) for _ in range(steps)]
    t0, c0 = time.perf_counter(), time.process_time()
    w = None
    if mode != "plain":
        opts = dict(part.split("=") for part in mode.split(", "))
        w = watch(
            model,
            opt,
            every=int(opts["every"]),
            store=False,
            saturation_every=int(opts.get("saturation_every", opts["every"])),
        )
    for i in idx:
        loss = loss_fn(model(x[i]), y[i])
        loss.backward()
        opt.step()
        opt.zero_grad()
        if w is not None:
            w.log(loss=loss)
    if w is not None:
        w.close()
    return time.perf_counter() - t0, time.process_time() - c0


def measure(steps: int, repeat: int, loops: list[str]) -> dict:
    data = digits()
    out: dict = {}
    for kind in loops:
        for mode in MODES:  # warm-up: allocator, kernels, lazy imports
            train(kind, mode, min(steps, 20), data)
        times: dict[str, list[float]] = {m: [] for m in MODES}
        cpu: dict[str, list[float]] = {m: [] for m in MODES}
        for r in range(repeat):
            n = r % len(MODES)
            order = MODES[n:] + MODES[:n]  # rotate: no mode always runs first
            for mode in order:
                wall, used = train(kind, mode, steps, data)
                times[mode].append(wall)
                cpu[mode].append(used)
        med = {m: statistics.median(v) for m, v in times.items()}
        out[kind] = {
            "wall_s": {m: [round(t, 4) for t in v] for m, v in times.items()},
            "median_s": {m: round(v, 4) for m, v in med.items()},
            "ratio_of_medians": {m: round(med[m] / med["plain"], 3) for m in TARGETS},
            "median_of_ratios": {
                m: round(statistics.median(a / b for a, b in zip(times[m], times["plain"])), 3)
                for m in TARGETS
            },
            # CPU seconds of this process (1 torch thread): less sensitive to other load
            "cpu_median_of_ratios": {
                m: round(statistics.median(a / b for a, b in zip(cpu[m], cpu["plain"])), 3)
                for m in TARGETS
            },
        }
        print(
            f"{kind:12s} "
            + "  ".join(f"{m} {med[m]:.3f}s" for m in MODES)
            + "  ratios "
            + "  ".join(f"{m} {out[kind]['median_of_ratios'][m]:.3f}×" for m in TARGETS),
            file=sys.stderr,
        )
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks --watch", description=__doc__)
    ap.add_argument("--steps", type=int, default=300, help="training steps per run")
    ap.add_argument("--repeat", type=int, default=5, help="interleaved runs per mode (median)")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    ap.add_argument("--loops", nargs="*", default=list(LOOPS), choices=list(LOOPS))
    ap.add_argument("--out", default=str(RESULTS), help="directory for watch.json")
    args = ap.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    load_before = os.getloadavg()
    loops = measure(max(1, args.steps), max(1, args.repeat), args.loops)
    report = {
        "machine": {
            "nproc": os.cpu_count(),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "load_before": list(load_before),
            "load_after": list(os.getloadavg()),
        },
        "steps": args.steps,
        "repeat": args.repeat,
        "targets": TARGETS,
        "loops": loops,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "watch.json").write_text(json.dumps(report, indent=2) + "\n")
    print(
        "loop | "
        + " | ".join(f"{m} s" for m in MODES)
        + " | "
        + " | ".join(f"{m} ×" for m in TARGETS)
        + " (median of ratios; CPU-time ratios)"
    )
    for kind, r in loops.items():
        m, q, c = r["median_s"], r["median_of_ratios"], r["cpu_median_of_ratios"]
        print(
            f"{kind} | "
            + " | ".join(str(m[x]) for x in MODES)
            + " | "
            + " | ".join(f"{q[x]} ({c[x]})" for x in TARGETS)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

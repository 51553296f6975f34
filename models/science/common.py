"""Helpers shared by the claims: cached engine runs, metric slicing, the claim dict."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

import numpy as np

from ..core import theory
from ..core.nets import build_model
from ..core.runner import configure_threads, run_comparison
from ..io.comparison_io import comparison_from_dict

# One intra-op thread: fixed so the numbers cannot shift with the thread count (float reduction
# order), and on a shared 2-core machine single-threaded runs were up to 10x faster under load.
THREADS = 1

Claim = dict[str, Any]

# Every measured run starts at this seed: the pass lines were calibrated on runs with seeds 0, 1, …
# (the engine's default), so the seeds a claim is tested on are held out from its calibration.
HELD_OUT = 100
# Cross-machine tolerance of a claim's key numbers (relative), used by the test that compares the
# committed claims.json with what this machine measures. At initialisation a float32 statistic
# differs between CPUs only by rounding (< 1e-4 seen); after hundreds of training steps rounding
# differences grow (chaotic points most), so trained numbers get a wide band: the verdict, not
# the digits, is what must agree there.
TOL_INIT, TOL_TRAINED = 0.02, 0.3


def seed_range(n: int, first: int = HELD_OUT) -> str:
    """'100–103' for n seeds from first."""
    return f"{first}" if n == 1 else f"{first}–{first + n - 1}"


def build(cfg, n_in: int, n_out: int):
    """models.core.nets.build_model on THREADS intra-op threads (as run_comparison sets them)."""
    configure_threads(THREADS)
    return build_model(cfg, n_in, n_out)


@lru_cache(maxsize=16)
def _run_cached(config_json: str):
    result = run_comparison(comparison_from_dict(json.loads(config_json)), threads=THREADS)
    return result.metrics_frame(), result.summary_frame()


def run_frames(config: dict[str, Any]):
    """(metrics frame, summary frame) of a comparison config dict; cached per process."""
    return _run_cached(json.dumps(config, sort_keys=True))


def per_layer(frame, metric: str, variant: str, step: int = 0) -> np.ndarray:
    """Values of a per-layer metric at one step: array (layers, seeds), layer index 1 first."""
    m = frame[(frame.metric == metric) & (frame.variant == variant) & (frame.step == step)]
    return m.pivot(index="index", columns="seed", values="value").sort_index().to_numpy()


def series(frame, metric: str, variant: str, seed: int | None = None) -> dict[int, float]:
    """{step: value} of a scalar metric (index 0) for one variant, averaged over seeds."""
    m = frame[(frame.metric == metric) & (frame.variant == variant)]
    if seed is not None:
        m = m[m.seed == seed]
    return {int(k): float(v) for k, v in m.groupby("step")["value"].mean().items()}


def geo_mean(x: np.ndarray) -> float:
    """Geometric mean: the average per-layer factor of a product over layers."""
    return float(np.exp(np.mean(np.log(np.asarray(x, dtype=float)))))


def is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def make_claim(
    cid: str,
    claim: str,
    source: str,
    expected: str,
    measured: str,
    passed: bool,
    *,
    setup: str,
    threshold: str,
    seeds: str = "",
    values: dict[str, float] | None = None,
    tolerance: float = TOL_INIT,
) -> Claim:
    """One row of the claims table.

    ``setup`` is one line on what ran, ending with how it differs from the paper's set-up where it
    does; ``threshold`` says where the pass/fail line came from: "theory: …" (the paper's formula
    or argument) or "calibration: …" (runs made before this measurement, and what they showed).
    ``seeds`` says which seeds were measured (held out from the calibration's); ``values`` are
    the key numbers the verdict rests on and ``tolerance`` how far (relative) another machine's
    may differ from them: tests/science compares them with the committed claims.json.
    """
    if not threshold.startswith(("theory", "calibration")):
        raise ValueError(f"{cid}: threshold must start with 'theory' or 'calibration'")
    return {
        "id": cid,
        "claim": claim,
        "source": source,
        "setup": setup,
        "expected": expected,
        "threshold": threshold,
        "measured": measured,
        "passed": bool(passed),
        "seeds": seeds,
        "values": {k: _plain_number(v) for k, v in (values or {}).items()},
        "tolerance": float(tolerance),
    }


def _plain_number(v: Any) -> float | None:
    """nan becomes None; ±inf stays (json writes Infinity, which json.loads reads back)."""
    v = float(v)
    if math.isnan(v):
        return None
    return v


DIFFERS = "set-up differs from the paper: "  # every set-up note that departs from the paper says so


def theory_delta_factors(
    activation: str, sigma_w2: float, sigma_b2: float, depth: int, q1: float
) -> np.ndarray:
    """Mean-field Var(δ_l)/Var(δ_{l+1}) = σ_w² E[φ'(√q^l z)²] for hidden layers l = 1..depth−1.

    q1 is the first hidden layer's pre-activation variance (its fan-in differs from the rest).
    """
    q = [q1]
    for _ in range(depth - 2):
        q.append(float(theory.length_map(activation, sigma_w2, sigma_b2, q[-1])))
    e = theory.gaussian_expectation(lambda x: theory.dphi(activation, x) ** 2, np.array(q))
    return sigma_w2 * np.asarray(e, dtype=float)

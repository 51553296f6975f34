"""Dynamical isometry in nonlinear nets (Saxe et al. 2014; Pennington, Schoenholz & Ganguli 2017):
the whole spectrum of the input–output Jacobian, from the engine's ``jacobian_sv`` metric."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from ..io.presets import preset_dict
from .common import DIFFERS, HELD_OUT, TOL_TRAINED, Claim, make_claim, run_frames, seed_range

ISO_SEEDS = 5  # the preset's set-up with more (held-out) seeds: every one must show it
TANH_ORTH, TANH_GAUSS = "tanh + orthogonal", "tanh + gaussian"
RELU_ORTH, RELU_HE = "relu + orthogonal", "relu + he"
# decades between the largest and smallest singular value at initialisation. Measured here
# (first probe example, 5 seeds): orthogonal tanh 2.3–2.7, Gaussian tanh 34–38, ReLU rank-
# deficient (exactly 0). "A few units" against "many orders": 4 and 10 sit far from both.
ISO_MAX, SPREAD_MIN = 4.0, 10.0


def _config() -> dict[str, Any]:
    cfg = preset_dict("dynamical-isometry")
    cfg.pop("title")
    cfg["seeds"] = ISO_SEEDS
    cfg["seed"] = HELD_OUT
    return cfg


def _conditions(frame, variant: str) -> tuple[list[float], list[float], list[float]]:
    """log10(s_max/s_min) at step 0 per seed (inf where the smallest is exactly 0), and the
    largest and smallest singular values themselves."""
    m = frame[(frame.metric == "jacobian_sv") & (frame.variant == variant) & (frame.step == 0)]
    cond, hi, lo = [], [], []
    for _, g in m.groupby("seed"):
        s = g["value"].to_numpy()
        cond.append(math.inf if s.min() <= 0 else float(np.log10(s.max() / s.min())))
        hi.append(float(s.max()))
        lo.append(float(s.min()))
    return cond, hi, lo


@lru_cache(maxsize=1)
def measure_isometry() -> dict[str, Any]:
    """Condition numbers at initialisation and steps to 90% validation accuracy, per seed."""
    frame, summary = run_frames(_config())
    out: dict[str, Any] = {}
    for v in (TANH_ORTH, TANH_GAUSS, RELU_ORTH, RELU_HE):
        s = summary[summary.variant == v].sort_values("seed")
        steps = [math.inf if x is None or x != x else float(x) for x in s["steps_to_target"]]
        cond, hi, lo = _conditions(frame, v)
        out[v] = {
            "cond": cond,
            "s_max": hi,
            "s_min": lo,
            "steps": steps,
            "final_acc": [float(x) for x in s["final_val_accuracy"]],
        }
    return out


def _fmt(values: list[float]) -> str:
    return ", ".join("∞" if math.isinf(x) else f"{x:.1f}" for x in values)


def _steps(values: list[float]) -> str:
    return ", ".join("never" if math.isinf(x) else f"{x:.0f}" for x in values)


def claim_isometry_spectrum(m: dict | None = None) -> Claim:
    """Orthogonal tanh keeps the Jacobian's spectrum within a few decades; Gaussian tanh and
    orthogonal ReLU spread it over many."""
    m = m or measure_isometry()
    o, g, r = m[TANH_ORTH]["cond"], m[TANH_GAUSS]["cond"], m[RELU_ORTH]["cond"]
    ok = max(o) <= ISO_MAX and min(g) >= SPREAD_MIN and min(r) >= SPREAD_MIN
    hi, lo = m[TANH_ORTH]["s_max"], m[TANH_ORTH]["s_min"]
    return make_claim(
        "pennington-nonlinear-isometry",
        "Depth 30, width 64, σ_b = 0, σ_w² = 1: with orthogonal weights the singular values of "
        "tanh's ∂h_L/∂x span a few decades, tens of decades fewer than with Gaussian weights at "
        "the same σ_w²; ReLU with orthogonal weights (σ_w² = 2) is rank-deficient. This is the "
        "direction of dynamical isometry, not isometry itself: here the singular values are not "
        "near 1 (Pennington et al. reach that at σ_w slightly above 1 with small q*, at larger "
        "widths)",
        "Pennington, Schoenholz & Ganguli 2017 (arXiv 1711.04735), §3 and Fig. 1; Saxe, "
        "McClelland & Ganguli 2014 (arXiv 1312.6120)",
        f"log10(s_max/s_min) at init on every seed: orthogonal tanh ≤ {ISO_MAX:g}; Gaussian "
        f"tanh and orthogonal ReLU ≥ {SPREAD_MIN:g} (∞: exactly rank-deficient)",
        f"orthogonal tanh {_fmt(o)} (largest {min(hi):.2f}–{max(hi):.2f}, smallest "
        f"{min(lo):.0e}–{max(lo):.0e}); Gaussian tanh {_fmt(g)}; orthogonal ReLU {_fmt(r)} "
        f"({ISO_SEEDS} seeds, jacobian_sv on the first probe example)",
        ok,
        setup=f"the dynamical-isometry preset with {ISO_SEEDS} seeds: MLPs of depth 30, width 64, "
        "jacobian_sv at step 0 on one digits example; " + DIFFERS + "depth 30 and width 64 "
        "instead of the paper's depth 200 and large widths, one input instead of a spectral "
        "density",
        threshold="calibration: 4 and 10 decades from a run on seeds 0–4 before (orthogonal "
        "tanh 2.3–2.7, Gaussian tanh 34–38, ReLU rank-deficient: margins 1.3 and 24 decades); "
        "tested on held-out seeds",
        seeds=seed_range(ISO_SEEDS),
        values={"orth_tanh_max": max(o), "gauss_tanh_min": min(g)},
        tolerance=0.1,
    )


def claim_isometry_training(m: dict | None = None) -> Claim:
    """Orthogonal tanh reaches 90% validation accuracy on digits before Gaussian tanh."""
    m = m or measure_isometry()
    o, g = m[TANH_ORTH]["steps"], m[TANH_GAUSS]["steps"]
    relu = m[RELU_ORTH]["final_acc"] + m[RELU_HE]["final_acc"]
    ok = max(o) < min(g) and math.isfinite(max(o))
    return make_claim(
        "pennington-isometry-speed",
        "Depth 30, width 64, σ_b = 0, σ_w² = 1, digits: tanh with orthogonal weights (the "
        "narrower Jacobian spectrum) trains faster than with Gaussian weights, though χ₁ = 1 "
        "for both",
        "Pennington, Schoenholz & Ganguli 2017 (arXiv 1711.04735), Fig. 4 (orthogonal tanh "
        "learns fastest; they used CIFAR-10 at depth 200); Saxe et al. 2014",
        "steps to 90% validation accuracy: orthogonal's slowest seed ahead of Gaussian's fastest",
        f"orthogonal {_steps(o)}; Gaussian {_steps(g)} (momentum 0.9, lr 0.01, 150 steps; "
        f"ReLU for contrast ends at {min(relu):.2f}–{max(relu):.2f} accuracy)",
        ok,
        setup=f"the dynamical-isometry preset with {ISO_SEEDS} seeds: depth 30, width 64, "
        "momentum SGD lr 0.01, 150 steps, digits; " + DIFFERS + "CIFAR-10 at depth 200 in "
        "the paper",
        threshold="theory: the ordering only (the narrower spectrum trains first, seed against "
        "seed); the 90% accuracy target is the engine's digits steps_to_target; seeds 0–4 "
        "(orthogonal 40–60 steps, Gaussian ≥ 100 or never) were seen before, held-out seeds "
        "tested",
        seeds=seed_range(ISO_SEEDS),
        values={"orth_slowest": max(o), "gauss_fastest": min(g)},
        tolerance=TOL_TRAINED,
    )

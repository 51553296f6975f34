"""Batch norm (Ioffe & Szegedy 2015), residual connections, dynamical isometry (Pennington 2017)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import torch

from models.core.config import make_config
from models.science.common import (
    Claim,
    build,
    make_claim,
    per_layer,
    run_frames,
)

# --------------------------------------------------------------------------------------------
# Ioffe & Szegedy 2015; residual connections; Pennington et al. 2017
# --------------------------------------------------------------------------------------------

# Evaluated with running statistics, the batch-norm net's validation accuracy wobbles between
# 0.77 and 0.94 from step 50 on (3 seeds seen); 0.7 is 7× chance and clear of that wobble.
BN_MIN_ACCURACY = 0.7
BN_CONFIG: dict[str, Any] = {
    # the deep-mlp preset's baseline: 20 sigmoid layers, PyTorch's default init
    "family": "mlp", "task": "digits", "depth": 20, "width": 48, "activation": "sigmoid",
    "optimizer": "momentum", "lr": 0.05, "batch_size": 64, "steps": 150, "seeds": 2,
    "log_every": 50,
    "variants": [{"name": "plain"}, {"name": "batch norm", "norm": "batch"}],
}  # fmt: skip


@lru_cache(maxsize=1)
def measure_batch_norm() -> dict[str, Any]:
    """Final validation accuracy of a deep sigmoid MLP with and without batch norm."""
    _, summary = run_frames(BN_CONFIG)
    acc = summary.groupby("variant")["final_val_accuracy"]
    return {"min": acc.min().to_dict(), "max": acc.max().to_dict()}


def claim_batch_norm() -> Claim:
    """Batch norm lets a deep sigmoid MLP learn where the plain one stays at chance."""
    m = measure_batch_norm()
    plain, bn = m["max"]["plain"], m["min"]["batch norm"]
    ok = plain < 0.2 and bn > BN_MIN_ACCURACY
    return make_claim(
        "batch-norm-sigmoid",
        f"{BN_CONFIG['depth']}-layer sigmoid MLP on digits, {BN_CONFIG['steps']} steps: batch norm "
        "learns, the plain net stays at chance (0.1)",
        "Ioffe & Szegedy 2015, §4.2.2 (BN-x5-Sigmoid)",
        f"plain < 0.2, batch norm > {BN_MIN_ACCURACY} validation accuracy",
        f"plain {plain:.2f}, batch norm {bn:.2f} (worst of {BN_CONFIG['seeds']} seeds)",
        ok,
    )


# Identity skips keep the back-propagated error nearly constant, but ‖∇W_l‖ = ‖δ_l‖‖h_(l−1)‖ also
# scales with the layer's input: the residual stream read by layer 20 has grown (each sigmoid
# block adds ≈ 0.5 per unit) to ~10× the digits input read by layer 1. Hence 1/30, not 1.
RESIDUAL_LO = 1 / 30
RESIDUAL_CONFIG: dict[str, Any] = {
    "family": "mlp", "task": "digits", "depth": 20, "width": 64, "activation": "sigmoid",
    "steps": 0, "seeds": 4,
    "variants": [{"name": "plain"}, {"name": "residual", "residual": True}],
}  # fmt: skip


@lru_cache(maxsize=1)
def measure_residual() -> dict[str, Any]:
    """‖∇W_1‖ / ‖∇W_depth‖ at initialisation, plain against residual (per seed)."""
    frame, _ = run_frames(RESIDUAL_CONFIG)
    depth = RESIDUAL_CONFIG["depth"]
    out = {}
    for v in ("plain", "residual"):
        g = per_layer(frame, "grad_norm", v)  # (depth + 1, seeds); readout last
        out[v] = g[0] / g[depth - 1]
    return out


def claim_residual() -> Claim:
    """Identity skips keep the first layer's gradient close to the last hidden layer's."""
    m = measure_residual()
    res, plain = m["residual"], m["plain"]
    ok = bool(np.all((res > RESIDUAL_LO) & (res < 1 / RESIDUAL_LO))) and float(plain.max()) < 1e-6
    d = RESIDUAL_CONFIG["depth"]
    return make_claim(
        "residual-gradient",
        f"{d}-layer sigmoid MLP at init: with identity skips ‖∇W_1‖/‖∇W_{d}‖ stays within a "
        "small factor; without, it collapses",
        "He et al. 2016 (ResNet), §3.1 (identity shortcuts)",
        f"residual within [1/{1 / RESIDUAL_LO:.0f}, {1 / RESIDUAL_LO:.0f}]; plain < 1e-6",
        f"residual {res.min():.2f}–{res.max():.2f}; plain ≤ {plain.max():.1e}",
        ok,
    )


PEN_DEPTH, PEN_WIDTH, PEN_SEEDS = 17, 256, 16  # 16 square hidden-to-hidden matrices
# The variance of the squared singular values of a product of L Gaussian matrices → L as the
# width → ∞ (second Fuss–Catalan moment L + 1). At width 256 one seed's estimate of this
# heavy-tailed spread scatters by ~20% (4-seed means ranged 14.0–19.3 over 5 seed sets, overall
# 16.6); the mean of 16 seeds is good to ~7%, so 25% is ~3.5σ.
PEN_RTOL = 0.25


@lru_cache(maxsize=1)
def measure_linear_isometry() -> dict[str, Any]:
    """Squared singular values of J = W_depth ⋯ W_2 of a deep linear net, Gaussian vs orthogonal."""
    out = {}
    for init in ("normal", "orthogonal"):
        cfg = make_config(
            {"family": "mlp", "task": "digits", "depth": PEN_DEPTH, "width": PEN_WIDTH,
             "activation": "linear", "init": init, "init_gain": 1.0, "seeds": PEN_SEEDS}
        )  # fmt: skip
        model = build(cfg, 64, 10)
        # linear hidden layers: the Jacobian from h_1 to z_depth is the product of the square
        # weight matrices 2..depth (layer 1 maps the 64 inputs and is not square).
        ws = [w.detach().double() for w in model.weight_layers()[1:PEN_DEPTH]]  # each (S, W, W)
        j = ws[0]
        for w in ws[1:]:
            j = w @ j
        sv2 = torch.linalg.svdvals(j).pow(2).numpy()  # (S, W)
        out[init] = {
            "mean": float(sv2.mean()),
            "var": float(sv2.var(axis=1).mean()),
            "max_dev": float(np.abs(sv2 - 1).max()),
            "layers": len(ws),
        }
    return out


def claim_linear_isometry() -> Claim:
    """Orthogonal weights: all singular values 1; Gaussian: squared ones spread with variance L."""
    m = measure_linear_isometry()
    n, o = m["normal"], m["orthogonal"]
    L = n["layers"]
    ok = abs(n["var"] / L - 1) <= PEN_RTOL and o["max_dev"] < 1e-4
    return make_claim(
        "pennington-linear-isometry",
        f"Deep linear net ({L} square layers): orthogonal weights keep every Jacobian singular "
        f"value at 1; Gaussian weights spread their squares with variance ≈ L",
        "Pennington, Schoenholz & Ganguli 2017, linear case (Var of JJᵀ spectrum = L); Saxe et al. 2013",
        f"orthogonal |σ² − 1| < 1e-4; Gaussian Var(σ²) = {L} ± {PEN_RTOL:.0%}",
        f"orthogonal max |σ² − 1| = {o['max_dev']:.1e}; Gaussian Var(σ²) = {n['var']:.1f} "
        f"(mean σ² {n['mean']:.2f})",
        ok,
    )

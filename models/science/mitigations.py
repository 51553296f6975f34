"""Batch norm (Ioffe & Szegedy 2015), residual connections, dynamical isometry (Pennington 2017)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..core.config import make_config
from ..core.tasks import make_task
from ..io.presets import preset_dict
from .common import (
    DIFFERS,
    HELD_OUT,
    TOL_TRAINED,
    Claim,
    build,
    make_claim,
    per_layer,
    run_frames,
    seed_range,
)

# --------------------------------------------------------------------------------------------
# Ioffe & Szegedy 2015; residual connections; Pennington et al. 2017
# --------------------------------------------------------------------------------------------

# Evaluated with running statistics, the batch-norm net's validation accuracy wobbles between
# 0.77 and 0.94 from step 50 on (3 seeds seen); 0.7 is 7× chance and clear of that wobble.
BN_MIN_ACCURACY = 0.7
BN_CONFIG: dict[str, Any] = {
    # the deep-mlp preset's baseline: 20 sigmoid layers, PyTorch's default init
    "family": "mlp",
    "task": "digits",
    "depth": 20,
    "width": 48,
    "activation": "sigmoid",
    "optimizer": "momentum",
    "lr": 0.05,
    "batch_size": 64,
    "steps": 150,
    "seeds": 2,
    "seed": HELD_OUT,
    "log_every": 50,
    "variants": [{"name": "plain"}, {"name": "batch norm", "norm": "batch"}],
}


@lru_cache(maxsize=1)
def measure_batch_norm() -> dict[str, Any]:
    """Final validation accuracy of a deep sigmoid MLP with and without batch norm."""
    _, summary = run_frames(BN_CONFIG)
    acc = summary.groupby("variant")["final_val_accuracy"]
    return {"min": acc.min().to_dict(), "max": acc.max().to_dict()}


def claim_batch_norm(m: dict | None = None) -> Claim:
    """Batch norm lets a deep sigmoid MLP learn where the plain one stays at chance."""
    m = m or measure_batch_norm()
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
        setup=f"width {BN_CONFIG['width']}, PyTorch's default init, momentum SGD lr 0.05, "
        f"{BN_CONFIG['steps']} steps, {BN_CONFIG['seeds']} seeds; " + DIFFERS + "a 20-layer MLP "
        "on digits instead of sigmoid Inception on ImageNet",
        threshold="calibration: 0.2 (2× chance) and 0.7 from a run on seeds 0–2 before (batch "
        "norm 0.77–0.94 from step 50: margin ≥ 0.07); tested on held-out seeds",
        seeds=seed_range(BN_CONFIG["seeds"]),
        values={"plain_max": plain, "bn_min": bn},
        tolerance=TOL_TRAINED,
    )


RESIDUAL_CONFIG: dict[str, Any] = {
    "family": "mlp",
    "task": "digits",
    "depth": 20,
    "width": 64,
    "activation": "sigmoid",
    "steps": 0,
    "seeds": 4,
    "seed": HELD_OUT,
    "variants": [{"name": "plain"}, {"name": "residual", "residual": True}],
}
RESIDUAL_BATCH = 64
# He et al. 2016b, eq. 5: ∂L/∂h_l = ∂L/∂h_L (1 + ∂/∂h_l Σ F): the "1" carries the error from the
# top to every block unchanged, so ‖∂L/∂h_1‖ cannot fall far below ‖∂L/∂h_L‖ (it would need the
# branch terms to cancel it, "unlikely" by the paper's argument). Pass line: half of it survives.
RESIDUAL_ERROR_LO = 0.5
# ‖∇W_l‖ is an outer product of δ_l and the layer's input h_(l−1): its ratio over two layers is
# the product of the error ratio and the input-norm ratio. Measured ratio over predicted within
# 2× (float32, a sum over the batch instead of one outer product: ±20% seen before).
RESIDUAL_WEIGHT_RTOL = 2.0


@lru_cache(maxsize=1)
def measure_residual() -> dict[str, Any]:
    """Back-propagated error ‖∂L/∂h_l‖ and ‖∇W_l‖ at initialisation, plain against residual."""
    frame, _ = run_frames(RESIDUAL_CONFIG)
    depth = RESIDUAL_CONFIG["depth"]
    shared = {k: v for k, v in RESIDUAL_CONFIG.items() if k != "variants"}
    out = {}
    for v in RESIDUAL_CONFIG["variants"]:
        g = per_layer(frame, "grad_norm", v["name"])  # (depth + 1, seeds); readout last
        err, inputs = _residual_errors({**shared, **{k: x for k, x in v.items() if k != "name"}})
        out[v["name"]] = {
            "weight_ratio": g[0] / g[depth - 1],  # ‖∇W_1‖ / ‖∇W_depth‖, engine metric
            "error_ratio": err[0] / err[-1],  # ‖∂L/∂h_1‖ / ‖∂L/∂h_depth‖
            # predicted ‖∇W_1‖/‖∇W_depth‖: errors at z_1, z_depth times the inputs' norms
            "predicted_weight_ratio": (err[0] / err[-1]) * (inputs[0] / inputs[-1]),
            "error_profile": err,
        }
    return out


def _residual_errors(values: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(‖∂L/∂h_l‖, ‖h_(l−1)‖) per hidden layer and seed, each (depth, S), by the engine's modules.

    The forward is the engine's DeepMLP.forward spelled out, so that every h_l stays in the graph;
    its logits are checked against the engine's own to the last bit.
    """
    cfg = make_config(values)
    task = make_task(cfg)
    model = build(cfg, task.input_dim, task.output_dim)
    x, y = task.x_train[:RESIDUAL_BATCH], task.y_train[:RESIDUAL_BATCH]
    S = cfg.seeds
    h = x.unsqueeze(0).expand(S, *x.shape)
    hs, inputs = [], []
    for i, (lin, norm) in enumerate(zip(model.hidden, model.norms)):
        inputs.append(h)
        a = model.act(norm(lin(h)))
        h = h + a if model.residual and i > 0 else a
        hs.append(h)
    out = model.readout(h)
    if not torch.equal(out, model(x)):
        raise AssertionError("the spelled-out forward differs from DeepMLP.forward")
    B, C = x.shape[0], out.shape[-1]
    loss = F.cross_entropy(out.reshape(S * B, C), y.repeat(S), reduction="sum")
    grads = torch.autograd.grad(loss, hs)  # each (S, B, W)
    err = np.stack([g.double().pow(2).sum(dim=(1, 2)).sqrt().numpy() for g in grads])
    norms = np.stack([i.detach().double().pow(2).sum(dim=(1, 2)).sqrt().numpy() for i in inputs])
    return err, norms


def claim_residual(m: dict | None = None) -> Claim:
    """Identity skips carry the back-propagated error to the first block undiminished."""
    m = m or measure_residual()
    res, plain = m["residual"], m["plain"]
    fit = res["weight_ratio"] / res["predicted_weight_ratio"]
    ok = (
        bool(np.all(res["error_ratio"] > RESIDUAL_ERROR_LO))
        and float(plain["error_ratio"].max()) < 1e-6
        and bool(np.all((fit < RESIDUAL_WEIGHT_RTOL) & (fit > 1 / RESIDUAL_WEIGHT_RTOL)))
    )
    d = RESIDUAL_CONFIG["depth"]
    return make_claim(
        "residual-gradient",
        f"{d}-layer sigmoid MLP at init: with identity skips the back-propagated error "
        f"‖∂L/∂h_1‖/‖∂L/∂h_{d}‖ stays ≥ {RESIDUAL_ERROR_LO} (the '1' of eq. 5); without, it "
        f"collapses; ‖∇W_l‖ follows error × input norm",
        "He et al. 2016b, Identity Mappings in Deep Residual Networks (arXiv 1603.05027), eqs. 4–5",
        f"residual error ratio ≥ {RESIDUAL_ERROR_LO}; plain < 1e-6; ‖∇W_1‖/‖∇W_{d}‖ = error ratio "
        f"× ‖h_0‖/‖h_{d - 1}‖ within {RESIDUAL_WEIGHT_RTOL:g}×",
        f"residual error ratio {res['error_ratio'].min():.2f}–{res['error_ratio'].max():.2f}, "
        f"‖∇W_1‖/‖∇W_{d}‖ {res['weight_ratio'].min():.3f}–{res['weight_ratio'].max():.3f} "
        f"(predicted {res['predicted_weight_ratio'].min():.3f}–"
        f"{res['predicted_weight_ratio'].max():.3f}); plain error ratio ≤ "
        f"{plain['error_ratio'].max():.1e}",
        ok,
        setup=f"width {RESIDUAL_CONFIG['width']}, PyTorch's default init, "
        f"{RESIDUAL_CONFIG['seeds']} seeds, {RESIDUAL_BATCH} digits examples, at "
        "initialisation; " + DIFFERS + "sigmoid MLP blocks without batch norm instead of "
        "pre-activation conv blocks",
        threshold="theory: the identity term of eq. 5 keeps the error ratio near 1 or above "
        "(pass line 1/2); the weight-gradient ratio is the outer product's, within 2×",
        seeds=seed_range(RESIDUAL_CONFIG["seeds"]),
        values={
            "residual_error_min": float(res["error_ratio"].min()),
            "fit_min": float(fit.min()),
            "fit_max": float(fit.max()),
        },
    )


# --------------------------------------------------------------------------------------------
# ReZero (Bachlechner et al. 2020); Fixup (Zhang et al. 2019)
# --------------------------------------------------------------------------------------------

REZERO_PRESET = "deep-residual"  # the claim trains the preset the dashboard offers
REZERO_BATCH = 64
# h_(l+1) = h_l + relu(W h_l + b) with He init: E[relu(z)²] = Var(z)/2 = E[h_l²], and h, relu ≥ 0
# make the cross term ≥ 0, so E[h²] at least doubles per block (theory, no calibration).
REZERO_GROWTH = 2.0
REZERO_LEARNS = 0.85  # final validation accuracy; 0.92–0.93 on 4 seeds in calibration before


def _block_second_moments(values: dict[str, Any]) -> np.ndarray:
    """E[h_l²] after each hidden block at initialisation, (depth, S), through the engine's own
    modules (the forward spelled out, checked bit for bit against DeepMLP.forward)."""
    cfg = make_config(values)
    task = make_task(cfg)
    model = build(cfg, task.input_dim, task.output_dim)
    x = task.x_train[:REZERO_BATCH]
    S = cfg.seeds
    with torch.no_grad():
        h = x.unsqueeze(0).expand(S, *x.shape)
        moments = []
        for i, (lin, norm) in enumerate(zip(model.hidden, model.norms)):
            a = model.act(norm(lin(h)))
            h = h + model._branch(a, i) if model.residual and i > 0 else a
            moments.append(h.double().pow(2).mean(dim=(1, 2)).numpy())
        if not torch.equal(model.readout(h), model(x)):
            raise AssertionError("the spelled-out forward differs from DeepMLP.forward")
    return np.stack(moments)


@lru_cache(maxsize=1)
def measure_rezero() -> dict[str, Any]:
    """Growth of E[h²] per block at init, and training, of the deep-residual preset's variants."""
    config = preset_dict(REZERO_PRESET)
    config.pop("title", None)
    config["seed"] = HELD_OUT
    shared = {k: v for k, v in config.items() if k != "variants"}
    by_name = {v["name"]: v for v in config["variants"]}
    plain, rezero = "residual, no norm (baseline)", "rezero"
    out: dict[str, Any] = {"depth": shared["depth"], "seeds": shared["seeds"]}
    for name in (plain, rezero):
        fields = {**shared, **{k: x for k, x in by_name[name].items() if k != "name"}}
        m = _block_second_moments(fields)  # (depth, S)
        # blocks 2..depth: the per-block factor E[h_(l+1)²]/E[h_l²], geometric mean per seed
        out[name] = {"growth": np.exp(np.log(m[1:] / m[:-1]).mean(axis=0)), "total": m[-1] / m[0]}
    _, summary = run_frames(config)
    for name in (plain, rezero):
        rows = summary[summary.variant == name]
        out[name]["diverged_step"] = rows.diverged_step.to_numpy(dtype=float)
        out[name]["accuracy"] = rows.final_val_accuracy.to_numpy(dtype=float)
    return out


def claim_rezero(m: dict | None = None) -> Claim:
    """Without normalisation a deep residual ReLU net blows up; ReZero trains it."""
    m = m or measure_rezero()
    plain, rz = m["residual, no norm (baseline)"], m["rezero"]
    ok = (
        bool(np.all(plain["growth"] >= REZERO_GROWTH))
        and bool(np.all(plain["diverged_step"] <= 2))
        and bool(np.all(np.abs(rz["growth"] - 1) < 1e-6))  # α = 0: every block is the identity
        and bool(np.all(np.isnan(rz["diverged_step"])))
        and bool(np.all(rz["accuracy"] > REZERO_LEARNS))
    )
    L = m["depth"]
    return make_claim(
        "rezero-deep-residual",
        f"{L}-block residual ReLU MLP, He init, no normalisation: E[h²] at least doubles per "
        "block and SGD diverges at once; with ReZero (each branch × a learnable α = 0 at the "
        "start) the same net trains",
        "Bachlechner et al. 2020, ReZero (arXiv 2003.04887), §3; Zhang et al. 2019, Fixup "
        "(arXiv 1901.09321), §2",
        f"plain: per-block factor of E[h²] ≥ {REZERO_GROWTH:g}, diverged by step 2; ReZero: "
        f"factor 1 at init, validation accuracy > {REZERO_LEARNS}",
        f"plain ×{plain['growth'].min():.2f}–{plain['growth'].max():.2f} per block "
        f"({plain['total'].min():.0e} over {L} blocks), diverged at step "
        f"{int(np.nanmax(plain['diverged_step']))}; ReZero ×{rz['growth'].max():.2f}, accuracy "
        f"{rz['accuracy'].min():.2f}–{rz['accuracy'].max():.2f} ({m['seeds']} seeds)",
        ok,
        setup=f"the deep-residual preset: {L} blocks of width 64, SGD lr 0.05, 150 steps, "
        f"{m['seeds']} seeds, digits; " + DIFFERS + "an MLP on digits instead of Transformers "
        "and ResNets on language and CIFAR-10",
        threshold="theory: the doubling of E[h²] (E[relu(z)²] = E[h²] under He init, cross term "
        "≥ 0); the 0.85 accuracy line from a calibration run on seeds 0–3 (0.92–0.93: margin "
        "0.07); tested on held-out seeds",
        seeds=seed_range(m["seeds"]),
        values={
            "plain_growth_min": float(plain["growth"].min()),
            "rezero_accuracy_min": float(rz["accuracy"].min()),
        },
        tolerance=TOL_TRAINED,
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
            {
                "family": "mlp",
                "task": "digits",
                "depth": PEN_DEPTH,
                "width": PEN_WIDTH,
                "activation": "linear",
                "init": init,
                "init_gain": 1.0,
                "seeds": PEN_SEEDS,
                "seed": HELD_OUT,
            }
        )
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


def claim_linear_isometry(m: dict | None = None) -> Claim:
    """Orthogonal weights: all singular values 1; Gaussian: squared ones spread with variance L."""
    m = m or measure_linear_isometry()
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
        setup=f"linear MLP, {L} square layers of width {PEN_WIDTH}, {PEN_SEEDS} seeds, exact SVD in "
        "float64; " + DIFFERS + "finite width (the theory's limit is width → ∞)",
        threshold="theory: Var(σ²) → L for Gaussian products; ±25% from the seed scatter "
        "(4-seed means 14.0–19.3 over 5 seed sets) seen before; tested on held-out seeds",
        seeds=seed_range(PEN_SEEDS),
        values={"gaussian_var": n["var"], "orthogonal_within": float(o["max_dev"] < 1e-4)},
        tolerance=0.1,
    )

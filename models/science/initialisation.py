"""Initialisation: Glorot & Bengio 2010 (tanh back-prop, sigmoid saturation), He et al. 2015."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ..core import theory
from ..core.config import make_config
from ..core.tasks import make_task
from .common import (
    DIFFERS,
    HELD_OUT,
    TOL_TRAINED,
    Claim,
    build,
    geo_mean,
    make_claim,
    run_frames,
    seed_range,
    series,
    theory_delta_factors,
)

# --------------------------------------------------------------------------------------------
# Glorot & Bengio 2010
# --------------------------------------------------------------------------------------------

GB_DEPTH, GB_WIDTH, GB_SEEDS, GB_BATCH = 8, 256, 4, 128
# Var(δ) is averaged over 4 seeds × 128 examples × 256 units per layer and the factor is a
# geometric mean over 7 layer pairs: sampling noise is ~1%, so 10% is generous but still rules
# out the other regime (1/3 against ~0.9).
GB_RTOL = 0.10


@lru_cache(maxsize=4)
def backprop_profile(
    init: str,
    activation: str = "tanh",
    depth: int = GB_DEPTH,
    width: int = GB_WIDTH,
    seeds: int = GB_SEEDS,
    batch: int = GB_BATCH,
) -> tuple[np.ndarray, np.ndarray]:
    """Var(∂L/∂z_l) of each hidden pre-activation and the mean square of ∂L/∂W_l of each hidden
    weight matrix, at initialisation (both over seeds, examples and units): two (depth,) arrays."""
    cfg = make_config(
        {
            "family": "mlp",
            "task": "digits",
            "depth": depth,
            "width": width,
            "activation": activation,
            "init": init,
            "seeds": seeds,
            "seed": HELD_OUT,
        }
    )
    task = make_task(cfg)
    model = build(cfg, task.input_dim, task.output_dim)
    pre: list[torch.Tensor] = []
    # The engine's record list holds detached copies; hooks keep the pre-activations in the graph.
    hooks = [lin.register_forward_hook(lambda _m, _i, out: pre.append(out)) for lin in model.hidden]
    x, y = task.x_train[:batch], task.y_train[:batch]
    try:
        out = model(x)  # (S, B, 10)
    finally:
        for h in hooks:
            h.remove()
    S, B, C = out.shape
    loss = F.cross_entropy(out.reshape(S * B, C), y.repeat(S), reduction="sum")
    weights = [lin.weight for lin in model.hidden]  # each (S, out, in)
    grads = torch.autograd.grad(loss, pre + weights)
    ms = [float(g.double().pow(2).mean()) for g in grads]
    return np.array(ms[:depth]), np.array(ms[depth:])


@lru_cache(maxsize=2)
def measure_glorot_backprop() -> dict[str, Any]:
    """Per-layer factor of back-propagated gradient variance, standard vs normalised init."""
    out: dict[str, Any] = {}
    x = make_task(make_config({})).x_train[:GB_BATCH]
    n_in = x.shape[1]  # 64 pixels: layer 1 has a different fan-in from the square layers
    q0 = float((x.double() ** 2).mean())
    # standard init U(±1/√n): σ_w² = n Var(W) = 1/3, biases U(±1/√n): σ_b² = 1/(3n); layer 1
    # likewise with n = 64. Normalised (Xavier): n Var(W) = 2n/(n+n) = 1 on square layers, zero
    # biases; layer 1 has n_in Var(W) = 2·64/(64 + width).
    params = {
        "default": (1 / 3, 1 / (3 * GB_WIDTH), q0 / 3 + 1 / (3 * n_in)),
        "xavier": (1.0, 0.0, 2 * n_in / (n_in + GB_WIDTH) * q0),
    }
    for init, (sw2, sb2, q1) in params.items():
        v, gw = backprop_profile(init)
        pred = theory_delta_factors("tanh", sw2, sb2, GB_DEPTH, q1)
        out[init] = {
            "factor": geo_mean(v[:-1] / v[1:]),
            "predicted": geo_mean(pred),
            "first_over_last": float(v[0] / v[-1]),
            "profile": v,
            "weight_grad": gw,  # mean square of ∂L/∂W_l, l = 1..depth
            "weight_spread": float(gw.max() / gw.min()),
        }
    return out


GB_SETUP = (
    f"{GB_DEPTH} tanh layers of width {GB_WIDTH}, {GB_SEEDS} seeds, {GB_BATCH} digits examples, "
    "at initialisation; " + DIFFERS + "digits instead of Shapeset-3×2, 8 layers of 256 "
    "instead of 5 of 1000"
)


def claim_glorot_backprop(m: dict | None = None) -> Claim:
    """Standard init shrinks back-propagated gradients ~3x per tanh layer; Xavier keeps them."""
    m = m or measure_glorot_backprop()
    d, x = m["default"], m["xavier"]
    ok = (
        abs(d["factor"] / d["predicted"] - 1) <= GB_RTOL
        and abs(x["factor"] / x["predicted"] - 1) <= GB_RTOL
        and x["factor"] > 0.8
    )
    return make_claim(
        "glorot-backprop",
        f"{GB_DEPTH}-layer tanh MLP: back-propagated gradient variance shrinks ~3× per layer with "
        "standard init U(±1/√n) and stays with normalised (Xavier) init",
        "Glorot & Bengio 2010, eq. 12–16 and Fig. 7",
        f"per layer ×{d['predicted']:.2f} (standard) vs ×{x['predicted']:.2f} (Xavier), ±{GB_RTOL:.0%}",
        f"×{d['factor']:.3f} standard, ×{x['factor']:.3f} Xavier "
        f"(layer 1 / layer {GB_DEPTH}: {d['first_over_last']:.1e} vs {x['first_over_last']:.2f})",
        ok,
        setup=GB_SETUP,
        threshold="theory: the per-layer factor σ_w² E[tanh'(√q^l z)²] on the q^l recursion "
        "(1/3 for standard init); ±10% against ~1% sampling noise",
        seeds=seed_range(GB_SEEDS),
        values={"standard": d["factor"], "xavier": x["factor"]},
    )


# Glorot & Bengio eq. 14: Var[∂C/∂W^i] has the factor ∏_(l<i) n_l Var W^l · ∏_(l≥i) n_(l+1) Var W^l,
# the same for every i when all widths are equal: the weight gradients stay level while δ shrinks,
# because the forward signal shrinks by the same factor. tanh bends this a little: 2.3× over 8
# layers with standard init (4 seeds seen before); 3× leaves room and is still ≪ the δ ratio.
GB_WEIGHT_SPREAD = 3.0
GB_DELTA_RATIO = 1e-3  # Var(δ_1)/Var(δ_8) ≈ (1/3)^7 ≈ 5e-4 by theory


def claim_glorot_weight_gradients(m: dict | None = None) -> Claim:
    """With standard init the weight gradients stay level while the back-propagated error shrinks."""
    d = (m or measure_glorot_backprop())["default"]
    ok = d["weight_spread"] < GB_WEIGHT_SPREAD and d["first_over_last"] < GB_DELTA_RATIO
    return make_claim(
        "glorot-weight-gradients",
        f"{GB_DEPTH}-layer tanh MLP, standard init: the mean-square weight gradient ∇W_l stays "
        "level across layers while the back-propagated error δ_l shrinks by orders of magnitude "
        "(‖∇W‖ charts can look healthier than the error signal)",
        "Glorot & Bengio 2010, eq. 14 and Fig. 8",
        f"max/min over layers of mean ∇W_l² < {GB_WEIGHT_SPREAD:g} while "
        f"Var(δ_1)/Var(δ_{GB_DEPTH}) < {GB_DELTA_RATIO:g}",
        f"max/min mean ∇W_l² = {d['weight_spread']:.2f}; Var(δ_1)/Var(δ_{GB_DEPTH}) = "
        f"{d['first_over_last']:.1e}",
        ok,
        setup=GB_SETUP,
        threshold="theory: eq. 14 makes Var[∂C/∂W^l] equal across layers in the linear regime and "
        "(1/3)^7 ≈ 5e-4 sets the δ line; the 3× allowance for tanh from a calibration run on "
        "seeds 0–3 (2.3× seen, margin 1.3×); tested on held-out seeds",
        seeds=seed_range(GB_SEEDS),
        values={"weight_spread": d["weight_spread"], "delta_ratio": d["first_over_last"]},
    )


@lru_cache(maxsize=1)
def measure_glorot_forward() -> dict[str, Any]:
    """E[z_l²] of each tanh layer with standard and Xavier init, measured and by the length map."""
    x = make_task(make_config({})).x_train[:GB_BATCH]
    n_in = x.shape[1]
    q0 = float((x.double() ** 2).mean())
    out = {}
    # (σ_w², σ_b²) of the hidden layers, and layer 1's own q¹ (fan-in 64): see measure_glorot_backprop
    params = {
        "default": (1 / 3, 1 / (3 * GB_WIDTH), q0 / 3 + 1 / (3 * n_in)),
        "xavier": (1.0, 0.0, 2 * n_in / (n_in + GB_WIDTH) * q0),
    }
    for init, (sw2, sb2, q1) in params.items():
        cfg = make_config(
            {
                "family": "mlp",
                "task": "digits",
                "depth": GB_DEPTH,
                "width": GB_WIDTH,
                "activation": "tanh",
                "init": init,
                "seeds": GB_SEEDS,
                "seed": HELD_OUT,
            }
        )
        model = build(cfg, n_in, 10)
        record: list[torch.Tensor] = []
        with torch.no_grad():
            model(x, record=record)
        meas = np.array([float(z.double().pow(2).mean()) for z in record])
        pred = [q1]
        for _ in range(GB_DEPTH - 1):
            pred.append(float(theory.length_map("tanh", sw2, sb2, pred[-1])))
        out[init] = {"measured": meas, "predicted": np.array(pred)}
    return out


GB_FORWARD_RTOL = 0.15  # per layer; 4 seeds × 128 examples × 256 units: ~2% noise, width 256 bias


def claim_glorot_forward(m: dict | None = None) -> Claim:
    """Forward: standard init shrinks tanh activations layer by layer; Xavier keeps them."""
    m = m or measure_glorot_forward()
    d, x = m["default"], m["xavier"]
    dev = max(float(np.max(np.abs(r["measured"] / r["predicted"] - 1))) for r in m.values())
    shrink = float(d["measured"][-1] / d["measured"][0])
    x_shrink = float(x["measured"][-1] / x["measured"][0])
    ok = dev <= GB_FORWARD_RTOL and shrink < 0.01 and x_shrink > 0.1
    pd_, px = (float(r["predicted"][-1] / r["predicted"][0]) for r in (d, x))
    return make_claim(
        "glorot-forward-variance",
        f"{GB_DEPTH}-layer tanh MLP, forward pass: with standard init U(±1/√n) the pre-activation "
        "variance shrinks geometrically (~3× per layer); with Xavier init only slowly (σ_w² = 1 "
        "is tanh's critical point, q decays like 1/l); both as the length map predicts",
        "Glorot & Bengio 2010, §4.2.1, eq. 10–11 and Fig. 6 (activation histograms)",
        f"every layer's E[z_l²] within ±{GB_FORWARD_RTOL:.0%} of the length map (layer "
        f"{GB_DEPTH} / layer 1: ×{pd_:.1e} standard, ×{px:.2f} Xavier); standard < 0.01, "
        "Xavier > 0.1",
        f"largest deviation {dev:.1%}; standard E[z²] {d['measured'][0]:.3f} → "
        f"{d['measured'][-1]:.1e} (×{shrink:.1e}); Xavier {x['measured'][0]:.3f} → "
        f"{x['measured'][-1]:.3f} (×{x_shrink:.2f})",
        ok,
        setup=GB_SETUP,
        threshold="theory: the length map with the schemes' σ_w², σ_b²; ±15% per layer against "
        "~2% sampling noise (finite width)",
        seeds=seed_range(GB_SEEDS),
        values={"largest_deviation": dev, "standard_shrink": shrink, "xavier_shrink": x_shrink},
    )


SAT_CONFIG: dict[str, Any] = {
    # Glorot & Bengio's set-up, scaled down: 4 sigmoid hidden layers, standard init, small
    # minibatches (they used 10) and plain momentum SGD; digits instead of Shapeset.
    "family": "mlp",
    "task": "digits",
    "depth": 4,
    "width": 256,
    "activation": "sigmoid",
    "init": "default",
    "optimizer": "momentum",
    "lr": 0.1,
    "batch_size": 10,
    "steps": 60,
    "seeds": 2,
    "seed": HELD_OUT,
    "log_every": 10,
    # the contrast: the same set-up with tanh learns in these steps (best validation accuracy
    # 0.59–0.68 in the calibration run on seeds 0–1)
    "variants": [{"name": "sigmoid"}, {"name": "tanh", "activation": "tanh"}],
}
SAT_CONTROL_LEARNS = 0.4  # best validation accuracy of the tanh contrast (4× chance)
SAT_STALLED = 0.3  # the sigmoid net's best validation accuracy in the 60 steps (3× chance)


def _saturation(frame, variant: str) -> dict[str, Any]:
    sat = frame[(frame.metric == "saturation") & (frame.variant == variant)]
    table = sat.groupby(["step", "index"])["value"].mean().unstack()  # step x layer
    top = SAT_CONFIG["depth"]
    saturated = table[table[top] >= 0.9]
    return {
        "table": table,
        "top_at_init": float(table.loc[0, top]),
        "top_final": float(table.iloc[-1][top]),
        "lower_max": float(table[[i for i in table.columns if i < top]].to_numpy().max()),
        "first_saturated_step": int(saturated.index[0]) if len(saturated) else None,
        "val_accuracy": series(frame, "val_accuracy", variant),
    }


@lru_cache(maxsize=1)
def measure_sigmoid_saturation() -> dict[str, Any]:
    """Saturation of every hidden layer over the first steps, and validation accuracy, of the
    sigmoid net (top-level keys) and of the tanh contrast (under "tanh")."""
    frame, _ = run_frames(SAT_CONFIG)
    tanh = _saturation(frame, "tanh")
    return {**_saturation(frame, "sigmoid"), "control_accuracy": tanh["val_accuracy"], "tanh": tanh}


def claim_sigmoid_saturation(m: dict | None = None) -> Claim:
    """The top sigmoid layer saturates within the first tens of steps and learning is slowed."""
    m = m or measure_sigmoid_saturation()
    best = max(m["val_accuracy"].values())
    control = max(m["control_accuracy"].values())
    ok = (
        m["top_at_init"] < 0.1
        and m["first_saturated_step"] is not None
        and m["top_final"] >= 0.9
        and m["lower_max"] < 0.1
        and best < SAT_STALLED
        and control > SAT_CONTROL_LEARNS
    )
    return make_claim(
        "glorot-sigmoid-saturation",
        "4-layer sigmoid MLP, standard init: the top hidden layer is driven into saturation (its "
        "outputs towards 0) within the first tens of updates while the lower layers are not, "
        "and learning is slowed: near chance for the steps measured (the paper's net leaves "
        "this plateau slowly, around epoch 100); the same net with tanh learns in those steps",
        "Glorot & Bengio 2010, §3.1 and Fig. 2 (sigmoid: top hidden layer saturates early, "
        "learning slowed); their Fig. 3 shows tanh layers saturating one after another, later",
        f"sigmoid: top layer saturation ≥ 0.9 within {SAT_CONFIG['steps']} steps, lower layers "
        f"< 0.1, best accuracy < {SAT_STALLED}; tanh: best accuracy > {SAT_CONTROL_LEARNS}",
        f"top layer {m['top_at_init']:.2f} at init → ≥ 0.9 from step {m['first_saturated_step']} "
        f"({m['top_final']:.2f} at step {SAT_CONFIG['steps']}); lower layers ≤ "
        f"{m['lower_max']:.2f}; best val accuracy {best:.2f}; tanh best {control:.2f}",
        ok,
        setup=f"width 256, momentum SGD lr 0.1, minibatches of 10, {SAT_CONFIG['steps']} steps, "
        "2 seeds; " + DIFFERS + "digits instead of Shapeset-3×2, 60 steps instead of a long run "
        "(the slow escape from saturation is not reached)",
        threshold="calibration: saturation 0.9 / 0.1 and accuracy 0.3 / 0.4 from a run on seeds "
        "0–1 (top layer 1.00 by step 30, lower ≤ 0.01, sigmoid accuracy ≈ 0.12, tanh best "
        "0.59–0.68); tested on held-out seeds",
        seeds=seed_range(SAT_CONFIG["seeds"]),
        values={"top_final": m["top_final"], "sigmoid_best": best, "tanh_best": control},
        tolerance=TOL_TRAINED,
    )


# --------------------------------------------------------------------------------------------
# He et al. 2015
# --------------------------------------------------------------------------------------------

HE_DEPTH, HE_WIDTH, HE_SEEDS, HE_BATCH = 30, 256, 4, 64
# E[z²] per layer is averaged over 256 units × 64 examples × 4 seeds; each layer's factor
# scatters by ~√(2/width) ≈ 9% per seed, so the geometric mean over 29 layers and 4 seeds is good
# to ~1%; 10% leaves room and still separates 1/2 from 1.
HE_RTOL = 0.10


@lru_cache(maxsize=4)
def activation_second_moments(init: str, activation: str = "relu") -> np.ndarray:
    """E[z_l²] of each hidden pre-activation of a 30-layer net on a digits batch (mean of seeds)."""
    cfg = make_config(
        {
            "family": "mlp",
            "task": "digits",
            "depth": HE_DEPTH,
            "width": HE_WIDTH,
            "activation": activation,
            "init": init,
            "seeds": HE_SEEDS,
            "seed": HELD_OUT,
        }
    )
    task = make_task(cfg)
    model = build(cfg, task.input_dim, task.output_dim)
    record: list[torch.Tensor] = []
    with torch.no_grad():
        model(task.x_train[:HE_BATCH], record=record)  # record: depth × (S, B, width)
    return np.array([float(z.double().pow(2).mean()) for z in record])


@lru_cache(maxsize=1)
def measure_he_variance() -> dict[str, Any]:
    """Per-layer factor of the pre-activation variance for Xavier and He init (ReLU)."""
    out = {}
    for init in ("xavier", "he"):
        v = activation_second_moments(init)
        out[init] = {
            "factor": geo_mean(v[1:] / v[:-1]),
            "total": float(v[-1] / v[0]),  # over the 29 square layers 2..30
            "profile": v,
        }
    return out


def claim_he_init(m: dict | None = None) -> Claim:
    """Xavier halves a ReLU net's activation variance per layer; He keeps it."""
    m = m or measure_he_variance()
    x, h = m["xavier"], m["he"]
    ok = abs(x["factor"] / 0.5 - 1) <= HE_RTOL and abs(h["factor"] - 1) <= HE_RTOL
    n = HE_DEPTH - 1
    return make_claim(
        "he-relu-variance",
        f"{HE_DEPTH}-layer ReLU MLP: Xavier init loses half the activation variance per layer, "
        "He init keeps it",
        "He et al. 2015, eq. 10 and §2.2",
        f"×0.5 per layer (Xavier; (1/2)^{n} = {0.5**n:.1e} overall) vs ×1 (He), ±{HE_RTOL:.0%}",
        f"×{x['factor']:.3f} Xavier ({x['total']:.1e} overall), ×{h['factor']:.3f} He "
        f"({h['total']:.2f} overall)",
        ok,
        setup=f"{HE_DEPTH} ReLU layers of width {HE_WIDTH}, {HE_SEEDS} seeds, {HE_BATCH} digits "
        "examples, at initialisation; " + DIFFERS + "an MLP instead of a conv net",
        threshold="theory: eq. 10 gives ×1/2 (Xavier) and ×1 (He); ±10% against ~1% noise",
        seeds=seed_range(HE_SEEDS),
        values={"xavier": x["factor"], "he": h["factor"]},
    )


@lru_cache(maxsize=1)
def measure_he_backward() -> dict[str, Any]:
    """Per-layer factor of the back-propagated Var(δ_l) of a 30-layer ReLU net, Xavier and He."""
    out = {}
    for init in ("xavier", "he"):
        v, _ = backprop_profile(init, "relu", HE_DEPTH, HE_WIDTH, HE_SEEDS, HE_BATCH)
        out[init] = {"factor": geo_mean(v[:-1] / v[1:]), "total": float(v[0] / v[-1])}
    return out


def claim_he_backward(m: dict | None = None) -> Claim:
    """Backward: Xavier halves a ReLU net's error variance per layer towards the input; He keeps it."""
    m = m or measure_he_backward()
    x, h = m["xavier"], m["he"]
    ok = abs(x["factor"] / 0.5 - 1) <= HE_RTOL and abs(h["factor"] - 1) <= HE_RTOL
    return make_claim(
        "he-relu-backward",
        f"{HE_DEPTH}-layer ReLU MLP, backward pass: the error variance Var(∂L/∂z_l) halves per "
        "layer towards the input with Xavier init and stays with He init",
        "He et al. 2015, eq. 13–14 (backward propagation case)",
        f"×0.5 per layer (Xavier) vs ×1 (He), ±{HE_RTOL:.0%}",
        f"×{x['factor']:.3f} Xavier (layer 1 / layer {HE_DEPTH}: {x['total']:.1e}), "
        f"×{h['factor']:.3f} He ({h['total']:.2f})",
        ok,
        setup=f"{HE_DEPTH} ReLU layers of width {HE_WIDTH}, {HE_SEEDS} seeds, {HE_BATCH} digits "
        "examples, at initialisation; " + DIFFERS + "an MLP with equal widths (fan-in = "
        "fan-out) instead of a conv net",
        threshold="theory: eq. 14 gives ½ n Var(W) per layer: ×1/2 (Xavier), ×1 (He); ±10% as "
        "for the forward claim",
        seeds=seed_range(HE_SEEDS),
        values={"xavier": x["factor"], "he": h["factor"]},
    )


HE_TRAIN_CONFIG: dict[str, Any] = {
    # the relu-init preset (30 layers, width 64, momentum SGD lr 0.003) trained for 300 steps.
    # History: at lr 0.01 (24 seed/data-order pairs from seed 0: He's best validation loss
    # 0.83–1.65) the line He < 0.8·ln 10 failed on held-out seeds 100–102 (He up to 1.92): at
    # that lr the 30-layer ReLU stack is unstable with momentum. The preset's lr 0.003 was set
    # on seeds 0–4 (He final validation accuracy 0.76–0.83 after 300 steps on 5 of 5 seeds).
    "family": "mlp",
    "task": "digits",
    "depth": 30,
    "width": 64,
    "activation": "relu",
    "optimizer": "momentum",
    "lr": 0.003,
    "batch_size": 64,
    "steps": 300,
    "seeds": 3,
    "seed": 200,
    "log_every": 50,
    "variants": [{"name": "xavier", "init": "xavier"}, {"name": "he", "init": "he"}],
}
# Xavier: its top layer sees ~1e-9 of the input signal; its best validation loss stayed at ln 10
# to 4 digits in 23 of 24 runs at lr 0.01 (2.22 once, hence 0.92·ln 10 ≈ 2.12). He: final
# validation accuracy > 0.5 (5× chance; 0.76–0.83 on seeds 0–4: margin 0.26).
HE_TRAIN_STALLS = 0.92 * math.log(10)
HE_TRAIN_LEARNS = 0.5


@lru_cache(maxsize=1)
def measure_he_training() -> dict[str, Any]:
    """Best validation loss and final accuracy per seed of the 30-layer ReLU net, Xavier and He."""
    _, summary = run_frames(HE_TRAIN_CONFIG)
    best = summary.groupby("variant")["best_val_loss"]
    acc = summary.groupby("variant")["final_val_accuracy"]
    return {
        "min": best.min().to_dict(),
        "max": best.max().to_dict(),
        "acc_min": acc.min().to_dict(),
        "acc_max": acc.max().to_dict(),
        "chance": math.log(10),
    }


def claim_he_training(m: dict | None = None) -> Claim:
    """A 30-layer ReLU net stalls at chance with Xavier init and learns with He init."""
    m = m or measure_he_training()
    xav, he = m["min"]["xavier"], m["acc_min"]["he"]
    ok = xav > HE_TRAIN_STALLS and he > HE_TRAIN_LEARNS
    n = HE_TRAIN_CONFIG["seeds"]
    return make_claim(
        "he-relu-training",
        f"{HE_TRAIN_CONFIG['depth']}-layer ReLU MLP on digits, {HE_TRAIN_CONFIG['steps']} steps: "
        "stalls at chance with Xavier init, learns with He init",
        "He et al. 2015, Fig. 3",
        f"Xavier: best validation loss ≈ ln 10 = {m['chance']:.3f} (> {HE_TRAIN_STALLS:.2f}) on "
        f"every seed; He: final validation accuracy > {HE_TRAIN_LEARNS} on every seed",
        f"Xavier best loss ≥ {xav:.3f} (accuracy ≤ {m['acc_max']['xavier']:.2f}); He accuracy "
        f"{he:.2f}–{m['acc_max']['he']:.2f} ({n} seeds)",
        ok,
        setup=f"the relu-init preset's set-up: width {HE_TRAIN_CONFIG['width']}, momentum SGD lr "
        f"{HE_TRAIN_CONFIG['lr']}, batch 64, {HE_TRAIN_CONFIG['steps']} steps, {n} seeds; "
        + DIFFERS
        + "a width-64 MLP on 8×8 digits with a fixed step budget, not the paper's 30-layer conv "
        "net on ImageNet",
        threshold="calibration: Xavier's line 0.92·ln 10 from 24 runs at lr 0.01 before (ln 10 "
        "in 23, 2.22 once); He's line 0.5 from the preset's lr 0.003 on seeds 0–4 (0.76–0.83: "
        "margin 0.26). The earlier line (He best loss < 0.8·ln 10 at lr 0.01) failed on seeds "
        "100–102 and was dropped; tested on seeds 200–202, held out from both",
        seeds=seed_range(n, HE_TRAIN_CONFIG["seed"]),
        values={"xavier_best_loss_min": xav, "he_accuracy_min": he},
        tolerance=TOL_TRAINED,
    )

"""Recurrent nets: Pascanu et al. 2013; Hochreiter & Schmidhuber 1997; Le et al. 2015."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import torch

from ..core import theory
from ..core.config import make_config
from ..core.tasks import make_task
from .common import (
    DIFFERS,
    HELD_OUT,
    TOL_TRAINED,
    Claim,
    build,
    is_missing,
    make_claim,
    per_layer,
    run_frames,
    seed_range,
    series,
)

# --------------------------------------------------------------------------------------------
# Pascanu, Mikolov & Bengio 2013
# --------------------------------------------------------------------------------------------

PASCANU_T, PASCANU_HIDDEN, PASCANU_SEEDS = 30, 32, 4
PASCANU_RADIUS = 0.45  # a Gaussian W scaled to spectral radius ρ has ‖W‖₂ ≈ 2ρ: s ≈ 0.8 < 1
# Gelfand: ‖A^t‖^(1/t) → ρ(A), so a product of t Jacobians W^T D ≈ g W^T decays per step like
# ρ·g (g = mean tanh' along the path), not like the norm bound s. Calibration before (4 seeds):
# measured rate / (ρ g) = 0.96–1.15; ±25% keeps it apart from s/ρ ≈ 1.7–1.9.
PASCANU_RATE_RTOL = 0.25
PASCANU_FIT_FROM = 10  # fit the rate over t = 10..T−1, after the transient of the first steps
# The engine's Jacobian product (autograd through RecurrentNet.forward, float32) against the
# paper's formula ∏ diag(tanh'(z_t)) W_hh built in float64 from the same W_hh and pre-activations:
# float32 rounding over 29 factors leaves ~1e-6 relative; W_hhᵀ in place of W_hh gives O(1).
PASCANU_FORMULA_RTOL = 1e-3


def measure_rnn_jacobian() -> dict[str, Any]:
    """‖∂h_t/∂h_1‖₂ of the engine's tanh RNN by autograd, against s^(t−1), ∏‖J_t‖ and ρ (per
    seed), and the autograd product against the formula ∏ diag(tanh'(z_t)) W_hh. Not cached:
    the sabotage test patches the engine's cell and measures again (the run takes ~0.3 s)."""
    cfg = make_config(
        {
            "family": "rnn",
            "task": "adding",
            "cell": "rnn",
            "activation": "tanh",
            "hidden": PASCANU_HIDDEN,
            "seq_len": PASCANU_T,
            "recurrent_init": "scaled",
            "spectral_radius": PASCANU_RADIUS,
            "seeds": PASCANU_SEEDS,
            "seed": HELD_OUT,
        }
    )
    task = make_task(cfg)
    model = build(cfg, task.input_dim, task.output_dim)
    x, _ = task.probe()
    x = x[:1]  # one sequence: the Jacobian is per example
    states: list[torch.Tensor] = []
    pre: list[torch.Tensor] = []
    model(x, states=states, record=pre)  # states: T × (S, 1, H) in the graph
    S, H = PASCANU_SEEDS, PASCANU_HIDDEN
    w = model.w_hh.detach().double()
    s_max = torch.linalg.matrix_norm(w, ord=2).numpy()  # (S,)
    rho = torch.linalg.eigvals(w).abs().max(dim=1).values.numpy()  # (S,)
    # grad_outputs: one basis vector per output unit, for all seeds at once: (H, S, 1, H)
    eye = torch.eye(H).unsqueeze(1).unsqueeze(2).expand(H, S, 1, H)
    product = torch.eye(H, dtype=torch.float64).expand(S, H, H)
    formula = product
    formula_err = 0.0
    norms = np.zeros((S, PASCANU_T - 1))
    step_norms = np.zeros((S, PASCANU_T - 1))
    for t in range(1, PASCANU_T):
        # the engine's one-step Jacobian ∂h_(t+1)/∂h_t by autograd, chained exactly
        (jac,) = torch.autograd.grad(
            states[t], states[t - 1], grad_outputs=eye, is_grads_batched=True, retain_graph=True
        )  # (H out, S, 1, H in)
        step = jac[:, :, 0, :].permute(1, 0, 2).double()  # (S, H, H)
        step_norms[:, t - 1] = torch.linalg.matrix_norm(step, ord=2).numpy()
        product = step @ product
        norms[:, t - 1] = torch.linalg.matrix_norm(product, ord=2).numpy()
        # h_(t+1) = tanh(z_t), z_t = W_ih x_t + W_hh h_t + b: ∂h_(t+1)/∂h_t = diag(tanh'(z_t)) W_hh
        slope = 1 - torch.tanh(pre[t][:, 0].double()) ** 2  # (S, H)
        formula = (slope.unsqueeze(2) * w) @ formula
        err = torch.linalg.matrix_norm(product - formula) / torch.linalg.matrix_norm(formula)
        formula_err = max(formula_err, float(err.max()))
    steps = np.arange(PASCANU_FIT_FROM, PASCANU_T)
    rate = np.exp(np.polyfit(steps, np.log(norms[:, PASCANU_FIT_FROM - 1 :]).T, 1)[0])  # (S,)
    z = torch.stack(pre[1:])[:, :, 0].double()  # (T−1, S, H): the slopes the error passes
    g = (1 - torch.tanh(z) ** 2).mean(dim=(0, 2)).numpy()  # (S,)
    return {
        "s_max": s_max,
        "rho": rho,
        "norms": norms,
        "bound": s_max[:, None] ** np.arange(1, PASCANU_T),
        "product_of_norms": np.cumprod(step_norms, axis=1),
        "rate": rate,
        "predicted_rate": rho * g,
        "formula_error": formula_err,
    }


_JACOBIAN_CACHE: dict[str, Any] = {}


def rnn_jacobian() -> dict[str, Any]:
    """measure_rnn_jacobian, once per process (the claim and the tests share it)."""
    if not _JACOBIAN_CACHE:
        _JACOBIAN_CACHE.update(measure_rnn_jacobian())
    return _JACOBIAN_CACHE


def claim_pascanu_jacobian(m: dict | None = None) -> Claim:
    """The engine's ∂h_T/∂h_1 is the product ∏ diag(tanh'(z_t)) W_hh, and it vanishes at the
    spectral radius's rate, far below the norm bound s^(T−1)."""
    m = m or rnn_jacobian()
    fit = m["rate"] / m["predicted_rate"]
    last, bound, prod = m["norms"][:, -1], m["bound"][:, -1], m["product_of_norms"][:, -1]
    ok = (
        m["formula_error"] < PASCANU_FORMULA_RTOL
        and bool(np.all(m["s_max"] < 1))
        and bool(np.all(np.abs(fit - 1) <= PASCANU_RATE_RTOL))
        and bool(np.all(last < 1e-3 * prod))  # the bounds are loose by orders of magnitude
    )
    T = PASCANU_T
    return make_claim(
        "pascanu-jacobian-rate",
        f"tanh RNN with ‖W_hh‖₂ = s < 1: the engine's ∂h_{T}/∂h_1 (autograd) is the product "
        f"∏ diag(tanh′(z_t)) W_hh of the paper's eq., and its norm vanishes per step at "
        f"ρ(W_hh)·(mean tanh′), orders of magnitude faster than the bound s^{T - 1} or the "
        "product of per-step norms",
        "Pascanu et al. 2013, §2.1, eqs. 3–5 (the product of Jacobians; s < 1/γ sufficient for "
        "vanishing) with Gelfand's formula",
        f"autograd = formula within {PASCANU_FORMULA_RTOL:g} (relative); per-step rate = "
        f"ρ·mean tanh′ ± {PASCANU_RATE_RTOL:.0%}; ‖∂h_{T}/∂h_1‖ < 1e-3 × ∏‖J_t‖",
        f"autograd vs formula {m['formula_error']:.1e}; ρ = {m['rho'].max():.2f}, s = {m['s_max'].min():.2f}–{m['s_max'].max():.2f}; rate / "
        f"(ρ·tanh′) = {fit.min():.2f}–{fit.max():.2f}; ‖∂h_{T}/∂h_1‖ = {last.min():.1e}–"
        f"{last.max():.1e} against ∏‖J_t‖ ≥ {prod.min():.1e} and s^{T - 1} ≥ {bound.min():.1e}",
        ok,
        setup=f"W_hh Gaussian scaled to spectral radius {PASCANU_RADIUS}, hidden {PASCANU_HIDDEN}, "
        f"one adding sequence of T = {T}, {PASCANU_SEEDS} seeds, exact Jacobians by autograd "
        "through the engine's RecurrentNet; " + DIFFERS + "the paper proves the bound; the "
        "rate is Gelfand's formula, not the paper's",
        threshold="theory: the product formula (float32 against float64: ~1e-6, so 1e-3) and "
        "the rate from Gelfand's formula (‖A^t‖^(1/t) → ρ); ±25% from a calibration run on "
        "seeds 0–3 (0.96–1.15, margin ≥ 10 points); 1e-3 from s ≈ 2ρ (2^29 ≈ 5e8 looser); "
        "tested on held-out seeds",
        seeds=seed_range(PASCANU_SEEDS),
        values={
            "rate_fit_min": float(fit.min()),
            "rate_fit_max": float(fit.max()),
            "formula_error_ok": float(m["formula_error"] < PASCANU_FORMULA_RTOL),
        },
    )


TOY_W, TOY_X0, TOY_T = 5.0, 0.5, 50
TOY_LO, TOY_HI, TOY_N = -4.0, -1.0, 30001
# |dL/db| at a saddle-node bifurcation over its median: the issue's reading "a few times"; 20 is
# an order of magnitude below the basin boundary's peak line (1000).
TOY_SADDLE_MAX = 20.0
# Gradient descent on b, Pascanu et al.'s Fig. 6 picture: starts on the high side of the wall,
# where descent walks towards it (the loss's minimum lies just beside the wall). Calibration
# (starts −2.0, −2.3, −2.5, −2.55 at lr 0.05, 0.1, 0.2): unclipped, a step that lands on the wall
# throws b 2–230 away (every start at lr 0.05); clipped at c = 1 every run stayed in
# [−2.81, −2.0] and ended within 0.06 of the wall (lr ≤ 0.1), hopping across it at times.
# Tested on 12 other starts at lr 0.05.
TOY_STARTS = tuple(float(b) for b in np.linspace(-2.02, -2.56, 12))
TOY_LR, TOY_STEPS, TOY_CLIP = 0.05, 200, 1.0
TOY_THROWN = 1.0  # a step of |Δb| ≥ 1 (20× the clipped maximum lr·c): thrown off the wall
TOY_NEAR = 0.2  # a clipped run ends within 0.2 of the wall (≤ 0.06 seen in calibration)


def _toy_grad(b: np.ndarray) -> np.ndarray:
    """|dL/db| at each b by the engine's toy code (theory.toy_loss_and_grad_b, forward mode)."""
    return np.abs(theory.toy_loss_and_grad_b(TOY_W, b, TOY_X0, TOY_T)[1])


def _toy_grad_autograd(b: np.ndarray) -> np.ndarray:
    """|dL/db| by torch autograd (float64): an independent check of the engine's toy code."""
    bt = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    x = torch.full_like(bt, TOY_X0)
    for _ in range(TOY_T):
        x = TOY_W * torch.sigmoid(x) + bt
    loss = (torch.sigmoid(x) - 0.7) ** 2
    (grad,) = torch.autograd.grad(loss.sum(), bt)  # b values are independent: one backward
    return grad.abs().numpy()


def toy_descent(clip: float | None) -> dict[str, np.ndarray]:
    """Gradient descent on b from every start at once with the engine's toy gradient; with
    ``clip`` a step's gradient is clipped as in Pascanu et al.'s Algorithm 1 (|g| > c → c·g/|g|).
    Returns the largest |Δb|, the final b's distance from the wall and the final loss per start."""
    b = np.array(TOY_STARTS)
    biggest = np.zeros_like(b)
    for _ in range(TOY_STEPS):
        _, g = theory.toy_loss_and_grad_b(TOY_W, b, TOY_X0, TOY_T)
        if clip is not None:
            g = np.where(np.abs(g) > clip, clip * np.sign(g), g)
        step = TOY_LR * np.nan_to_num(g, nan=np.inf)
        biggest = np.maximum(biggest, np.abs(step))
        b = b - step
    loss, _ = theory.toy_loss_and_grad_b(TOY_W, b, TOY_X0, TOY_T)
    wall = theory.toy_basin_boundary_b(TOY_W, TOY_X0)
    return {
        "max_step": biggest,
        "distance": np.nan_to_num(np.abs(b - wall), nan=np.inf),
        "final_loss": np.nan_to_num(loss, nan=np.inf),
    }


@lru_cache(maxsize=2)
def measure_toy_wall(n: int = TOY_N, clip: float | None = TOY_CLIP) -> dict[str, Any]:
    """|dL/db| of the scalar toy (the engine's toy code): where it peaks, the peak refined until
    it stops growing, its median, its value at the two saddle-node bifurcations; and gradient
    descent on b with and without clipping (``clip`` None: the sabotage, clipping off)."""
    b = np.linspace(TOY_LO, TOY_HI, n)
    g = _toy_grad(b)
    i = int(np.argmax(g))
    b_peak, peak, half = float(b[i]), float(g[i]), (TOY_HI - TOY_LO) / (n - 1)
    history = [peak]
    # a grid's maximum grows with its resolution near a spike: zoom in around the maximum until
    # the value converges (the true peak is finite: x_0 sits on the unstable fixed point and
    # dx_T/db is a geometric sum of its slope 1.175)
    for _ in range(12):
        zoom = np.linspace(b_peak - half, b_peak + half, 201)
        gz = _toy_grad(zoom)
        j = int(np.argmax(gz))
        b_peak, half = float(zoom[j]), half / 50
        history.append(float(gz[j]))
        if abs(history[-1] / history[-2] - 1) < 1e-6:
            break
    peak = history[-1]
    g_auto = _toy_grad_autograd(b)
    saddles = theory.toy_saddle_nodes(TOY_W)
    median = float(np.median(g))
    return {
        "b_peak": b_peak,
        "b_boundary": theory.toy_basin_boundary_b(TOY_W, TOY_X0),
        "saddles": saddles,
        "peak": peak,
        "peak_history": history,
        "median": median,
        "at_saddles": [float(_toy_grad(np.array([s]))[0]) / median for s in saddles],
        "max_rel_diff_theory": float(np.max(np.abs(g - g_auto) / np.maximum(g_auto, 1e-300))),
        "clipped": toy_descent(clip),
        "unclipped": toy_descent(None),
    }


def claim_toy_wall(m: dict | None = None) -> Claim:
    """The scalar toy's gradient in b spikes where x_0 crosses the basin boundary, not at the
    saddle-node bifurcations; clipped descent stays beside the wall, unclipped is thrown off."""
    m = m or measure_toy_wall()
    lo, hi = m["saddles"]
    c, u = m["clipped"], m["unclipped"]
    thrown = int(np.sum(u["max_step"] >= TOY_THROWN))
    n = len(TOY_STARTS)
    ok = (
        abs(m["b_peak"] - m["b_boundary"]) < 1e-3
        and m["peak"] / m["median"] > 1e3
        and max(m["at_saddles"]) < TOY_SADDLE_MAX
        and lo < m["b_boundary"] < hi
        and m["max_rel_diff_theory"] < 1e-6
        and bool(np.all(c["max_step"] <= TOY_LR * TOY_CLIP * (1 + 1e-12)))
        and bool(np.all(c["distance"] <= TOY_NEAR))
        and 2 * thrown >= n
    )
    return make_claim(
        "pascanu-toy-wall",
        f"x_t = {TOY_W:g}σ(x_(t−1)) + b, x_0 = {TOY_X0}, {TOY_T} steps: |dL/db| peaks where x_0 "
        "is the unstable fixed point (the boundary between the two basins of attraction), orders "
        "of magnitude above its median; at the saddle-node bifurcations it is only a few times "
        "it. Gradient descent on b that reaches this wall is thrown far off unless the gradient "
        "is clipped; clipped, it stays beside the wall where the loss is lowest",
        "Pascanu et al. 2013, §2.2 and Fig. 3 (basins of attraction, bifurcation diagram of the "
        "w = 5 unit); §2.3 and Fig. 6 (the error surface's wall, and clipping's rescaled step)",
        f"peak at b = {m['b_boundary']:.3f} (x_0 − wσ(x_0)) ≥ 1000× the median; at the "
        f"bifurcations b = {lo:.3f}, {hi:.3f} < {TOY_SADDLE_MAX:g}× the median; descent: clipped "
        f"every step ≤ lr·c and every start ends within {TOY_NEAR} of the wall, unclipped a "
        f"step ≥ {TOY_THROWN:g} from at least half of the starts",
        f"peak at b = {m['b_peak']:.4f}, |dL/db| = {m['peak']:.2e} = "
        f"{m['peak'] / m['median']:.1e}× the median (grid refined until it stopped growing); "
        f"at the bifurcations {m['at_saddles'][0]:.1f}× and {m['at_saddles'][1]:.1f}×; clipped "
        f"ends ≤ {c['distance'].max():.3f} from the wall, largest step "
        f"{c['max_step'].max():.3f}; unclipped thrown from {thrown} of {n} starts (largest "
        f"step {u['max_step'].max():.3g}, ending up to {u['distance'].max():.3g} from the wall)",
        ok,
        setup=f"the engine's toy code (theory.toy_loss_and_grad_b, float64; torch autograd agrees "
        f"to {m['max_rel_diff_theory']:.0e}) on {TOY_N} values of b in [{TOY_LO:g}, {TOY_HI:g}], "
        f"the peak refined by zooming; gradient descent on b, lr {TOY_LR}, {TOY_STEPS} steps "
        f"from {n} starts in [−2.56, −2.02], clip c = {TOY_CLIP:g}; the paper's own toy (its "
        "Fig. 6 set-up)",
        threshold="theory: the peak's place (x_0 = x*) and the bifurcations (wσ′(x*) = 1); the "
        "1000× and 20× lines from a calibration run before (unrefined 1e-4 grid: peak 2e4× the "
        "median; a few × at the bifurcations); the descent lines from calibration starts −2.0, "
        "−2.3, −2.5, −2.55 (unclipped: thrown 2–230 from all 4; clipped: ends ≤ 0.06 from the "
        "wall), tested on 12 other starts",
        seeds="none (deterministic)",
        values={
            "peak_over_median": m["peak"] / m["median"],
            "b_peak": m["b_peak"],
            "clipped_max_step": float(c["max_step"].max()),  # lr·c: not the last step's parity
            "thrown_share": thrown / n,
        },
        # which starts land on the wall can change with the last bits of exp() (CPUs differ):
        # the thrown share may move by a start or two of 12
        tolerance=0.4,
    )


# Calibration history: lr 0.08 was chosen on seeds 0–5 so that every unclipped seed blew up (at
# 0.05 two of six trained anyway); there every clipped seed reached 0.05 (best 0.011–0.030). On
# seeds 100–105, held out then, the unclipped runs all blew up again but one clipped seed only
# got to 0.137 (the others 0.016–0.041): "every clipped seed solves it" held only on its tuning
# seeds, so the claim was restated (no clipped seed blows up; at least half solve it) and is
# tested on seeds 200–205, held out from both.
CLIP_SEED = 200
CLIP_CONFIG: dict[str, Any] = {
    # An exploding tanh RNN (W_hh spectral radius 1.8) on the adding problem with momentum SGD
    "family": "rnn",
    "task": "adding",
    "seq_len": 10,
    "hidden": 32,
    "cell": "rnn",
    "activation": "tanh",
    "recurrent_init": "scaled",
    "spectral_radius": 1.8,
    "optimizer": "momentum",
    "lr": 0.08,
    "batch_size": 32,
    "steps": 800,
    "seeds": 6,
    "seed": CLIP_SEED,
    "log_every": 50,
    "variants": [{"name": "no clipping"}, {"name": "clip norm 1", "clip_norm": 1.0}],
}
CLIP_TRAINS = 0.05  # the engine's adding target: 30% of the mean predictor's 1/6
# Unclipped "fails": its loss blows up (diverged, or ≥ 1e3) and it never reaches the target.
CLIP_BLOWN = 1e3


@lru_cache(maxsize=1)
def measure_clipping() -> dict[str, Any]:
    """Per seed of an exploding RNN, with and without norm clipping: best and final validation
    MSE, whether it blew up (and when), and the gradient norm at step 0."""
    frame, summary = run_frames(CLIP_CONFIG)
    out: dict[str, Any] = {}
    for v in ("no clipping", "clip norm 1"):
        rows = summary[summary.variant == v]
        final = rows.final_val_loss.to_numpy(dtype=float)
        out[v] = {
            "best": rows.best_val_loss.to_numpy(dtype=float),
            "blown": (
                ~np.isfinite(final) | (final >= CLIP_BLOWN) | rows.diverged_step.notna()
            ).to_numpy(dtype=bool),
        }
    g = frame[(frame.metric == "grad_norm_total") & (frame.step == 0)]
    out["start_grad_norm"] = g.groupby("seed").value.first().to_numpy(dtype=float)  # (seeds,)
    rows = summary[summary.variant == "no clipping"]
    out["diverged_steps"] = rows.diverged_step.to_numpy(dtype=float)
    return out


def claim_clipping(m: dict | None = None) -> Claim:
    """Norm clipping keeps an RNN with exploding gradients from blowing up, and most seeds then
    learn, where every unclipped seed blows up."""
    m = m or measure_clipping()
    none, clip = m["no clipping"], m["clip norm 1"]
    n = CLIP_CONFIG["seeds"]
    solved = int(np.sum(clip["best"] < CLIP_TRAINS))
    ok = (
        not bool(np.any(clip["blown"]))
        and 2 * solved >= n
        and bool(np.all(none["blown"]))
        and bool(np.all(none["best"] > CLIP_TRAINS))
    )
    div = m["diverged_steps"]
    div_txt = f"{int(np.nanmin(div))}–{int(np.nanmax(div))}" if np.isfinite(div).any() else "—"
    return make_claim(
        "pascanu-clipping-trains",
        "An RNN whose gradients explode (tanh, W_hh spectral radius 1.8): unclipped, its loss "
        "blows up on every seed; with the gradient norm clipped to 1 no seed blows up and most "
        "learn the adding problem (clipping bounds the step, it does not guarantee a solution)",
        "Pascanu et al. 2013, §3.2 and Algorithm 1 (clipping against exploding gradients)",
        f"unclipped: blows up (diverged or ≥ {CLIP_BLOWN:g}) on every seed, never < "
        f"{CLIP_TRAINS}; clipped: no seed blows up, at least half reach best validation MSE < "
        f"{CLIP_TRAINS}",
        f"unclipped blew up on {int(none['blown'].sum())} of {n} seeds (diverged at steps "
        f"{div_txt}), best ≥ {none['best'].min():.3f}; clipped: none blew up, {solved} of {n} "
        f"below {CLIP_TRAINS} (best {clip['best'].min():.3f}–{clip['best'].max():.3f}); ‖g‖ at "
        f"step 0: {m['start_grad_norm'].min():.1f}–{m['start_grad_norm'].max():.1f}",
        ok,
        setup=f"adding T = {CLIP_CONFIG['seq_len']}, hidden 32, momentum SGD lr "
        f"{CLIP_CONFIG['lr']}, {CLIP_CONFIG['steps']} steps, {n} seeds; " + DIFFERS + "short "
        "sequences (T = 10) of the adding problem instead of the paper's T = 50–200 tasks",
        threshold="calibration: lr 0.08 chosen on seeds 0–5 (every unclipped seed blew up; "
        "clipped best 0.011–0.030); on seeds 100–105 the unclipped blew up 6 of 6 and clipped "
        "solved 5 of 6 (0.016–0.137), so 'every clipped seed solves it' was restated as 'at "
        "least half' (margin 2 seeds); 0.05 is the engine's adding target; tested on seeds "
        "200–205, held out from both",
        seeds=seed_range(n, CLIP_SEED),
        values={"unclipped_blown": float(none["blown"].sum()), "clipped_solved": float(solved)},
        tolerance=0.34,  # seed counts: one seed of six may flip on another machine's rounding
    )


# --------------------------------------------------------------------------------------------
# Hochreiter & Schmidhuber 1997; Le et al. 2015
# --------------------------------------------------------------------------------------------

ADDING_CONFIG: dict[str, Any] = {
    # T = 100 (H&S 1997: T ≥ 100), 3 seeds, 1200 steps: ~85 s on a loaded 2-core machine. In
    # the calibration run before (3 seeds, 1500 steps) the LSTM left the mean-predictor plateau
    # between steps 700 and 1000 and was below 0.005 by step 1000 on every seed; the tanh RNN
    # never left it (at T = 60 the plateau ended between steps 400 and 600).
    # Input and readout weights N(0, 1/(3·fan_in)): the variance of PyTorch's Linear default,
    # pinned so the claim does not hang on how init=default treats an RNN's input layer (with
    # U(±1/√H) input weights, as torch.nn.LSTM has, the LSTM left the plateau later).
    "family": "rnn",
    "task": "adding",
    "seq_len": 100,
    "hidden": 32,
    "activation": "tanh",
    "init": "normal",
    "init_gain": 0.5774,
    "bias_std": 0.0,
    "optimizer": "adam",
    "lr": 0.01,
    "batch_size": 32,
    "steps": 1200,
    "seeds": 3,
    "seed": HELD_OUT,
    "log_every": 100,
    "variants": [{"name": "tanh rnn", "cell": "rnn"}, {"name": "lstm", "cell": "lstm"}],
}
MEAN_PREDICTOR_MSE = 1 / 6  # in expectation; the 256 validation sequences give their own
# The tanh RNN can use a marker in the last few steps only: its best validation MSE stayed at
# 97–100% of the mean predictor's on these sequences (3 seeds at T = 100 seen before), so
# "stays" means > 85%.
ADDING_STAYS = 0.85
ADDING_SOLVED = 0.05  # the engine's steps_to_target threshold (validation MSE)


@lru_cache(maxsize=1)
def measure_adding() -> dict[str, Any]:
    """Validation MSE per seed of a tanh RNN and an LSTM on the adding problem."""
    frame, summary = run_frames(ADDING_CONFIG)
    shared = {k: v for k, v in ADDING_CONFIG.items() if k != "variants"}
    y_val = make_task(make_config(shared)).y_val
    out: dict[str, Any] = {"baseline": float(((y_val.double() - 1.0) ** 2).mean())}
    for v in ("tanh rnn", "lstm"):
        rows = summary[summary.variant == v]
        reached = [None if is_missing(s) else int(s) for s in rows.steps_to_target]
        out[v] = {
            "final_val_loss": rows.final_val_loss.to_numpy(dtype=float),
            "best_val_loss": rows.best_val_loss.to_numpy(dtype=float),
            "steps_to_target": reached,
            "val_loss": series(frame, "val_loss", v),
        }
    return out


def claim_adding(m: dict | None = None) -> Claim:
    """On the adding problem a tanh RNN stays at the mean predictor's MSE; an LSTM solves it."""
    m = m or measure_adding()
    r, lstm, base = m["tanh rnn"], m["lstm"], m["baseline"]
    ok = bool(np.all(r["best_val_loss"] > ADDING_STAYS * base)) and bool(
        np.all(lstm["final_val_loss"] < ADDING_SOLVED)
    )
    T, n = ADDING_CONFIG["seq_len"], ADDING_CONFIG["seeds"]
    reached = [s for s in lstm["steps_to_target"] if s is not None]
    return make_claim(
        "adding-lstm-vs-rnn",
        f"Adding problem, T = {T}: a vanilla tanh RNN stays at the mean predictor's MSE (1/6 in "
        "expectation) while an LSTM solves it, on every seed",
        "Hochreiter & Schmidhuber 1997, §5.4 (Experiment 4); Le et al. 2015, §4.1 (tanh RNN "
        "baseline)",
        f"tanh RNN ≥ {ADDING_STAYS:.0%} of the mean predictor ({base:.3f} on these validation "
        f"sequences); LSTM < {ADDING_SOLVED}",
        f"tanh RNN best ≥ {r['best_val_loss'].min():.3f}; LSTM ≤ {lstm['final_val_loss'].max():.4f} "
        f"after {ADDING_CONFIG['steps']} steps (below {ADDING_SOLVED} from step "
        f"{max(reached) if reached else '—'} at the latest; {n} seeds)",
        ok,
        setup=f"hidden 32, Adam lr 0.01, batch 32, {ADDING_CONFIG['steps']} steps, {n} seeds, "
        "one marker in each half, the LSTM's forget_bias at the engine's default 1; "
        + DIFFERS
        + "H&S 1997 put the first marker in the first "
        "ten steps and ran no vanilla RNN; Le et al. used T = 150–400; Adam instead of their "
        "optimisers, 1200 steps",
        threshold="calibration: 85% of the mean predictor from runs on seeds 0–2 before (tanh "
        "RNN 97–100% at T = 100, margin ≥ 12 points; LSTM below 0.005 by step 1000); 0.05 is "
        "the engine's adding target; tested on held-out seeds",
        seeds=seed_range(n),
        values={
            "rnn_best_min": float(r["best_val_loss"].min()),
            # a count, not the LSTM's final loss: ~0.002 after 1200 steps moves by more than
            # any relative tolerance between CPUs while staying far below the 0.05 line
            "lstm_solved": float(np.sum(lstm["final_val_loss"] < ADDING_SOLVED)),
        },
        tolerance=TOL_TRAINED,
    )


HIDDEN_GRAD_T, HIDDEN_GRAD_H, HIDDEN_GRAD_SEEDS = 50, 64, 8
HIDDEN_GRAD_CONFIG: dict[str, Any] = {
    "family": "rnn",
    "task": "adding",
    "seq_len": HIDDEN_GRAD_T,
    "hidden": HIDDEN_GRAD_H,
    "steps": 0,
    "seeds": HIDDEN_GRAD_SEEDS,
    "seed": HELD_OUT,
    "variants": [
        # near radius 1, where the engine could get it wrong: every singular value of W_hh is 1,
        # so only the tanh slopes shrink the error
        {"name": "tanh rnn, orthogonal", "activation": "tanh", "recurrent_init": "orthogonal"},
        # IRNN as in Le et al. 2015: ReLU, W_hh = I, small random input weights
        {
            "name": "irnn",
            "activation": "relu",
            "recurrent_init": "identity",
            "init": "normal",
            "init_gain": 0.1,
        },
    ],
}
# With W orthogonal, ‖W^T v‖ = ‖v‖ exactly, so ‖δ_t‖² = ‖tanh'(z_(t+1)) ⊙ δ_(t+1)‖²: if δ is
# spread evenly over the units this is mean(tanh'²)·‖δ_(t+1)‖², and the ratio over T − 1 steps is
# ∏ rms(tanh'). How evenly δ spreads is the assumption: the calibration before (4 seeds) had the
# measured ratio within 10^±0.8 of it, so a seed passes within 10× and the seeds' geometric mean
# within 10^0.5.
HIDDEN_GRAD_SEED_TOL, HIDDEN_GRAD_MEAN_TOL = 1.0, 0.5  # in log10


@lru_cache(maxsize=1)
def measure_hidden_grad_ratio() -> dict[str, Any]:
    """‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ at initialisation (the engine's hidden_grad_norm metric, from its
    hand-written backward pass) per seed, and for tanh the prediction from the tanh slopes."""
    frame, _ = run_frames(HIDDEN_GRAD_CONFIG)
    shared = {k: v for k, v in HIDDEN_GRAD_CONFIG.items() if k != "variants"}
    out: dict[str, Any] = {}
    for v in HIDDEN_GRAD_CONFIG["variants"]:
        h = per_layer(frame, "hidden_grad_norm", v["name"])  # (T, seeds)
        out[v["name"]] = h[0] / h[-1]
    tanh = HIDDEN_GRAD_CONFIG["variants"][0]
    cfg = make_config({**shared, **{k: x for k, x in tanh.items() if k != "name"}})
    task = make_task(cfg)
    model = build(cfg, task.input_dim, task.output_dim)
    x, _ = task.probe()  # the batch the metric uses
    record: list[torch.Tensor] = []
    with torch.no_grad():
        model(x, record=record)  # T × (S, B, H) pre-activations z_t
    z = torch.stack(record[1:]).double()  # z_2..z_T: the slopes between h_1 and h_T
    mean_sq = ((1 - torch.tanh(z) ** 2) ** 2).mean(dim=(2, 3))  # (T − 1, S)
    out["predicted"] = mean_sq.prod(dim=0).sqrt().numpy()
    return out


def claim_hidden_grad_ratio(m: dict | None = None) -> Claim:
    """Even with every singular value of W_hh at 1, a tanh RNN loses the error through its
    slopes, by the predicted amount; an IRNN keeps it."""
    m = m or measure_hidden_grad_ratio()
    tanh, irnn = m["tanh rnn, orthogonal"], m["irnn"]
    dev = np.log10(tanh / m["predicted"])
    ok = (
        bool(np.all(np.abs(dev) < HIDDEN_GRAD_SEED_TOL))
        and abs(float(dev.mean())) < HIDDEN_GRAD_MEAN_TOL
        and float(irnn.min()) > 0.1
        and float(tanh.max()) < 1e-2
    )
    T = HIDDEN_GRAD_T
    return make_claim(
        "rnn-hidden-grad-ratio",
        f"At initialisation, ‖∂L/∂h_1‖ / ‖∂L/∂h_{T}‖ of a tanh RNN with orthogonal W_hh (radius "
        "1) still vanishes, by the product of the rms tanh slopes it passes; an IRNN keeps it "
        "of order 1",
        "Hochreiter & Schmidhuber 1997, §3; Le et al. 2015, §2",
        "tanh: within 10× of ∏ rms tanh′ per seed (geometric mean within 10^0.5), < 1e-2; "
        "IRNN > 0.1",
        f"tanh {tanh.min():.1e}–{tanh.max():.1e} against predicted {m['predicted'].min():.1e}–"
        f"{m['predicted'].max():.1e} (log10 deviation {dev.min():+.2f} to {dev.max():+.2f}); "
        f"IRNN ≥ {irnn.min():.2f} ({HIDDEN_GRAD_SEEDS} seeds)",
        ok,
        setup=f"hidden {HIDDEN_GRAD_H}, adding T = {T}, the engine's hidden_grad_norm metric "
        "(hand-written backward pass) on its probe batch; " + DIFFERS + "measured at "
        "initialisation, not during training",
        threshold="theory: the prediction ∏ rms tanh′ (orthogonal W preserves norms); the 10× "
        "and 10^0.5 allowances from a calibration run on seeds 0–3 (within 10^±0.8); tested "
        "on held-out seeds",
        seeds=seed_range(HIDDEN_GRAD_SEEDS),
        values={"log10_dev_mean": float(dev.mean()), "irnn_min": float(irnn.min())},
        tolerance=0.1,
    )


# --------------------------------------------------------------------------------------------
# Gers, Schmidhuber & Cummins 2000; Jozefowicz, Zaremba & Sutskever 2015: forget-gate bias
# --------------------------------------------------------------------------------------------

FORGET_T, FORGET_H, FORGET_SEEDS = 50, 32, 8
FORGET_CONFIG: dict[str, Any] = {
    # Gaussian weights with PyTorch nn.LSTM's variances: U(±1/√H) has variance 1/(3H), so W_ih
    # gets init_gain² = fan_in/(3H) = 2/96 and its bias σ_b = 1/√(3H); W_hh and b_hh keep the
    # engine's default U(±1/√H), as nn.LSTM.
    "family": "rnn",
    "task": "adding",
    "cell": "lstm",
    "hidden": FORGET_H,
    "seq_len": FORGET_T,
    "seeds": FORGET_SEEDS,
    "seed": HELD_OUT,
    "init": "normal",
    "init_gain": 0.1443,
    "bias_std": 0.102,
}
# Theory for the cell path alone: ∂c_T/∂c_1 ≈ diag(∏ f_t) ~ f̄^(T−1): 0.5^49 ≈ 2e-15 against
# σ(1)^49 ≈ 2e-7, a factor ~1e8. The calibration run before (8 seeds) measured ‖∂c₅₀/∂c₁‖ of
# 2e-10–1e-8 at forget bias 0 and 7e-4–6e-3 at 1 (the paths through h add to both): the lines
# are "vanished" < 1e-7 and "far larger" ≥ 1e4× on every seed.
FORGET_VANISHED, FORGET_RATIO = 1e-7, 1e4


def _cell_jacobian_norm(forget_bias: float) -> tuple[np.ndarray, float]:
    """‖∂c_T/∂c_1‖₂ per seed on the first probe sequence, and the mean forget-gate value.

    The LSTM step is the engine's (RecurrentNet.forward) spelled out with c_1 as the variable, so
    autograd follows every path from c_1 (the cell state and, through h_t, the gates); the last
    hidden state is checked against the engine's own forward.
    """
    cfg = make_config({**FORGET_CONFIG, "forget_bias": forget_bias})
    task = make_task(cfg)
    model = build(cfg, task.input_dim, task.output_dim)
    x = task.probe()[0][:1]  # (1, T, 2)
    S, H = FORGET_SEEDS, FORGET_H
    xp = torch.matmul(x.unsqueeze(0), model.inp.weight.transpose(1, 2).unsqueeze(1))
    xs = (xp + (model.inp.bias + model.b_hh).view(S, 1, 1, -1)).unbind(2)  # T × (S, 1, 4H)
    w_t = model.w_hh.transpose(1, 2)
    with torch.no_grad():  # step 1 from h_0 = c_0 = 0
        i, _, g, o = xs[0].chunk(4, dim=-1)
        c1 = (torch.sigmoid(i) * torch.tanh(g)).requires_grad_(True)
    c, h = c1, torch.sigmoid(o) * torch.tanh(c1)
    gates_f = []
    for t in range(1, FORGET_T):
        i, f, g, o = torch.baddbmm(xs[t], h, w_t).chunk(4, dim=-1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        gates_f.append(torch.sigmoid(f).detach())
    states: list[torch.Tensor] = []
    with torch.no_grad():
        model(x, states=states)
    if not torch.allclose(states[-1], h.detach(), atol=1e-6):
        raise AssertionError("the spelled-out LSTM differs from RecurrentNet.forward")
    eye = torch.eye(H).unsqueeze(1).unsqueeze(2).expand(H, S, 1, H)
    (jac,) = torch.autograd.grad(c, c1, grad_outputs=eye, is_grads_batched=True)
    j = jac[:, :, 0, :].permute(1, 0, 2).double()  # (S, H out, H in)
    return torch.linalg.matrix_norm(j, ord=2).numpy(), float(torch.stack(gates_f).mean())


@lru_cache(maxsize=1)
def measure_forget_gate() -> dict[str, Any]:
    """‖∂c_T/∂c_1‖ per seed with the forget gate's bias at 0 (PyTorch) and at 1."""
    out = {}
    for fb in (0.0, 1.0):
        norms, f = _cell_jacobian_norm(fb)
        out[fb] = {"norms": norms, "mean_f": f}
    return out


def claim_forget_gate(m: dict | None = None) -> Claim:
    """With the forget-gate bias at 0 the LSTM's cell state forgets c_1 within 50 steps; at 1 it
    keeps orders of magnitude more."""
    m = m or measure_forget_gate()
    zero, one = m[0.0], m[1.0]
    ratio = one["norms"] / zero["norms"]
    ok = float(zero["norms"].max()) < FORGET_VANISHED and float(ratio.min()) >= FORGET_RATIO
    T = FORGET_T
    return make_claim(
        "lstm-forget-gate-bias",
        f"LSTM, H = {FORGET_H}, T = {T}: at initialisation ‖∂c_{T}/∂c_1‖ vanishes with PyTorch's "
        "forget-gate bias 0 (the gate sits near 0.5) and is orders of magnitude larger with "
        "forget_bias = 1",
        "Gers, Schmidhuber & Cummins 2000, §2–3; Jozefowicz, Zaremba & Sutskever 2015, §2.2 "
        "(forget-gate bias of 1)",
        f"bias 0: < {FORGET_VANISHED:g} on every seed; bias 1: ≥ {FORGET_RATIO:g}× the bias-0 "
        "value, seed by seed",
        f"bias 0: {zero['norms'].min():.1e}–{zero['norms'].max():.1e} (mean gate "
        f"{zero['mean_f']:.2f}); bias 1: {one['norms'].min():.1e}–{one['norms'].max():.1e} "
        f"(mean gate {one['mean_f']:.2f}); ratio ≥ {ratio.min():.0e} ({FORGET_SEEDS} seeds)",
        ok,
        setup=f"the forget_bias field, weights with nn.LSTM's variances, one adding sequence, "
        f"exact Jacobians by autograd, {FORGET_SEEDS} seeds; " + DIFFERS + "a gradient "
        "measurement at initialisation; the papers compare trained performance",
        threshold="calibration: 1e-7 and 1e4× from a run on seeds 0–7 before (2e-10–1e-8 "
        "against 7e-4–6e-3: margins 10× and 60×); theory (f̄^49 for the cell path: 2e-15 "
        "against 2e-7) gives the direction; tested on held-out seeds",
        seeds=seed_range(FORGET_SEEDS),
        values={"bias0_max": float(zero["norms"].max()), "ratio_min": float(ratio.min())},
        tolerance=0.1,
    )

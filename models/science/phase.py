"""Phase-diagram claims: the sweep presets measured against the theory's trainable region."""

from __future__ import annotations

import math
from functools import lru_cache

from scipy.stats import spearmanr

from ..core import theory
from ..sweep import run_sweep
from ..sweep.presets import sweep_preset_dict
from ..sweep.spec import sweep_from_dict
from .common import DIFFERS, HELD_OUT, THREADS, TOL_TRAINED, Claim, make_claim, seed_range

CHANCE_DIGITS = 0.1
TRAINED = 0.3  # validation accuracy that counts as "trains" in 150 steps (3× chance)
UNTRAINED = 0.15  # ... and as "does not train"
PHASE_SEEDS = 3  # the preset runs 2 (seeds 0–1: the calibration); the claim 3 held-out ones
# Spearman ρ between accuracy and depth/6ξ_c over the grid: −0.83 in the calibration run on
# seeds 0–1; the line −0.6 leaves a margin of 0.23 for the chaotic points' machine-to-machine
# scatter (their accuracies differ between CPUs by up to ±0.05: float rounding grows there).
PHASE_RHO = -0.6


@lru_cache(maxsize=4)
def _sweep(name: str, seeds: int, drop: tuple[str, ...] = ()):
    data = sweep_preset_dict(name)
    data.pop("title", None)
    data["variants"] = [v for v in data["variants"] if v["name"] not in drop]
    spec = sweep_from_dict(data, {"seeds": seeds, "seed": HELD_OUT})
    return spec, run_sweep(spec, threads=THREADS).frame()


def measure_phase_diagram(df=None) -> dict:
    """The tanh preset: accuracy per (σ_w², depth), 6 ξ_c per σ_w², and the checks' numbers.
    ``df`` replaces the sweep's frame (the sabotage test passes a broken one)."""
    spec, frame = _sweep("tanh-phase-diagram", PHASE_SEEDS)
    df = frame if df is None else df
    cfg = spec.comparisons[0].variants[0]
    sb2 = cfg.bias_std**2
    gains = spec.grid["init_gain"]
    depths = spec.grid["depth"]
    limit = {g: 6 * theory.xi_c("tanh", g * g, sb2) for g in gains}
    acc = df.groupby(["init_gain", "depth"])["final_val_accuracy"]
    best = acc.max()  # "does not train" must hold for every seed
    mean = acc.mean()
    deep = max(depths)
    crit = theory.critical_sigma_w2("tanh", sb2)
    # at twice the theory's trainable depth or deeper: no seed may train. Between 6ξ_c and
    # 2·6ξ_c (σ_w² = 4 at depth 40 is below even 6ξ_c = 41.9) the theory does not decide.
    beyond = [(g, d) for g in gains for d in depths if d >= 2 * limit[g]]
    near = [g for g in gains if abs(g * g - crit) <= 0.3]  # σ_w² within ±0.3 of the edge
    ratio = [d / limit[g] if math.isfinite(limit[g]) else 0.0 for g, d in mean.index]
    rho = float(spearmanr(ratio, mean.to_numpy()).statistic)
    return {
        "critical": crit,
        "deep": deep,
        "beyond": beyond,
        "beyond_best": max(best[p] for p in beyond) if beyond else math.nan,
        "near": near,
        "near_deep_mean": [float(mean[(g, deep)]) for g in near],
        "deep_mean": {g: float(mean[(g, deep)]) for g in gains},
        "limit": limit,
        "rho": rho,
    }


def claim_phase_diagram(m: dict | None = None) -> Claim:
    """Tanh MLP phase diagram: the measured trainable region follows the theory's 6 ξ_c."""
    m = m or measure_phase_diagram()
    best_near = max(m["near_deep_mean"])
    passed = (
        bool(m["beyond"])
        and m["beyond_best"] < UNTRAINED
        and best_near >= TRAINED
        and m["rho"] < PHASE_RHO
    )
    sw = ", ".join(f"{g * g:.2f}" for g in m["near"])
    never = sorted({g * g for g, _ in m["beyond"]})
    chaotic = max(m["deep_mean"])
    return make_claim(
        "phase-diagram-theory",
        "tanh MLP sweep (σ_b² = 0.05, 150 steps, preset tanh-phase-diagram): points at twice "
        "the theory's trainable depth 6ξ_c or deeper never train; near χ₁ = 1 the net still "
        "trains at the deepest depth; accuracy falls as depth/6ξ_c grows. Points between 6ξ_c "
        "and 2·6ξ_c, and the chaotic end (σ_w² = 4, 6ξ_c = 42 at depth ≤ 40), are shown, not "
        "judged: 6ξ_c is a bound, and 150 steps train less deep than it",
        "Schoenholz et al. 2017, §5 and Fig. 5 (trainable depth ≈ 6 ξ_c around the edge of chaos)",
        f"every seed of the points with depth ≥ 2·6ξ_c below {UNTRAINED} val. accuracy; at "
        f"depth {m['deep']} the mean over seeds ≥ {TRAINED} for some σ_w² within ±0.3 of "
        f"{m['critical']:.2f}; Spearman ρ(accuracy, depth/6ξ_c) < {PHASE_RHO}",
        f"{len(m['beyond'])} points at ≥ 2·6ξ_c (σ_w² {', '.join(f'{s:.2f}' for s in never)}): "
        f"best seed {m['beyond_best']:.2f}; depth {m['deep']}: σ_w² {sw} → "
        f"{', '.join(f'{v:.2f}' for v in m['near_deep_mean'])}; ρ = {m['rho']:.2f}; not judged: "
        f"σ_w² {chaotic**2:.2f} at depth {m['deep']} → {m['deep_mean'][chaotic]:.2f}",
        passed,
        setup=f"the tanh-phase-diagram sweep preset with {PHASE_SEEDS} seeds: width 32, σ_b² = "
        "0.05, momentum SGD lr 0.01, 150 steps, depths 5–40 × a σ_w² grid; " + DIFFERS + "digits "
        "instead of MNIST/CIFAR-10, 150 steps, depths up to 40 and width 32",
        threshold="theory: the boundary 2·6ξ_c for 'never'; the 0.3 and 0.15 accuracy lines (3× "
        "and 1.5× chance) and ρ < −0.6 from the preset's calibration run on seeds 0–1 (beyond "
        "points ≤ 0.09, near the edge 0.42–0.45, ρ = −0.83: margins 0.06, 0.12 and 0.23); "
        "tested on held-out seeds",
        seeds=seed_range(PHASE_SEEDS),
        values={"beyond_best": m["beyond_best"], "near_best": best_near, "rho": m["rho"]},
        tolerance=TOL_TRAINED,
    )


RNN_LENGTH_SEEDS = 3  # held out: the preset's ratios were first set on seeds 0–1


def solvable_lengths(seeds: int = RNN_LENGTH_SEEDS) -> dict[str, list[int]]:
    """Per variant and seed, the longest T of the rnn-length preset that reached the target
    (the preset's IRNN is left out: the claim is about tanh, LSTM and GRU)."""
    _, df = _sweep("rnn-length", seeds, ("irnn",))
    out: dict[str, list[int]] = {}
    for (variant, _seed), g in df.groupby(["variant", "seed"], sort=False):
        solved = g[g["steps_to_target"].notna()]["seq_len"]
        out.setdefault(variant, []).append(int(solved.max()) if len(solved) else 0)
    return out


def claim_rnn_length(T: dict | None = None) -> Claim:
    """Adding problem over T: the vanilla tanh RNN's solvable T is far below the GRU's, and no
    longer than the LSTM's on any seed."""
    T = T or solvable_lengths()
    tanh, lstm, gru = max(T["tanh rnn"]), min(T["lstm"]), min(T["gru"])
    passed = tanh > 0 and tanh <= lstm and 4 * tanh <= gru
    fmt = lambda v: "/".join(str(t) for t in T[v])  # noqa: E731
    return make_claim(
        "rnn-length-sweep",
        "adding problem, T ∈ {5, 10, 20, 40, 80}, 300 Adam steps (preset rnn-length): the longest "
        "T a tanh RNN solves (val. MSE < 0.05) is at most a quarter of the GRU's and no longer "
        "than the LSTM's (whose own longest T varies between seeds, 20–40)",
        "Hochreiter & Schmidhuber 1997 (adding problem); Bengio et al. 1994; Pascanu et al. 2013",
        "the tanh RNN's best longest solved T ≤ ¼ of the GRU's worst and ≤ the LSTM's worst",
        f"longest solved T per seed: tanh rnn {fmt('tanh rnn')}, lstm {fmt('lstm')}, gru "
        f"{fmt('gru')}",
        passed,
        setup=f"the rnn-length sweep preset with {RNN_LENGTH_SEEDS} seeds (its IRNN left out): "
        "hidden 32, Adam lr 0.02, 300 steps, T ∈ {5, …, 80}; " + DIFFERS + "a fixed 300-step "
        "budget and T ≤ 80 (the papers: T ≥ 100, trained to convergence)",
        threshold="calibration: seeds 0–4 gave tanh 5/10/10/10/10, LSTM 40/20/40/20/40, GRU 80 "
        "×5; the first ratio set on seeds 0–1 (LSTM ≥ 2× tanh) held only at its line there and "
        "was restated: GRU ≥ 4× tanh (8× seen: margin 2×) and LSTM ≥ tanh (2× seen: margin "
        "2×); 0.05 is the engine's adding target; tested on held-out seeds",
        seeds=seed_range(RNN_LENGTH_SEEDS),
        values={"tanh_best": float(tanh), "lstm_worst": float(lstm), "gru_worst": float(gru)},
        # one step of the T grid (×2) either way: a seed's longest T is a coarse, discrete
        # outcome of training that another CPU's rounding can move by one grid point
        tolerance=0.5,
    )

"""Numbers derived from a run for the charts: mean-field predictions and the headline sentence."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dashboard.charts.gradients import mean_at
from models import FAMILIES, RunConfig, theory, to_dict

# σ_w² and σ_b² each init scheme implies for a square layer (uniform inits: same variance)
_SIGMA = {
    "normal": lambda c: (c.init_gain**2, c.bias_std**2),
    "default": lambda c: (c.init_gain**2 / 3.0, 1.0 / (3.0 * c.width)),
    "xavier": lambda c: (c.init_gain**2, 0.0),
    "he": lambda c: (2.0 * c.init_gain**2, 0.0),
}


def mean_field_sigmas(cfg: RunConfig) -> tuple[float, float] | None:
    """(σ_w², σ_b²) when mean-field theory applies to this variant (plain MLP), else None."""
    if (
        not FAMILIES[cfg.family].mean_field
        or cfg.residual
        or cfg.norm != "none"
        or cfg.init not in _SIGMA
    ):
        return None
    return _SIGMA[cfg.init](cfg)


def theory_profiles(frame: pd.DataFrame, configs: list[RunConfig], step: int) -> dict:
    """Predicted ‖∇W_l‖ for l = 1..depth per applicable variant, scaled to the measured layer depth."""
    out = {}
    for cfg in configs:
        sig = mean_field_sigmas(cfg)
        if sig is None:
            continue
        measured = mean_at(frame, "grad_norm", step, cfg.name)
        anchor = measured.get(cfg.depth, np.nan) if not measured.empty else np.nan
        if not (np.isfinite(anchor) and anchor > 0):
            continue
        try:
            pred = theory.mlp_grad_norm_profile(cfg.activation, sig[0], sig[1], cfg.depth)
        except (ValueError, FloatingPointError):
            continue
        out[cfg.name] = pred * anchor
    return out


LEARNED = 0.95  # a variant learned when its best val loss is under this share of chance
# metrics that differ between runs of identical numbers (timing) or only say what clipping did
_NOT_COMPARED = ("wall_s", "clipped", "clipped_share")


def baseline_name(names: list[str]) -> str | None:
    """The variant called "... baseline ...", else the first one."""
    return next((n for n in names if "baseline" in n.lower()), names[0] if names else None)


def identical_variants(
    frame: pd.DataFrame, configs: list[RunConfig], at_init: bool = False
) -> dict[str, str]:
    """Variants whose every recorded number equals an earlier variant's: name -> a note saying
    which, and why when the settings tell (a clip that never triggered). Their lines overlap.
    ``at_init``: the frame is the gradient at initialisation (no update made yet)."""
    if frame.empty:
        return {}
    f = frame[~frame["metric"].isin(_NOT_COMPARED)]
    keys = ["seed", "step", "metric", "index"]
    sigs = {
        name: g.sort_values(keys)[keys + ["value"]].to_numpy()
        for name, g in f.groupby("variant", sort=False)
    }
    cfgs = {c.name: to_dict(c) for c in configs}
    clipped = frame[frame["metric"] == "clipped_share"].groupby("variant")["value"].sum()
    # a seed that diverged between log steps may have clipped unseen: no claim about it then
    died = set(frame.loc[frame["metric"] == "diverged", "variant"])
    out: dict[str, str] = {}
    seen: list[str] = []
    for c in configs:
        sig = sigs.get(c.name)
        if sig is None or len(sig) == 0:
            continue
        twin = next((o for o in seen if _same(sigs[o], sig)), None)
        seen.append(c.name)
        if twin is None:
            continue
        diff = {k for k, v in cfgs[c.name].items() if k != "name" and cfgs[twin].get(k) != v}
        why = "the same numbers at every logged step"
        quiet = clipped.get(c.name, 0) == 0 and c.name not in died
        if diff and all(k.startswith("clip") for k in diff) and at_init:
            why = "clipping changes only the updates, and none has been made yet"
        elif diff and all(k.startswith("clip") for k in diff) and quiet:
            why = "clipping never triggered"
        elif not diff:
            why = "the same settings"
        out[c.name] = f"identical to {twin} — {why}"
    return out


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    if a.shape != b.shape:
        return False
    va, vb = a[:, -1].astype(float), b[:, -1].astype(float)
    return bool((a[:, :-1] == b[:, :-1]).all() and np.array_equal(va, vb, equal_nan=True))


def best_mitigation(table: pd.DataFrame, baseline: str, chance: float) -> str | None:
    """The variant with the lowest final val loss among those that learned (best val loss
    under ``LEARNED`` x chance) and never diverged; never the baseline."""
    t = table[table["variant"] != baseline]
    loss = pd.to_numeric(t["final val loss"], errors="coerce")
    best = pd.to_numeric(t["best val loss"], errors="coerce")
    ok = (
        np.isfinite(loss)
        & (best < LEARNED * chance)
        & ~np.isfinite(pd.to_numeric(t["diverged at"], errors="coerce"))
    )
    if not ok.any():
        return None
    return str(t.loc[loss[ok].idxmin(), "variant"])


def headline(table: pd.DataFrame, family: str, chance: float) -> str | None:
    """Plain text naming the baseline and the preset's best mitigation: what each ends at and,
    when they differ, what gradient their first layer (time step) gets at initialisation.
    None when no variant but the baseline learned (nothing to hold up)."""
    if table.empty:
        return None
    base = baseline_name(list(table["variant"]))
    best = best_mitigation(table, base, chance)
    if best is None:
        return None
    rows = table.set_index("variant")
    b, m = rows.loc[base], rows.loc[best]
    if np.isfinite(float(b["diverged at"])):
        fate = f"“{base}” diverged at step {int(b['diverged at'])}"
    else:
        fate = f"“{base}” ends at {float(b['final val loss']):.3g}"
    line = (
        f"Best mitigation: “{best}”, validation loss {float(m['final val loss']):.3g} "
        f"(chance {chance:.3g}), where {fate}."
    )
    rb, rm = float(b["grad ratio first/last"]), float(m["grad ratio first/last"])
    if np.isfinite(rb) and np.isfinite(rm) and rb > 0 and rm > 0 and abs(math.log10(rm / rb)) > 0.5:
        where, last = FAMILIES[family].first_depth, FAMILIES[family].last_depth
        line += (
            f" At initialisation, {where} of “{base}” receives {_times(rb)} the gradient of "
            f"{last}; in “{best}” it gets {_times(rm)}."
        )
    return line


def _times(x: float) -> str:
    x = float(x)
    if x <= 0 or not math.isfinite(x):
        return "none of"
    if 0.01 <= x < 100:
        return f"{x:.2g}×"
    return "10" + str(round(math.log10(x))).translate(_SUPERSCRIPT) + "×"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

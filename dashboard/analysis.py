"""Numbers derived from a run for the charts: mean-field predictions and the headline sentence."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dashboard.charts.gradients import mean_at
from dashboard.plain import plain
from models import RunConfig, theory

# σ_w² and σ_b² each init scheme implies for a square layer (uniform inits: same variance)
_SIGMA = {
    "normal": lambda c: (c.init_gain**2, c.bias_std**2),
    "default": lambda c: (c.init_gain**2 / 3.0, 1.0 / (3.0 * c.width)),
    "xavier": lambda c: (c.init_gain**2, 0.0),
    "he": lambda c: (2.0 * c.init_gain**2, 0.0),
}


def mean_field_sigmas(cfg: RunConfig) -> tuple[float, float] | None:
    """(σ_w², σ_b²) when mean-field theory applies to this variant (plain MLP), else None."""
    if cfg.family != "mlp" or cfg.residual or cfg.norm != "none" or cfg.init not in _SIGMA:
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


def headline(table: pd.DataFrame, family: str) -> str | None:
    """One sentence contrasting the worst and best gradient ratio at initialisation."""
    t = table[np.isfinite(table["grad ratio first/last"].astype(float))]
    if t.empty:
        return None
    worst = t.loc[t["grad ratio first/last"].astype(float).idxmin()]
    best = t.loc[t["grad ratio first/last"].astype(float).idxmax()]
    where = "the first hidden layer" if family == "mlp" else "the first time step"
    last = "the last" if family == "mlp" else "the last step"
    return (
        f"At initialisation, {where} of **{plain(worst['variant'])}** receives "
        f"{_times(worst['grad ratio first/last'])} the gradient of {last}; "
        f"**{plain(best['variant'])}** gets {_times(best['grad ratio first/last'])}."
    )


def _times(x: float) -> str:
    x = float(x)
    if x <= 0 or not math.isfinite(x):
        return "none of"
    if 0.01 <= x < 100:
        return f"{x:.2g}×"
    return "10" + str(round(math.log10(x))).translate(_SUPERSCRIPT) + "×"


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

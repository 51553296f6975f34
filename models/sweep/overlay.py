"""Theory drawn over a phase diagram, from ``models.core.theory``: where it applies, what it says.

- MLPs with init = normal over σ_w (init_gain) × depth: the edge of chaos χ₁ = 1 (a σ_w² value)
  and the trainable-depth curve 6 ξ_c(σ_w², σ_b²) (Schoenholz et al. 2017, Fig. 5).
- Vanilla RNNs over T (seq_len): Pascanu et al. 2013's bound. With γ = max |φ'| and λ₁ the
  largest singular value of W_hh at initialisation, λ₁γ < 1 forces ‖∂h_T/∂h_0‖ ≤ (λ₁γ)^T: the
  T beyond which that bound is under 1% is drawn (no line when λ₁γ ≥ 1: the bound says nothing).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..core import theory
from ..core.cells import CELLS
from ..core.config import RunConfig
from ..core.family_registry import FAMILIES
from ..core.nets import build_model
from ..core.tasks import make_task

PASCANU_LEVEL = 0.01  # the bound (λ₁γ)^T drawn where it falls below this


@dataclass
class MeanFieldOverlay:
    """The edge of chaos and the 6 ξ_c curve over σ_w² (for one activation and σ_b²)."""

    critical_sigma_w2: float  # χ₁ = 1 (nan if never in range)
    sigma_w2: np.ndarray  # a fine grid over the axis's range
    depth_limit: np.ndarray  # 6 ξ_c at each (inf at the edge of chaos)


def mean_field_applies(cfg: RunConfig, axes: list[str]) -> bool:
    """Whether the mean-field overlay fits this variant and these two axes."""
    return (
        FAMILIES[cfg.family].mean_field
        and cfg.init == "normal"
        and not cfg.residual
        and cfg.norm == "none"
        and cfg.activation in theory.ACTIVATIONS
        and set(axes) == {"init_gain", "depth"}
    )


def mean_field_overlay(
    activation: str, bias_std: float, gain_lo: float, gain_hi: float, points: int = 160
) -> MeanFieldOverlay:
    """χ₁ = 1 and 6 ξ_c between σ_w = gain_lo and gain_hi (σ_b = bias_std)."""
    sb2 = bias_std**2
    lo, hi = gain_lo**2, gain_hi**2
    s = np.linspace(lo, hi, points)
    crit = theory.critical_sigma_w2(activation, sb2, lo=max(1e-3, 0.5 * lo), hi=max(2 * hi, 1))
    if math.isfinite(crit) and lo < crit < hi:  # sample the edge itself (6 ξ_c → ∞ there)
        s = np.sort(np.append(s, crit))
    return MeanFieldOverlay(crit, s, theory.trainable_depth_curve(activation, sb2, s))


def pascanu_applies(cfg: RunConfig, axes: list[str]) -> bool:
    """Whether the Pascanu bound fits this variant over these axes (a vanilla RNN over T)."""
    # the vanilla cell is the one whose non-linearity is the variant's own activation
    return FAMILIES[cfg.family].pascanu and CELLS[cfg.cell].uses_activation and "seq_len" in axes


def pascanu_length(cfg: RunConfig, level: float = PASCANU_LEVEL) -> tuple[float, float]:
    """(λ₁γ over the seeds' W_hh at initialisation (the largest), the T where (λ₁γ)^T = level);
    T is inf when λ₁γ ≥ 1 (the bound allows any gradient there)."""
    task = make_task(cfg)
    model = build_model(cfg, task.input_dim, task.output_dim)
    with torch.no_grad():
        w = model.w_hh.detach().double()  # (S, H, H)
        lam = float(torch.linalg.matrix_norm(w, ord=2).max())
    factor = lam * theory.max_slope(cfg.activation)
    if factor >= 1.0 or factor <= 0.0:
        return factor, math.inf
    return factor, math.log(level) / math.log(factor)

"""The Phase diagrams page's figure: a sweep's rows so far as heatmaps, one per variant, with the
theory's lines on top and notes on what they promise (pure: rows in, figure and notes out)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from dashboard.charts.phase import (
    OUTCOMES,
    Panel,
    axis_title,
    cell_grid,
    phase_figure,
    position,
    tick_text,
)
from dashboard.plain import clean
from models import (
    RunConfig,
    SweepSpec,
    mean_field_applies,
    mean_field_overlay,
    pascanu_applies,
    pascanu_length,
)


def squared_axis(spec: SweepSpec) -> bool:
    return "init_gain" in spec.axes and all(
        v.init == "normal" for c in spec.comparisons for v in c.variants
    )


def figure(spec: SweepSpec, rows: list[dict[str, Any]], outcome_name: str):
    """The phase diagram of ``rows`` so far, and notes on the theory drawn (or not)."""
    outcome = OUTCOMES[outcome_name]
    frame = pd.DataFrame(rows)
    for col in spec.axes + ["variant", "error", "diverged_step", "steps_to_target"]:
        if col not in frame:
            frame[col] = None
    axes = list(spec.axes)
    if len(axes) == 2 and axes[0] == "depth" and axes[1] == "init_gain":
        axes = axes[::-1]  # σ_w² across, depth up: the papers' orientation
    squared = squared_axis(spec)
    x_axis, x_vals = axes[0], spec.grid[axes[0]]
    notes: list[str] = []
    variants = spec.comparisons[0].variants
    panels = []
    if len(axes) == 1:
        names = [v.name for v in variants]
        z, text = cell_grid(frame, x_axis, x_vals, None, names, outcome)
        lines = []
        for k, v in enumerate(variants):
            if pascanu_applies(v, axes):
                factor, T = pascanu_length(v)
                if math.isfinite(T):
                    xs = position(x_vals, np.array([T, T]))
                    lines.append(
                        (
                            f"Pascanu bound (λ₁γ)^T = 1% ({v.name})",
                            xs,
                            np.array([k - 0.5, k + 0.5]),
                            "dash",
                        )
                    )
                    notes.append(
                        f"{v.name}: λ₁γ = {factor:.2f} < 1 at initialisation, so the gradient "
                        f"across T steps is at most {factor:.2f}^T: under 1% beyond T ≈ {T:.0f} "
                        "(dashed line; Pascanu et al. 2013)."
                    )
                else:
                    notes.append(
                        f"{v.name}: λ₁γ = {factor:.2f} ≥ 1 at initialisation (λ₁ = largest "
                        "singular value of W_hh, γ = max|φ'|): Pascanu's vanishing bound does "
                        "not apply, so no line is drawn; whatever limits T here is measured, "
                        "not bounded."
                    )
        panels.append(Panel("all variants", z, text, lines))
        y_ticks, y_title = [clean(n, 24) for n in names], "variant"
    else:
        y_axis, y_vals = axes[1], spec.grid[axes[1]]
        for v in variants:
            z, text = cell_grid(
                frame[frame["variant"] == v.name], x_axis, x_vals, y_axis, y_vals, outcome
            )
            lines = []
            if mean_field_applies(v, axes):
                gains = [float(g) for g in x_vals]
                o = mean_field_overlay(v.activation, v.bias_std, min(gains), max(gains))
                xs = position(gains, np.sqrt(o.sigma_w2))
                depth = np.where(np.isfinite(o.depth_limit), o.depth_limit, 1e9)
                ys = position([float(d) for d in y_vals], np.minimum(depth, max(y_vals)))
                ys = np.where(depth > max(y_vals), len(y_vals) - 0.5, ys)
                lines.append(("6 ξ_c (signals propagate below it)", xs, ys, "solid"))
                if math.isfinite(o.critical_sigma_w2):
                    cx = position(gains, np.array([math.sqrt(o.critical_sigma_w2)] * 2))
                    lines.append(
                        ("χ₁ = 1 (edge of chaos)", cx, np.array([-0.5, len(y_vals) - 0.5]), "dash")
                    )
                    notes.append(
                        f"{v.name}: edge of chaos at σ_w² = {o.critical_sigma_w2:.2f} "
                        f"(σ_b² = {v.bias_std**2:.3g})."
                    )
                notes.append(_xi_note(v, frame, x_axis, y_axis, gains, o))
            panels.append(Panel(v.name, z, text, lines))
        y_ticks, y_title = tick_text(y_vals, squared and y_axis == "init_gain"), axis_title(y_axis)
    title = spec.title or "Sweep"
    fig = phase_figure(
        panels,
        tick_text(x_vals, squared and x_axis == "init_gain"),
        y_ticks,
        axis_title(x_axis, squared),
        y_title,
        outcome,
        title,
    )
    return fig, notes


def _xi_note(v: RunConfig, frame: pd.DataFrame, x_axis: str, y_axis: str, gains, o) -> str:
    """What the 6 ξ_c line promises, and what the finite training budget adds (measured).

    The line is mean-field theory's depth over which a signal still propagates at
    initialisation (Schoenholz et al. 2017): deeper, a net cannot train; shallower is a bound,
    not a promise. Where it runs along the top border, ξ_c exceeds every depth drawn; that
    does not say the deep nets there train within this sweep's steps, so the trained cells
    below the line that missed the target are counted.
    """
    text = (
        f"{v.name}: the white line is 6 ξ_c, mean-field theory's depth beyond which signals "
        "stop propagating through the net at initialisation (Schoenholz et al. 2017). It is a "
        "bound, not a promise: deeper than the line a net cannot train; below it theory "
        "allows training but does not promise it. Where the line runs along the top border, "
        "ξ_c exceeds every depth drawn. "
        f"The budget here is {v.steps} training steps, and that adds its own limit"
    )
    rows = frame[frame["variant"] == v.name]
    if rows.empty:
        return text + ": the cells show which points train in it."
    # x is σ_w (init_gain) and y the depth wherever the overlay applies (figure() orders them)
    limit = dict(
        zip(
            gains,
            np.interp(
                np.square(gains),
                o.sigma_w2,
                np.where(np.isfinite(o.depth_limit), o.depth_limit, 1e9),
            ),
        )
    )
    below, missed, missed_chaotic = 0, 0, 0
    for (g, depth), cell in rows.groupby([x_axis, y_axis]):
        if float(g) not in limit or not float(depth) <= limit[float(g)]:
            continue
        below += 1
        if cell["steps_to_target"].notna().mean() < 0.5:  # most seeds missed the target
            missed += 1
            missed_chaotic += float(g) ** 2 > o.critical_sigma_w2
    if not below:
        return text + "."
    return text + (
        f": of the {below} trained cells below the line, {missed} did not reach the target "
        f"in {v.steps} steps"
        + (f" ({missed_chaotic} of them on the chaotic side)" if missed_chaotic else "")
        + "."
    )

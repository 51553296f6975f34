"""Caps that keep one user's run within about 1 GB and a fair share of 2 CPU cores.

The engine's FIELDS give what is valid and its budget (``models.core.budget``: FLOPs, memory,
metric rows) what a run costs; these caps give what one dashboard user may ask for.
"""

from __future__ import annotations

import dataclasses
import math

from models import FIELDS, Comparison, RunConfig, estimate, resolve_caps, resolve_row_cap

UI_CAPS: dict[str, float] = {
    "depth": 64,
    "width": 256,
    "hidden": 128,
    "seq_len": 200,
    "batch_size": 256,
    "steps": 3000,
    "seeds": 4,
    "log_every": 500,
    "arms": 8,
}
MAX_VARIANTS = 8


def clamp(comparison: Comparison) -> tuple[Comparison, list[str]]:
    """``comparison`` with every capped field lowered to its cap; one note per field lowered."""
    notes: dict[str, str] = {}
    variants = []
    for v in comparison.variants:
        changes = {}
        for name, cap in UI_CAPS.items():
            value = getattr(v, name)
            if value > cap:
                changes[name] = type(value)(cap)
                notes.setdefault(name, f"{name} {value:g} → {cap:g}")
        variants.append(dataclasses.replace(v, **changes) if changes else v)
    return Comparison(variants, comparison.title), list(notes.values())


def field_range(name: str) -> tuple[float | None, float | None]:
    """(lo, hi) for a widget: the engine's range, tightened by the dashboard's cap."""
    spec = FIELDS[name]
    hi = spec.hi
    if name in UI_CAPS:
        hi = UI_CAPS[name] if hi is None else min(hi, UI_CAPS[name])
    return spec.lo, hi


def check(variants: list[RunConfig]) -> str | None:
    """Why this comparison is too big for the dashboard, or None when it fits."""
    if len(variants) > MAX_VARIANTS:
        return f"{len(variants)} variants; the dashboard runs at most {MAX_VARIANTS} at once"
    for cfg in variants:
        for name, cap in UI_CAPS.items():
            if getattr(cfg, name) > cap:
                return (
                    f"variant '{cfg.name}': {name} = {getattr(cfg, name)}; the dashboard allows "
                    f"up to {cap:g} (use the CLI for more)"
                )
    return over_budget(variants)  # the engine's one cost model: FLOPs, and memory with metrics


def over_budget(variants: list[RunConfig]) -> str | None:
    """Over the server's per-run cost or memory cap: what to lower, with a steps count that fits.

    Visitors cannot change the server's caps (GFL_MAX_GFLOP, GFL_MAX_MB, GFL_MAX_ROWS: see
    docs/limits.md), so the message names only what they can change.
    """
    try:
        est = estimate(Comparison(list(variants)))
        cap_g, cap_mb = resolve_caps(defaults=True)
        cap_rows = resolve_row_cap(defaults=True)
    except Exception:  # noqa: BLE001 - a config the estimate cannot price: validation says why
        return None
    steps = max(v.steps for v in variants)
    if cap_g is not None and est.gflop > cap_g:
        biggest = max(est.variants, key=lambda v: v.flops)
        fit = steps_that_fit(variants, cap_g)
        hint = f" (at most {fit} steps would fit)" if 0 < fit < steps else ""
        return (
            f"this run needs about {est.gflop:,.0f} GFLOP of compute; one run on this server may "
            f"use {cap_g:,.0f}. Lower the training steps{hint}, seeds, depth or width "
            f"(sequence length or hidden units), the batch size or the number of variants; the "
            f"costliest variant is '{biggest.name}'."
        )
    if cap_mb is not None and est.mb > cap_mb:
        heavy = max(est.variants, key=lambda v: v.transient_bytes)
        return (
            f"this run needs about {est.mb:,.0f} MB of memory; one run on this server may use "
            f"{cap_mb:,.0f}. Lower the batch size, seeds, width (or sequence length and hidden "
            f"units), or log less often; the heaviest variant is '{heavy.name}'."
        )
    rows = sum(v.rows for v in est.variants)
    if cap_rows is not None and rows > cap_rows:
        every = max(v.log_every for v in variants)
        fit = math.ceil(every * rows / cap_rows)  # rows fall about as 1/log_every ...
        while fit < steps and _rows(variants, fit) > cap_rows:  # ... not exactly: check
            fit += 1
        hint = f" (every {fit} steps would fit)" if fit > every else ""
        return (
            f"this run records about {rows:,} metric rows; one run on this server may keep "
            f"{cap_rows:,} (the server holds every visitor's results in memory). Log less "
            f"often{hint}, or lower the steps, seeds, depth or the number of variants."
        )
    return None


def _gflop(variants: list[RunConfig], steps: int) -> float:
    """The run's GFLOP with every variant's steps capped at ``steps``."""
    capped = [dataclasses.replace(v, steps=min(v.steps, steps)) for v in variants]
    return estimate(Comparison(capped)).gflop


def steps_that_fit(variants: list[RunConfig], cap_gflop: float) -> int:
    """The most training steps (every variant capped there) whose estimate stays within the cap;
    0 when not even one step fits. Searched, not scaled: the probe and the first and last
    steps' measurements cost the same however short the run, so cost is not ∝ steps."""
    lo, hi = 0, max(v.steps for v in variants)
    while lo < hi:  # cost grows with steps: the largest s with _gflop(s) <= cap
        mid = (lo + hi + 1) // 2
        if _gflop(variants, mid) <= cap_gflop:
            lo = mid
        else:
            hi = mid - 1
    return lo if lo > 0 and _gflop(variants, lo) <= cap_gflop else 0


def _rows(variants: list[RunConfig], log_every: int) -> int:
    """Metric rows the variants record when they log every ``log_every`` steps."""
    logged = [dataclasses.replace(v, log_every=log_every) for v in variants]
    return sum(v.rows for v in estimate(Comparison(logged)).variants)


def cost_line(variants: list[RunConfig]) -> str:
    """A short cost estimate for a caption ('~12 GFLOP, ~80 MB')."""
    return "Estimated cost: " + estimate(Comparison(list(variants))).describe()

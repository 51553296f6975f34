"""Caps that keep one user's run within about 1 GB and a fair share of 2 CPU cores.

The engine's FIELDS give what is valid and its budget (``models.core.budget``: FLOPs, memory,
metric rows) what a run costs; these caps give what one dashboard user may ask for.
"""

from __future__ import annotations

from models import FIELDS, Comparison, ConfigError, RunConfig, check_budget, estimate

UI_CAPS: dict[str, float] = {
    "depth": 64, "width": 256, "hidden": 128, "seq_len": 200, "batch_size": 256,
    "steps": 3000, "seeds": 4, "log_every": 500, "arms": 8,
}  # fmt: skip
MAX_VARIANTS = 8


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
    try:  # the engine's one cost model: FLOPs, and memory including the metric rows
        check_budget(Comparison(list(variants)), defaults=True)
    except ConfigError as e:
        return str(e)
    return None


def cost_line(variants: list[RunConfig]) -> str:
    """A short cost estimate for a caption ('~12 GFLOP, ~80 MB')."""
    return "Estimated cost: " + estimate(Comparison(list(variants))).describe()

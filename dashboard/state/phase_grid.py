"""The Phase diagrams page's editable sweep, without Streamlit (unit-testable).

A sweep here is a dict in the sweep-file format (``models.sweep``): shared fields, ``variants``
and a ``grid`` of one or two axes. Numeric axes are typed as lists or ranges, categorical ones
are picked from the field's choices.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dashboard.live import limits
from models import (
    FAMILIES,
    FIELDS,
    ConfigError,
    SweepSpec,
    coerce,
    estimate,
    resolve_caps,
    sweep_from_dict,
)

UI_MAX_RUNS = 400  # grid points × variants × seeds one dashboard sweep may train
UI_MAX_AXIS_VALUES = 24
SWEEP_WORK_FACTOR = 4  # a sweep may cost a few comparisons' worth of the GFLOP cap, not more
NOT_AXES = ("task", "steps", "seeds", "log_every", "name")


def axis_fields(family: str) -> list[str]:
    """Fields a grid axis may sweep on this family's page (the training pages' own fields)."""
    names = FAMILIES[family].editable_fields
    return [n for n in dict.fromkeys(names) if n not in NOT_AXES]


def is_categorical(name: str) -> bool:
    spec = FIELDS[name]
    return bool(spec.choices) or spec.kind is bool


def categorical_options(family: str, name: str) -> list[Any]:
    """The values a categorical axis may take."""
    if FIELDS[name].kind is bool:
        return [False, True]
    return list(FAMILIES[family].choices(name, FIELDS[name].choices or ()))


def format_values(values: list[Any]) -> str:
    """A numeric axis's values as the text box shows them."""
    return ", ".join(f"{v:g}" for v in values)


def parse_values(name: str, text: str) -> list[Any]:
    """A numeric axis from text: '1, 2, 4' or a range 'start:stop:count' (add ' log' for
    geometric spacing). Every value is checked against the field's range."""
    text = (text or "").strip()
    if not text:
        raise ConfigError(f"grid.{name}: give at least one value")
    if ":" in text:
        body, _, mode = text.partition(" ")
        parts = body.split(":")
        if len(parts) != 3 or mode.strip() not in ("", "log"):
            raise ConfigError(f"grid.{name}: a range is start:stop:count (optionally ' log')")
        try:
            a, b, n = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise ConfigError(f"grid.{name}: a range is start:stop:count, e.g. 0.5:2:7") from None
        if not 1 <= n <= UI_MAX_AXIS_VALUES or not (math.isfinite(a) and math.isfinite(b)):
            raise ConfigError(f"grid.{name}: count from 1 to {UI_MAX_AXIS_VALUES}")
        if mode.strip() == "log":
            if a <= 0 or b <= 0:
                raise ConfigError(f"grid.{name}: a log range needs positive ends")
            raw = np.geomspace(a, b, n)
        else:
            raw = np.linspace(a, b, n)
        values = [round(float(v), 4) for v in raw]
        if FIELDS[name].kind is int:
            values = [int(round(v)) for v in values]
    else:
        values = [v.strip() for v in text.replace(";", ",").split(",") if v.strip()]
    if len(values) > UI_MAX_AXIS_VALUES:
        raise ConfigError(
            f"grid.{name}: {len(values)} values; the page allows {UI_MAX_AXIS_VALUES}"
        )
    try:
        typed = [coerce(name, v) for v in values]
    except ConfigError as e:
        raise ConfigError(f"grid.{e}") from None
    return list(dict.fromkeys(typed))  # a range of ints may repeat a value


def check_caps(spec: SweepSpec) -> str | None:
    """Why this sweep is too big for a shared dashboard, or None when it fits.

    The engine's cost model (``models.core.budget``) prices each grid point's comparison: the
    sweep's total may be ``SWEEP_WORK_FACTOR`` × a run's GFLOP cap, and any one point must fit
    the memory cap (a stack holds a few points' rows at a time).
    """
    if spec.n_runs > UI_MAX_RUNS:
        return (
            f"this sweep trains {spec.n_runs} runs (grid points × variants × seeds); the page "
            f"allows {UI_MAX_RUNS} (use `python -m models sweep` for more)"
        )
    for comp in spec.comparisons:
        for cfg in comp.variants:
            for name, cap in limits.UI_CAPS.items():
                if getattr(cfg, name) > cap:
                    return f"{name} = {getattr(cfg, name)}; the page allows up to {cap:g}"
    cap_g, cap_mb = resolve_caps(defaults=True)
    costs = [estimate(comp) for comp in spec.comparisons]
    total = sum(c.gflop for c in costs)
    if cap_g is not None and total > SWEEP_WORK_FACTOR * cap_g:
        return (
            f"this sweep needs ~{total:.0f} GFLOP, over the page's cap of "
            f"{SWEEP_WORK_FACTOR * cap_g:.0f} GFLOP; fewer grid values, steps or seeds (or use "
            "the CLI)"
        )
    worst = max(c.mb for c in costs)
    if cap_mb is not None and worst > cap_mb:
        return f"one grid point needs ~{worst:.0f} MB, over the cap of {cap_mb:.0f} MB"
    return None


def build(d: dict[str, Any]) -> SweepSpec:
    """The validated sweep of the page's dict (ConfigError with one message otherwise)."""
    return sweep_from_dict(d)

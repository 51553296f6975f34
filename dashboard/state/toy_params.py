"""The toy page's settings in the URL: parse leniently (bad values dropped with a notice)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
# name: (lo, hi, default, kind)
RANGES: dict[str, tuple[float, float, float, type]] = {
    "w": (-10.0, 10.0, 5.0, float),
    "b": (-6.0, 3.0, -1.0, float),
    "T": (1, 200, 50, int),
    "x0": (-2.0, 2.0, 0.5, float),
}
DEFAULTS: dict[str, Any] = {**{k: r[2] for k, r in RANGES.items()}, "activation": "sigmoid"}


def parse(params: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Toy settings from query parameters (defaults for the rest) and notices; never raises."""
    values, notices = dict(DEFAULTS), []
    for key, raw in dict(params).items():
        if key == "activation":
            if raw in ACTIVATIONS:
                values[key] = raw
            else:
                notices.append(
                    f"activation: '{str(raw)[:30]}' is not one of {', '.join(ACTIVATIONS)}"
                )
            continue
        if key not in RANGES:
            notices.append(f"unknown URL parameter '{str(key)[:30]}' was ignored")
            continue
        lo, hi, _, kind = RANGES[key]
        try:
            x = float(str(raw))
            if not math.isfinite(x) or not lo <= x <= hi or (kind is int and x != int(x)):
                raise ValueError
            values[key] = kind(x)
        except (TypeError, ValueError):
            notices.append(f"{key}: got '{str(raw)[:30]}'; allowed: {lo:g} to {hi:g}")
    return values, notices


def encode(values: Mapping[str, Any]) -> dict[str, str]:
    """Only what differs from the defaults, so the plain page keeps a plain address."""
    return {
        k: f"{v:g}" if isinstance(v, float) else str(v)
        for k, v in values.items()
        if k in DEFAULTS and v != DEFAULTS[k]
    }

"""The editable comparison behind the widgets: shared settings plus a list of variants.

Pure Python (no Streamlit), so the conversions are unit-testable. A draft is a dict:
``{"preset": str, "title": str, "shared": {field: value}, "variants": [{"_id": int, ...}]}``.
"""

from __future__ import annotations

import copy
from typing import Any

from models import (
    ACTIVATIONS,
    DATA_FIELDS,
    FIELDS,
    FORGET_GATE_CELLS,
    Comparison,
    comparison_from_dict,
    to_dict,
)

SHARED = {
    "mlp": ("task", "depth", "width", "arms", "batch_size", "steps", "seeds", "log_every"),
    "rnn": ("task", "seq_len", "hidden", "batch_size", "steps", "seeds", "log_every"),
}  # fmt: skip
# task=csv's file: shared by every variant like SHARED, but set by the "Your CSV" panel
# (dashboard/csv_panel.py), never by a widget of its own
SHARED_DATA = {"mlp": DATA_FIELDS, "rnn": ()}
# per-variant widgets, in display order; (field, shown only when predicate(variant) holds)
VARIANT_FIELDS: dict[str, tuple[tuple[str, Any], ...]] = {
    "mlp": (
        ("activation", None), ("init", None), ("init_gain", None),
        ("bias_std", lambda v: v.get("init") == "normal"),
        ("residual", None), ("norm", None), ("optimizer", None), ("lr", None),
        ("momentum", lambda v: v.get("optimizer") == "momentum"),
        ("clip_norm", None), ("clip_value", None),
    ),
    "rnn": (
        ("cell", None), ("activation", lambda v: v.get("cell") == "rnn"),
        ("recurrent_init", None),
        ("spectral_radius", lambda v: v.get("recurrent_init") == "scaled"),
        ("forget_bias", lambda v: v.get("cell") in FORGET_GATE_CELLS),
        ("init", None), ("init_gain", None), ("optimizer", None), ("lr", None),
        ("momentum", lambda v: v.get("optimizer") == "momentum"),
        ("clip_norm", None), ("clip_value", None),
    ),
}  # fmt: skip
# the activations a vanilla RNN cell may use (live: a newly registered one appears)
RNN_CELL_ACTIVATIONS = ACTIVATIONS.view(lambda a: a.recurrent)


def from_comparison(comparison: Comparison, preset: str, first_id: int = 0) -> dict[str, Any]:
    """A draft holding every field of every variant (nothing is lost, even if not shown)."""
    family = comparison.variants[0].family
    dicts = [to_dict(v) for v in comparison.variants]
    shared = {k: dicts[0][k] for k in (*SHARED[family], *SHARED_DATA[family])}
    variants = []
    for i, d in enumerate(dicts):
        rest = {k: v for k, v in d.items() if k not in shared}
        variants.append({"_id": first_id + i, **rest})
    return {"preset": preset, "title": comparison.title, "family": family, "shared": shared,
            "variants": variants}  # fmt: skip


def to_config_dict(draft: dict[str, Any]) -> dict[str, Any]:
    """The draft in the config-file format (shared settings apply to every variant)."""
    variants = []
    for v in draft["variants"]:
        d = {k: val for k, val in v.items() if k != "_id" and k in FIELDS}
        d.update(draft["shared"])
        variants.append(d)
    out: dict[str, Any] = {"variants": variants}
    if draft.get("title"):
        out["title"] = draft["title"]
    return out


def to_comparison(draft: dict[str, Any]) -> Comparison:
    """Validated comparison (raises ConfigError with a message naming the field)."""
    return comparison_from_dict(to_config_dict(draft))


def add_variant(draft: dict[str, Any]) -> dict[str, Any]:
    """Append a copy of the last variant under a fresh id and an unused name."""
    new = copy.deepcopy(draft["variants"][-1])
    new["_id"] = max(v["_id"] for v in draft["variants"]) + 1
    names = {v["name"] for v in draft["variants"]}
    k = len(draft["variants"]) + 1
    while f"variant {k}" in names:
        k += 1
    new["name"] = f"variant {k}"
    draft["variants"].append(new)
    return new


def remove_variant(draft: dict[str, Any], vid: int) -> None:
    """Drop a variant by id (the last one stays: a comparison needs at least one)."""
    if len(draft["variants"]) > 1:
        draft["variants"] = [v for v in draft["variants"] if v["_id"] != vid]


def visible_fields(family: str, variant: dict[str, Any]) -> list[str]:
    """The per-variant fields to show for this variant."""
    return [f for f, pred in VARIANT_FIELDS[family] if pred is None or pred(variant)]

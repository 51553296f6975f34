"""The editable comparison behind the widgets: shared settings plus a list of variants.

Pure Python (no Streamlit), so the conversions are unit-testable. A draft is a dict:
``{"preset": str, "title": str, "shared": {field: value}, "variants": [{"_id": int, ...}]}``.
"""

from __future__ import annotations

import copy
from typing import Any

from models import (
    FAMILIES,
    FIELDS,
    Comparison,
    comparison_from_dict,
    to_dict,
)

# Which fields are shared, which are set per variant (and when each shows) are the family's:
# ``FAMILIES[family].shared_fields``, ``.data_fields`` (task=csv's file, set by the "Your CSV"
# panel, dashboard/widgets/csv_panel.py, never by a widget of its own) and ``.variant_fields``.


def shared_fields(family: str) -> tuple[str, ...]:
    """Fields set once for every variant: the widgets' ones, then the CSV panel's."""
    fam = FAMILIES[family]
    return (*fam.shared_fields, *fam.data_fields)


def from_comparison(comparison: Comparison, preset: str, first_id: int = 0) -> dict[str, Any]:
    """A draft holding every field of every variant (nothing is lost, even if not shown)."""
    family = comparison.variants[0].family
    dicts = [to_dict(v) for v in comparison.variants]
    shared = {k: dicts[0][k] for k in shared_fields(family)}
    variants = []
    for i, d in enumerate(dicts):
        rest = {k: v for k, v in d.items() if k not in shared}
        variants.append({"_id": first_id + i, **rest})
    return {
        "preset": preset,
        "title": comparison.title,
        "family": family,
        "shared": shared,
        "variants": variants,
    }


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
    return FAMILIES[family].visible_fields(variant)

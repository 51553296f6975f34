"""Encode a comparison into URL query parameters and back, never raising on bad input.

Layout of the query (all values are strings):
- ``preset=NAME``: start from a named preset;
- ``cfg=<url-safe base64 of zlib-compressed compact JSON>``: the full resolved config (as
  ``Comparison.to_json_dict``), present only when the comparison differs from the preset;
- ``FIELD=VALUE`` for any config field: an override applied to every variant (like ``--set``).
Malformed, unknown or out-of-range parameters are dropped, each with a notice.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

from models import (
    DATA_FIELDS,
    DEFAULT_FAMILY,
    DEFAULT_PRESET,
    FAMILIES,
    FIELDS,
    PRESETS,
    Comparison,
    ConfigError,
    coerce,
    comparison_from_dict,
    load_preset,
    preset_dict,
)

MAX_PARAM_CHARS = 8_000  # a URL longer than this is not one a person shared by hand
MAX_INFLATED_BYTES = 200_000  # a decompression bomb stops here


def _canonical(comparison: Comparison) -> str:
    return json.dumps(comparison.to_json_dict(), sort_keys=True, separators=(",", ":"))


def config_key(comparison: Comparison) -> str:
    """A stable text key of the fully resolved config (for caches)."""
    return _canonical(comparison)


def pack(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode("ascii").rstrip("=")


def unpack(text: str) -> Any:
    """Inverse of pack; raises ValueError on anything malformed."""
    if len(text) > MAX_PARAM_CHARS:
        raise ValueError("too long")
    padded = text + "=" * (-len(text) % 4)
    packed = base64.urlsafe_b64decode(padded.encode("ascii"))
    d = zlib.decompressobj()
    raw = d.decompress(packed, MAX_INFLATED_BYTES)
    if d.unconsumed_tail:
        raise ValueError("too large")
    return json.loads(raw.decode("utf-8"))


def matching_preset(comparison: Comparison) -> str | None:
    """The preset this comparison is exactly, if any."""
    key = _canonical(comparison)
    for name in PRESETS:
        try:
            if _canonical(load_preset(name)) == key:
                return name
        except ConfigError:  # pragma: no cover - presets are validated by their own tests
            continue
    return None


def encode(comparison: Comparison, preset: str | None = None) -> dict[str, str]:
    """Query parameters that reproduce ``comparison`` (short ``preset=NAME`` when it is one)."""
    exact = matching_preset(comparison)
    if exact is not None:
        return {"preset": exact}
    if preset in PRESETS:
        readable = _as_overrides(comparison, preset)
        if readable is not None:  # e.g. ?preset=deep-mlp&steps=50: short and legible
            return {"preset": preset, **readable}
    # no preset's name beside a whole config: the link must not wear a name it is not
    return {"cfg": pack(comparison.to_json_dict())}


def _as_overrides(comparison: Comparison, preset: str) -> dict[str, str] | None:
    """Field overrides that turn ``preset`` into ``comparison``, when such exist."""
    try:
        base = load_preset(preset)
        if [v.name for v in base.variants] != [v.name for v in comparison.variants]:
            return None
        changed: dict[str, Any] = {}
        for name in FIELDS:
            if name == "name":
                continue
            values = {repr(getattr(v, name)) for v in comparison.variants}
            before = {repr(getattr(v, name)) for v in base.variants}
            if len(values) == 1 and values != before:
                changed[name] = getattr(comparison.variants[0], name)
        if _canonical(load_preset(preset, changed)) != _canonical(comparison):
            return None
        return {k: _text(v) for k, v in changed.items()}
    except Exception:
        return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _first(value: Any) -> str | None:
    """A query value as one string (Streamlit may hand lists for repeated keys)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        items = [v for v in value if isinstance(v, str)]
        return items[-1] if items else None
    return None


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def decode(
    params: Mapping[str, Any],
    family: str | None = None,
    default_preset: str = DEFAULT_PRESET,
    ignore: Iterable[str] = (),
) -> tuple[Comparison, list[str], str]:
    """(comparison, notices, preset name) from query parameters; never raises.

    ``family`` restricts the result to MLP or RNN comparisons (a mismatch falls back to the
    default preset with a notice); keys in ``ignore`` belong to someone else and are skipped.
    """
    notices: list[str] = []
    fallback = default_preset if default_preset in PRESETS else DEFAULT_PRESET
    try:
        items = dict(params.items()) if isinstance(params, Mapping) else {}
    except Exception:  # a mapping whose items() misbehaves
        items = {}
    skip = set(ignore)
    preset = fallback
    data: dict[str, Any] | None = None

    raw_preset = _first(items.get("preset")) if "preset" in items else None
    if raw_preset is not None:
        name = raw_preset.strip()
        if name in PRESETS and _family_ok(PRESETS[name], family):
            preset = name
        elif name in PRESETS:
            notices.append(f"preset '{name}' belongs to the other page; using '{fallback}'")
        else:
            notices.append(
                f"preset '{_short(raw_preset)}' is unknown and was ignored; "
                f"allowed: {', '.join(PRESETS)}"
            )
    data = preset_dict(preset)

    raw_cfg = _first(items.get("cfg")) if "cfg" in items else None
    if raw_cfg is not None:
        try:
            candidate = unpack(raw_cfg)
            comparison_from_dict(candidate)  # validate before accepting
            if not _family_ok(candidate, family):
                raise ConfigError("it belongs to the other page")
            data = candidate
        except ConfigError as e:
            notices.append(f"the shared config (cfg) was ignored: {e}")
        except Exception:
            notices.append("the shared config (cfg) is malformed and was ignored")

    # task=csv's fields are only valid together (data needs task=csv and the reverse), so each
    # of them is checked with the others the address holds
    together: dict[str, Any] = {}
    for key in ("task", *DATA_FIELDS):
        try:
            text = _first(items.get(key))
            if text is not None and len(text) <= 100:
                together[key] = coerce(key, text)
        except ConfigError:
            pass  # reported by the loop below
    overrides: dict[str, Any] = {}
    for key, value in items.items():
        if not isinstance(key, str) or key in ("preset", "cfg") or key in skip:
            continue
        if key not in FIELDS or key == "name":
            notices.append(f"unknown URL parameter '{_short(key)}' was ignored")
            continue
        text = _first(value)
        if text is None or len(text) > 100:
            notices.append(f"URL parameter '{key}' is malformed and was ignored")
            continue
        if key == "family":
            notices.append("URL parameter 'family' was ignored: each page has its own family")
            continue
        try:
            typed = coerce(key, text)
            extra = {k: v for k, v in together.items() if k != key} if key in together else {}
            variants = data.get("variants", [])
            for k in (key, *extra):
                variants = _without({"variants": variants}, k)
            comparison_from_dict({**data, **extra, key: typed, "variants": variants})
            overrides[key] = typed
        except ConfigError as e:
            notices.append(str(e))  # the page prefixes "Ignored from the address:"
        except Exception:
            notices.append(f"URL parameter '{key}' was ignored")

    base = data
    try:
        for key, typed in overrides.items():
            data = {**data, key: typed, "variants": _without(data, key)}
        comparison = comparison_from_dict(data)
    except Exception as e:  # overrides fine alone can still clash together
        notices.append(f"URL parameters could not be combined and were ignored ({e})")
        try:
            comparison = comparison_from_dict(base)
        except Exception:
            comparison = load_preset(preset)
    return comparison, notices, preset


def _without(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The variants of ``data`` with ``key`` removed, so a top-level override reaches all."""
    variants = data.get("variants", [])
    if not isinstance(variants, list):
        return variants
    return [
        {k: v for k, v in var.items() if k != key} if isinstance(var, dict) else var
        for var in variants
    ]


def link_family(params: dict[str, str]) -> str | None:
    """The family a link trains: its preset's, else its whole config's (``cfg``), else None.
    A link made by ``encode`` never names a preset beside a ``cfg``, so both are read."""
    preset = PRESETS.get(str(params.get("preset", "")).strip())
    if preset is not None:
        return preset.get("family", DEFAULT_FAMILY)
    try:
        data = unpack(params["cfg"]) if "cfg" in params else None
    except Exception:  # noqa: BLE001 - a malformed cfg is the page's notice to give
        return None
    if not isinstance(data, dict):
        return None
    fams = {data.get("family", DEFAULT_FAMILY)}
    fams |= {
        v["family"] for v in data.get("variants", []) or [] if isinstance(v, dict) and "family" in v
    }
    return fams.pop() if len(fams) == 1 and next(iter(fams)) in FAMILIES else None


def _family_ok(data: Any, family: str | None) -> bool:
    """True when the config dict trains the requested family (or any, for None)."""
    if family is None:
        return True
    if not isinstance(data, dict):
        return False
    fams = {data.get("family", DEFAULT_FAMILY)}
    for v in data.get("variants", []) or []:
        if isinstance(v, dict) and "family" in v:
            fams.add(v["family"])
    return fams == {family}

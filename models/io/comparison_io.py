"""Read comparisons from config files (TOML or JSON) and apply ``--set`` overrides."""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

from ..core.config import FIELDS, Comparison, RunConfig, coerce, make_config
from ..core.errors import ConfigError

MAX_VARIANTS = 12
MAX_FILE_BYTES = 1_000_000
META_KEYS = ("title", "watched")


def comparison_from_dict(data: Any, overrides: dict[str, Any] | None = None) -> Comparison:
    """Build a validated comparison: top-level keys are shared, ``variants`` lists the variants."""
    if not isinstance(data, dict):
        raise ConfigError("config: the top level must be a table of fields with a 'variants' list")
    shared = {k: v for k, v in data.items() if k not in ("variants",) + META_KEYS}
    watched = check_watched(data.get("watched"))
    if watched is not None and shared:
        raise ConfigError(
            f"watched: a watched run's config has no lab fields, got {sorted(shared)}"
        )
    title = data.get("title", "")
    if not isinstance(title, str) or len(title) > 200:
        raise ConfigError("title: expected text of at most 200 characters")
    for k in shared:
        if k not in FIELDS:
            raise ConfigError(f"unknown field '{k}'; known fields: {', '.join(FIELDS)}")
    variants = data.get("variants", [{"name": "variant"}])
    if not isinstance(variants, list) or not variants:
        raise ConfigError("variants: expected a non-empty list of tables, each with a 'name'")
    if len(variants) > MAX_VARIANTS:
        raise ConfigError(f"variants: {len(variants)} given; allowed: 1 to {MAX_VARIANTS}")
    overrides = {k: coerce(k, v) for k, v in (overrides or {}).items()}
    configs: list[RunConfig] = []
    for i, v in enumerate(variants):
        if not isinstance(v, dict):
            raise ConfigError(f"variants[{i}]: expected a table of fields")
        if "name" not in v:
            raise ConfigError(f"variants[{i}]: every variant needs a 'name'")
        try:
            cfg = make_config({**shared, **v, **overrides})
        except ConfigError as e:
            raise ConfigError(f"variant '{v.get('name')}': {e}") from None
        configs.append(cfg)
    names = [c.name for c in configs]
    if len(set(names)) != len(names):
        raise ConfigError(f"variants: names must be unique, got {names}")
    return Comparison(variants=configs, title=title, watched=watched)


MAX_WATCHED_LAYERS = 100_000


def check_watched(meta: Any) -> dict[str, Any] | None:
    """A watched run's ``watched`` table (see models.watch): JSON data with lists of text names."""
    if meta is None:
        return None
    if not isinstance(meta, dict):
        raise ConfigError("watched: expected a table")
    for key in ("layers", "activations"):
        names = meta.get(key, [])
        if not isinstance(names, list) or len(names) > MAX_WATCHED_LAYERS:
            raise ConfigError(
                f"watched.{key}: expected a list of at most {MAX_WATCHED_LAYERS} names"
            )
        if not all(isinstance(n, str) for n in names):
            raise ConfigError(f"watched.{key}: every name must be text")
    return meta


def read_config_file(path: str | Path) -> Any:
    """Read and parse a TOML or JSON config file (size-capped, UTF-8), data only."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config: no such file '{path}'")
    if p.stat().st_size > MAX_FILE_BYTES:
        raise ConfigError(f"config: '{path}' is larger than {MAX_FILE_BYTES} bytes")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"config: cannot read '{path}' as UTF-8 text ({e})") from None
    return parse_config_text(text, p.suffix.lower())


def load_comparison_file(path: str | Path, overrides: dict[str, Any] | None = None) -> Comparison:
    """Load a TOML or JSON config file into a validated comparison."""
    return comparison_from_dict(read_config_file(path), overrides)


def parse_config_text(text: str, suffix: str = "") -> Any:
    """Parse TOML or JSON text (by suffix; JSON first when unknown), data only."""
    # Both decode errors are ValueErrors; so are json's ">4300 digits" and our own ConfigError
    # for NaN/Infinity. Deep nesting raises RecursionError. None of them may reach the user raw.
    if suffix == ".toml":
        return _parse_toml(text, "malformed TOML")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ConfigError:
        raise
    except (ValueError, RecursionError) as e:
        if suffix == ".json":
            raise ConfigError(f"config: malformed JSON ({_short(e)})") from None
    return _parse_toml(text, "neither valid JSON nor TOML")


def _parse_toml(text: str, what: str) -> Any:
    try:
        return tomllib.loads(text)
    except (ValueError, RecursionError) as e:
        raise ConfigError(f"config: {what} ({_short(e)})") from None


def _short(e: BaseException) -> str:
    msg = str(e) or type(e).__name__
    return msg if len(msg) <= 200 else msg[:200] + "…"


def _reject_constant(name: str) -> float:
    # JSON's NaN/Infinity are not numbers a user can mean for a setting
    raise ConfigError(f"config: {name} is not an allowed value")


def parse_set_args(items: list[str]) -> dict[str, Any]:
    """Turn ``key=value`` strings into a dict of typed, validated overrides."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set: expected key=value, got {item!r}")
        out[key] = coerce(key, value)
    return out


def is_finite_number(x: Any) -> bool:
    """True for real, finite numbers (not bools)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)

"""A sweep: a comparison (shared fields, variants) trained at every point of a grid of fields.

The file format is a run config plus a ``grid`` table ({field: non-empty list of values});
``SweepSpec.to_json_dict`` is the resolved sweep, which ``sweep_from_dict`` reads back exactly.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.config import FIELDS, Comparison, RunConfig, coerce
from ..core.errors import ConfigError
from ..io.comparison_io import (
    comparison_from_dict,
    read_config_file,
)
from ..io.presets import preset_dict

DEFAULT_MAX_RUNS = 2000  # grid points × variants × seeds; env GFL_SWEEP_MAX_RUNS overrides
# fields that cannot be an axis: labels and the seed list (seeds are trained at every point)
NOT_AXES = ("name", "seeds", "seed")
MAX_AXIS_VALUES = 200


def max_runs() -> int:
    """The cap on grid points × variants × seeds (GFL_SWEEP_MAX_RUNS, else 2000)."""
    raw = os.environ.get("GFL_SWEEP_MAX_RUNS", "").strip()
    if not raw:
        return DEFAULT_MAX_RUNS
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(
            f"GFL_SWEEP_MAX_RUNS: got {raw!r}; allowed: a positive whole number"
        ) from None
    if value < 1:
        raise ConfigError(f"GFL_SWEEP_MAX_RUNS: got {raw!r}; allowed: a positive whole number")
    return value


@dataclass(frozen=True)
class Point:
    """One grid point: its values in axis order."""

    index: int
    values: tuple[Any, ...]

    def key(self) -> str:
        """A stable text key (the resume check compares these)."""
        return json.dumps(list(self.values))


@dataclass
class SweepSpec:
    """A validated sweep: the base comparison's dict, the grid axes and their values."""

    base: dict[str, Any]  # shared fields and ``variants`` (the comparison file format)
    grid: dict[str, list[Any]]  # axis -> values, in file order
    title: str = ""
    points: list[Point] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)  # one per point

    @property
    def axes(self) -> list[str]:
        return list(self.grid)

    @property
    def variant_names(self) -> list[str]:
        return [v.name for v in self.comparisons[0].variants]

    @property
    def n_runs(self) -> int:
        """Grid points × variants × seeds."""
        return sum(v.seeds for c in self.comparisons for v in c.variants)

    def point_comparison(self, point: Point | int) -> Comparison:
        """The comparison trained at one grid point (every variant, the point's values set)."""
        i = point.index if isinstance(point, Point) else point
        return copy.deepcopy(self.comparisons[i])

    def point_for(self, values: dict[str, Any]) -> Point:
        """The grid point with these axis values."""
        want = tuple(coerce(a, values[a]) for a in self.axes)
        for p in self.points:
            if p.values == want:
                return p
        raise ConfigError(f"no grid point with {values}")

    def to_json_dict(self) -> dict[str, Any]:
        """The resolved sweep: every field explicit; ``--config`` on it gives the same sweep."""
        out = self.comparisons[0].to_json_dict()
        for axis in self.grid:
            out.pop(axis, None)
            for v in out["variants"]:
                v.pop(axis, None)
        out.pop("title", None)
        head = {"title": self.title} if self.title else {}
        return {**head, **out, "grid": copy.deepcopy(self.grid)}


def sweep_from_dict(data: Any, overrides: dict[str, Any] | None = None) -> SweepSpec:
    """Validate a sweep dict (a run config with ``grid``, optional ``preset``); one message on error."""
    if not isinstance(data, dict):
        raise ConfigError("sweep: the top level must be a table of fields with a [grid] table")
    data = copy.deepcopy(data)
    grid_raw = data.pop("grid", None)
    if not isinstance(grid_raw, dict) or not grid_raw:
        raise ConfigError(
            "grid: expected a table of axes, each a config field with a non-empty list of values"
        )
    preset = data.pop("preset", None)
    if preset is not None:
        if not isinstance(preset, str):
            raise ConfigError("preset: expected the name of a comparison preset")
        base = preset_dict(preset)
        if "variants" in data:
            base.pop("variants", None)
        base.update(data)
        data = base
    overrides = dict(overrides or {})
    grid: dict[str, list[Any]] = {}
    for axis, values in grid_raw.items():
        axis = str(axis)
        if axis not in FIELDS:
            raise ConfigError(f"grid: unknown field '{axis}'; known fields: {', '.join(FIELDS)}")
        if axis in NOT_AXES:
            raise ConfigError(
                f"grid: '{axis}' cannot be an axis (every variant and seed is trained at every "
                "point; set seeds with --seeds)"
            )
        if not isinstance(values, list) or not values:
            raise ConfigError(f"grid.{axis}: expected a non-empty list of values")
        if len(values) > MAX_AXIS_VALUES:
            raise ConfigError(f"grid.{axis}: {len(values)} values; allowed: 1 to {MAX_AXIS_VALUES}")
        try:
            typed = [coerce(axis, v) for v in values]
        except ConfigError as e:
            raise ConfigError(f"grid.{e}") from None
        if len(set(typed)) != len(typed):
            raise ConfigError(f"grid.{axis}: values must be distinct, got {values}")
        if axis in overrides:
            raise ConfigError(f"--set {axis}: '{axis}' is a grid axis; change its list instead")
        grid[axis] = typed
    for i, v in enumerate(data.get("variants") or []):
        if isinstance(v, dict):
            clash = [a for a in grid if a in v]
            if clash:
                raise ConfigError(
                    f"variants[{i}]: sets '{clash[0]}', which is a grid axis (a variant may not "
                    "fix an axis's value)"
                )
    title = data.get("title", "")
    n_points = 1
    for values in grid.values():
        n_points *= len(values)
    cap = max_runs()
    if n_points > cap:  # before building thousands of configs
        raise ConfigError(_over_cap(n_points, n_points, cap))
    spec = SweepSpec(base=data, grid=grid, title=title if isinstance(title, str) else "")
    for i, values in enumerate(itertools.product(*grid.values())):
        point_values = dict(zip(grid, values))
        try:
            comp = comparison_from_dict(data, {**overrides, **point_values})
        except ConfigError as e:
            where = ", ".join(f"{k}={v}" for k, v in point_values.items())
            raise ConfigError(f"at grid point {where}: {e}") from None
        spec.points.append(Point(i, tuple(values)))
        spec.comparisons.append(comp)
        if i == 0:
            per_point = sum(v.seeds for v in comp.variants)
            if n_points * per_point > cap:
                raise ConfigError(_over_cap(n_points * per_point, n_points, cap))
    if overrides:  # the resolved base carries the overrides (sweep.json reproduces the run)
        spec.base = {**data, **overrides}
    return spec


def _over_cap(runs: int, points: int, cap: int) -> str:
    return (
        f"this sweep trains {runs} runs ({points} grid points × variants × seeds), over the cap "
        f"of {cap}; shorten the grid's lists, use fewer variants or seeds, or raise the cap with "
        "GFL_SWEEP_MAX_RUNS"
    )


def load_sweep_file(path: str | Path, overrides: dict[str, Any] | None = None) -> SweepSpec:
    """Load a TOML or JSON sweep file."""
    return sweep_from_dict(read_config_file(path), overrides)


def point_configs(spec: SweepSpec) -> list[tuple[Point, RunConfig]]:
    """Every (grid point, variant config) pair, in grid order then variant order."""
    return [(p, v) for p, c in zip(spec.points, spec.comparisons) for v in c.variants]

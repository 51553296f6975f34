"""Sweeps: a comparison trained at every point of a grid of config fields (phase diagrams).

``spec`` reads and validates sweep files, ``stacked`` trains grid points that share an
architecture as one stacked model, ``backends`` runs the stacks locally or on Ray, ``api`` is
``run_sweep`` and the sweep.csv/sweep.json contract, ``presets`` the named sweeps.
"""

from .api import (
    SWEEP_COLUMNS,
    SweepProgress,
    SweepResult,
    check_out_dir,
    read_rows,
    run_sweep,
)
from .backends import BACKENDS, ray_available
from .overlay import mean_field_applies, mean_field_overlay, pascanu_applies, pascanu_length
from .presets import DEFAULT_SWEEP_PRESET, SWEEP_PRESETS, load_sweep_preset, sweep_preset_dict
from .spec import Point, SweepSpec, load_sweep_file, max_runs, sweep_from_dict

__all__ = [
    "BACKENDS",
    "SWEEP_COLUMNS",
    "Point",
    "SweepProgress",
    "SweepResult",
    "SweepSpec",
    "check_out_dir",
    "load_sweep_file",
    "max_runs",
    "ray_available",
    "read_rows",
    "run_sweep",
    "sweep_from_dict",
    "DEFAULT_SWEEP_PRESET",
    "SWEEP_PRESETS",
    "load_sweep_preset",
    "sweep_preset_dict",
    "mean_field_applies",
    "mean_field_overlay",
    "pascanu_applies",
    "pascanu_length",
]

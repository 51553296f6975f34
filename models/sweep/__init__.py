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
from .spec import Point, SweepSpec, load_sweep_file, max_runs, sweep_from_dict

__all__ = [
    "BACKENDS", "SWEEP_COLUMNS", "Point", "SweepProgress", "SweepResult", "SweepSpec",
    "check_out_dir", "load_sweep_file", "max_runs", "ray_available", "read_rows", "run_sweep",
    "sweep_from_dict",
]  # fmt: skip

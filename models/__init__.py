"""Gradient Flow Lab engine: pure PyTorch models, tasks, training, instrumentation and theory.

Layers, lowest first (ARCHITECTURE.md; tests/test_layers.py holds every arrow): ``models.core``
(registries, config, nets, trainer, runner, budget, theory) with ``models.fastpath`` (hand-written
backward passes beneath the trainer); ``models.io`` (config files, presets); ``models.store`` (the
run store) and ``models.sweep`` (grids of runs); ``models.science`` (published claims measured on
the engine); ``models.cli`` (the command line). Code outside ``models`` (the dashboard,
benchmarks, scripts) imports the public names below.
"""

from .core import theory
from .core.activations import ACTIVATIONS, Activation
from .core.budget import check_budget, estimate, resolve_caps, resolve_row_cap
from .core.cells import CELLS
from .core.config import (
    CSV_TASK,
    DATA_FIELDS,
    DEFAULT_FAMILY,
    FIELDS,
    FORGET_GATE_CELLS,
    Comparison,
    RunConfig,
    coerce,
    make_config,
    to_dict,
)
from .core.csv_parser import MAX_BYTES as MAX_DATA_BYTES
from .core.csv_parser import MAX_CLASSES as MAX_DATA_CLASSES
from .core.csv_parser import MAX_FEATURES as MAX_DATA_FEATURES
from .core.csv_parser import MAX_ROWS as MAX_DATA_ROWS
from .core.csv_parser import RawTable, Table, build_table, read_csv
from .core.errors import ConfigError, DataError
from .core.families import MLP_TASKS, RECURRENT_ACTIVATIONS, RNN_TASKS
from .core.family_registry import FAMILIES, Family
from .core.init import RECURRENT_INITS, WEIGHT_INITS
from .core.metrics import METRICS, Metric, condition_log10
from .core.nets import RNN_WEIGHT_NAMES
from .core.norms import NORMS
from .core.optim import OPTIMIZERS
from .core.runner import (
    METRIC_COLUMNS,
    SUMMARY_COLUMNS,
    Progress,
    RunResult,
    run_comparison,
    slice_steps,
)
from .core.tabular import remember_dims, resolve_tables
from .core.tasks import TASKS, chance_loss, task_title
from .core.threads import configure_threads, configure_workers, env_int
from .io.comparison_io import comparison_from_dict, load_comparison_file, parse_set_args
from .io.presets import (
    DEFAULT_PRESET,
    DEFAULT_RNN_PRESET,
    PRESETS,
    load_preset,
    preset_dict,
)
from .io.safe_csv import safe_csv
from .store import (
    SHARE_ID,
    RunStore,
    StoreError,
    StoreUnavailable,
    SweepStore,
    default_store_path,
    open_store,
)
from .sweep import (
    DEFAULT_SWEEP_PRESET,
    SWEEP_PRESETS,
    SweepResult,
    SweepSpec,
    mean_field_applies,
    mean_field_overlay,
    pascanu_applies,
    pascanu_length,
    run_sweep,
    sweep_from_dict,
    sweep_preset_dict,
)
from .watch import INSTRUMENTS as WATCH_INSTRUMENTS
from .watch import WATCHED_PREFIX, Finding, WatchedRun, diagnose, is_watched

__all__ = [
    "CSV_TASK",
    "DATA_FIELDS",
    "DataError",
    "MAX_DATA_BYTES",
    "MAX_DATA_CLASSES",
    "MAX_DATA_FEATURES",
    "MAX_DATA_ROWS",
    "RawTable",
    "Table",
    "build_table",
    "read_csv",
    "remember_dims",
    "resolve_tables",
    "task_title",
    "DEFAULT_FAMILY",
    "FAMILIES",
    "Family",
    "METRICS",
    "Metric",
    "condition_log10",
    "RECURRENT_ACTIVATIONS",
    "ACTIVATIONS",
    "Activation",
    "CELLS",
    "NORMS",
    "OPTIMIZERS",
    "RECURRENT_INITS",
    "TASKS",
    "WEIGHT_INITS",
    "RNN_WEIGHT_NAMES",
    "DEFAULT_PRESET",
    "DEFAULT_RNN_PRESET",
    "FIELDS",
    "FORGET_GATE_CELLS",
    "METRIC_COLUMNS",
    "MLP_TASKS",
    "PRESETS",
    "RNN_TASKS",
    "SUMMARY_COLUMNS",
    "Comparison",
    "ConfigError",
    "Progress",
    "RunConfig",
    "RunResult",
    "chance_loss",
    "check_budget",
    "coerce",
    "comparison_from_dict",
    "configure_threads",
    "configure_workers",
    "env_int",
    "estimate",
    "load_comparison_file",
    "load_preset",
    "make_config",
    "parse_set_args",
    "preset_dict",
    "resolve_caps",
    "resolve_row_cap",
    "run_comparison",
    "safe_csv",
    "slice_steps",
    "theory",
    "to_dict",
    "SHARE_ID",
    "RunStore",
    "StoreError",
    "StoreUnavailable",
    "SweepStore",
    "default_store_path",
    "open_store",
    "DEFAULT_SWEEP_PRESET",
    "SWEEP_PRESETS",
    "SweepResult",
    "SweepSpec",
    "mean_field_applies",
    "mean_field_overlay",
    "pascanu_applies",
    "pascanu_length",
    "run_sweep",
    "sweep_from_dict",
    "sweep_preset_dict",
    # watch() itself is gradient_flow_lab.watch (models.watch.watch): ``models.watch`` stays the
    # subpackage's name
    "WATCHED_PREFIX",
    "WATCH_INSTRUMENTS",
    "Finding",
    "WatchedRun",
    "diagnose",
    "is_watched",
]

"""Gradient Flow Lab engine: pure PyTorch models, tasks, training, instrumentation and theory."""

from models.comparison_io import comparison_from_dict, load_comparison_file, parse_set_args
from models.config import FIELDS, Comparison, RunConfig, coerce, make_config
from models.errors import ConfigError
from models.runner import Progress, RunResult, run_comparison

__all__ = [
    "FIELDS", "Comparison", "ConfigError", "Progress", "RunConfig", "RunResult", "coerce",
    "comparison_from_dict", "load_comparison_file", "make_config", "parse_set_args",
    "run_comparison",
]  # fmt: skip

"""The task registry: every task a config may name (entries: ``models.core.tasks``).

Kept apart from the builders so that config validation can read it without importing the data
code (which imports the config).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .registry import Registry

if TYPE_CHECKING:
    from .config import RunConfig


@dataclass(frozen=True)
class TaskSpec:
    """One task: its family, how to build it, and its sizes for the budget (without data)."""

    name: str
    family: str  # the model family that reads it: mlp | rnn
    build: Callable[..., Any]  # (cfg, table=None) -> models.core.tasks.Task
    dims: Callable[[RunConfig], tuple[int, int]]  # (input features, outputs)
    val_size: Callable[[RunConfig], int]  # validation examples (sequences)
    description: str  # one line for the UI
    chance: Callable[[RunConfig], float]  # loss of a guess that ignores the input
    kind: str = "classification"  # classification | regression (its loss)
    bundled_table: bool = False  # one of scikit-learn's bundled tables (models.core.tabular)
    label: str = ""  # short name for a picker ("Your CSV"); empty: the name


TASKS: Registry[TaskSpec] = Registry("task")

"""The family registry: every model family a config may name (entries: ``models.core.families``).

A family is everything the engine and the dashboard ask of a kind of net: how to build it, its
config fields, its cost model, what its depth is called on axes and in captions (layer, time
step, block), which charts apply to it and which preset its page opens with. Code outside the
registry asks the entry and never branches on a family's name; ``tests/app/test_family_registry.py``
greps for such branches.

Kept apart from the entries so that config validation can read it without importing the nets,
the trainer and the budget (which import the config).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .registry import Registry, Selection
from .task_registry import TASKS

if TYPE_CHECKING:
    from torch import nn

    from .budget import VariantCost
    from .config import RunConfig
    from .trainer import VariantTrainer

# (field, shown only when predicate(variant dict) holds; None: always)
VariantField = tuple[str, Callable[[dict], bool] | None]


@dataclass(frozen=True)
class Family:
    """One model family. Callables take a ``RunConfig`` unless said otherwise."""

    name: str
    title: str  # the page's name: "Deep networks"
    heading: str  # the page's title line
    intro: str  # the paragraph under it (Markdown: the app's own text, never user text)
    page: str  # its page's script under dashboard/; "": the shared lab page (dashboard/app.py)
    default_preset: str  # the preset the page opens with
    # --- the engine ---
    build: Callable[[RunConfig, int, int], nn.Module]  # (cfg, n_in, n_out) -> stacked net
    check: Callable[[RunConfig], None]  # cross-field rules; raises ConfigError
    not_its_task: str  # what another family's task is to this one: "a sequence task"
    # the fast path where it covers the variant: sets the trainer's backprop, fused and
    # step_impl (None: every variant trains through autograd)
    fast_path: Callable[[VariantTrainer], None] | None
    # --- the budget (models.core.budget) ---
    cost: Callable[[RunConfig], VariantCost]  # FLOPs, memory and rows of one variant
    forward_flops: Callable[[RunConfig, int], int]  # counted matmul FLOPs, one seed, a batch
    first_layer_flops: Callable[[RunConfig, int], int]  # the input layer's weight-gradient part
    weight_layers: Callable[[RunConfig], int]  # values of a per-layer metric (grad_norm, ...)
    hidden_layers: Callable[[RunConfig], int]  # values of saturation (pooled: 1)
    # --- depth: what the gradient profile's axis counts ---
    depth_unit: str  # "layer" | "time step": axes and captions
    depth_symbol: str  # "l" | "t"
    depth_note: str  # said after the axis title where there is room: " (1 = input side)"
    gradient_metric: str  # the metric the gradient profile draws over depth
    gradient_title: str  # "Gradient per layer"
    depth_of: Callable[[RunConfig], int]  # the last index of gradient_metric
    first_depth: str  # "the first hidden layer": in the headline
    last_depth: str  # "the last": its counterpart
    # its own metrics beyond those every family records (models.core.metrics, ``own``)
    metrics: tuple[str, ...] = ()
    weight_names: tuple[str, ...] = ()  # names of the weight layers 1..n; () = "layer i"
    # --- the dashboard's editor ---
    shared_fields: tuple[str, ...] = ()  # set once for every variant (the sidebar)
    data_fields: tuple[str, ...] = ()  # shared, but set by the CSV panel, not a widget
    variant_fields: tuple[VariantField, ...] = ()  # per variant, in display order
    field_choices: Mapping[str, Sequence[str]] = field(default_factory=dict)  # narrower choices
    accepts_csv: bool = False  # task=csv is one of its tasks (the page shows the CSV panel)
    # the results page's charts, by name (dashboard.widgets.result_charts.CHARTS), in page order
    charts: tuple[str, ...] = ()
    # editor labels this family words its own way ({'depth': 'Depth (blocks)'}); others: the editor's
    labels: dict[str, str] = field(default_factory=dict)
    slider_where: str = ""  # "per-layer": which charts the step slider moves
    size_text: str = ""  # its size in a run's one-line summary: "depth {depth} × width {width}"
    size_field: str = ""  # the field that widens it (the benchmarks' workloads)
    # which theory overlays apply: mean-field χ₁ (a plain stack of layers), Pascanu's bound
    # (a recurrent weight matrix applied T times)
    mean_field: bool = False
    pascanu: bool = False

    @property
    def key(self) -> str:
        """Prefix of this family's session keys and widget keys."""
        return self.name

    @property
    def tasks(self) -> Selection:
        """Its tasks (a live view of the task registry)."""
        return TASKS.view(lambda t: t.family == self.name)

    @property
    def depth_axis(self) -> str:
        """The gradient profile's x title: "layer l"."""
        return f"{self.depth_unit} {self.depth_symbol}"

    @property
    def editable_fields(self) -> list[str]:
        """Every field its page edits: the shared ones, then the per-variant ones."""
        return [*self.shared_fields, *(f for f, _ in self.variant_fields)]

    def visible_fields(self, variant: dict) -> list[str]:
        """The per-variant fields to show for this variant."""
        return [f for f, pred in self.variant_fields if pred is None or pred(variant)]

    def choices(self, name: str, default: Sequence[str]) -> Sequence[str]:
        """The values a field may take in this family (its own narrower list, else ``default``)."""
        return self.field_choices.get(name, default)


FAMILIES: Registry[Family] = Registry("family")


def family_of(name: str) -> Family:
    """The entry of a family name (ConfigError naming the allowed ones when unknown)."""
    return FAMILIES[name]

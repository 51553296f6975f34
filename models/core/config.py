"""Run configuration: one dataclass per variant, and the schema that validates every field.

The schema (``FIELDS``) is the single source of truth for names, types and allowed values: the
CLI, config files, the dashboard's widgets and its URL parameters all go through ``coerce``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .activations import ACTIVATIONS
from .cells import CELLS
from .errors import ConfigError
from .family_registry import FAMILIES
from .init import RECURRENT_INITS, WEIGHT_INITS
from .norms import LN_PLACEMENTS, NORMS
from .optim import OPTIMIZERS
from .task_registry import TASKS

# live selections of the registries: an entry registered later appears in them
# tables (models.core.tabular): scikit-learn's bundled sets (the user's CSV file is task=csv)
TABLE_TASKS = TASKS.view(lambda t: t.bundled_table)
FORGET_GATE_CELLS = CELLS.view(lambda c: c.forget_gate)  # where forget_bias applies
CSV_TASK = "csv"  # the user's own table: fields data, target, data_sha256
DATA_FIELDS = ("data", "target", "data_sha256")  # only task=csv sets them


@dataclass
class RunConfig:
    """Every setting of one variant. Defaults give a small, fast deep-sigmoid MLP on digits."""

    name: str = "variant"  # label shown in tables and legends
    family: str = "mlp"  # an entry of models.core.families: mlp | rnn
    task: str = "digits"  # digits | spirals | breast-cancer | wine | iris | csv (mlp);
    # adding | seq-digits | temporal-order (rnn)
    # --- deep MLP ---
    depth: int = 20  # number of hidden layers
    width: int = 64  # units per hidden layer
    activation: str = "sigmoid"  # hidden non-linearity (MLP, and the vanilla RNN cell)
    init: str = "default"  # default (PyTorch's) | normal (mean field) | xavier | he | orthogonal
    init_gain: float = 1.0  # multiplies the scale of the `init` scheme (not W_hh: recurrent_init)
    bias_std: float = 0.0  # std of biases for init=normal (σ_b); other schemes keep their own
    residual: bool = False  # identity skip around each hidden block of equal width
    # ReZero (Bachlechner et al. 2020): each residual branch scaled by a learnable scalar that
    # starts at 0, so a deep stack without normalisation starts as the identity (needs residual)
    rezero: bool = False
    norm: str = "none"  # none | batch | layer, applied to each hidden pre-activation
    # --- recurrent ---
    cell: str = "rnn"  # rnn | lstm | gru
    hidden: int = 64  # hidden units of the recurrent cell
    seq_len: int = 50  # sequence length T (seq-digits is always 64)
    recurrent_init: str = "default"  # default | orthogonal | identity (IRNN) | scaled
    spectral_radius: float = 1.0  # target spectral radius of W_hh for recurrent_init=scaled
    # added to the LSTM forget gate's bias at init (Gers et al. 2000; Keras' unit_forget_bias):
    # σ(1) ≈ 0.73 keeps the cell state from the first step; 0 = PyTorch's init, mean σ(0) = 0.5
    forget_bias: float = 1.0
    # --- transformer ---
    heads: int = 4  # attention heads per block (width must be a multiple)
    ln_placement: str = "post"  # post (Vaswani et al. 2017) | pre (Xiong et al. 2020)
    # DeepNorm (Wang et al. 2022): Post-LN's residual scaled by α = (2N)^{1/4}, the value,
    # output and FFN weights by β = (8N)^{-1/4} at init, for N = depth blocks
    deepnorm: bool = False
    # --- task ---
    arms: int = 3  # number of spiral arms (classes) for task=spirals
    data: str = ""  # task=csv: path of the CSV file (the dashboard: the uploaded file's name)
    target: str = ""  # task=csv: the label column; empty = the last column
    data_sha256: str = ""  # task=csv: the file's SHA-256, recorded when it is read; a rerun
    # whose file no longer has this hash stops with a message (empty = accept any contents)
    # --- training ---
    optimizer: str = "momentum"  # sgd | momentum | adam
    lr: float = 0.05  # learning rate
    momentum: float = 0.9  # momentum coefficient for optimizer=momentum
    batch_size: int = 64  # examples per step
    clip_norm: float = 0.0  # clip the global gradient norm to this value; 0 = off
    clip_value: float = 0.0  # clamp every gradient entry to ±this value; 0 = off
    # linear learning-rate warm-up: update k (0-based) uses lr·min(1, (k+1)/warmup_steps);
    # 0 = none (every family)
    warmup_steps: int = 0
    steps: int = 200  # parameter updates
    seeds: int = 1  # independent initialisations, trained together
    seed: int = 0  # first seed; the seeds are seed, seed+1, ...
    data_seed: int = 0  # data order; shared by all variants so only the mitigation differs
    log_every: int = 10  # record metrics every this many steps (and at step 0 and the end)

    def seed_list(self) -> list[int]:
        """The initialisation seeds of this variant."""
        return [self.seed + i for i in range(self.seeds)]


DEFAULT_FAMILY = RunConfig.family  # a config (or preset) that names no family trains this one


@dataclass(frozen=True)
class Field:
    """Type and allowed values of one config field."""

    kind: type
    # the allowed names: a tuple, or a registry (read afresh, so later entries count)
    choices: Sequence[str] | None = None
    lo: float | None = None
    hi: float | None = None
    help: str = ""
    max_len: int = 60  # text fields: the longest value allowed
    empty: bool = False  # text fields: whether "" is allowed (it then means "not set")
    pattern: str | None = None  # text fields: a regular expression a non-empty value matches

    def allowed(self) -> str:
        """Human-readable description of the allowed values."""
        if self.choices:
            return "one of " + ", ".join(self.choices)
        if self.kind is bool:
            return "true or false"
        what = {int: "an integer", float: "a number", str: "text"}[self.kind]
        if self.lo is not None and self.hi is not None:
            return f"{what} from {_fmt(self.lo)} to {_fmt(self.hi)}"
        return what


def _fmt(x: float) -> str:
    return f"{x:g}"


FIELDS: dict[str, Field] = {
    "name": Field(str, help="variant label"),
    "family": Field(str, choices=FAMILIES),
    "task": Field(str, choices=TASKS),
    "depth": Field(int, lo=1, hi=64),
    "width": Field(int, lo=4, hi=512),
    "activation": Field(str, choices=ACTIVATIONS),
    "init": Field(str, choices=WEIGHT_INITS),
    "init_gain": Field(float, lo=0.0, hi=20.0),
    "bias_std": Field(float, lo=0.0, hi=10.0),
    "residual": Field(bool),
    "rezero": Field(bool, help="scale each residual branch by a learnable scalar starting at 0"),
    "norm": Field(str, choices=NORMS),
    "cell": Field(str, choices=CELLS),
    "hidden": Field(int, lo=4, hi=256),
    "seq_len": Field(int, lo=5, hi=1000),
    "recurrent_init": Field(str, choices=RECURRENT_INITS),
    "spectral_radius": Field(float, lo=0.0, hi=10.0),
    "forget_bias": Field(float, lo=-10.0, hi=10.0),
    "heads": Field(int, lo=1, hi=16, help="attention heads per block"),
    "ln_placement": Field(str, choices=LN_PLACEMENTS),
    "deepnorm": Field(bool, help="DeepNorm: Post-LN residual ×(2N)^¼, branch weights ×(8N)^-¼"),
    "arms": Field(int, lo=2, hi=8),
    "data": Field(str, max_len=4096, empty=True, help="CSV file for task=csv"),
    "target": Field(str, max_len=200, empty=True, help="label column; empty = the last"),
    "data_sha256": Field(
        str, max_len=64, empty=True, pattern="[0-9a-f]{64}", help="SHA-256 of the data file (hex)"
    ),
    "optimizer": Field(str, choices=OPTIMIZERS),
    "lr": Field(float, lo=0.0, hi=100.0),
    "momentum": Field(float, lo=0.0, hi=0.999),
    "batch_size": Field(int, lo=1, hi=1024),
    "clip_norm": Field(float, lo=0.0, hi=1e6),
    "clip_value": Field(float, lo=0.0, hi=1e6),
    "warmup_steps": Field(int, lo=0, hi=100_000, help="linear learning-rate warm-up; 0 = none"),
    "steps": Field(int, lo=0, hi=100_000),
    "seeds": Field(int, lo=1, hi=16),
    "seed": Field(int, lo=0, hi=2**31 - 1),
    "data_seed": Field(int, lo=0, hi=2**31 - 1),
    "log_every": Field(int, lo=1, hi=100_000),
}
assert set(FIELDS) == {f.name for f in dataclasses.fields(RunConfig)}

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _shown(value: Any) -> str:
    """A short repr for messages: huge ints and long strings are abbreviated, never expanded."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + f"… ({len(text)} characters)"


def coerce(name: str, value: Any) -> Any:
    """Check one field's value (native or text, as from --set or a URL) and return it typed."""
    spec = FIELDS.get(name)
    if spec is None:
        raise ConfigError(f"unknown field '{name}'; known fields: {', '.join(FIELDS)}")
    bad = ConfigError(f"{name}: got {_shown(value)}; allowed: {spec.allowed()}")
    if spec.kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise bad
    if spec.kind is str:
        if not isinstance(value, str):
            raise bad
        value = value.strip()
        if spec.choices is not None and value not in spec.choices:
            raise bad
        if not value and spec.empty:
            return value
        if spec.pattern is not None and not re.fullmatch(spec.pattern, value):
            raise ConfigError(
                f"{name}: got {_shown(value)}; allowed: {spec.max_len} hex digits, or empty"
            )
        if not value or len(value) > spec.max_len or not value.isprintable():
            least = 0 if spec.empty else 1
            raise ConfigError(
                f"{name}: got {_shown(value)}; allowed: {least} to {spec.max_len} "
                "printable characters"
            )
        return value
    # numbers: reject bools (True is an int in Python) and anything non-finite
    if isinstance(value, bool):
        raise bad
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise bad from None
    if not isinstance(value, (int, float)):
        raise bad
    try:  # ints beyond float range overflow here rather than failing the range check
        if not math.isfinite(value):
            raise bad
    except OverflowError:
        raise bad from None
    if spec.kind is int:
        if float(value) != int(value):
            raise bad
        value = int(value)
    else:
        value = float(value)
    if (spec.lo is not None and value < spec.lo) or (spec.hi is not None and value > spec.hi):
        raise bad
    return value


def make_config(values: dict[str, Any], base: RunConfig | None = None) -> RunConfig:
    """Build a validated RunConfig from a dict of (possibly textual) field values."""
    if not isinstance(values, dict):
        raise ConfigError(f"expected a table of fields, got {type(values).__name__}")
    typed = {k: coerce(str(k), v) for k, v in values.items()}
    cfg = dataclasses.replace(base or RunConfig(), **typed)
    check_consistency(cfg)
    return cfg


def check_consistency(cfg: RunConfig) -> None:
    """Cross-field rules: the task fits the family, the data fit the model."""
    family = FAMILIES[cfg.family]
    if TASKS[cfg.task].family != cfg.family:
        raise ConfigError(
            f"task: '{cfg.task}' is {family.not_its_task}; with family={cfg.family} allowed: "
            f"{', '.join(family.tasks)}"
        )
    family.check(cfg)
    if cfg.task == "csv" and not cfg.data:
        raise ConfigError("data: task=csv needs a CSV file, e.g. --set data=table.csv")
    if cfg.task != "csv":
        for name in ("data", "target", "data_sha256"):
            if getattr(cfg, name):
                raise ConfigError(f"{name}: only task=csv reads a data file; add task=csv")
    if cfg.task == "seq-digits" and cfg.seq_len != 64:
        # the digits are read pixel by pixel: T is fixed by the data
        cfg.seq_len = 64


def to_dict(cfg: RunConfig) -> dict[str, Any]:
    """All fields of a config, in schema order."""
    return dataclasses.asdict(cfg)


@dataclass
class Comparison:
    """Several variants trained side by side on the same data."""

    variants: list[RunConfig] = field(default_factory=list)
    title: str = ""  # shown in the dashboard; usually the preset name
    # a run recorded by watch() in the user's own training loop (models.watch): what it watched
    # (layer names, model and optimizer classes, ...); its variants then carry only name, steps
    # and log_every, the lab's other fields do not describe the user's model
    watched: dict[str, Any] | None = None

    def to_json_dict(self) -> dict[str, Any]:
        """The fully resolved config: shared fields at the top, what differs per variant."""
        if self.watched is not None:
            out = {"title": self.title} if self.title else {}
            out["watched"] = self.watched
            out["variants"] = [
                {"name": v.name, "steps": v.steps, "log_every": v.log_every} for v in self.variants
            ]
            return out
        dicts = [to_dict(v) for v in self.variants]
        shared = {
            k: dicts[0][k]
            for k in FIELDS
            if k != "name" and all(d[k] == dicts[0][k] for d in dicts)
        }
        variants = [{k: v for k, v in d.items() if k not in shared} for d in dicts]
        out: dict[str, Any] = {}
        if self.title:
            out["title"] = self.title
        out.update(shared)
        out["variants"] = variants
        return out

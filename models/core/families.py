"""The model families: a deep MLP and a recurrent net. Each is one entry of ``FAMILIES``.

Adding a family (ARCHITECTURE.md, "Add a family"): its net module (a stacked ``nn.Module`` with
``weight_layers``, ``train_forward``, ``eval_forward`` and ``saturation``), its tasks (entries of
the task registry naming the family), its cost model, and one ``Family`` entry below. The config,
the trainer, the budget, the dashboard's pages, editor and charts read the entry.
"""

from __future__ import annotations

from ..fastpath import mlp as fast_mlp
from ..fastpath import rnn as fast_rnn
from ..fastpath.mlp import MLPBackprop
from ..fastpath.rnn import RNNBackprop
from . import budget
from .activations import ACTIVATIONS
from .cells import CELLS
from .config import DATA_FIELDS, FORGET_GATE_CELLS, RunConfig
from .errors import ConfigError
from .family_registry import FAMILIES, Family
from .nets import RNN_WEIGHT_NAMES, DeepMLP, RecurrentNet
from .task_registry import TASKS
from .trainer import VariantTrainer, fastpath_enabled, impl_of, log_once

# --- the deep MLP ------------------------------------------------------------------------------


def _check_mlp(cfg: RunConfig) -> None:
    if cfg.rezero and not cfg.residual:
        raise ConfigError(
            "rezero: scales the residual branches, so it needs residual=true; set residual=true "
            "or rezero=false"
        )


def _mlp_fast_path(tr: VariantTrainer) -> None:
    cfg = tr.cfg
    fast = fastpath_enabled()
    if fast and fast_mlp.supports(cfg.activation, cfg.norm, tr.classification, cfg.rezero):
        tr.backprop = MLPBackprop(tr.model, cfg.activation, tr.params, cfg.norm)
        tr.step_impl = impl_of(tr.backprop.step)
    elif fast:
        log_once(
            f"no hand-written MLP step for activation={cfg.activation}, "
            f"norm={cfg.norm}, rezero={cfg.rezero}: these variants train through "
            "autograd"
        )
    tr.fused = False


def _mlp_forward_flops(cfg: RunConfig, batch: int) -> int:
    n_in, n_out = TASKS[cfg.task].dims(cfg)
    sizes = [n_in] + [cfg.width] * cfg.depth + [n_out]
    return sum(2 * batch * a * b for a, b in zip(sizes, sizes[1:]))


def _mlp_first_layer_flops(cfg: RunConfig, batch: int) -> int:
    return 2 * batch * TASKS[cfg.task].dims(cfg)[0] * cfg.width


# --- the recurrent net ---------------------------------------------------------------------------


def _check_rnn(cfg: RunConfig) -> None:
    if CELLS[cfg.cell].uses_activation:
        allowed = ACTIVATIONS.names(lambda a: a.recurrent)
        if cfg.activation not in allowed:
            raise ConfigError(
                f"activation: '{cfg.activation}' with cell={cfg.cell}; allowed: {', '.join(allowed)}"
            )


def _rnn_fast_path(tr: VariantTrainer) -> None:
    cfg = tr.cfg
    fast = fastpath_enabled()
    if fast and fast_rnn.supports(cfg.cell, cfg.activation):
        tr.backprop = RNNBackprop(tr.model, cfg.activation, tr.params)
    elif fast:
        log_once(
            f"no hand-written step for cell={cfg.cell}, activation={cfg.activation}: "
            "these variants train through autograd"
        )
    # a cell that trains quicker through PyTorch's fused kernel (the LSTM) does so; its
    # per-time-step probe still goes by hand
    tr.fused = fast and CELLS[cfg.cell].fused_training and tr.model.can_fuse
    if tr.backprop is not None and not tr.fused:
        tr.step_impl = impl_of(tr.backprop.step)


def _rnn_forward_flops(cfg: RunConfig, batch: int) -> int:
    n_in, n_out = TASKS[cfg.task].dims(cfg)
    G, H, T = CELLS[cfg.cell].gates, cfg.hidden, cfg.seq_len
    return 2 * batch * T * (n_in + H) * G * H + 2 * batch * H * n_out


def _rnn_first_layer_flops(cfg: RunConfig, batch: int) -> int:
    return (
        2 * batch * cfg.seq_len * TASKS[cfg.task].dims(cfg)[0] * CELLS[cfg.cell].gates * cfg.hidden
    )


def _momentum(v: dict) -> bool:
    return v.get("optimizer") == "momentum"


def _uses_activation(v: dict) -> bool:
    return v.get("cell") in CELLS and CELLS[v.get("cell")].uses_activation


# the activations a vanilla RNN cell may use (live: a newly registered one appears)
RECURRENT_ACTIVATIONS = ACTIVATIONS.view(lambda a: a.recurrent)

for _f in (
    Family(
        "mlp",
        "Deep networks",
        "Deep networks: where does the gradient go?",
        "Deep MLPs on 8×8 digits, a table from scikit-learn, or your own CSV (Task, in the "
        "sidebar). Every variant starts from the same data; only the mitigation differs. Press "
        "**Train** and watch where the gradient goes.",
        page="views/deep.py",
        default_preset="deep-mlp",
        build=DeepMLP,
        check=_check_mlp,
        not_its_task="a sequence task",
        fast_path=_mlp_fast_path,
        cost=budget.mlp_cost,
        forward_flops=_mlp_forward_flops,
        first_layer_flops=_mlp_first_layer_flops,
        weight_layers=lambda c: c.depth + 1,
        hidden_layers=lambda c: c.depth,
        depth_unit="layer",
        depth_symbol="l",
        depth_note=" (1 = input side)",
        gradient_metric="grad_norm",
        gradient_title="Gradient per layer",
        depth_of=lambda c: c.depth,
        first_depth="the first hidden layer",
        last_depth="the last",
        metrics=("jacobian_sv",),
        shared_fields=(
            "task",
            "depth",
            "width",
            "arms",
            "batch_size",
            "steps",
            "seeds",
            "log_every",
        ),
        data_fields=DATA_FIELDS,
        variant_fields=(
            ("activation", None),
            ("init", None),
            ("init_gain", None),
            ("bias_std", lambda v: v.get("init") == "normal"),
            # rezero stays visible without residual, so a variant can always switch it off
            ("residual", None),
            ("rezero", None),
            ("norm", None),
            ("optimizer", None),
            ("lr", None),
            ("momentum", _momentum),
            ("clip_norm", None),
            ("clip_value", None),
        ),
        accepts_csv=True,
        charts=(
            "gradient profile",
            "gradient heatmap",
            "loss",
            "accuracy",
            "jacobian spectrum",
            "saturation by layer",
            "update ratio",
            "gradient norm",
            "clipped share",
            "benefit and cost",
        ),
        slider_where="per-layer",
        size_text="depth {depth} × width {width}",
        size_field="width",
        mean_field=True,
    ),
    Family(
        "rnn",
        "Recurrent networks",
        "Recurrent networks: gradients through time",
        "Recurrent nets read a sequence step by step; the gradient must travel back through "
        "every step. Press **Train** to compare cells, initialisations and clipping.",
        page="views/recurrent.py",
        default_preset="rnn-adding",
        build=RecurrentNet,
        check=_check_rnn,
        not_its_task="not a sequence task",
        fast_path=_rnn_fast_path,
        cost=budget.rnn_cost,
        forward_flops=_rnn_forward_flops,
        first_layer_flops=_rnn_first_layer_flops,
        weight_layers=lambda c: len(RNN_WEIGHT_NAMES),
        hidden_layers=lambda c: 1,
        depth_unit="time step",
        depth_symbol="t",
        depth_note="",
        gradient_metric="hidden_grad_norm",
        gradient_title="Gradient through time",
        depth_of=lambda c: c.seq_len,
        first_depth="the first time step",
        last_depth="the last step",
        metrics=("hidden_grad_norm",),
        weight_names=RNN_WEIGHT_NAMES,
        shared_fields=("task", "seq_len", "hidden", "batch_size", "steps", "seeds", "log_every"),
        variant_fields=(
            ("cell", None),
            ("activation", _uses_activation),
            ("recurrent_init", None),
            ("spectral_radius", lambda v: v.get("recurrent_init") == "scaled"),
            ("forget_bias", lambda v: v.get("cell") in FORGET_GATE_CELLS),
            ("init", None),
            ("init_gain", None),
            ("optimizer", None),
            ("lr", None),
            ("momentum", _momentum),
            ("clip_norm", None),
            ("clip_value", None),
        ),
        field_choices={"activation": RECURRENT_ACTIVATIONS},
        charts=(
            "gradient through time",
            "gradient heatmap through time",
            "loss",
            "accuracy",
            "saturation over training",
            "update ratio",
            "gradient norm",
            "clipped share",
            "benefit and cost",
        ),
        slider_where="per-time-step and per-layer",
        size_text="T={seq_len} · hidden {hidden}",
        size_field="hidden",
        pascanu=True,
    ),
):
    FAMILIES.register(_f)

# live views of each family's tasks (public names, kept for code that imports them)
MLP_TASKS = FAMILIES["mlp"].tasks
RNN_TASKS = FAMILIES["rnn"].tasks

# further families register themselves in their own modules (their entry, net, cost, metrics)
from . import transformer_family  # noqa: E402, F401

"""The Transformer family's registry entries: its ``Family`` (builder, rules, cost model, depth
unit "block", editor fields, charts) and its own metrics (per-sub-layer gradient norms, LayerNorm
gain drift, attention entropy). The net itself is ``models.core.transformer``.
"""

from __future__ import annotations

import torch

from . import budget
from .activations import ACTIVATIONS
from .config import RunConfig
from .family_registry import FAMILIES, Family
from .metrics import METRICS, PER_HIDDEN_LAYER, Metric
from .norms import LN_PLACEMENTS, NORMS
from .tasks import PROBE_SIZE, TASKS
from .trainer import VariantTrainer
from .transformer import FFN_MULT, TOKEN_NORMS, TransformerNet, attention_entropy, check_config

# --- the cost model (models.core.budget) -----------------------------------------------------

OPS_PER_BLOCK = 30  # kernels per block and forward pass (LayerNorms, 4 matmuls, attention, adds)
SAVED_PER_TOKEN = 20  # float32 values per token and d_model kept for backward, per block


def transformer_params(cfg: RunConfig) -> int:
    """Trainable parameters of one seed's Transformer."""
    d, N, T = cfg.width, cfg.depth, cfg.seq_len
    n_in, n_out = TASKS[cfg.task].dims(cfg)
    ln = 4 * d if NORMS[cfg.norm].layer is not None else 0  # two LayerNorms' gains and biases
    block = (4 + 2 * FFN_MULT) * d * d + (4 + FFN_MULT + 1) * d + ln + (2 if cfg.rezero else 0)
    final = ln // 2 if LN_PLACEMENTS[cfg.ln_placement].pre else 0  # Pre-LN's last LayerNorm
    return d * n_in + T * d + N * block + final + d * n_out + n_out


def forward_flops(cfg: RunConfig, batch: int) -> int:
    """Counted matmul FLOPs of one seed's forward pass: embedding, per block the projections
    (q, k, v, out: 4d², FFN: 8d² per token) and attention (q kᵀ and p v: 2 T² d), readout."""
    d, T = cfg.width, cfg.seq_len
    n_in, n_out = TASKS[cfg.task].dims(cfg)
    block = 2 * T * (4 + 2 * FFN_MULT) * d * d + 2 * 2 * T * T * d
    return batch * (2 * T * n_in * d + cfg.depth * block + 2 * d * n_out)


def first_layer_flops(cfg: RunConfig, batch: int) -> int:
    """The embedding's weight-gradient part (its input needs no gradient)."""
    return 2 * batch * cfg.seq_len * TASKS[cfg.task].dims(cfg)[0] * cfg.width


def cost(cfg: RunConfig) -> budget.VariantCost:
    """FLOPs, memory and metric rows of one variant (all its seeds)."""
    S, B, d, N, T, H = cfg.seeds, cfg.batch_size, cfg.width, cfg.depth, cfg.seq_len, cfg.heads
    n_in = TASKS[cfg.task].dims(cfg)[0]
    params = transformer_params(cfg)
    # element-wise FLOPs per token and block: the FFN's activation, LayerNorms, softmax, adds
    elem = ACTIVATIONS[cfg.activation].flops * FFN_MULT * d + 20 * d + 5 * H * T
    fwd = lambda n: S * (forward_flops(cfg, n) + n * T * N * elem)  # noqa: E731
    ops = N * OPS_PER_BLOCK + 8
    step = 3 * fwd(B) + 4 * S * params + 3 * ops * budget.OP_OVERHEAD_FLOPS
    n_val = TASKS[cfg.task].val_size(cfg)
    # log step: validation, the probe's forward for attention entropy, saturation, norms
    log = fwd(n_val) + fwd(PROBE_SIZE) + S * B * T * N * FFN_MULT * d * 10 + 14 * S * params
    log += (2 * ops + 12 * (N + 1)) * budget.OP_OVERHEAD_FLOPS
    flops = (cfg.steps + 1) * step + budget.log_steps(cfg) * log
    per_tok = N * (SAVED_PER_TOKEN * d + 2 * H * T) + n_in + d  # + scores and probabilities
    train = S * B * T * per_tok
    val = S * n_val * T * (8 * d + 2 * H * T + n_in)  # no_grad: a block's tensors at a time
    persistent = budget.model_bytes(cfg, params)
    transient = int(budget.SAFETY * budget.BYTES * max(train, val, budget.log_floats(cfg, params)))
    return budget.VariantCost(cfg.name, flops, step, persistent, transient, budget.metric_rows(cfg))


# --- its own metrics: recorded by their entries at each log step ------------------------------


def _record_sublayers(tr: VariantTrainer, k: int) -> None:
    for name, groups in tr.model.sublayer_groups().items():
        tr._emit(k, f"{name}_grad_norm", torch.stack([tr.group_grad_norm(g) for g in groups]), 1)


@torch.no_grad()
def _record_gain_drift(tr: VariantTrainer, k: int) -> None:
    gains = tr.model.ln_gains()
    if not gains or not gains[0]:  # norm=none: no gains to drift
        return
    drift = [torch.cat([(g - 1).flatten(1) for g in gs], 1) for gs in gains]
    tr._emit(k, "ln_gain_drift", torch.stack([x.square().mean(1).sqrt() for x in drift]), 1)


@torch.no_grad()
def _record_entropy(tr: VariantTrainer, k: int) -> None:
    probs: list[torch.Tensor] = []
    tr.model(tr.task.probe()[0], probs=probs)
    tr._emit(k, "attn_entropy", attention_entropy(probs), 1)


def _probe_flops(cfg: RunConfig) -> int:
    return forward_flops(cfg, min(PROBE_SIZE, TASKS[cfg.task].val_size(cfg)))


OWN_METRICS = ("attn_grad_norm", "ffn_grad_norm", "ln_gain_drift", "attn_entropy")
for _m in (
    Metric(
        "attn_grad_norm",
        PER_HIDDEN_LAYER,
        "‖∇θ‖ of each block's attention sub-layer (q, k, v, output projection and its LayerNorm)",
        "‖∇θ_attn‖",
        log_scale=True,
        own=True,
        record=_record_sublayers,
        reference="the norm of the sub-layer's parameters' .grad together",
    ),
    # recorded with attn_grad_norm (one record writes both: record=None here)
    Metric(
        "ffn_grad_norm",
        PER_HIDDEN_LAYER,
        "‖∇θ‖ of each block's feed-forward sub-layer (both layers and its LayerNorm)",
        "‖∇θ_ffn‖",
        log_scale=True,
        own=True,
        reference="the norm of the sub-layer's parameters' .grad together",
    ),
    Metric(
        "ln_gain_drift",
        PER_HIDDEN_LAYER,
        "RMS of each block's LayerNorm gains' distance from their initial 1",
        "RMS(γ − 1)",
        own=True,
        record=_record_gain_drift,
        reference="(ln.weight - 1).pow(2).mean().sqrt()",
    ),
    Metric(
        "attn_entropy",
        PER_HIDDEN_LAYER,
        "mean entropy (nats) of each block's attention "
        "rows on the probe batch; ln T = uniform, 0 = collapsed (Zhai et al. 2023)",
        "attention entropy (nats)",
        own=True,
        record=_record_entropy,
        log_flops=_probe_flops,
        reference="a forward hook on the attention probabilities",
    ),
):
    METRICS.register(_m)


# --- the family ------------------------------------------------------------------------------


def _momentum(v: dict) -> bool:
    return v.get("optimizer") == "momentum"


TRANSFORMER = FAMILIES.register(
    Family(
        "transformer",
        "Transformers",
        "Transformers: LayerNorm placement, warm-up, DeepNorm",
        "A stack of Transformer encoder blocks reads a sequence of tokens (the digits row by "
        "row, or a pointer-chasing puzzle). Where each block puts its LayerNorm decides where "
        "the gradient is large (Xiong et al. 2020): Post-LN's grows towards the output and "
        "needs a learning-rate warm-up, Pre-LN's does not; DeepNorm and ReZero rescale the "
        "residual. Press **Train** and compare the per-block gradients.",
        page="views/transformer.py",
        default_preset="transformer-ln",
        build=TransformerNet,
        check=check_config,
        not_its_task="not a Transformer task",
        fast_path=None,
        cost=cost,
        forward_flops=forward_flops,
        first_layer_flops=first_layer_flops,
        weight_layers=lambda c: c.depth + 1,
        hidden_layers=lambda c: c.depth,
        depth_unit="block",
        labels={"depth": "Depth (blocks)", "width": "Width (d_model)"},
        depth_symbol="l",
        depth_note=" (1 = input side; last: the readout)",
        gradient_metric="grad_norm",
        gradient_title="Gradient per block",
        depth_of=lambda c: c.depth,
        first_depth="the first block",
        last_depth="the last",
        metrics=OWN_METRICS,
        shared_fields=(
            "task",
            "depth",
            "width",
            "heads",
            "seq_len",
            "batch_size",
            "steps",
            "seeds",
            "log_every",
        ),
        variant_fields=(
            ("ln_placement", None),
            ("norm", None),
            ("deepnorm", lambda v: v.get("ln_placement", "post") == "post"),
            ("rezero", None),
            ("warmup_steps", None),
            ("activation", None),
            ("init", None),
            ("init_gain", None),
            ("optimizer", None),
            ("lr", None),
            ("momentum", _momentum),
            ("clip_norm", None),
            ("clip_value", None),
        ),
        field_choices={"norm": TOKEN_NORMS},
        charts=(
            "gradient per block",
            "gradient heatmap by block",
            "loss",
            "accuracy",
            "sub-layer gradients",
            "attention entropy",
            "layernorm gain drift",
            "saturation by layer",
            "update ratio",
            "gradient norm",
            "clipped share",
            "benefit and cost",
        ),
        slider_where="per-block",
        size_text="{depth} blocks × width {width}",
        size_field="width",
    )
)

TRANSFORMER_TASKS = TRANSFORMER.tasks

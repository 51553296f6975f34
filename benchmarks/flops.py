"""Counted FLOPs of a run: the matrix multiplies the model needs (2 per multiply-add).

Element-wise work (activations, norms, optimizer) is left out: it is a few percent of the
multiplies at these sizes. Counts are per useful model, so the block-diagonal recurrent kernel's
zero blocks do not count, and the engine and the reference loop are credited the same work.
"""

from __future__ import annotations

from models import RunConfig
from models.core.nets import GATES
from models.core.tasks import PROBE_SIZE, make_task


def _mlp_layers(cfg: RunConfig, n_in: int, n_out: int) -> list[tuple[int, int]]:
    sizes = [n_in] + [cfg.width] * cfg.depth + [n_out]
    return list(zip(sizes, sizes[1:]))


def forward_flops(cfg: RunConfig, n_in: int, n_out: int, batch: int) -> int:
    """One seed's forward pass on ``batch`` examples."""
    if cfg.family == "mlp":
        return sum(2 * batch * a * b for a, b in _mlp_layers(cfg, n_in, n_out))
    G, H, T = GATES[cfg.cell], cfg.hidden, cfg.seq_len
    return 2 * batch * T * (n_in + H) * G * H + 2 * batch * H * n_out


def train_flops(cfg: RunConfig, n_in: int, n_out: int, batch: int) -> int:
    """Forward + backward of one seed: weight gradients for every layer, input gradients for
    every layer but the first (the data needs none)."""
    fwd = forward_flops(cfg, n_in, n_out, batch)
    if cfg.family == "mlp":
        first = 2 * batch * n_in * cfg.width
        return fwd + fwd + (fwd - first)
    G, H, T = GATES[cfg.cell], cfg.hidden, cfg.seq_len
    first = 2 * batch * T * n_in * G * H  # ∂/∂x of the input projection: not needed
    return fwd + fwd + (fwd - first)


def run_flops(cfg: RunConfig) -> int:
    """All counted FLOPs of one variant (all its seeds), metrics included."""
    task = make_task(cfg)
    n_in, n_out = task.input_dim, task.output_dim
    logs = len({0, cfg.steps, *range(0, cfg.steps + 1, cfg.log_every)})
    per_seed = (cfg.steps + 1) * train_flops(cfg, n_in, n_out, cfg.batch_size)
    per_seed += logs * forward_flops(cfg, n_in, n_out, task.x_val.shape[0])  # validation
    if cfg.family == "rnn":  # per-time-step gradients on the probe batch
        per_seed += logs * train_flops(cfg, n_in, n_out, min(PROBE_SIZE, task.x_val.shape[0]))
    return cfg.seeds * per_seed

"""A Transformer encoder stacked over seeds: LayerNorm placement, DeepNorm, ReZero, warm-up.

Every parameter has a leading seed dimension S (as the MLP's ``StackedLinear``), so one Python
step trains all seeds of a variant and seed s computes exactly what a lone model initialised with
seed s computes. The block is the depth unit: the per-block metrics (``grad_norm``,
``update_ratio``, ``grad_to_weight``) aggregate all of a block's parameters, numbered 1..depth,
with the readout (and Pre-LN's final LayerNorm) as depth + 1.

Block l (Vaswani et al. 2017; Xiong et al. 2020, arXiv 2002.04745), sub-layer F = attention, FFN:
- Post-LN: x ← LN(α x + g F(x))          (α = 1 but DeepNorm's (2N)^{1/4}; g = 1 but ReZero's)
- Pre-LN:  x ← x + g F(LN(x)), and one LN before the readout
DeepNorm (Wang et al. 2022, arXiv 2203.00555): for an N-block encoder α = (2N)^{1/4} and the
value, output and FFN weights scaled by β = (8N)^{-1/4} at init. GPT-2's init scales each
block's output projections (attention out, FFN second layer) by 1/√(2N) (``init="gpt2"``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from .activations import ACTIVATIONS
from .errors import ConfigError
from .init import WEIGHT_INITS, init_bias, init_weight
from .layers import saturation
from .norms import LN_PLACEMENTS, NORMS

if TYPE_CHECKING:  # config imports this module (its checks): no import cycle at run time
    from .config import RunConfig

MAX_BLOCKS = 48
FFN_MULT = 4  # feed-forward width = 4 × d_model (Vaswani et al.)


# norms a token-wise block can apply: those without batch statistics (LayerNorm, none)
TOKEN_NORMS = NORMS.view(lambda n: n.layer is None or not getattr(n.layer, "reads_training", 0))


def check_config(cfg: RunConfig) -> None:
    """The family's cross-field rules (raise ConfigError with what to change)."""
    if cfg.depth > MAX_BLOCKS:
        raise ConfigError(f"depth: got {cfg.depth} blocks; allowed: 1 to {MAX_BLOCKS}")
    if cfg.width % cfg.heads:
        raise ConfigError(
            f"heads: width {cfg.width} is not a multiple of {cfg.heads} heads; change width or heads"
        )
    if cfg.norm not in TOKEN_NORMS:
        raise ConfigError(
            f"norm: '{cfg.norm}' uses batch statistics; with family=transformer allowed: "
            f"{', '.join(TOKEN_NORMS)}"
        )
    if cfg.task == "row-digits":  # 8 rows of 8 pixels: T is fixed by the data
        cfg.seq_len = 8
    if cfg.deepnorm and LN_PLACEMENTS[cfg.ln_placement].pre:
        raise ConfigError(
            "deepnorm: scales Post-LN's residual; set ln_placement=post or deepnorm=false"
        )


def deepnorm_constants(blocks: int) -> tuple[float, float]:
    """Wang et al.'s (α, β) for an encoder of ``blocks`` blocks: ((2N)^{1/4}, (8N)^{-1/4})."""
    return (2.0 * blocks) ** 0.25, (8.0 * blocks) ** -0.25


def _ln(x: torch.Tensor, w: torch.Tensor | None, b: torch.Tensor | None) -> torch.Tensor:
    """LayerNorm over the last dim with per-seed affine (S, d); x: (S, ..., d). None: identity."""
    if w is None:
        return x
    shape = (w.shape[0],) + (1,) * (x.dim() - 2) + (w.shape[1],)
    return F.layer_norm(x, x.shape[-1:]) * w.view(shape) + b.view(shape)


def _linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """Per-seed linear map: x (S, ..., n_in), w (S, n_out, n_in), b (S, n_out) -> (S, ..., n_out)."""
    S = x.shape[0]
    flat = x.reshape(S, -1, x.shape[-1])
    out = (
        torch.bmm(flat, w.transpose(1, 2))
        if b is None
        else torch.baddbmm(b.unsqueeze(1), flat, w.transpose(1, 2))
    )
    return out.view(*x.shape[:-1], w.shape[1])


class StackedBlock(nn.Module):
    """One encoder block (attention + FFN sub-layers) for S seeds."""

    def __init__(self, seeds: int, d: int, heads: int, layer_norm: bool, rezero: bool):
        super().__init__()
        S, h = seeds, FFN_MULT * d
        self.heads = heads
        self.qkv = nn.Parameter(torch.empty(S, 3 * d, d))
        self.qkv_b = nn.Parameter(torch.zeros(S, 3 * d))
        self.out = nn.Parameter(torch.empty(S, d, d))
        self.out_b = nn.Parameter(torch.zeros(S, d))
        self.ff1 = nn.Parameter(torch.empty(S, h, d))
        self.ff1_b = nn.Parameter(torch.zeros(S, h))
        self.ff2 = nn.Parameter(torch.empty(S, d, h))
        self.ff2_b = nn.Parameter(torch.zeros(S, d))
        if layer_norm:
            self.ln1_w, self.ln1_b = nn.Parameter(torch.ones(S, d)), nn.Parameter(torch.zeros(S, d))
            self.ln2_w, self.ln2_b = nn.Parameter(torch.ones(S, d)), nn.Parameter(torch.zeros(S, d))
        else:
            self.ln1_w = self.ln1_b = self.ln2_w = self.ln2_b = None
        # ReZero: one gate per sub-layer and seed, 0 at the start (Bachlechner et al. 2020)
        self.gate = nn.Parameter(torch.zeros(S, 2)) if rezero else None

    def attention_params(self) -> list[nn.Parameter]:
        """The attention sub-layer's parameters (with its LayerNorm and gate)."""
        own = [self.qkv, self.qkv_b, self.out, self.out_b]
        return own + [p for p in (self.ln1_w, self.ln1_b) if p is not None]

    def ffn_params(self) -> list[nn.Parameter]:
        """The feed-forward sub-layer's parameters (with its LayerNorm)."""
        own = [self.ff1, self.ff1_b, self.ff2, self.ff2_b]
        return own + [p for p in (self.ln2_w, self.ln2_b) if p is not None]

    def attend(self, x: torch.Tensor, probs: list | None = None) -> torch.Tensor:
        """Multi-head self-attention: x (S, B, T, d) -> (S, B, T, d)."""
        S, B, T, d = x.shape
        H = self.heads
        qkv = _linear(x, self.qkv, self.qkv_b).view(S, B, T, 3, H, d // H)
        q, k, v = qkv.permute(3, 0, 1, 4, 2, 5).unbind(0)  # each (S, B, H, T, dh)
        if probs is None:  # one fused kernel (and one in the backward pass)
            ctx = F.scaled_dot_product_attention(q, k, v)
        else:  # the same softmax(q kᵀ/√dh) v spelled out, keeping the probabilities
            p = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d // H), dim=-1)
            probs.append(p.detach())
            ctx = torch.matmul(p, v)
        ctx = ctx.transpose(2, 3).reshape(S, B, T, d)
        return _linear(ctx, self.out, self.out_b)

    def feed_forward(self, x: torch.Tensor, act: Callable, record: list | None) -> torch.Tensor:
        z = _linear(x, self.ff1, self.ff1_b)
        if record is not None:
            S = z.shape[0]
            record.append(z.detach().reshape(S, -1, z.shape[-1]))
        return _linear(act(z), self.ff2, self.ff2_b)


class TransformerNet(nn.Module):
    """Token + position embeddings, ``depth`` encoder blocks, mean-pooled linear readout.

    Input x: (B, T, F) per-token features (one-hot tokens make the embedding a lookup table).
    """

    def __init__(self, cfg: RunConfig, n_in: int, n_out: int):
        super().__init__()
        S, d, N, seq_len = cfg.seeds, cfg.width, cfg.depth, cfg.seq_len
        self.pre = LN_PLACEMENTS[cfg.ln_placement].pre
        self.act = ACTIVATIONS[cfg.activation].fn
        layer_norm = NORMS[cfg.norm].layer is not None
        self.alpha = deepnorm_constants(N)[0] if cfg.deepnorm else 1.0
        self.embed = nn.Parameter(torch.empty(S, d, n_in))
        self.pos = nn.Parameter(torch.empty(S, seq_len, d))
        self.blocks = nn.ModuleList(
            StackedBlock(S, d, cfg.heads, layer_norm, cfg.rezero) for _ in range(N)
        )
        if self.pre and layer_norm:  # Pre-LN's final LayerNorm (part of the readout unit)
            self.final_w = nn.Parameter(torch.ones(S, d))
            self.final_b = nn.Parameter(torch.zeros(S, d))
        else:
            self.final_w = self.final_b = None
        self.readout = nn.Parameter(torch.empty(S, n_out, d))
        self.readout_b = nn.Parameter(torch.zeros(S, n_out))
        self._init(cfg)

    def _init(self, cfg: RunConfig) -> None:
        """Each seed from its own generator, in a fixed order (seed s = a lone model's seed s)."""
        N, d = cfg.depth, cfg.width
        scheme = WEIGHT_INITS[cfg.init]
        out_scale = scheme.output_scale(N) if scheme.output_scale is not None else 1.0
        beta = deepnorm_constants(N)[1] if cfg.deepnorm else 1.0

        def draw(p: torch.Tensor, s: int, g: torch.Generator, scale: float = 1.0) -> None:
            n_out, n_in = p.shape[1], p.shape[2]
            p[s] = init_weight(cfg.init, n_out, n_in, cfg.init_gain, g) * scale

        def draw_bias(b: torch.Tensor, n_in: int, s: int, g: torch.Generator) -> None:
            b[s] = init_bias(cfg.init, b.shape[1], n_in, cfg.bias_std, g)

        with torch.no_grad():
            for s, seed in enumerate(cfg.seed_list()):
                g = torch.Generator().manual_seed(seed)
                # nn.Embedding's N(0, 1): a one-hot token's embedding is a unit-variance vector
                self.embed[s] = torch.randn(self.embed.shape[1:], generator=g)
                self.pos[s] = torch.randn(self.pos.shape[1:], generator=g)
                for blk in self.blocks:
                    draw(blk.qkv, s, g)
                    if beta != 1.0:  # DeepNorm scales the value rows (not queries, keys)
                        blk.qkv[s, 2 * d :] *= beta
                    draw_bias(blk.qkv_b, d, s, g)
                    draw(blk.out, s, g, beta * out_scale)
                    draw_bias(blk.out_b, d, s, g)
                    draw(blk.ff1, s, g, beta)
                    draw_bias(blk.ff1_b, d, s, g)
                    draw(blk.ff2, s, g, beta * out_scale)
                    draw_bias(blk.ff2_b, FFN_MULT * d, s, g)
                draw(self.readout, s, g)
                draw_bias(self.readout_b, d, s, g)

    # --- the depth unit ------------------------------------------------------------------------

    def unit_groups(self) -> list[list[nn.Parameter]]:
        """Parameters of each depth unit in metric order: blocks 1..depth, then the readout."""
        blocks = [list(b.parameters()) for b in self.blocks]
        head = [p for p in (self.final_w, self.final_b) if p is not None]
        return blocks + [head + [self.readout, self.readout_b]]

    def sublayer_groups(self) -> dict[str, list[list[nn.Parameter]]]:
        """Per-block parameter groups of each sub-layer: {"attn": [...], "ffn": [...]}."""
        return {
            "attn": [b.attention_params() for b in self.blocks],
            "ffn": [b.ffn_params() for b in self.blocks],
        }

    def ln_gains(self) -> list[list[nn.Parameter]]:
        """Each block's LayerNorm gains (empty without LayerNorm)."""
        return [[p for p in (b.ln1_w, b.ln2_w) if p is not None] for b in self.blocks]

    def weight_layers(self) -> list[nn.Parameter]:
        """One weight per depth unit (the FFN's first layer; the readout): budget and probes."""
        return [b.ff1 for b in self.blocks] + [self.readout]

    # --- forward -------------------------------------------------------------------------------

    def _gate(self, blk: StackedBlock, i: int, f: torch.Tensor) -> torch.Tensor:
        return f if blk.gate is None else f * blk.gate[:, i].view(-1, 1, 1, 1)

    def forward(
        self, x: torch.Tensor, record: list | None = None, probs: list | None = None
    ) -> torch.Tensor:
        """x: (B, T, F) -> logits (S, B, n_out). ``record`` gets each block's FFN pre-activations
        (S, B·T, 4d); ``probs`` each block's attention probabilities (S, B, heads, T, T)."""
        T = x.shape[1]
        h = torch.matmul(x.unsqueeze(0), self.embed.transpose(1, 2).unsqueeze(1))  # (S,B,T,d)
        h = h + self.pos[:, None, :T]
        a = self.alpha
        for blk in self.blocks:
            if self.pre:
                h = h + self._gate(blk, 0, blk.attend(_ln(h, blk.ln1_w, blk.ln1_b), probs))
                ln2 = _ln(h, blk.ln2_w, blk.ln2_b)
                h = h + self._gate(blk, 1, blk.feed_forward(ln2, self.act, record))
            else:
                f = self._gate(blk, 0, blk.attend(h, probs))
                h = _ln(a * h + f if a != 1.0 else h + f, blk.ln1_w, blk.ln1_b)
                f = self._gate(blk, 1, blk.feed_forward(h, self.act, record))
                h = _ln(a * h + f if a != 1.0 else h + f, blk.ln2_w, blk.ln2_b)
        h = _ln(h, self.final_w, self.final_b).mean(dim=2)  # (S, B, d)
        return torch.baddbmm(self.readout_b.unsqueeze(1), h, self.readout.transpose(1, 2))

    train_forward = forward  # the trainer's entry point (no module-free variant needed)

    def eval_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Validation's forward (no dropout, no batch statistics: the same as training's)."""
        return self.forward(x)

    @staticmethod
    def saturation_activation(cfg: RunConfig) -> str:
        """The FFN's non-linearity: the variant's activation."""
        return cfg.activation

    @staticmethod
    def saturation(act: str, record: list[torch.Tensor]) -> torch.Tensor:
        """(blocks, S) saturated share of each block's FFN pre-activations (S, B·T, 4d)."""
        z = torch.stack(record)  # (N, S, B·T, 4d)
        N, S = z.shape[:2]
        return saturation(act, z.view(N * S, *z.shape[2:])).view(N, S)


def attention_entropy(probs: list[torch.Tensor]) -> torch.Tensor:
    """Mean entropy (nats) of each block's attention rows: (blocks, S). Zhai et al. 2023's
    entropy collapse is this falling towards 0; a uniform row over T tokens has ln T."""
    out = []
    for p in probs:  # (S, B, H, T, T)
        ent = -(p * torch.log(p.clamp_min(1e-30))).sum(-1)  # (S, B, H, T)
        out.append(ent.flatten(1).mean(1))
    return torch.stack(out)

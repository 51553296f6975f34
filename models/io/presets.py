"""Named comparisons a newcomer can run at once. Each is a config dict in the file format."""

from __future__ import annotations

import copy
from typing import Any

from ..core.config import Comparison
from ..core.errors import ConfigError
from .comparison_io import comparison_from_dict

PRESETS: dict[str, dict[str, Any]] = {
    "deep-mlp": {
        "title": "Deep sigmoid MLP: the baseline's gradient vanishes; ReLU + He, residual, tanh + Xavier and batch norm learn; clip norm 1 does not (clipping caps large gradients, it cannot lift vanishing ones)",
        "family": "mlp",
        "task": "digits",
        "depth": 20,
        "width": 48,
        "activation": "sigmoid",
        "optimizer": "momentum",
        "lr": 0.02,
        "batch_size": 64,
        "steps": 150,
        "seeds": 2,
        "log_every": 10,
        "variants": [
            {"name": "sigmoid (baseline)"},
            # a 20-layer ReLU net is touchy with momentum: a smaller step keeps it stable
            {"name": "relu + he", "activation": "relu", "init": "he", "lr": 0.005},
            {"name": "residual", "residual": True},
            {"name": "tanh + xavier", "activation": "tanh", "init": "xavier"},
            {"name": "batch norm", "norm": "batch"},
            {"name": "clip norm 1", "clip_norm": 1.0},
        ],
    },
    "rnn-adding": {
        "title": "Adding problem (T=30): LSTM and GRU solve it; the vanilla tanh RNN stays near the mean predictor, and neither orthogonal W_hh nor clipping rescues it; the IRNN does better than the tanh RNN",
        "family": "rnn",
        "task": "adding",
        "seq_len": 30,
        "hidden": 32,
        "cell": "rnn",
        "activation": "tanh",
        "optimizer": "adam",
        "lr": 0.02,
        "batch_size": 32,
        "steps": 300,
        "seeds": 2,
        "log_every": 10,
        "variants": [
            {"name": "tanh rnn (baseline)"},
            {"name": "lstm", "cell": "lstm"},
            {"name": "gru", "cell": "gru"},
            {
                "name": "irnn",
                "activation": "relu",
                "recurrent_init": "identity",
                "init": "normal",
                "init_gain": 0.1,
                "lr": 0.004,
                "clip_norm": 1.0,
            },
            {"name": "orthogonal", "recurrent_init": "orthogonal"},
            {"name": "clip norm 1", "clip_norm": 1.0},
        ],
    },
    "exploding-rnn": {
        "title": "An RNN whose gradients explode (tanh, W_hh spectral radius 1.8, adding T=10): unclipped it diverges, clipped it trains well below the mean predictor's 1/6",
        "family": "rnn",
        "task": "adding",
        "seq_len": 10,
        "hidden": 32,
        "cell": "rnn",
        "activation": "tanh",
        "recurrent_init": "scaled",
        "spectral_radius": 1.8,
        # Pascanu et al. 2013: radius > 1/γ = 1 lets the gradient explode. Measured on 6 seeds:
        # unclipped, every seed's loss blows up within 10 steps; clipped at 0.1 or 0.25 every
        # seed ends at validation MSE 0.01–0.07 (a ReLU RNN explodes in its forward pass too,
        # which clipping cannot fix: clipped, it stayed at the mean predictor's 0.16)
        "optimizer": "momentum",
        "momentum": 0.9,
        "lr": 0.1,
        "batch_size": 32,
        "steps": 1000,
        "seeds": 3,
        "log_every": 20,
        "variants": [
            {"name": "no clipping"},
            {"name": "clip norm 0.1", "clip_norm": 0.1},
            {"name": "clip norm 0.25", "clip_norm": 0.25},
        ],
    },
    "init-showdown": {
        "title": "Initialisation showdown: a 30-layer tanh MLP across σ_w² (ordered, critical, chaotic)",
        "family": "mlp",
        "task": "digits",
        "depth": 30,
        "width": 64,
        "activation": "tanh",
        "init": "normal",
        "bias_std": 0.2236,
        "optimizer": "momentum",
        "lr": 0.01,
        "batch_size": 64,
        "steps": 150,
        "seeds": 2,
        "log_every": 10,
        "variants": [
            {"name": "σ_w²=0.5 (ordered)", "init_gain": 0.7071},
            {"name": "σ_w²=1 (ordered)", "init_gain": 1.0},
            {"name": "σ_w²=1.76 (critical)", "init_gain": 1.3266},
            {"name": "σ_w²=4 (chaotic)", "init_gain": 2.0},
        ],
    },
    "relu-init": {
        "title": "He et al. 2015: a 30-layer ReLU MLP stalls at chance with Xavier (or PyTorch's default) init and learns with He init",
        "family": "mlp",
        "task": "digits",
        "depth": 30,
        "width": 64,
        "activation": "relu",
        # lr 0.003: He at 0.76–0.83 validation accuracy after 300 steps on 5 of 5 seeds; at
        # 0.01 the 30-layer ReLU stack is unstable with momentum (0.31–0.63)
        "optimizer": "momentum",
        "lr": 0.003,
        "batch_size": 64,
        "steps": 300,
        "seeds": 3,
        "log_every": 10,
        "variants": [
            {"name": "xavier", "init": "xavier"},
            {"name": "he", "init": "he"},
            {"name": "default (pytorch)", "init": "default"},
        ],
    },
    "deep-residual": {
        "title": "Deep residual ReLU net without normalisation (64 blocks, He init): it blows up at once, clipping cannot save it, ReZero trains it",
        # E[h²] at least doubles per block (h + relu(Wh) with He init): 2^63 by the top, so the
        # first loss is ~1e14; ReZero starts every branch at 0 (Bachlechner et al. 2020)
        "family": "mlp",
        "task": "digits",
        "depth": 64,
        "width": 64,
        "activation": "relu",
        "init": "he",
        "residual": True,
        "optimizer": "sgd",
        "lr": 0.05,
        "batch_size": 64,
        "steps": 150,
        "seeds": 2,
        "log_every": 10,
        "variants": [
            {"name": "residual, no norm (baseline)"},
            {"name": "clip norm 1", "clip_norm": 1.0},
            {"name": "rezero", "rezero": True},
            {"name": "batch norm", "norm": "batch"},
        ],
    },
    "temporal-order": {
        "title": "Temporal order (T=40): the tanh RNN stays at chance; the GRU and the LSTM with a forget-gate bias of 2 solve it",
        "family": "rnn",
        "task": "temporal-order",
        "seq_len": 40,
        "hidden": 32,
        "activation": "tanh",
        "optimizer": "adam",
        "lr": 0.01,
        "batch_size": 32,
        "steps": 450,
        "seeds": 2,
        "log_every": 25,
        "variants": [
            {"name": "tanh rnn", "cell": "rnn"},
            # at T = 40 the cell must hold c for ~35 steps (chrono init, Tallec & Ollivier 2018,
            # sets b_f ≈ ln T for that). Measured on 5 seeds, 500-800 Adam steps: bias 2 solved
            # 5 of 5 within 350 steps, bias 1 (the default) 2 of 5, bias 0 (PyTorch's) none:
            # set forget_bias to 0 here to see it stay at chance
            {"name": "lstm, forget bias 2", "cell": "lstm", "forget_bias": 2.0},
            {"name": "gru", "cell": "gru"},
        ],
    },
    "dynamical-isometry": {
        "title": "Towards dynamical isometry (30 layers, σ_w² = 1): orthogonal tanh's Jacobian singular values span a few decades (not near 1 here), Gaussian tanh's tens, ReLU's reach 0; orthogonal tanh trains fastest",
        "family": "mlp",
        "task": "digits",
        "depth": 30,
        "width": 64,
        "activation": "tanh",
        "bias_std": 0.0,
        "optimizer": "momentum",
        "lr": 0.01,
        "batch_size": 64,
        "steps": 150,
        "seeds": 3,
        "log_every": 10,
        "variants": [
            # σ_w² = 1, σ_b = 0: χ₁ = 1 for both tanh variants; only the spectrum differs
            {"name": "tanh + orthogonal", "init": "orthogonal"},
            {"name": "tanh + gaussian", "init": "normal", "init_gain": 1.0},
            {
                "name": "relu + orthogonal",
                "activation": "relu",
                "init": "orthogonal",
                "init_gain": 1.4142,
            },
            {"name": "relu + he", "activation": "relu", "init": "he"},
        ],
    },
    "transformer-ln": {
        "title": "Transformer, 12 blocks, Adam lr 0.008: Post-LN stays near chance; Pre-LN, Post-LN with a warm-up and DeepNorm learn the digits",
        # Xiong et al. 2020: Post-LN's gradient near the output is large at init and needs a
        # warm-up; Pre-LN's shrinks like 1/√L. Calibrated on seeds 10-11 (150 steps): Post-LN
        # 0.09/0.25 validation accuracy, with 75 warm-up steps 0.73/0.83, Pre-LN 0.91/0.91,
        # DeepNorm 0.88/0.84; at lr 0.006 Post-LN reached 0.48/0.69, at 0.01 0.18/0.27
        "family": "transformer",
        "task": "row-digits",
        "depth": 12,
        "width": 16,
        "heads": 2,
        "norm": "layer",
        "activation": "relu",
        "init": "default",
        "optimizer": "adam98",
        "lr": 0.008,
        "batch_size": 32,
        "steps": 150,
        "seeds": 2,
        "log_every": 10,
        "variants": [
            {"name": "post-ln", "ln_placement": "post"},
            {"name": "pre-ln", "ln_placement": "pre"},
            {"name": "post-ln + warm-up 75", "ln_placement": "post", "warmup_steps": 75},
            {"name": "deepnorm", "ln_placement": "post", "deepnorm": True},
        ],
    },
    "transformer-deep": {
        "title": "Transformer, 48 blocks: at init Pre-LN's last block gets a fraction of Post-LN's gradient; in 60 steps Post-LN stays at chance, Pre-LN and ReZero (no LayerNorm) learn, DeepNorm starts to",
        # Xiong et al. 2020 Thm 1 at depth (Pre-LN's last-block gradient ~1/√L of Post-LN's).
        # Calibrated on seeds 10-11: last-block gradient Pre-LN/Post-LN 0.26/0.21 (Post-LN's
        # last/first ratio scatters per seed at this width: the claim xiong-ln-profile averages
        # 4 seeds); validation accuracy after 60 steps Post-LN 0.09/0.13, Pre-LN 0.49/0.46,
        # ReZero 0.77/0.71, DeepNorm 0.26/0.28. Batch 16 keeps 48 blocks in the public memory cap
        "family": "transformer",
        "task": "row-digits",
        "depth": 48,
        "width": 16,
        "heads": 2,
        "norm": "layer",
        "activation": "relu",
        "init": "default",
        "optimizer": "adam98",
        "lr": 0.003,
        "batch_size": 16,
        "steps": 60,
        "seeds": 2,
        "log_every": 10,
        "variants": [
            {"name": "post-ln", "ln_placement": "post"},
            {"name": "pre-ln", "ln_placement": "pre"},
            {"name": "deepnorm", "ln_placement": "post", "deepnorm": True},
            {"name": "rezero, no LayerNorm", "norm": "none", "rezero": True},
        ],
    },
    "transformer-depth": {
        "title": "Pre-LN Transformer, pointer chasing f(f(f(0))) over 8 tokens, 600 steps: 1 block stays below 0.7 validation accuracy; 2 and 3 blocks pass 0.9",
        # Depth matters: one block does one look-up by position per token, and 3 hops need them
        # composed. Calibrated on seeds 10-11 (the preset runs 0-1): validation accuracy after 600
        # steps 1 block 0.58/0.59, 2 blocks 1.00/1.00, 3 blocks 1.00/1.00, 4 blocks 1.00/0.97
        # (chance 1/8); at 300 steps 1 block 0.50/0.49, 4 blocks 0.73/0.68. 3 blocks, not 4:
        # twice the steps must stay under the public 400 GFLOP cap (382 with 3, 444 with 4)
        "family": "transformer",
        "task": "hops",
        "seq_len": 8,
        "width": 32,
        "heads": 2,
        "norm": "layer",
        "ln_placement": "pre",
        "activation": "relu",
        "init": "default",
        "optimizer": "adam98",
        "lr": 0.003,
        "batch_size": 32,
        "steps": 600,
        "seeds": 2,
        "log_every": 20,
        "variants": [
            {"name": "1 block", "depth": 1},
            {"name": "2 blocks", "depth": 2},
            {"name": "3 blocks", "depth": 3},
        ],
    },
}

DEFAULT_PRESET = "deep-mlp"
DEFAULT_RNN_PRESET = "rnn-adding"
DEFAULT_TRANSFORMER_PRESET = "transformer-ln"


def preset_dict(name: str) -> dict[str, Any]:
    """A copy of a preset's config dict."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset '{name}'; allowed: {', '.join(PRESETS)}")
    return copy.deepcopy(PRESETS[name])


def load_preset(name: str, overrides: dict[str, Any] | None = None) -> Comparison:
    """A preset as a validated comparison, with optional overrides for every variant."""
    return comparison_from_dict(preset_dict(name), overrides)

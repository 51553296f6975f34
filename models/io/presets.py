"""Named comparisons a newcomer can run at once. Each is a config dict in the file format."""

from __future__ import annotations

import copy
from typing import Any

from models.core.config import Comparison
from models.core.errors import ConfigError
from models.io.comparison_io import comparison_from_dict

PRESETS: dict[str, dict[str, Any]] = {
    "deep-mlp": {
        "title": "Deep sigmoid MLP: the baseline's gradient vanishes; five mitigations beside it",
        "family": "mlp", "task": "digits", "depth": 20, "width": 48, "activation": "sigmoid",
        "optimizer": "momentum", "lr": 0.02, "batch_size": 64, "steps": 150, "seeds": 2,
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
        "title": "Adding problem (T=30): a vanilla tanh RNN against LSTM, GRU, IRNN, orthogonal, clipping",
        "family": "rnn", "task": "adding", "seq_len": 30, "hidden": 32, "cell": "rnn",
        "activation": "tanh", "optimizer": "adam", "lr": 0.02, "batch_size": 32, "steps": 300,
        "seeds": 2, "log_every": 10,
        "variants": [
            {"name": "tanh rnn (baseline)"},
            {"name": "lstm", "cell": "lstm"},
            {"name": "gru", "cell": "gru"},
            {"name": "irnn", "activation": "relu", "recurrent_init": "identity", "init": "normal",
             "init_gain": 0.1, "lr": 0.004, "clip_norm": 1.0},
            {"name": "orthogonal", "recurrent_init": "orthogonal"},
            {"name": "clip norm 1", "clip_norm": 1.0},
        ],
    },
    "exploding-rnn": {
        "title": "An RNN whose gradients explode (ReLU, W_hh spectral radius 1.7): unclipped it diverges, clipped it trains",
        "family": "rnn", "task": "adding", "seq_len": 40, "hidden": 32, "cell": "rnn",
        "activation": "relu", "recurrent_init": "scaled", "spectral_radius": 1.7,
        "optimizer": "sgd", "lr": 0.01, "batch_size": 32, "steps": 200, "seeds": 2,
        "log_every": 5,
        "variants": [
            {"name": "no clipping"},
            {"name": "clip norm 1", "clip_norm": 1.0},
            {"name": "clip value 0.1", "clip_value": 0.1},
        ],
    },
    "init-showdown": {
        "title": "Initialisation showdown: a 30-layer tanh MLP across σ_w² (ordered, critical, chaotic)",
        "family": "mlp", "task": "digits", "depth": 30, "width": 64, "activation": "tanh",
        "init": "normal", "bias_std": 0.2236, "optimizer": "momentum", "lr": 0.01,
        "batch_size": 64, "steps": 150, "seeds": 2, "log_every": 10,
        "variants": [
            {"name": "σ_w²=0.5 (ordered)", "init_gain": 0.7071},
            {"name": "σ_w²=1 (ordered)", "init_gain": 1.0},
            {"name": "σ_w²=1.76 (critical)", "init_gain": 1.3266},
            {"name": "σ_w²=4 (chaotic)", "init_gain": 2.0},
        ],
    },
    "relu-init": {
        "title": "He et al. 2015: a 30-layer ReLU MLP with Xavier against He initialisation",
        "family": "mlp", "task": "digits", "depth": 30, "width": 64, "activation": "relu",
        "optimizer": "momentum", "lr": 0.01, "batch_size": 64, "steps": 150, "seeds": 2,
        "log_every": 10,
        "variants": [
            {"name": "xavier", "init": "xavier"},
            {"name": "he", "init": "he"},
            {"name": "default (pytorch)", "init": "default"},
        ],
    },
    "temporal-order": {
        "title": "Temporal order (T=40): which came first, X or Y? tanh RNN against LSTM and GRU",
        "family": "rnn", "task": "temporal-order", "seq_len": 40, "hidden": 32,
        "activation": "tanh", "optimizer": "adam", "lr": 0.02, "batch_size": 32, "steps": 300,
        "seeds": 1, "log_every": 10,
        "variants": [
            {"name": "tanh rnn", "cell": "rnn"},
            {"name": "lstm", "cell": "lstm"},
            {"name": "gru", "cell": "gru"},
        ],
    },
    "dynamical-isometry": {
        "title": "Dynamical isometry (30 layers): orthogonal tanh keeps every Jacobian singular value near 1 and trains fastest; Gaussian tanh and ReLU spread them over decades",
        "family": "mlp", "task": "digits", "depth": 30, "width": 64, "activation": "tanh",
        "bias_std": 0.0, "optimizer": "momentum", "lr": 0.01, "batch_size": 64, "steps": 150,
        "seeds": 3, "log_every": 10,
        "variants": [
            # σ_w² = 1, σ_b = 0: χ₁ = 1 for both tanh variants; only the spectrum differs
            {"name": "tanh + orthogonal", "init": "orthogonal"},
            {"name": "tanh + gaussian", "init": "normal", "init_gain": 1.0},
            {"name": "relu + orthogonal", "activation": "relu", "init": "orthogonal",
             "init_gain": 1.4142},
            {"name": "relu + he", "activation": "relu", "init": "he"},
        ],
    },
}  # fmt: skip

DEFAULT_PRESET = "deep-mlp"
DEFAULT_RNN_PRESET = "rnn-adding"


def preset_dict(name: str) -> dict[str, Any]:
    """A copy of a preset's config dict."""
    if name not in PRESETS:
        raise ConfigError(f"unknown preset '{name}'; allowed: {', '.join(PRESETS)}")
    return copy.deepcopy(PRESETS[name])


def load_preset(name: str, overrides: dict[str, Any] | None = None) -> Comparison:
    """A preset as a validated comparison, with optional overrides for every variant."""
    return comparison_from_dict(preset_dict(name), overrides)

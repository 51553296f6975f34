"""Named sweeps a newcomer can run at once (each a sweep dict in the file format)."""

from __future__ import annotations

import copy
import math
from typing import Any

from ..core.errors import ConfigError
from .spec import SweepSpec, sweep_from_dict

# σ_w² values of the tanh phase diagram (σ_b² = 0.05: the edge of chaos is at σ_w² ≈ 1.76);
# the grid field is σ_w = init_gain
_SIGMA_W2 = (0.5, 1.0, 1.25, 1.5, 1.76, 2.0, 2.5, 3.0, 4.0)

SWEEP_PRESETS: dict[str, dict[str, Any]] = {
    "tanh-phase-diagram": {
        "title": "Tanh MLP phase diagram: which σ_w² × depth train, beside the edge of chaos "
        "(χ₁ = 1) and 6 ξ_c",
        "family": "mlp",
        "task": "digits",
        "activation": "tanh",
        "init": "normal",
        "bias_std": 0.2236,
        "width": 32,
        "optimizer": "momentum",
        "lr": 0.01,
        "batch_size": 64,
        "steps": 150,
        "seeds": 2,
        "log_every": 25,
        "variants": [{"name": "tanh mlp"}],
        "grid": {
            "init_gain": [round(math.sqrt(s), 4) for s in _SIGMA_W2],
            "depth": [5, 10, 20, 30, 40],
        },
    },
    "rnn-length": {
        "title": "Adding problem over sequence length T: a tanh RNN gives up long before LSTM "
        "and GRU",
        "family": "rnn",
        "task": "adding",
        "hidden": 32,
        "cell": "rnn",
        "activation": "tanh",
        "optimizer": "adam",
        "lr": 0.02,
        "batch_size": 32,
        "steps": 300,
        "seeds": 1,
        "log_every": 25,
        "variants": [
            {"name": "tanh rnn", "cell": "rnn"},
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
        ],
        "grid": {"seq_len": [5, 10, 20, 40, 80]},
    },
    "transformer-lr": {
        "title": "Transformers over learning rate × depth: which LayerNorm placements train at "
        "which Adam learning rate (Post-LN, Pre-LN, Post-LN with a warm-up, DeepNorm)",
        "family": "transformer",
        "task": "row-digits",
        "width": 16,
        "heads": 2,
        "norm": "layer",
        "activation": "relu",
        "optimizer": "adam98",
        "batch_size": 32,
        "steps": 150,
        "seeds": 1,
        "log_every": 25,
        "variants": [
            {"name": "post-ln", "ln_placement": "post"},
            {"name": "pre-ln", "ln_placement": "pre"},
            {"name": "post-ln + warm-up 75", "ln_placement": "post", "warmup_steps": 75},
            {"name": "deepnorm", "ln_placement": "post", "deepnorm": True},
        ],
        "grid": {"lr": [0.001, 0.003, 0.008, 0.02], "depth": [2, 6, 12]},
    },
}

DEFAULT_SWEEP_PRESET = "tanh-phase-diagram"


def sweep_preset_dict(name: str) -> dict[str, Any]:
    """A copy of a sweep preset's dict."""
    if name not in SWEEP_PRESETS:
        raise ConfigError(f"unknown sweep preset '{name}'; allowed: {', '.join(SWEEP_PRESETS)}")
    return copy.deepcopy(SWEEP_PRESETS[name])


def load_sweep_preset(name: str, overrides: dict[str, Any] | None = None) -> SweepSpec:
    """A sweep preset as a validated spec, with optional overrides."""
    return sweep_from_dict(sweep_preset_dict(name), overrides)

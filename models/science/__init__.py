"""Published results and theory, measured on the engine: one function per claim.

Each ``claim_*`` function runs a small experiment through the engine's public API (or, for
Jacobian spectra and activations, through ``models.core.nets.build_model``), compares it with theory or
the paper, and returns ``{id, claim, source, expected, measured, passed}``. The ``measure_*``
functions hold the numbers; ``tests/science`` asserts on them and ``scripts/science_table.py``
turns the claims into ``models/science/claims.json`` and the README table. Runs are cached per process,
so claims that share an experiment train it once. One module per topic:
``mean_field``, ``initialisation``, ``recurrent``, ``mitigations``, ``isometry``; helpers in ``common``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from models.science.common import Claim, make_claim
from models.science.initialisation import (
    claim_glorot_backprop,
    claim_he_init,
    claim_he_training,
    claim_sigmoid_saturation,
)
from models.science.isometry import claim_isometry_spectrum, claim_isometry_training
from models.science.mean_field import (
    claim_mean_field_chaotic,
    claim_mean_field_critical,
    claim_mean_field_ordered,
)
from models.science.mitigations import claim_batch_norm, claim_linear_isometry, claim_residual
from models.science.phase import claim_phase_diagram, claim_rnn_length
from models.science.recurrent import (
    claim_adding,
    claim_clipping_direction,
    claim_hidden_grad_ratio,
    claim_pascanu_bound,
    claim_toy_wall,
)

CLAIMS_JSON = Path(__file__).parent / "claims.json"  # written by scripts/science_table.py


def load_claims(path: str | Path = CLAIMS_JSON) -> dict[str, Any]:
    """The committed claims table {generated, claims: [...]}, without running anything."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


CLAIMS: tuple[Callable[[], Claim], ...] = (
    claim_mean_field_ordered,
    claim_mean_field_chaotic,
    claim_mean_field_critical,
    claim_glorot_backprop,
    claim_sigmoid_saturation,
    claim_he_init,
    claim_he_training,
    claim_pascanu_bound,
    claim_toy_wall,
    claim_clipping_direction,
    claim_adding,
    claim_hidden_grad_ratio,
    claim_batch_norm,
    claim_residual,
    claim_linear_isometry,
    claim_phase_diagram,
    claim_rnn_length,
    claim_isometry_spectrum,
    claim_isometry_training,
)


def run_all(progress: Callable[[str], None] | None = None) -> list[Claim]:
    """Evaluate every claim in order; a claim whose experiment fails reports the error."""
    out = []
    for fn in CLAIMS:
        if progress is not None:
            progress(fn.__name__)
        try:
            out.append(fn())
        except Exception as e:  # one broken experiment must not hide the others
            cid = fn.__name__.removeprefix("claim_").replace("_", "-")
            error = f"error: {type(e).__name__}: {e}"
            out.append(make_claim(cid, fn.__doc__ or "", "", "", error, False))
    return out

"""Published results and theory, measured on the engine: one function per claim.

Each ``claim_*`` function runs a small experiment through the engine's public API (or, for
Jacobian spectra and activations, through ``models.core.nets.build_model``), compares it with theory or
the paper, and returns ``{id, claim, source, setup, expected, threshold, measured, passed, seeds, values,
tolerance}``: ``setup`` is one line on what ran and how it differs from the paper, ``threshold``
whether the pass line came from theory or from a calibration run (on other seeds than the ones
measured, which ``seeds`` names), ``values`` the key numbers and ``tolerance`` how far another
machine's may differ. Every ``claim_*`` takes an optional measurement (the sabotage tests hand
it a broken one). The ``measure_*`` functions hold the numbers; ``tests/science`` asserts on
them, recomputes every claim and compares it with the committed table (``compare_claims``), and
``scripts/science_table.py`` writes ``models/science/claims.json`` (with the run's provenance)
and the table in ``docs/science.md``. Runs are cached per process, so claims that share an
experiment train it once. One module per topic: ``mean_field``, ``initialisation``,
``recurrent``, ``mitigations``, ``isometry``, ``phase``; helpers in ``common``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import Claim, make_claim
from .initialisation import (
    claim_glorot_backprop,
    claim_glorot_forward,
    claim_glorot_weight_gradients,
    claim_he_backward,
    claim_he_init,
    claim_he_training,
    claim_sigmoid_saturation,
)
from .isometry import claim_isometry_spectrum, claim_isometry_training
from .mean_field import (
    claim_correlation_map,
    claim_mean_field_chaotic,
    claim_mean_field_critical,
    claim_mean_field_ordered,
    claim_trainable_depth,
)
from .mitigations import (
    claim_batch_norm,
    claim_linear_isometry,
    claim_residual,
    claim_rezero,
)
from .phase import claim_phase_diagram, claim_rnn_length
from .recurrent import (
    claim_adding,
    claim_clipping,
    claim_forget_gate,
    claim_hidden_grad_ratio,
    claim_pascanu_jacobian,
    claim_toy_wall,
)
from .transformers import claim_warmup_lr, claim_xiong_profile, claim_xiong_ratio

CLAIMS_JSON = Path(__file__).parent / "claims.json"  # written by scripts/science_table.py


def load_claims(path: str | Path = CLAIMS_JSON) -> dict[str, Any]:
    """The committed claims table {generated, provenance, claims: [...]}, without running anything."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _close(a: float | None, b: float | None, tol: float) -> bool:
    if a is None or b is None:  # nan stored as None: both must be missing
        return a is None and b is None
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tol * max(abs(a), abs(b)) or abs(a - b) <= 1e-12


def compare_claims(committed: list[Claim], measured: list[Claim]) -> list[str]:
    """Where a committed table and a fresh measurement disagree: a claim missing on either side,
    a different verdict, or a key number beyond the committed claim's tolerance (relative).
    Empty when they agree."""
    out = []
    old = {c["id"]: c for c in committed}
    new = {c["id"]: c for c in measured}
    for cid in old.keys() - new.keys():
        out.append(f"{cid}: in the committed table, not measured")
    for cid in new.keys() - old.keys():
        out.append(f"{cid}: measured, not in the committed table")
    for cid in [c["id"] for c in measured if c["id"] in old]:
        a, b = old[cid], new[cid]
        if a["passed"] != b["passed"]:
            out.append(f"{cid}: committed passed={a['passed']}, measured passed={b['passed']}")
        tol = float(a.get("tolerance", 0.0))
        va, vb = a.get("values", {}), b.get("values", {})
        if set(va) != set(vb):
            out.append(f"{cid}: committed values {sorted(va)}, measured {sorted(vb)}")
        for k in sorted(set(va) & set(vb)):
            x, y = va[k], None if vb[k] is None else float(vb[k])
            if not _close(x, y, tol):
                out.append(f"{cid}: {k} committed {x}, measured {y} (tolerance {tol:.0%})")
    return out


CLAIMS: tuple[Callable[[], Claim], ...] = (
    claim_mean_field_ordered,
    claim_mean_field_chaotic,
    claim_mean_field_critical,
    claim_correlation_map,
    claim_trainable_depth,
    claim_glorot_forward,
    claim_glorot_backprop,
    claim_glorot_weight_gradients,
    claim_sigmoid_saturation,
    claim_he_init,
    claim_he_backward,
    claim_he_training,
    claim_pascanu_jacobian,
    claim_toy_wall,
    claim_clipping,
    claim_adding,
    claim_hidden_grad_ratio,
    claim_forget_gate,
    claim_batch_norm,
    claim_residual,
    claim_rezero,
    claim_linear_isometry,
    claim_phase_diagram,
    claim_rnn_length,
    claim_isometry_spectrum,
    claim_isometry_training,
    claim_xiong_ratio,
    claim_xiong_profile,
    claim_warmup_lr,
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
            out.append(
                make_claim(
                    cid,
                    fn.__doc__ or "",
                    "",
                    "",
                    error,
                    False,
                    setup="",
                    threshold="theory and calibration not reached: the experiment failed",
                )
            )
    return out

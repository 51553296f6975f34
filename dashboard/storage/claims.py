"""Read the science helper's claims table (models/science/claims.json), tolerating its absence."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

CLAIMS = Path(__file__).resolve().parents[2] / "models" / "science" / "claims.json"


def load_claims(path: Path = CLAIMS) -> pd.DataFrame | None:
    """The science helper's claims table, or None when missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        claims = pd.DataFrame(data["claims"])
        order = (
            "id",
            "passed",
            "claim",
            "expected",
            "measured",
            "seeds",
            "source",
            "setup",
            "threshold",
        )
        cols = [c for c in order if c in claims.columns]
        out = claims[cols].astype({c: str for c in cols if c != "passed"})
        out.attrs["generated"] = str(data.get("generated", ""))
        # which run produced the table: date, commit, machine (scripts/science_table.py)
        prov = data.get("provenance")
        out.attrs["provenance"] = (
            {str(k): str(v) for k, v in prov.items()} if isinstance(prov, dict) else {}
        )
        return out
    except Exception:
        return None

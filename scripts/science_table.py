"""Run every science claim, write models/science/claims.json and print the README's markdown table.

Usage: python scripts/science_table.py [--json models/science/claims.json] [--markdown FILE]
                                       [--section FILE]
--markdown writes the bare table, --section the README section around it.
Exits 1 if any claim failed (the table still gets written, failures marked).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.science import run_all  # noqa: E402


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(claims: list[dict]) -> str:
    """claim | source | expected | measured, one row per claim; failures marked."""
    lines = ["| claim | source | expected | measured |", "|---|---|---|---|"]
    for c in claims:
        measured = c["measured"] if c["passed"] else f"**FAILED**: {c['measured']}"
        lines.append(
            "| " + " | ".join(_cell(x) for x in (c["claim"], c["source"], c["expected"], measured))
            + " |"
        )  # fmt: skip
    return "\n".join(lines)


SECTION_INTRO = """\
## Faithful to the science

Every number below is measured by `scripts/science_table.py` on this engine (models built and
trained through `run_comparison`, or with `models.core.nets.build_model` for Jacobians and
activations) and compared with the theory in `models/core/theory.py` or the paper's result. The
experiments live in `models/science/`; `tests/science/` asserts the same numbers (pytest
marker `science`, part of `./scripts/test.sh`; run alone with `pytest -m science`, about 20 s
on 2 cores). Each test's docstring names the paper and equation or figure, and each tolerance
is justified next to it (seeds, widths). The dashboard's Theory page shows the same claims from
`models/science/claims.json`.
"""


def section(claims: list[dict], generated: str) -> str:
    """The README section: intro, table, and how it was made."""
    return (
        SECTION_INTRO
        + "\n"
        + markdown_table(claims)
        + f"\n\nGenerated {generated} by `python scripts/science_table.py` "
        "(rewrites `models/science/claims.json`).\n"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=str(ROOT / "models" / "science" / "claims.json"))
    ap.add_argument("--markdown", default=None, help="also write the table to this file")
    ap.add_argument("--section", default=None, help="also write the README section to this file")
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    claims = run_all(progress=lambda name: print(f"running {name} …", file=sys.stderr))
    elapsed = time.perf_counter() - t0
    payload = {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "claims": claims,
    }
    Path(args.json).write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    table = markdown_table(claims)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
    if args.section:
        Path(args.section).write_text(section(claims, payload["generated"][:10]))
    failed = [c["id"] for c in claims if not c["passed"]]
    print(
        f"{len(claims) - len(failed)}/{len(claims)} claims hold ({elapsed:.0f} s)"
        + (f"; failed: {', '.join(failed)}" if failed else ""),
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

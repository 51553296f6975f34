"""Run every science claim, write models/science/claims.json and the README's table from it.

Usage: python scripts/science_table.py [--json models/science/claims.json] [--markdown FILE]
                                       [--section FILE] [--readme README.md | --no-readme]
--markdown writes the bare table, --section the README section around it; the README's section
"## Faithful to the science" is rewritten in place (unless --no-readme), so claims.json, the
README and the Theory page (which reads claims.json) come from the same run.
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


COLUMNS = ("claim", "source", "set-up", "expected", "threshold from", "measured")


def markdown_table(claims: list[dict]) -> str:
    """One row per claim (claim, source, set-up, expected, threshold from, measured); failures
    marked. Claims from before the set-up and threshold notes render those cells empty."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for c in claims:
        measured = c["measured"] if c["passed"] else f"**FAILED**: {c['measured']}"
        cells = (c["claim"], c["source"], c.get("setup", ""), c["expected"],
                 c.get("threshold", ""), measured)  # fmt: skip
        lines.append("| " + " | ".join(_cell(x) for x in cells) + " |")
    return "\n".join(lines)


SECTION_INTRO = """\
## Faithful to the science

Every number below is measured by `scripts/science_table.py` on this engine (models built and
trained through `run_comparison`, or with `models.core.nets.build_model` for Jacobians and
activations) and compared with the theory in `models/core/theory.py` or the paper's result. The
experiments live in `models/science/`; `tests/science/` asserts the same numbers (pytest
marker `science`, part of `./scripts/test.sh`; run alone with `pytest -m science`: about
90 s of CPU, several minutes of wall time when the 2 cores are shared; the experiments are also
marked `slow`, so the inner loop `-m "not slow and not browser"` skips them). Each test's docstring names the paper and equation or figure, and each tolerance
is justified next to it (seeds, widths). The dashboard's Theory page shows the same claims from
`models/science/claims.json`.

Each claim says what ran and how that differs from the paper's set-up ("set-up differs from the
paper: …"), and where its pass line came from: **theory** (the paper's formula or argument) or a
**calibration** run made before the measurement (what it showed is quoted).
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


README = ROOT / "README.md"
SECTION_HEADING = "## Faithful to the science"


def replace_section(readme: str, new_section: str) -> str:
    """The README text with its science section (its heading up to the next "## ") replaced."""
    start = readme.index(SECTION_HEADING)
    nxt = readme.find("\n## ", start + len(SECTION_HEADING))
    tail = "" if nxt < 0 else "\n" + readme[nxt + 1 :]
    return readme[:start] + new_section.rstrip("\n") + "\n" + tail


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=str(ROOT / "models" / "science" / "claims.json"))
    ap.add_argument("--markdown", default=None, help="also write the table to this file")
    ap.add_argument("--section", default=None, help="also write the README section to this file")
    ap.add_argument("--readme", default=str(README), help="README whose section is rewritten")
    ap.add_argument("--no-readme", action="store_true", help="leave the README alone")
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
    text = section(claims, payload["generated"][:10])
    if args.section:
        Path(args.section).write_text(text)
    if not args.no_readme:
        readme = Path(args.readme)
        readme.write_text(replace_section(readme.read_text(encoding="utf-8"), text))
    failed = [c["id"] for c in claims if not c["passed"]]
    print(
        f"{len(claims) - len(failed)}/{len(claims)} claims hold ({elapsed:.0f} s)"
        + (f"; failed: {', '.join(failed)}" if failed else ""),
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

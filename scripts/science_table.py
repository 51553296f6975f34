"""Run every science claim, write models/science/claims.json and the table in docs/science.md.

Usage: python scripts/science_table.py [--json models/science/claims.json] [--markdown FILE]
                                       [--docs docs/science.md | --no-docs]
claims.json records the run's provenance (date, commit, machine, CPU, library versions; each
claim names its seeds); the table between the markers in docs/science.md is rewritten from the
same run, so claims.json, the docs and the Theory page (which reads claims.json) agree.
tests/science recomputes every claim and fails when this table's verdicts or key numbers
(beyond each claim's tolerance) differ from what the test machine measures.
Exits 1 if any claim failed (the table still gets written, failures marked).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.science import run_all  # noqa: E402
from models.science.common import THREADS  # noqa: E402


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


COLUMNS = ("claim", "source", "set-up", "expected", "threshold from", "seeds", "measured")


def markdown_table(claims: list[dict]) -> str:
    """One row per claim (claim, source, set-up, expected, threshold from, seeds, measured);
    failures marked. Cells a claim lacks render empty."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for c in claims:
        measured = c["measured"] if c["passed"] else f"**FAILED**: {c['measured']}"
        cells = (
            c["claim"],
            c["source"],
            c.get("setup", ""),
            c["expected"],
            c.get("threshold", ""),
            c.get("seeds", ""),
            measured,
        )
        lines.append("| " + " | ".join(_cell(x) for x in cells) + " |")
    return "\n".join(lines)


def provenance_line(prov: dict) -> str:
    """One sentence naming the run that produced the table."""
    if not prov:
        return "Provenance not recorded."
    return (
        f"Produced {prov.get('generated', '?')} by `python scripts/science_table.py` at commit "
        f"{prov.get('commit', '?')} on {prov.get('cpu', '?')} ({prov.get('cores', '?')} cores, "
        f"{prov.get('platform', '?')}; Python {prov.get('python', '?')}, torch "
        f"{prov.get('torch', '?')}, {prov.get('threads', '?')} intra-op thread); the whole run "
        f"took {prov.get('elapsed_s', '?')} s at load average {prov.get('load', '?')}."
    )


START, END = "<!-- claims:start -->", "<!-- claims:end -->"


def section(claims: list[dict], prov: dict) -> str:
    """The generated block of docs/science.md: provenance and the table, between the markers."""
    return f"{START}\n{provenance_line(prov)}\n\n{markdown_table(claims)}\n{END}"


def replace_section(doc: str, block: str) -> str:
    """The document with the block between the claims markers replaced (appended if absent)."""
    if START in doc and END in doc:
        head, rest = doc.split(START, 1)
        tail = rest.split(END, 1)[1]
        return head + block + tail
    return doc.rstrip("\n") + "\n\n" + block + "\n"


def _git(*args: str) -> str:
    try:
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
        return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def provenance(elapsed: float, load: float) -> dict:
    """Where and from what this table was made."""
    import torch

    commit = _git("rev-parse", "--short=12", "HEAD") or "unknown"
    # the table's own outputs do not count: they are rewritten by this very run
    outputs = {"models/science/claims.json", "docs/science.md"}
    status = _git("status", "--porcelain", "--untracked-files=no").splitlines()
    changed = [ln.split(maxsplit=1)[-1] for ln in status]  # " M path" (stripped) or "MM path"
    if [p for p in changed if p not in outputs]:
        commit += " (with uncommitted changes)"
    return {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "cpu": _cpu_name(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "threads": THREADS,
        "elapsed_s": round(elapsed),
        "load": round(load, 1),
    }


DOCS = ROOT / "docs" / "science.md"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", default=str(ROOT / "models" / "science" / "claims.json"))
    ap.add_argument("--markdown", default=None, help="also write the bare table to this file")
    ap.add_argument("--docs", default=str(DOCS), help="document whose claims block is rewritten")
    ap.add_argument("--no-docs", action="store_true", help="leave docs/science.md alone")
    args = ap.parse_args(argv)

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    t0 = time.perf_counter()
    claims = run_all(progress=lambda name: print(f"running {name} …", file=sys.stderr))
    prov = provenance(time.perf_counter() - t0, load)
    payload = {"generated": prov["generated"], "provenance": prov, "claims": claims}
    Path(args.json).write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    table = markdown_table(claims)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
    if not args.no_docs:
        doc = Path(args.docs)
        text = doc.read_text(encoding="utf-8") if doc.exists() else ""
        doc.write_text(replace_section(text, section(claims, prov)), encoding="utf-8")
    failed = [c["id"] for c in claims if not c["passed"]]
    print(
        f"{len(claims) - len(failed)}/{len(claims)} claims hold ({prov['elapsed_s']} s)"
        + (f"; failed: {', '.join(failed)}" if failed else ""),
        file=sys.stderr,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

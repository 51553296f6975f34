"""Write requirements.txt from pyproject.toml's dependencies as installed here: every package the
app needs (direct and what they pull in, never the dev tools) at its exact installed version.

    python scripts/freeze_requirements.py          # rewrite requirements.txt
    python scripts/freeze_requirements.py --check  # exit 1 if it would change

Run it in an environment where `pip install -e .` was done (the project's .venv).
"""

from __future__ import annotations

import importlib.metadata as md
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
HEADER = """\
# Streamlit Community Cloud installs from this file on every wake (it reads it before
# pyproject.toml; a uv.lock, Pipfile or environment.yml would win over it: keep none).
# Exact pins, so every morning installs what was tested. Written by
# `python scripts/freeze_requirements.py` from pyproject.toml's dependencies as installed;
# tests/test_packaging.py checks the two agree.
# The CPU-only wheel index: torch==…+cpu is ~200 MB instead of a multi-GB CUDA build.
--extra-index-url https://download.pytorch.org/whl/cpu
"""


def _closure(roots: list[Requirement]) -> dict[str, str]:
    """name -> installed version of the roots and everything they require (on this platform)."""
    seen: dict[tuple[str, tuple[str, ...]], str] = {}
    stack = list(roots)
    while stack:
        req = stack.pop()
        key = (canonicalize_name(req.name), tuple(sorted(req.extras)))
        if key in seen:
            continue
        dist = md.distribution(req.name)
        seen[key] = dist.version
        for text in dist.requires or []:
            sub = Requirement(text)
            extras = sorted(req.extras) or [""]
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras):
                stack.append(sub)
    return {name: version for (name, _), version in seen.items()}


def render() -> str:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    roots = [Requirement(d) for d in deps]
    versions = _closure(roots)
    direct = {canonicalize_name(r.name) for r in roots}
    lines = [HEADER, "# direct: pyproject.toml's [project] dependencies"]
    for r in sorted(roots, key=lambda r: canonicalize_name(r.name)):
        extras = f"[{','.join(sorted(r.extras))}]" if r.extras else ""
        lines.append(f"{canonicalize_name(r.name)}{extras}=={versions[canonicalize_name(r.name)]}")
    lines += ["", "# what they pull in"]
    lines += [f"{n}=={v}" for n, v in sorted(versions.items()) if n not in direct]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    text, path = render(), ROOT / "requirements.txt"
    if "--check" in argv:
        same = path.read_text() == text
        print("requirements.txt is up to date" if same else "requirements.txt is stale")
        return 0 if same else 1
    path.write_text(text)
    print(f"wrote {path} ({text.count('==')} pins)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Packaging contracts: the cloud's requirements.txt matches pyproject, the engine stays UI-free."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _requirements() -> tuple[list[str], list[str]]:
    """requirements.txt's lines and its requirements (no comments, no options)."""
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    reqs = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith(("#", "-"))]
    return lines, reqs


def test_requirements_txt_pins_what_pyproject_asks_for():
    deps = [
        Requirement(d)
        for d in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    ]
    lines, reqs = _requirements()
    pins = {}
    for r in reqs:
        req = Requirement(r)
        [spec] = req.specifier  # one exact pin per package: Cloud reinstalls on every wake
        assert spec.operator == "==" and "*" not in spec.version, r
        assert _name(r) not in pins, f"{r} pinned twice"
        pins[_name(r)] = (req, Version(spec.version))
    for dep in deps:  # every direct dependency pinned, at a version pyproject allows
        assert _name(dep.name) in pins, f"{dep.name} is in pyproject.toml, not in requirements.txt"
        req, version = pins[_name(dep.name)]
        assert dep.specifier.contains(version, prereleases=True), (str(dep), str(req))
        assert req.extras == dep.extras, (str(dep), str(req))
    # the direct section is exactly pyproject's list (the rest is what they pull in)
    direct = lines[lines.index("# direct: pyproject.toml's [project] dependencies") + 1 :]
    direct = [ln for ln in direct[: direct.index("")]]
    assert sorted(_name(d) for d in direct) == sorted(_name(d.name) for d in deps)
    # Community Cloud must get the CPU-only torch wheel, never the multi-GB CUDA build
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    assert any(r == "torch==2.13.0+cpu" for r in reqs)
    assert pins["torch"][1].public == "2.13.0"


@pytest.mark.parametrize(
    "name", ["uv.lock", "Pipfile", "Pipfile.lock", "environment.yml", "environment.yaml"]
)
def test_no_file_that_cloud_would_prefer_to_requirements_txt(name):
    """Community Cloud installs from the first of uv.lock, Pipfile, environment.yml,
    requirements.txt found (the app's folder, then the root): any of the others would skip the
    pinned CPU-only requirements."""
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=ROOT)
    found = (
        {Path(p).name for p in tracked.stdout.splitlines()} if tracked.returncode == 0 else set()
    )
    for folder in (ROOT, ROOT / "dashboard"):
        found |= {p.name for p in folder.iterdir()}
    assert name not in found


def test_streamlit_config_turns_the_file_watcher_off():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert cfg["server"]["fileWatcherType"] == "none"  # torch.classes confuses the watcher


@pytest.mark.slow
def test_importing_the_engine_loads_neither_streamlit_nor_sklearn():
    code = (
        "import sys, models, models.cli.main, models.core.tasks; from models.core.tasks import make_task;"
        "from models import make_config; make_task(make_config({}));"
        "print(sorted(m for m in ('streamlit', 'sklearn', 'plotly') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_formatter_formats_the_code():
    """`ruff format` owns the layout: at most 20 hand-laid tables keep a `# fmt: skip`, and each
    says why on the same line (`# <why>; fmt: skip`)."""
    skips = [
        (p, line)
        for p in ROOT.rglob("*.py")
        if ".venv" not in p.parts
        for line in p.read_text(encoding="utf-8").splitlines()
        if line.rstrip().endswith("fmt: skip")
    ]
    assert len(skips) <= 20, f"{len(skips)} fmt: skip lines"
    unexplained = [
        f"{p}: {line.strip()}" for p, line in skips if line.rstrip().endswith("# fmt: skip")
    ]
    assert not unexplained, unexplained

"""Packaging contracts: the cloud's requirements.txt matches pyproject, the engine stays UI-free."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0].lower()


def test_requirements_txt_pins_what_pyproject_pins():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    reqs = [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith(("#", "-"))]
    assert {_name(r): r.replace(" ", "") for r in reqs} == {
        _name(d): d.replace(" ", "") for d in deps
    }
    # Community Cloud must get the CPU-only torch wheel, never the multi-GB CUDA build
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in lines
    assert any(r == "torch==2.13.0" for r in reqs)


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

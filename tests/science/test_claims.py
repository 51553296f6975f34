"""The claims table: shape of every claim, the committed claims.json, the markdown renderer."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import models.science as V

pytestmark = pytest.mark.science

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"id", "claim", "source", "setup", "expected", "threshold", "measured", "passed"}


def _table_module():
    spec = importlib.util.spec_from_file_location(
        "science_table", ROOT / "scripts" / "science_table.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow
@pytest.mark.timeout(1800)  # every experiment: ~90 s of CPU, several minutes on a loaded machine
def test_every_claim_holds_and_is_well_formed() -> None:
    """Every claim function returns the documented dict, with a number in 'measured'."""
    claims = V.run_all()  # experiments are cached: the other science tests share them
    assert len(claims) == len(V.CLAIMS)
    assert len({c["id"] for c in claims}) == len(claims)
    for c in claims:
        assert set(c) == KEYS
        assert all(isinstance(c[k], str) and c[k] for k in KEYS - {"passed"})
        assert any(ch.isdigit() for ch in c["measured"])
        assert c["passed"] is True, c
        # where the pass line came from, and a set-up note (naming the differences, if any)
        assert c["threshold"].startswith(("theory", "calibration")), c["id"]
        assert "paper" in c["setup"] or "Fig." in c["setup"], c["id"]
    # the committed table is up to date with the claim set (regenerate: scripts/science_table.py)
    committed = json.loads((ROOT / "models" / "science" / "claims.json").read_text())["claims"]
    assert [c["id"] for c in committed] == [c["id"] for c in claims]


def test_committed_claims_json_matches_the_claims() -> None:
    """models/science/claims.json (read by the dashboard) lists every claim id, all passing."""
    data = V.load_claims()
    assert data == json.loads((ROOT / "models" / "science" / "claims.json").read_text())
    assert set(data) == {"generated", "claims"}
    assert len(data["claims"]) == len(V.CLAIMS)
    assert len({c["id"] for c in data["claims"]}) == len(V.CLAIMS)
    for c in data["claims"]:
        assert set(c) == KEYS and c["passed"] is True


def test_markdown_table_escapes_and_marks_failures() -> None:
    mod = _table_module()
    claims = [
        {
            "id": "a",
            "claim": "x | y",
            "source": "s",
            "expected": "e",
            "measured": "1.0",
            "passed": True,
        },
        {
            "id": "b",
            "claim": "c",
            "source": "s",
            "expected": "e",
            "measured": "2.0",
            "passed": False,
        },
    ]
    lines = mod.markdown_table(claims).splitlines()
    assert lines[0] == "| claim | source | set-up | expected | threshold from | measured |"
    assert "x \\| y" in lines[2]
    assert "**FAILED**: 2.0" in lines[3]


def test_readme_section_wraps_the_table() -> None:
    mod = _table_module()
    claims = [
        {"id": "a", "claim": "c", "source": "s", "expected": "e", "measured": "1", "passed": True}
    ]
    text = mod.section(claims, "2026-01-01")
    assert text.startswith("## ") and mod.markdown_table(claims) in text
    assert "Generated 2026-01-01" in text


def test_readme_section_is_replaced_in_place() -> None:
    mod = _table_module()
    readme = "# T\n\nintro\n\n## Faithful to the science\n\nold table\n\n## Next\n\nrest\n"
    out = mod.replace_section(readme, "## Faithful to the science\n\nnew\n")
    assert out == "# T\n\nintro\n\n## Faithful to the science\n\nnew\n\n## Next\n\nrest\n"
    last = "# T\n\n## Faithful to the science\n\nold\n"
    assert mod.replace_section(last, "## Faithful to the science\n\nnew\n").endswith("new\n")


def test_readme_table_comes_from_claims_json() -> None:
    """docs/science.md's table is the committed claims.json rendered: one source for both."""
    mod = _table_module()
    data = V.load_claims()
    assert mod.markdown_table(data["claims"]) in (ROOT / "docs" / "science.md").read_text(encoding="utf-8")
    # the bar: at least 22 claims, each with a set-up note and a threshold origin
    assert len(data["claims"]) >= 22
    for c in data["claims"]:
        assert c["setup"] and c["threshold"].startswith(("theory", "calibration")), c["id"]

"""Real browser: the toy page shows where the gradient wall comes from (issue 16).

Pascanu et al. 2013, §2.3: the wall is the basin boundary (x₀ the unstable fixed point), inside
the bistable band between two saddle-node bifurcations; with w = 0 there is no wall.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit_ui import charts as _charts
from streamlit_ui import no_errors as _no_errors
from streamlit_ui import settle as _settle

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts"


def _svg_texts(page) -> str:
    return page.evaluate(
        "Array.from(document.querySelectorAll('.js-plotly-plot text'))"
        ".map(t => t.textContent).join('|')"
    )


def test_toy_page_marks_basin_boundary_and_bifurcations(page, server):
    page.goto(f"{server}/toy?activation=sigmoid&w=5&b=-1&T=50&x0=0.5")
    page.get_by_role("heading", name="toy model").first.wait_for()
    _settle(page)
    _charts(page, 2)
    _no_errors(page)
    texts = _svg_texts(page)
    assert "basin boundary: the wall" in texts and texts.count("saddle-node") == 1, texts
    assert "bistable band" in texts
    body = page.inner_text("body")
    assert "-2.612" in body and "-2.656" in body and "-2.344" in body
    assert "unstable fixed point" in body
    page.screenshot(path=str(ARTIFACTS / "toy_wall.png"), full_page=True)


def test_toy_page_without_a_wall_says_so(page, server):
    page.goto(f"{server}/toy?activation=sigmoid&w=0&b=-1&T=50&x0=0.5")
    page.get_by_role("heading", name="toy model").first.wait_for()
    _settle(page)
    _charts(page, 2)
    _no_errors(page)
    assert "basin boundary: the wall" not in _svg_texts(page)
    assert "No wall here" in page.inner_text("body")
    page.screenshot(path=str(ARTIFACTS / "toy_no_wall.png"), full_page=True)

"""The Theory page states what the science shows: trainable depth 6ξ_c from the correlation map,
the corrected mitigations table, and which run produced the claims table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import models.science as V
from dashboard.plain import plain
from tests.helpers import APP_TIMEOUT, ok

pytestmark = pytest.mark.science

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def theory_page(_private_run_store):
    """The Theory page, rendered once, with a throw-away run store (never the user's)."""
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT).run()
    at.switch_page("views/theory.py").run()
    ok(at)
    return at


def _depth_table(at: AppTest) -> pd.DataFrame:
    return [d.value for d in at.dataframe if "χ₁" in d.value.columns][0].set_index("activation")


@pytest.mark.parametrize(("sw2", "six_xi_c"), [(2.5, "71"), (4.0, "42"), (1.0, "22")])
def test_trainable_depth_is_six_xi_c_from_the_correlation_map(theory_page, sw2, six_xi_c):
    """Schoenholz et al. 2017: 71 layers at σ_w² = 2.5 and 42 at 4.0 (not 6/|ln χ₁| = 48, 20)."""
    at = theory_page
    at.multiselect(key="theory_acts").set_value(["tanh"]).run()
    at.slider(key="theory_sb2").set_value(0.05).run()
    at.slider(key="theory_sw2").set_value(sw2).run()
    assert not at.exception
    assert _depth_table(at).loc["tanh", "trainable depth 6ξ_c"] == six_xi_c
    captions = " ".join(c.value for c in at.caption)
    assert "6ξ_c" in captions and "roughly 6|ξ|" not in captions


def test_mitigations_table_says_what_the_mechanisms_do(theory_page):
    table = [t for t in theory_page.table if "mitigation" in t.value.columns][0].value
    text = " ".join(table["what it does"]) + " " + " ".join(table["what it costs"])
    assert "forget gate ≈ 1" not in text and "σ(1) ≈ 0.73" in text
    assert "weight matrix is 1" in text and "not all 1" in text
    assert "cannot lift vanishing" in text


def test_the_page_names_the_run_that_produced_the_claims(theory_page):
    prov = V.load_claims()["provenance"]
    captions = [c.value for c in theory_page.caption]
    line = [c for c in captions if c.startswith("Produced ")]
    assert len(line) == 1
    for key in ("generated", "commit", "cpu", "torch"):
        assert plain(str(prov[key])) in line[0], key  # shown as plain text

"""Public mode in a real browser, two visitors (two browser contexts, two cookie jars).

A opens a link to "Your CSV", is asked for the file, uploads it, sees the preview, trains the
deep-mlp comparison on it; A's Runs page lists the run after a reload (the visitor cookie) and
shows its share link, never a server path. B's Runs page lists nothing of A's; B opens A's run
through the link, read only, with no Delete; B's Deep page has no file: A's data never left A's
session.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from streamlit_ui import WAIT_MS, charts, no_errors, settle

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts"
SERVER_ENV = {"GFL_PUBLIC": "1"}


def _pets() -> bytes:
    rng = np.random.default_rng(0)
    rows = ["height,weight,animal"]
    for i in range(120):
        k = i % 2
        rows.append(f"{rng.normal(3 * k, 1):.3f},{rng.normal(k, 1):.3f},{('cat', 'dog')[k]}")
    return ("\n".join(rows) + "\n").encode()


def _shot(pg, name: str) -> None:
    pg.screenshot(path=str(ARTIFACTS / f"public_{name}.png"))


def _body(pg) -> str:
    return pg.locator("body").inner_text()


@pytest.fixture(scope="module")
def visitors(browser, server):
    made = [browser.new_context(viewport={"width": 1500, "height": 1100}) for _ in range(2)]
    pages = [c.new_page() for c in made]
    for pg in pages:
        pg.set_default_timeout(WAIT_MS)
    yield pages
    for c in made:
        c.close()


def test_two_visitors_keep_their_runs_and_data_apart(visitors, server, tmp_path):
    a, b = visitors
    data = _pets()
    path = tmp_path / "pets.csv"
    path.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    link = (
        f"{server}/?preset=deep-mlp&steps=60&seeds=1&task=csv&data=pets.csv"
        f"&target=animal&data_sha256={sha}"
    )

    # A opens a link made elsewhere: the page asks for the file (links never carry data)
    a.goto(link)
    a.get_by_role("heading", name="Deep networks").first.wait_for()
    settle(a)
    a.get_by_text("upload the file to train").wait_for()
    settle(a)
    _shot(a, "a_link_asks_for_file")
    a.locator("[data-testid=stFileUploader] input[type=file]").set_input_files(str(path))
    a.get_by_text("Class balance of animal").wait_for()
    settle(a)
    charts(a, 1)  # the gradient at initialisation, on A's table
    no_errors(a)
    assert "120" in a.locator("[data-testid=stMetric]").first.inner_text()
    _shot(a, "a_preview")
    a.get_by_role("button", name="Train", exact=True).click()
    a.get_by_text("Trade-offs").wait_for(timeout=WAIT_MS)
    settle(a)
    no_errors(a)
    _shot(a, "a_trained")

    # A's Runs page, after a reload: the cookie recognises A; the share link, no server path
    a.goto(f"{server}/runs")
    a.get_by_role("heading", name="Runs").first.wait_for()
    settle(a)
    a.reload()
    a.get_by_role("heading", name="Runs").first.wait_for()
    settle(a)
    a.get_by_text("Share link").first.wait_for()
    share = a.locator("[data-testid=stCode]").first.inner_text().strip()
    assert "/runs?run=" in share
    page = _body(a)
    assert "Store:" not in page and "runs.sqlite" not in page and "/tmp" not in page
    assert a.get_by_role("button", name="Delete").count() == 1
    no_errors(a)
    _shot(a, "a_runs")

    # B: nothing of A's, neither runs nor data
    b.goto(f"{server}/runs")
    b.get_by_role("heading", name="Runs").first.wait_for()
    settle(b)
    b.get_by_text("No runs yet").wait_for()
    assert "pets" not in _body(b) and b.get_by_role("button", name="Delete").count() == 0
    _shot(b, "b_runs_empty")

    # B opens A's run through its link: read only, no Delete
    b.goto(share)
    b.get_by_text("Shared run").first.wait_for()
    settle(b)
    charts(b, 2)
    body = _body(b)
    assert "only its owner can delete it" in body and "pets.csv" in body
    assert b.get_by_role("button", name="Delete").count() == 0
    no_errors(b)
    _shot(b, "b_shared_run")

    # B on A's Deep link: asked for the file; A's upload is not there
    b.goto(link)
    b.get_by_role("heading", name="Deep networks").first.wait_for()
    settle(b)
    b.get_by_text("upload the file to train").wait_for()
    settle(b)
    assert b.get_by_text("Class balance of animal").count() == 0
    _shot(b, "b_link_asks_for_file")

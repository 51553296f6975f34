"""Two browser sessions on one server: A's training never freezes B's page, and B's run waits its
turn (GFL_CONCURRENT_RUNS=1) instead of failing, then trains once A stops (issue 6)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from streamlit_ui import WAIT_MS, charts, no_errors, settle

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts"
SERVER_ENV = {
    "GFL_CONCURRENT_RUNS": "1",  # the default, pinned: one run trains, the next one queues
    # A's run must outlast B's whole visit even on a fast machine; it is stopped, never waited
    # for, so its length costs no test time. The default cap (400) allows only ~half a minute.
    "GFL_MAX_GFLOP": "2000",
    # and its 330k metric rows (~140 MB) are over the Cloud-sized memory and row caps
    "GFL_MAX_MB": "400",
    "GFL_MAX_ROWS": "off",
}
LONG_RUN = "?preset=deep-mlp&steps=3000&seeds=2"  # ~1,100 GFLOP: minutes on 2 cores
SHORT_RUN = "?preset=deep-mlp&steps=40&seeds=1"  # seconds
TRAINING = re.compile(r"Training: step (\d+) / (\d+)")


def _shot(pg, name: str) -> None:
    pg.screenshot(path=str(ARTIFACTS / f"two_sessions_{name}.png"))


def _progress_text(pg) -> str:
    bar = pg.locator("[data-testid=stProgress]")
    return bar.first.inner_text() if bar.count() else ""


def _training_step(pg) -> int | None:
    """Steps done by the run this page is training, or None when it is not training."""
    m = TRAINING.search(_progress_text(pg))
    return int(m.group(1)) if m else None


def _assert_training(pg, who: str) -> int:
    step = _training_step(pg)
    assert step is not None, f"{who} should still be training; its bar says {_progress_text(pg)!r}"
    assert pg.get_by_text("Trade-offs").count() == 0, f"{who} finished too early for this check"
    return step


def _wait_past(pg, step: int, timeout_s: float = WAIT_MS / 1000) -> None:
    """Wait until the page's run has trained beyond ``step`` (it is alive, not frozen)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = _training_step(pg)
        if now is not None and now > step:
            return
        pg.wait_for_timeout(250)
    pytest.fail(f"training made no progress past step {step}: {_progress_text(pg)!r}")


@pytest.fixture(scope="module")
def contexts(browser, server):
    """Two browser contexts: two users with their own cookies, hence two Streamlit sessions."""
    made = [browser.new_context(viewport={"width": 1500, "height": 1000}) for _ in range(2)]
    pages = [c.new_page() for c in made]
    for pg in pages:
        pg.set_default_timeout(WAIT_MS)
    yield pages
    for c in made:
        c.close()


def test_one_session_training_never_freezes_another(contexts, server):
    from playwright.sync_api import expect

    a, b = contexts

    # A: a long run on Deep networks, training.
    a.goto(server + "/" + LONG_RUN)
    a.get_by_role("heading", name="Deep networks").first.wait_for()
    settle(a)
    no_errors(a)  # the run fits the (raised) caps: no "cannot run" box
    a.get_by_role("button", name="Train", exact=True).click()
    a.get_by_text(TRAINING).first.wait_for(timeout=WAIT_MS)
    expect(a.get_by_role("button", name="Stop", exact=True)).to_be_enabled()
    started = _assert_training(a, "A")

    # B, while A trains: a fresh visit to the toy page; moving a slider updates the page.
    b.goto(server + "/toy")
    b.get_by_role("heading", name="toy model").first.wait_for()
    settle(b)
    charts(b, 2)
    wg = b.locator("[data-testid=stMetric]").filter(has_text="|w|·γ")
    value = wg.locator("[data-testid=stMetricValue]")
    expect(value).to_have_text("1.25")  # w = 5, sigmoid: γ = 1/4
    slider = b.locator("[data-testid=stSlider]").filter(has_text="w (recurrent weight)")
    slider.get_by_role("slider").focus()
    slider.get_by_role("slider").press("End")  # w = 10
    expect(value).to_have_text("2.5", timeout=WAIT_MS)
    expect(b).to_have_url(re.compile(r"[?&]w=10\b"))
    settle(b)
    charts(b, 2)
    no_errors(b)
    _wait_past(a, started)  # A kept training all along: B's page answered during A's run
    _assert_training(a, "A")
    no_errors(a)
    _shot(a, "A_training")
    _shot(b, "B_toy_while_A_trains")

    # B asks to train too: its run queues behind A's, and B's page stays usable meanwhile.
    b.goto(server + "/" + SHORT_RUN)
    b.get_by_role("heading", name="Deep networks").first.wait_for()
    settle(b)
    charts(b, 1)  # the gradient at initialisation
    b.get_by_role("button", name="Train", exact=True).click()
    queued = b.get_by_text("Queued: another run is training")
    queued.wait_for(timeout=WAIT_MS)
    _assert_training(a, "A")
    expect(b.get_by_role("button", name="Stop", exact=True)).to_be_enabled()
    b.get_by_text(re.compile(r"^Variants \(6\)")).click()  # browser-side only: no rerun
    expect(b.locator("[data-testid=stExpanderDetails]").first).to_be_visible()
    b.wait_for_timeout(1500)  # several of the queue's 0.5 s polls
    expect(queued).to_be_visible()  # still waiting its turn, not dropped
    assert _training_step(b) is None, "B trains while A holds the only slot"
    _assert_training(a, "A")
    no_errors(a)
    no_errors(b)
    _shot(b, "B_queued")

    # A stops; B's queued run then trains to the end and draws its charts.
    a.get_by_role("button", name="Stop", exact=True).click()
    a.get_by_text("Training was stopped").wait_for(timeout=WAIT_MS)
    settle(a)
    charts(a, 9)
    no_errors(a)
    b.get_by_text("Trade-offs").wait_for(timeout=WAIT_MS)
    settle(b, timeout_ms=WAIT_MS)
    charts(b, 9)
    expect(queued).to_have_count(0)
    assert b.get_by_text("Training was stopped").count() == 0, "B's run should have finished"
    no_errors(b)
    _shot(a, "A_stopped")
    _shot(b, "B_trained")
    b.set_viewport_size({"width": 1500, "height": 4200})  # Streamlit scrolls inside its main
    b.wait_for_timeout(1500)  # container, so a tall viewport shows the whole page
    _shot(b, "B_trained_full")

"""Issue 11 in a real browser: a crafted link cannot plant anything for anyone (§1), edits land on
the variant they were made on (§2), links, limits and messages (§4)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from streamlit_ui import WAIT_MS, charts, no_errors, settle

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
from test_dashboard_trust import HOSTILE_NAMES, HOSTILE_TITLE, hostile_comparison  # noqa: E402

from dashboard.state.query_codec import decode, encode  # noqa: E402
from models import load_preset  # noqa: E402

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "tests" / "artifacts"
# anything the page could have been made to load or link: off-site links and images, LaTeX,
# scripts, frames, and links inside Plotly's SVG text
PLANTED = """() => {
  const here = location.origin;
  const off = (u) => u && !u.startsWith(here) && !u.startsWith('data:') && !u.startsWith('blob:')
                     && !u.startsWith('#') && !u.startsWith('about:');
  const found = [];
  for (const a of document.querySelectorAll('a[href]'))
    if (off(a.href)) found.push('a ' + a.href);
  for (const i of document.querySelectorAll('img'))
    if (off(i.src)) found.push('img ' + i.src);
  for (const s of document.querySelectorAll('script[src]'))
    if (off(s.src)) found.push('script ' + s.src);
  for (const k of document.querySelectorAll('.katex, math, iframe, object, embed'))
    found.push(k.tagName + ' ' + k.className);
  for (const a of document.querySelectorAll('.js-plotly-plot a'))
    found.push('plotly link ' + (a.getAttribute('href') || a.getAttribute('xlink:href')));
  return found;
}"""


def _shot(pg, name: str) -> None:
    pg.screenshot(path=str(ARTIFACTS / f"trust_{name}.png"))


def _watch(pg, origin: str) -> list[str]:
    """Collect every request the page makes that leaves the test server."""
    left: list[str] = []

    def on_request(req) -> None:
        if not req.url.startswith((origin, "data:", "blob:", "about:")):
            left.append(req.url)

    pg.on("request", on_request)
    return left


def _assert_nothing_planted(pg) -> None:
    found = pg.evaluate(PLANTED)
    assert found == [], f"planted by user text: {found}"


def _open_editor(pg) -> None:
    pg.get_by_text(re.compile(r"^Variants \(\d+\)")).first.click()
    pg.get_by_text("Variant to edit").first.wait_for()


@pytest.fixture(scope="module")
def visitors(browser, server):
    """Two users (own cookies, own Streamlit sessions): the attacker's victim and a visitor."""
    made = [browser.new_context(viewport={"width": 1500, "height": 1000}) for _ in range(2)]
    pages = [c.new_page() for c in made]
    for pg in pages:
        pg.set_default_timeout(WAIT_MS)
    yield pages
    for c in made:
        c.close()


def test_a_crafted_link_plants_nothing_for_anyone(visitors, server):
    first, second = visitors
    left = _watch(first, server)
    left2 = _watch(second, server)
    first.goto(server + "/?" + urlencode(encode(hostile_comparison(steps=10))))
    first.get_by_role("heading", name="Deep networks").first.wait_for()
    settle(first)
    no_errors(first)
    _open_editor(first)
    picker = first.locator("[data-testid=stButtonGroup]").first
    for name in HOSTILE_NAMES:  # each name is shown as typed (shortened), nothing rendered
        shown = name if len(name) <= 28 else name[:27]
        seen = picker.inner_text().replace("\u2060", "")  # invisible joiners break patterns
        assert shown in seen, (shown, seen)
    _assert_nothing_planted(first)
    _shot(first, "hostile_editor")

    first.get_by_role("button", name="Train", exact=True).click()
    first.get_by_text("Trade-offs").wait_for(timeout=WAIT_MS)
    settle(first, timeout_ms=WAIT_MS)
    charts(first, 9)
    no_errors(first)
    _assert_nothing_planted(first)
    legend = first.evaluate(
        "() => [...document.querySelectorAll('.js-plotly-plot .legendtext')].map(e => e.textContent)"
    )
    assert "<img src=http://evil.example/i.png>" in legend  # escaped for Plotly, shown as typed
    _shot(first, "hostile_trained")

    # a second visitor opens the stored run by its link: the title is text, not a link
    second.goto(server + "/runs?run=1")
    second.get_by_role("heading", name="Runs").first.wait_for()
    second.get_by_text("Trade-offs").wait_for(timeout=WAIT_MS)
    settle(second)
    charts(second, 9)
    no_errors(second)
    _assert_nothing_planted(second)
    heading = second.get_by_text("run #1").first.inner_text().replace("\u2060", "")
    assert HOSTILE_TITLE.split(" ")[0] in heading and "\u202e" not in heading
    _shot(second, "hostile_runs_page")
    assert left == [] and left2 == [], f"requests left the machine: {left + left2}"


def _segment(pg, label: str):
    return pg.locator("[data-testid=stButtonGroup] button").filter(has_text=label).first


def _selected(pg) -> str:
    return pg.locator(
        "[data-testid=stButtonGroup] button[aria-checked=true], "
        "[data-testid=stButtonGroup] button[aria-pressed=true]"
    ).first.inner_text()


def _assert_selected(pg, label: str, timeout_ms: int = WAIT_MS) -> None:
    """The picker shows ``label`` selected (waiting out a rerun still drawing the page)."""
    deadline = timeout_ms
    while _selected(pg) != label and deadline > 0:
        pg.wait_for_timeout(250)
        deadline -= 250
    assert _selected(pg) == label


def _url_config(pg):
    params = {k: v[-1] for k, v in parse_qs(urlparse(pg.url).query).items()}
    comparison, notices, _ = decode(params, family="mlp")
    assert notices == []
    return comparison


def _choose(pg, label: str, option: str) -> None:
    box = pg.locator("[data-testid=stSelectbox]").filter(has_text=label).first
    box.click()
    pg.get_by_role("option", name=option, exact=True).click()
    settle(pg)


def _type(pg, label: str, value: str) -> None:
    field = pg.locator("[data-testid=stNumberInput]").filter(has_text=label).first.locator("input")
    field.fill(value)
    field.press("Enter")
    settle(pg)


def test_edits_after_renaming_variant_7_land_on_variant_7(page, server):
    page.goto(server + "/")
    page.get_by_role("heading", name="Deep networks").first.wait_for()
    settle(page)
    _open_editor(page)
    page.get_by_role("button", name="Add variant").click()
    settle(page)
    _assert_selected(page, "variant 7")  # Add opens the new variant, selected
    expander = page.locator("[data-testid=stExpanderDetails]").first
    assert expander.is_visible()  # and the editor stays open
    name = page.locator("[data-testid=stTextInput] input:visible").first
    name.fill("seventh")
    name.press("Enter")
    settle(page)
    _assert_selected(page, "seventh")
    _choose(page, "Weight init", "orthogonal")
    _assert_selected(page, "seventh")
    _type(page, "Clip norm", "0.5")
    _type(page, "Clip value", "0.05")
    _assert_selected(page, "seventh")
    assert expander.is_visible()
    no_errors(page)
    _shot(page, "variant_7_edited")
    comp = _url_config(page)  # the address holds the comparison the page will train
    v7, base = comp.variants[6], comp.variants[0]
    assert (v7.name, v7.init, v7.clip_norm, v7.clip_value) == ("seventh", "orthogonal", 0.5, 0.05)
    assert base == load_preset("deep-mlp").variants[0]  # the baseline is untouched
    for v, fresh in zip(comp.variants[:6], load_preset("deep-mlp").variants):
        assert v == fresh


# §4: links, limits and messages ---------------------------------------------------------


def _visit(pg, url: str) -> None:
    pg.goto(url)
    pg.locator("h1").first.wait_for()
    settle(pg)
    pg.wait_for_timeout(500)  # a page switch (redirect) may start one more script run
    settle(pg)


def test_links_open_the_right_page_and_say_what_they_changed(page, server):
    _visit(page, server + "/deep?steps=50")
    assert page.get_by_text("Page not found").count() == 0
    assert page.locator("h1").first.inner_text().startswith("Deep networks")
    assert "steps=50" in page.url

    _visit(page, server + "/?preset=exploding-rnn")
    assert page.locator("h1").first.inner_text().startswith("Recurrent networks")
    assert "/recurrent" in page.url and "preset=exploding-rnn" in page.url
    assert page.get_by_text("opened on the Recurrent networks page").count() == 1

    _visit(page, server + "/?steps=50000&width=512&seeds=16")
    notice = page.locator("[data-testid=stAlert]").filter(has_text="Lowered")
    assert notice.count() == 1 and "50000 → 3000" in notice.inner_text()
    query = parse_qs(urlparse(page.url).query)
    assert (query["steps"], query["width"], query["seeds"]) == (["3000"], ["256"], ["4"])
    refused = page.locator("[data-testid=stAlertContentError]").first.inner_text()
    assert "Lower the training steps" in refused and "GFL_MAX" not in refused
    _shot(page, "lowered_and_refused")

    _visit(page, server + "/runs?run=999999")
    assert page.get_by_text("Run #999999 does not exist").count() == 1
    no_errors(page)


def test_a_phone_user_can_train_and_read_the_result(browser, server):
    ctx = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    pg = ctx.new_page()
    pg.set_default_timeout(WAIT_MS)
    try:
        _visit(pg, server + "/?steps=20&seeds=1")
        train = pg.locator(".st-key-mlp_phone_bar").get_by_role("button", name="Train")
        train.wait_for(state="visible", timeout=WAIT_MS)  # without opening the sidebar
        box = train.bounding_box()
        assert box and box["y"] + box["height"] <= 844  # on the first screen
        _shot(pg, "phone_before")
        train.click()
        pg.get_by_text("Trade-offs").wait_for(timeout=WAIT_MS)
        settle(pg, timeout_ms=WAIT_MS)
        charts(pg, 9)
        no_errors(pg)
        _shot(pg, "phone_trained")

        # Train in the sidebar: the sidebar folds away so that the charts can be read
        pg.get_by_test_id("stExpandSidebarButton").click()
        side = pg.get_by_test_id("stSidebar")
        side.get_by_role("button", name="Train", exact=True).wait_for()
        pg.locator("[data-testid=stSidebar] [data-testid=stNumberInput]").filter(
            has_text="Training steps"
        ).locator("input").fill("21")
        side.get_by_role("button", name="Train", exact=True).click()
        pg.get_by_text("Trade-offs").wait_for(timeout=WAIT_MS)
        settle(pg, timeout_ms=WAIT_MS)
        pg.wait_for_timeout(500)
        width = side.evaluate("e => e.getBoundingClientRect().right")
        assert width <= 1, "the sidebar still covers the page after Train"
        _shot(pg, "phone_sidebar_train")
    finally:
        ctx.close()

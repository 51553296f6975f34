"""dashboard/plain.py: user text made inert for Markdown, Plotly and file names (issue 11 §1)."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as hs

from dashboard.plain import clean, file_name, plain, plotly_text

HOSTILE = [
    "[click](http://evil.example/a)",
    "![px](http://evil.example/p.png)",
    "<img src=http://evil.example/i.png onerror=alert(1)>",
    "<a href='http://evil.example'>x</a>",
    "$\\frac{1}{0}$",
    ":red[red] :material/home: :smile:",
    "# heading\n- item\n1. first\n> quote",
    "www.evil.example and mail@evil.example and https://evil.example",
    "**bold** _it_ ~~s~~ `code` | a | b |",
    "bell\x07 tab\t nul\x00 esc\x1b[31m",
    "\u202eRTL override\u202c \u200fmark\u200e \u2066iso\u2069",
    "x" * 300,
]
WJ = "\u2060"


def _unescaped(md: str) -> str:
    """ASCII punctuation in ``md`` that is not preceded by a backslash (Markdown would read it)."""
    out, i = [], 0
    while i < len(md):
        if md[i] == "\\":
            i += 2
            continue
        if re.match(r"[!-/:-@\[-`{-~]", md[i]):
            out.append(md[i])
        i += 1
    return "".join(out)


@pytest.mark.parametrize("text", HOSTILE)
def test_plain_escapes_every_markdown_character(text):
    md = plain(text)
    assert _unescaped(md) == "", md
    assert "\n" not in md and "\x07" not in md and "\u202e" not in md
    # what a reader sees (escapes resolved, invisible joiners dropped) is the cleaned text
    seen = re.sub(r"\\(.)", r"\1", md).replace(WJ, "")
    assert seen == clean(text)


def test_plain_breaks_patterns_that_act_after_parsing():
    md = plain(":smile: :material/home: www.evil.example me@evil.example http://evil.example")
    seen = re.sub(r"\\(.)", r"\1", md)
    assert not re.search(r":[\w/-]+:", seen)  # emoji shortcodes and Streamlit icons
    assert "www." not in seen.lower() and "://" not in seen and re.search(r"@\w", seen) is None


def test_clean_drops_controls_and_bidi_marks_and_shortens():
    assert clean("a\x00b\x07c\u202ed\u200fe\u2066f") == "abcdef"
    assert clean("two\nlines\r\nhere\tand  spaces") == "two lines here and spaces"
    assert clean("x" * 100, 10) == "x" * 9 + "…"
    assert len(clean("x" * 100, 10)) == 10
    assert clean("short", 10) == "short"
    assert (
        clean("👨\u200d👩\u200d👧") == "👨\u200d👩\u200d👧"
    )  # an emoji sequence keeps its joiners
    assert clean(None) == ""


def test_plotly_text_escapes_html_only():
    assert (
        plotly_text("<a href='x'>y</a> & <br>") == "&lt;a href='x'&gt;y&lt;/a&gt; &amp; &lt;br&gt;"
    )
    assert plotly_text("relu (He init)") == "relu (He init)"
    assert plotly_text("a\u202eb", 60) == "ab"


def test_file_name_is_safe():
    assert file_name("deep-mlp", ".csv") == "deep-mlp.csv"
    assert file_name("../../etc/passwd") == "etc-passwd"
    assert file_name("[x](http://e.x) <img>", ".zip") == "x-http-e.x-img.zip"
    assert file_name("\u202e\x00", ".csv") == "run.csv"
    assert file_name("Ünïcöde title") == "Unicode-title"


@given(hs.text(max_size=200))
def test_plain_never_leaves_markup(text):
    md = plain(text, 120)
    assert _unescaped(md) == ""
    assert not any(unicodedata.category(c) in {"Cc", "Zl", "Zp"} for c in md)
    assert len(re.sub(r"\\(.)", r"\1", md).replace(WJ, "")) <= 120

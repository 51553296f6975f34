"""User text is plain text: one place that makes any user-chosen text inert where it is shown.

Run titles, variant names, preset and run labels and URL values reach Streamlit Markdown (boxes,
headings, widget labels, tab-like controls), Plotly text (titles, legends, hover labels, tick
labels: Plotly renders a subset of HTML there, ``<a href>`` included) and download file names.
Each kind of place has one function here:

- ``clean``: no control characters, no bidi/right-to-left marks, one line, optional ellipsis;
  for places that show text verbatim (st.text, select box options, tables).
- ``plain``: ``clean`` plus Markdown made inert (links, images, raw HTML, LaTeX ``$``, emphasis,
  ``:color[...]``, ``:material/...:`` icons, emoji shortcodes, lists/headings, bare URLs).
- ``plotly_text``: ``clean`` plus ``<``, ``>``, ``&`` as HTML entities (Plotly decodes them).
- ``file_name``: a safe download file name built from user text.
"""

from __future__ import annotations

import re
import unicodedata

ELLIPSIS = "…"
_ZWJ = "\u200d"  # kept: it glues emoji sequences (a family, a flag), it steers nothing
_WJ = "\u2060"  # word joiner: invisible, and not a word character for pattern matchers
# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping all of
# them makes emphasis, links, images, HTML, code, tables, headings and LaTeX literal text.
_MD_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")


def _drop(ch: str) -> bool:
    """Control, format (bidi marks, zero-width), private-use, surrogate and separator chars."""
    if ch == _ZWJ:
        return False
    return unicodedata.category(ch) in {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}


def clean(text: object, limit: int | None = None) -> str:
    """``text`` on one line without control or bidi characters; cut to ``limit`` chars with '…'."""
    s = "" if text is None else str(text)
    s = "".join(" " if ch in "\t\n\r\v\f\x85" else ch for ch in s)  # line breaks become spaces
    s = "".join(ch for ch in s if not _drop(ch))
    s = re.sub(r"\s{2,}", " ", s).strip()
    if limit is not None and limit > 0 and len(s) > limit:
        s = s[: max(1, limit - 1)].rstrip() + ELLIPSIS
    return s


def plain(text: object, limit: int | None = None) -> str:
    """``text`` made inert for Streamlit Markdown: it shows exactly as typed, nothing else."""
    s = _MD_PUNCT.sub(r"\\\1", clean(text, limit))
    # These act on the text after Markdown parsing, so a backslash does not stop them: emoji
    # shortcodes (:smile:) and Streamlit icons (:material/home:) need a colon next to a word
    # character; GFM autolinks need 'www.', '://' or an e-mail address. A word joiner between
    # the parts breaks each pattern without changing what the reader sees.
    s = s.replace(":", ":" + _WJ)
    s = re.sub(r"(?i)w(?=ww)", "w" + _WJ, s)
    return s.replace("@", "@" + _WJ)


def plotly_text(text: object, limit: int | None = None) -> str:
    """``text`` for a Plotly title, legend, hover or tick label: markup shows as typed."""
    s = clean(text, limit)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def file_name(text: object, suffix: str = "", limit: int = 60, fallback: str = "run") -> str:
    """A download file name from user text: letters, digits, '-', '_' and '.' only."""
    s = unicodedata.normalize("NFKD", clean(text)).encode("ascii", "ignore").decode("ascii")
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-._")[:limit].strip("-._")
    return (s or fallback) + suffix

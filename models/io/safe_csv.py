"""CSV that a spreadsheet cannot run: text cells that start a formula are neutralised (OWASP).

A cell whose text begins with ``= + - @``, a tab or a carriage return is read by Excel,
LibreOffice and Google Sheets as a formula (``=HYPERLINK(...)``, ``+cmd|' /C calc'!A0``,
``@SUM(1+1)``); prefixing it with ``'`` makes it plain text. Only text cells are touched: a
number (``-0.5``, or the text ``"-0.5"``) stays the same number, so numeric columns hold what
the CLI's own files hold. The dashboard's every CSV download goes through :func:`safe_csv`.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def neutralise(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def safe_frame(frame):
    """A copy of a pandas DataFrame with its text cells and column names neutralised."""
    from pandas.api.types import is_numeric_dtype

    out = frame.copy()
    for col in out.columns:
        if not is_numeric_dtype(out[col]):  # numeric columns cannot hold a formula
            out[col] = out[col].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out


def safe_csv(frame) -> str:
    """``frame`` as CSV text (no index), formula-safe: what every dashboard download writes."""
    return safe_frame(frame).to_csv(index=False)

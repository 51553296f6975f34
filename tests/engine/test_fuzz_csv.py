"""Random bytes and random small tables thrown at the CSV parser: a table or one DataError."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.core.csv_parser import MAX_CLASSES, DataError, Table, build_table, read_csv

pytestmark = pytest.mark.slow  # fuzz: a few hundred examples

FAST = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)


def _parse(data: bytes, target: str = "") -> Table | None:
    """The parser's answer: a table, or None after a DataError with a one-line message."""
    try:
        raw = read_csv(data, "fuzz.csv")
        return build_table(raw, target)
    except DataError as e:
        msg = str(e)
        assert msg.startswith("data 'fuzz.csv': ") and "\n" not in msg and len(msg) < 1000
        return None


@FAST
@given(st.binary(max_size=400))
def test_random_bytes(data):
    t = _parse(data)
    if t is not None:
        assert np.isfinite(t.x).all() and 2 <= len(t.classes) <= MAX_CLASSES


cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["", "NA", "?", " ", "x", "1,5", '"', "1e999", "nan", "-"]),
    st.text(max_size=6),
)


@st.composite
def tables(draw):
    width = draw(st.integers(1, 5))
    header = draw(st.lists(st.text(max_size=8), min_size=width, max_size=width))
    rows = draw(st.lists(st.lists(cells, min_size=width, max_size=width + 1), max_size=12))
    sep = draw(st.sampled_from([",", ";", "\t"]))
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep)
    w.writerow(header)
    w.writerows(rows)
    target = draw(st.sampled_from(["", *header, "nope"]))
    return buf.getvalue().encode("utf-8"), target


@FAST
@given(tables())
def test_random_small_tables(case):
    data, target = case
    t = _parse(data, target)
    if t is not None:
        rows, feats, classes = t.shape
        assert t.y.shape == (rows,) and 0 <= t.y.min() and t.y.max() < classes
        assert np.isfinite(t.x).all() and feats == len(t.features) >= 1
        assert sum(t.class_counts().values()) == rows


@FAST
@given(st.integers(2, 40), st.integers(1, 6), st.integers(2, 5), st.integers(0, 2**31 - 1))
def test_numeric_tables_always_parse(n, feats, classes, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, feats)) * 10.0 ** rng.integers(-3, 6)
    y = np.arange(n) % classes
    lines = [",".join([f"f{j}" for j in range(feats)] + ["y"])]
    lines += [",".join([repr(float(v)) for v in row] + [str(k)]) for row, k in zip(x, y)]
    t = _parse(("\n".join(lines)).encode())
    assert t is not None and t.shape == (n, feats, min(classes, n))
    assert np.allclose(t.x, x)

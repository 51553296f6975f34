"""Shared test fixtures, and the `unit` marker (the inner loop).

Nothing heavy is imported here: a test file that does not need torch is collected without it.
"""

from __future__ import annotations

import os

import pytest

# The inner loop, `pytest -m unit`: every test not marked slow or browser (fast science checks
# are in). Marked here, from the other markers, so no test carries it by hand; a test leaves the
# inner loop by being marked slow (more than a second or so on an idle machine).
NOT_UNIT = ("slow", "browser")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not any(item.get_closest_marker(m) for m in NOT_UNIT):
            item.add_marker(pytest.mark.unit)


def run_small(variants: list[dict], **shared):
    """Run a comparison given as a config dict; returns (result, metrics frame)."""
    from models import comparison_from_dict, run_comparison  # torch: only when a test runs one

    comp = comparison_from_dict({**shared, "variants": variants})
    result = run_comparison(comp, threads=1)
    return result, result.metrics_frame()


def at(frame, metric: str, step: int, seed: int | None = None, variant: str | None = None):
    """Values of one metric at one step, indexed by layer index."""
    m = frame[(frame.metric == metric) & (frame.step == step)]
    if seed is not None:
        m = m[m.seed == seed]
    if variant is not None:
        m = m[m.variant == variant]
    return m.set_index("index")["value"].sort_index()


@pytest.fixture
def small():
    return run_small


@pytest.fixture(autouse=True, scope="module")
def _private_run_store(tmp_path_factory):
    """Each test module (and the streamlit servers it starts) writes into a store of its own,
    never the user's and never another module's: modules may run in any order, on any xdist
    worker. Tests that want a store of their own set GFL_STORE with monkeypatch."""
    old = os.environ.get("GFL_STORE")
    os.environ["GFL_STORE"] = str(tmp_path_factory.mktemp("store") / "runs.sqlite")
    yield
    if old is None:
        os.environ.pop("GFL_STORE", None)
    else:
        os.environ["GFL_STORE"] = old

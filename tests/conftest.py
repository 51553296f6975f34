"""Shared test helpers."""

from __future__ import annotations

import os

import pytest

from models import comparison_from_dict, run_comparison


def run_small(variants: list[dict], **shared):
    """Run a comparison given as a config dict; returns (result, metrics frame)."""
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


@pytest.fixture(autouse=True, scope="session")
def _private_run_store(tmp_path_factory):
    """Tests (and the streamlit servers they start) never write into the user's run store."""
    os.environ["GFL_STORE"] = str(tmp_path_factory.mktemp("store") / "runs.sqlite")

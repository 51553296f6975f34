"""Thread settings: deliberate defaults, environment overrides, bad values fall back."""

from __future__ import annotations

import os

import pytest
import torch

from models import comparison_from_dict
from models.core.budget import estimate
from models.core.threads import configure_threads, configure_workers


@pytest.mark.parametrize("cores,workers", [(1, 1), (2, 2), (8, 2), (None, 1)])
def test_workers_default_to_one_per_core_up_to_two(monkeypatch, cores, workers):
    monkeypatch.delenv("GFL_WORKERS", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: cores)  # None: the count is unknown
    assert configure_workers() == workers
    assert configure_workers(3) == 3  # a count asked for wins


@pytest.mark.parametrize(
    "value,expected", [("4", 4), ("1", 1), ("0", None), ("-2", None), ("two", None), ("", None)]
)
def test_bad_environment_values_fall_back_to_the_default(monkeypatch, value, expected):
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    monkeypatch.setenv("GFL_WORKERS", value)
    monkeypatch.setenv("GFL_THREADS", value)
    assert configure_workers() == (expected or 2)  # default: two workers, one thread
    try:
        assert configure_threads() == (expected or 1)
        assert torch.get_num_threads() == (expected or 1)  # torch really runs with it
    finally:
        configure_threads(1)


def test_memory_estimate_counts_the_activations_of_every_worker(monkeypatch):
    comp = comparison_from_dict(
        {
            "depth": 4,
            "width": 256,
            "batch_size": 512,
            "variants": [{"name": "a"}, {"name": "b", "width": 128}, {"name": "c", "width": 64}],
        }
    )
    monkeypatch.setenv("GFL_WORKERS", "1")
    one = estimate(comp)
    monkeypatch.setenv("GFL_WORKERS", "2")
    two = estimate(comp)
    transient = sorted((v.transient_bytes for v in one.variants), reverse=True)
    assert two.bytes - one.bytes == transient[1]

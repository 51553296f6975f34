"""Determinism (same config and seeds, same numbers, in-process and across processes) and
numerically hostile settings (the diverging variant stops and is marked, the rest finish)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from models import comparison_from_dict, run_comparison

ROOT = Path(__file__).resolve().parents[2]
TIMING = {"wall_s"}  # the only metric allowed to differ between identical runs

MIXED = {
    "depth": 4,
    "width": 12,
    "steps": 12,
    "log_every": 3,
    "seeds": 2,
    "batch_size": 16,
    "variants": [
        {"name": "sigmoid"},
        {"name": "relu + he + bn", "activation": "relu", "init": "he", "norm": "batch"},
        {"name": "adam, clipped", "optimizer": "adam", "lr": 0.01, "clip_norm": 0.5},
    ],
}
RNN = {
    "family": "rnn",
    "task": "temporal-order",
    "seq_len": 12,
    "hidden": 8,
    "steps": 8,
    "log_every": 4,
    "seeds": 2,
    "batch_size": 8,
    "variants": [
        {"name": "gru", "cell": "gru"},
        {"name": "irnn", "activation": "relu", "recurrent_init": "identity", "clip_value": 0.1},
    ],
}


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Metrics without timing, in a stable order."""
    f = frame[~frame.metric.isin(TIMING)]
    return f.sort_values(["variant", "seed", "step", "metric", "index"]).reset_index(drop=True)


def test_same_config_and_seeds_give_identical_metrics_in_process():
    for config in (MIXED, RNN):
        a = run_comparison(comparison_from_dict(config), threads=1).metrics_frame()
        b = run_comparison(comparison_from_dict(config), threads=1).metrics_frame()
        pd.testing.assert_frame_equal(comparable(a), comparable(b), check_exact=True)


@pytest.mark.slow
def test_same_config_gives_identical_metrics_across_processes(tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(MIXED))
    frames = []
    for run in ("one", "two"):
        subprocess.run(
            [
                sys.executable,
                "-m",
                "models",
                "run",
                "--config",
                str(cfg),
                "--out",
                str(tmp_path / run),
                "--quiet",
            ],
            check=True,
            capture_output=True,
            cwd=ROOT,
            timeout=600,
            env={**os.environ, "PYTHONPATH": str(ROOT), "GFL_THREADS": "1"},
        )
        frames.append(comparable(pd.read_csv(tmp_path / run / "metrics.csv")))
    pd.testing.assert_frame_equal(frames[0], frames[1], check_exact=True)
    here = comparable(run_comparison(comparison_from_dict(MIXED), threads=1).metrics_frame())
    # CSV keeps floats exactly (repr round-trips); the variant column is text in both
    pd.testing.assert_frame_equal(frames[0], here, check_exact=True, check_dtype=False)


def test_other_seeds_give_other_numbers():
    a = run_comparison(comparison_from_dict(MIXED), threads=1).metrics_frame()
    b = run_comparison(comparison_from_dict({**MIXED, "seed": 7}), threads=1).metrics_frame()
    la = a[(a.metric == "loss") & (a.step == 12)].value.to_numpy()
    lb = b[(b.metric == "loss") & (b.step == 12)].value.to_numpy()
    assert (la != lb).all()


HOSTILE = {
    "depth": 6,
    "width": 16,
    "steps": 30,
    "log_every": 5,
    "seeds": 2,
    "batch_size": 32,
    "variants": [
        {"name": "ok"},
        {"name": "lr 50", "lr": 50},
        {"name": "gain 10", "init_gain": 10},
        {"name": "linear, lr 50", "activation": "linear", "lr": 50},  # explodes within steps
        {"name": "relu, lr 50, gain 10", "activation": "relu", "lr": 50, "init_gain": 10},
    ],
}


def test_hostile_settings_diverging_variant_is_marked_and_the_rest_finish():
    result = run_comparison(comparison_from_dict(HOSTILE), threads=1)
    summary = result.summary_frame()
    frame = result.metrics_frame()
    assert not result.stopped and summary.error.isna().all()
    by = {(r.variant, r.seed): r for r in summary.itertuples()}
    # the linear net at lr 50 blows up in both seeds: marked with the step and the layer
    for seed in (0, 1):
        row = by[("linear, lr 50", seed)]
        assert row.diverged_step is not None and 0 < row.diverged_step < 30
        assert not math.isnan(row.diverged_step)
        marks = frame[(frame.metric == "diverged") & (frame.variant == "linear, lr 50")]
        assert set(marks.seed) == {0, 1}
        # that seed stops: nothing recorded after the step it diverged
        after = frame[(frame.variant == "linear, lr 50") & (frame.seed == seed)]
        assert after.step.max() <= row.diverged_step
    # the healthy variants train to the last step with finite losses
    for name in ("ok", "gain 10"):
        last = frame[(frame.variant == name) & (frame.metric == "loss")]
        assert last.step.max() == 30 and last.value.map(math.isfinite).all()
    # whatever diverged or not, every variant reports a summary row per seed
    assert len(summary) == 2 * len(HOSTILE["variants"])


@pytest.mark.slow
def test_long_sigmoid_rnn_with_huge_settings_never_raises():
    config = {
        "family": "rnn",
        "task": "adding",
        "seq_len": 1000,
        "hidden": 8,
        "activation": "sigmoid",
        "steps": 3,
        "log_every": 1,
        "batch_size": 8,
        "variants": [
            {"name": "sigmoid T=1000"},
            {
                "name": "lr 50, radius 10",
                "lr": 50,
                "init_gain": 10,
                "recurrent_init": "scaled",
                "spectral_radius": 10,
            },
            {"name": "lstm", "cell": "lstm"},
        ],
    }
    result = run_comparison(comparison_from_dict(config), threads=1)
    summary = result.summary_frame()
    assert summary.error.isna().all() and not result.stopped
    frame = result.metrics_frame()
    hg = frame[frame.metric == "hidden_grad_norm"]
    assert set(hg["index"]) == set(range(1, 1001))  # ‖∂L/∂h_t‖ for every t, even if 0 or tiny
    for name in ("sigmoid T=1000", "lstm"):
        loss = frame[(frame.variant == name) & (frame.metric == "loss")]
        assert loss.step.max() == 3 and loss.value.map(math.isfinite).all()

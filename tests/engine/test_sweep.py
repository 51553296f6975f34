"""Sweeps: the file contract, validation, stacked grid points against lone runs, resume, CLI."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from models import run_comparison
from models.cli.main import main
from models.core.errors import ConfigError
from models.sweep import SWEEP_COLUMNS, SweepProgress, run_sweep, sweep_from_dict
from models.sweep.presets import SWEEP_PRESETS, load_sweep_preset
from models.sweep.stacked import Member, plan_groups

TINY_MLP = {
    "family": "mlp",
    "task": "digits",
    "activation": "tanh",
    "init": "normal",
    "bias_std": 0.2,
    "depth": 3,
    "width": 16,
    "steps": 6,
    "seeds": 2,
    "log_every": 3,
}


def tiny(grid: dict, **extra) -> dict:
    return {**TINY_MLP, **extra, "grid": grid}


def by_key(rows):
    return {(r["point"], r["variant"], r["seed"]): r for r in rows}


# --- spec ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (tiny({"bogus": [1]}), "unknown field 'bogus'"),
        (tiny({"depth": []}), "grid.depth: expected a non-empty list"),
        (tiny({"depth": 3}), "grid.depth: expected a non-empty list"),
        (tiny({"depth": ["deep"]}), "grid.depth: got 'deep'"),
        (tiny({"init_gain": [1.0, -1.0]}), "grid.init_gain: got -1.0"),
        (tiny({"depth": [2, 2]}), "values must be distinct"),
        (tiny({"seed": [1, 2]}), "cannot be an axis"),
        ({**TINY_MLP}, "grid: expected a table"),
        (tiny({"depth": [2]}, variants=[{"name": "a", "depth": 4}]), "is a grid axis"),
        (tiny({"task": ["digits", "adding"]}), "at grid point task=adding"),
    ],
)
def test_bad_sweeps_raise_one_message(data, needle):
    with pytest.raises(ConfigError, match=None) as e:
        sweep_from_dict(data)
    assert needle in str(e.value)
    assert "\n" not in str(e.value)


def test_cap_from_environment(monkeypatch):
    monkeypatch.setenv("GFL_SWEEP_MAX_RUNS", "7")
    with pytest.raises(ConfigError, match="over the cap of 7"):
        sweep_from_dict(tiny({"depth": [2, 3], "width": [8, 16]}))  # 4 points × 2 seeds
    monkeypatch.setenv("GFL_SWEEP_MAX_RUNS", "8")
    assert sweep_from_dict(tiny({"depth": [2, 3], "width": [8, 16]})).n_runs == 8
    monkeypatch.setenv("GFL_SWEEP_MAX_RUNS", "lots")
    with pytest.raises(ConfigError, match="GFL_SWEEP_MAX_RUNS"):
        sweep_from_dict(tiny({"depth": [2]}))


def test_resolved_json_reproduces_the_sweep():
    spec = sweep_from_dict(
        tiny(
            {"init_gain": [0.5, 1.5], "depth": [2, 4]},
            variants=[{"name": "a"}, {"name": "b", "lr": 0.1}],
        ),
        overrides={"steps": 4},
    )
    d = spec.to_json_dict()
    assert d["grid"] == {"init_gain": [0.5, 1.5], "depth": [2, 4]}
    assert "depth" not in d and d["steps"] == 4
    again = sweep_from_dict(json.loads(json.dumps(d)))
    assert again.to_json_dict() == d
    assert [c.variants for c in again.comparisons] == [c.variants for c in spec.comparisons]
    # every combination, first axis slowest; every variant at every point
    assert [p.values for p in spec.points] == [(0.5, 2), (0.5, 4), (1.5, 2), (1.5, 4)]
    assert spec.point_comparison(3).variants[1].lr == 0.1
    assert spec.point_comparison(3).variants[1].depth == 4


def test_preset_key_in_a_sweep_file_takes_the_comparison_preset():
    spec = sweep_from_dict({"preset": "init-showdown", "steps": 5, "grid": {"depth": [3, 6]}})
    names = [v["name"] for v in SWEEP_PRESETS["tanh-phase-diagram"]["variants"]]
    assert names  # (sweep presets have their own variants)
    assert len(spec.variant_names) == 4 and spec.comparisons[1].variants[0].depth == 6


# --- stacking -----------------------------------------------------------------------------------


def test_points_sharing_an_architecture_share_a_stack():
    spec = sweep_from_dict(tiny({"init_gain": [0.5, 1.0, 1.5], "lr": [0.01, 0.1], "depth": [2, 3]}))
    members = [
        Member(p.index, v) for p, c in zip(spec.points, spec.comparisons) for v in c.variants
    ]
    groups = plan_groups(members, max_rows=16)
    # depth changes the architecture; σ_w and lr become rows: 6 points × 2 seeds per depth
    assert len(groups) == 2 and all(sum(m.rows for m in g) == 12 for g in groups)
    assert len(plan_groups(members, max_rows=4)) == 6  # cut into stacks of ≤ 4 rows


def test_stacked_mlp_points_equal_their_lone_runs_bit_for_bit():
    # per-row σ_w, σ_b, lr, momentum, norm clip and value clip, each as its lone run would do
    spec = sweep_from_dict(
        tiny(
            {"init_gain": [0.6, 1.4], "lr": [0.02, 0.2], "clip_norm": [0.0, 0.5]},
            variants=[{"name": "a"}, {"name": "b", "clip_value": 0.01, "momentum": 0.5}],
        )
    )
    rows = by_key(run_sweep(spec, workers=1).rows)
    for p in spec.points:
        lone = run_comparison(spec.point_comparison(p), workers=1)
        for s in lone.summary:
            got = rows[(p.index, s["variant"], s["seed"])]
            for k in ("final_loss", "final_val_loss", "final_accuracy", "best_val_loss"):
                assert got[k] == s[k], (p, s["variant"], k)
    # σ_w and lr matter (the clips bind or not): the 8 points of a seed are not all alike
    assert len({r["final_loss"] for k, r in rows.items() if k[1:] == ("a", 0)}) >= 4


def test_stacked_recurrent_points_match_their_lone_runs():
    spec = sweep_from_dict(
        {
            "family": "rnn",
            "task": "adding",
            "seq_len": 8,
            "hidden": 8,
            "steps": 6,
            "log_every": 3,
            "seeds": 2,
            "optimizer": "adam",
            "variants": [{"name": "rnn"}, {"name": "gru", "cell": "gru"}],
            "grid": {"lr": [0.01, 0.05], "clip_value": [0.0, 0.05]},
        }
    )
    rows = by_key(run_sweep(spec).rows)
    for p in spec.points:
        for s in run_comparison(spec.point_comparison(p), workers=1).summary:
            got = rows[(p.index, s["variant"], s["seed"])]
            assert got["final_loss"] == pytest.approx(s["final_loss"], rel=1e-5, abs=1e-7)


def test_a_diverging_point_does_not_stop_its_stack():
    spec = sweep_from_dict(tiny({"lr": [0.05, 100.0]}, activation="relu", init="he", steps=10))
    rows = run_sweep(spec).rows
    ok = [r for r in rows if r["lr"] == 0.05]
    bad = [r for r in rows if r["lr"] == 100.0]
    assert all(r["diverged_step"] is not None for r in bad)
    assert all(r["diverged_step"] is None and math.isfinite(r["final_loss"]) for r in ok)


def test_gradient_ratio_columns_see_the_vanishing_gradient():
    spec = sweep_from_dict(tiny({"init_gain": [0.5, 1.3]}, depth=12, steps=1, log_every=1))
    rows = run_sweep(spec).rows
    small = [r["grad_ratio_init"] for r in rows if r["init_gain"] == 0.5]
    crit = [r["grad_ratio_init"] for r in rows if r["init_gain"] == 1.3]
    assert 100 * max(small) < min(crit)  # ordered phase: the first layer gets almost nothing


# --- run_sweep: progress, stop, resume -----------------------------------------------------------


def test_progress_then_stop_keeps_finished_points_and_resume_completes(tmp_path):
    spec = sweep_from_dict(tiny({"depth": [2, 3, 4]}))
    seen: list[SweepProgress] = []

    def stop_after_first(p: SweepProgress):
        seen.append(p)
        return not p.rows  # stop as soon as one stack is in

    part = run_sweep(spec, callback=stop_after_first, workers=1, out_dir=tmp_path)
    assert part.stopped and 0 < len(part.rows) < 6
    on_disk = pd.read_csv(tmp_path / "sweep.csv")
    assert len(on_disk) == len(part.rows)
    assert all(0 <= p.fraction <= 1 for p in seen)
    full = run_sweep(spec, workers=1, out_dir=tmp_path)
    assert full.resumed == len(part.rows) and len(full.rows) == 6
    fresh = run_sweep(spec, workers=2)
    cols = ["final_loss", "final_val_accuracy", "grad_ratio_init"]
    # the CSV keeps every float exactly (repr), and the worker count changes nothing
    assert [[r[c] for c in cols] for r in full.rows] == [[r[c] for c in cols] for r in fresh.rows]


def test_csv_columns_are_the_contract(tmp_path):
    spec = sweep_from_dict(tiny({"init_gain": [0.5, 1.0], "depth": [2, 3]}))
    run_sweep(spec, out_dir=tmp_path)
    df = pd.read_csv(tmp_path / "sweep.csv")
    assert list(df.columns) == ["init_gain", "depth"] + SWEEP_COLUMNS
    assert len(df) == 4 * 2
    assert df[["init_gain", "depth"]].drop_duplicates().values.tolist() == [
        [0.5, 2],
        [0.5, 3],
        [1.0, 2],
        [1.0, 3],
    ]


# --- CLI ----------------------------------------------------------------------------------------


def test_presets_sweeps_lists_sweep_presets(capsys):
    assert main(["presets", "--sweeps"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == list(SWEEP_PRESETS)
    for name in SWEEP_PRESETS:
        load_sweep_preset(name)  # every preset validates


def test_cli_sweep_writes_and_resumes(tmp_path, capsys):
    out = tmp_path / "o"
    args = [
        "sweep",
        "--preset",
        "rnn-length",
        "--steps",
        "2",
        "--set",
        "hidden=4",
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(args) == 0
    df = pd.read_csv(out / "sweep.csv")
    assert len(df) == 5 * 4 and list(df.columns[:3]) == ["seq_len", "variant", "seed"]
    assert main(["sweep", "--config", str(out / "sweep.json"), "--out", str(out), "--quiet"]) == 0
    assert "20 resumed" in capsys.readouterr().err


@pytest.mark.parametrize(
    "extra",
    [
        ["--preset", "nope"],
        ["--preset", "rnn-length", "--set", "seq_len=10"],
        ["--preset", "rnn-length", "--set", "hidden=1"],
        ["--preset", "rnn-length", "--backend", "spark"],
        ["--preset", "rnn-length", "--workers", "0"],
    ],
)
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, extra):
    out = tmp_path / "o"
    assert main(["sweep", *extra, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")
    assert not out.exists()


def test_cli_cap_and_foreign_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GFL_SWEEP_MAX_RUNS", "3")
    assert main(["sweep", "--preset", "rnn-length", "--out", str(tmp_path / "a")]) == 2
    assert "GFL_SWEEP_MAX_RUNS" in capsys.readouterr().err
    monkeypatch.delenv("GFL_SWEEP_MAX_RUNS")
    other = tmp_path / "b"
    other.mkdir()
    (other / "sweep.json").write_text("{}")
    assert main(["sweep", "--preset", "rnn-length", "--out", str(other), "--quiet"]) == 2
    assert "different sweep" in capsys.readouterr().err
    assert sorted(p.name for p in other.iterdir()) == ["sweep.json"]


# --- Ray: a real local Ray, not a mock ----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.xdist_group("ray")  # one local Ray at a time on the machine (scripts/test.sh)
def test_ray_backend_gives_the_local_numbers(tmp_path):
    pytest.importorskip("ray")
    spec = sweep_from_dict(tiny({"init_gain": [0.5, 1.5], "depth": [2, 3]}))
    ray_rows = run_sweep(spec, backend="ray", workers=2, out_dir=tmp_path / "ray").rows
    local_rows = run_sweep(spec, out_dir=tmp_path / "local").rows
    cols = ["point", "variant", "seed", "final_loss", "final_val_loss", "grad_ratio_final"]
    assert [[r[c] for c in cols] for r in ray_rows] == [[r[c] for c in cols] for r in local_rows]
    # the two files differ only in the measured wall times
    a = pd.read_csv(tmp_path / "ray" / "sweep.csv").drop(columns=["wall_s", "s_per_step"])
    b = pd.read_csv(tmp_path / "local" / "sweep.csv").drop(columns=["wall_s", "s_per_step"])
    pd.testing.assert_frame_equal(a, b)


def test_stacked_transformer_points_with_warm_up_match_their_lone_runs():
    """Transformer points differing in lr and warm-up stack as rows (each row its own warm-up
    schedule) and match their lone runs; a warm-up changes the numbers."""
    spec = sweep_from_dict(
        {
            "family": "transformer",
            "task": "row-digits",
            "depth": 2,
            "width": 8,
            "heads": 2,
            "norm": "layer",
            "steps": 6,
            "log_every": 3,
            "seeds": 2,
            "optimizer": "adam98",
            "batch_size": 16,
            "variants": [
                {"name": "post", "ln_placement": "post"},
                {"name": "pre", "ln_placement": "pre"},
            ],
            "grid": {"lr": [0.003, 0.03], "warmup_steps": [0, 4]},
        }
    )
    rows = by_key(run_sweep(spec, workers=1).rows)
    for p in spec.points:
        for s in run_comparison(spec.point_comparison(p), workers=1).summary:
            got = rows[(p.index, s["variant"], s["seed"])]
            assert got["final_loss"] == pytest.approx(s["final_loss"], rel=1e-5, abs=1e-7)
    # axes in order (lr, warmup_steps)
    warm = {
        p.values[1]: rows[(p.index, "post", 0)]["final_loss"]
        for p in spec.points
        if p.values[0] == 0.03
    }
    assert warm[0] != warm[4]

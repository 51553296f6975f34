"""The headless CLI contract: presets listing, outputs, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from models.cli.main import main
from models.io.presets import PRESETS

SUMMARY = [
    "variant",
    "seed",
    "final_loss",
    "final_val_loss",
    "final_accuracy",
    "final_val_accuracy",
    "best_val_loss",
    "steps_to_target",
    "diverged_step",
    "wall_s",
    "s_per_step",
    "params",
]


def test_presets_one_per_line(capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == list(PRESETS)
    assert all(len(line.split("\t")[1]) > 20 for line in lines)


def test_run_writes_three_files_and_config_reproduces(tmp_path):
    out = tmp_path / "o"
    args = [
        "run",
        "--preset",
        "deep-mlp",
        "--steps",
        "3",
        "--seeds",
        "1",
        "--set",
        "depth=4",
        "--out",
        str(out),
        "--quiet",
    ]
    assert main(args) == 0
    metrics = pd.read_csv(out / "metrics.csv")
    summary = pd.read_csv(out / "summary.csv")
    cfg = json.loads((out / "config.json").read_text())
    assert list(metrics.columns) == ["variant", "seed", "step", "metric", "index", "value"]
    assert set(SUMMARY) <= set(summary.columns)
    assert len(summary) == len(PRESETS["deep-mlp"]["variants"])
    assert cfg["depth"] == 4 and cfg["steps"] == 3
    again = tmp_path / "again"
    assert main(["run", "--config", str(out / "config.json"), "--out", str(again), "--quiet"]) == 0
    m2 = pd.read_csv(again / "metrics.csv")
    keep = metrics.metric != "wall_s"
    assert (
        metrics[keep]
        .reset_index(drop=True)
        .equals(m2[m2.metric != "wall_s"].reset_index(drop=True))
    )


def test_steps_zero_records_step_zero_only(tmp_path):
    assert (
        main(["run", "--preset", "rnn-adding", "--steps", "0", "--out", str(tmp_path), "--quiet"])
        == 0
    )
    m = pd.read_csv(tmp_path / "metrics.csv")
    assert m.step.unique().tolist() == [0]
    assert (m.metric == "hidden_grad_norm").any()


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--preset", "nope"], "unknown preset"),
        (["--preset", "deep-mlp", "--set", "depth=0"], "depth"),
        (["--preset", "deep-mlp", "--set", "colour=red"], "unknown field 'colour'"),
        (["--preset", "deep-mlp", "--set", "lr=nan"], "lr"),
        (["--preset", "deep-mlp", "--steps", "-1"], "steps"),
        (["--preset", "deep-mlp", "--set", "novalue"], "key=value"),
        (["--config", "/no/such/file.toml"], "no such file"),
    ],
)
def test_bad_input_exit_2_nothing_written(tmp_path, capsys, args, needle):
    out = tmp_path / "o"
    assert main(["run", *args, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.slow
def test_module_entry_point_exit_code(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"variants": [{"name": "a", "width": 10000}]}')
    p = subprocess.run(
        [sys.executable, "-m", "models", "run", "--config", str(bad), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 2
    assert "width" in p.stderr and "4 to 512" in p.stderr and "Traceback" not in p.stderr

"""Your own table (task=csv) and scikit-learn's bundled tables: parsing, every bad-file message,
the caps, the stratified split, standardisation, the CLI's exit codes and the recorded hash."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from models import ConfigError, comparison_from_dict, make_config, run_comparison
from models.cli.main import main
from models.core import csv_parser, tabular
from models.core.budget import estimate
from models.core.csv_parser import build_table, parse_table, read_csv
from models.core.errors import DataError
from models.core.tasks import make_task

GOOD = b"a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n9,10,x\n11,12,y\n"


def table_bytes(n: int = 60, classes=("cat", "dog"), seed: int = 0) -> bytes:
    """A small separable table: two numeric features, a string label."""
    rng = np.random.default_rng(seed)
    lines = ["height,weight,animal"]
    for i in range(n):
        k = i % len(classes)
        lines.append(f"{rng.normal(k * 3, 1):.4f},{rng.normal(-k, 1):.4f},{classes[k]}")
    return ("\n".join(lines) + "\n").encode()


# --- the parser -------------------------------------------------------------------------------


def test_good_file_parses_with_last_column_as_target():
    t = parse_table(GOOD, "t.csv")
    assert t.features == ("a", "b") and t.target == "label"
    assert t.classes == ("x", "y") and t.shape == (6, 2, 2)
    assert t.x.dtype == np.float64 and t.y.tolist() == [0, 1, 0, 1, 0, 1]
    assert t.class_counts() == {"x": 3, "y": 3}
    assert t.sha256 == csv_parser.sha256_of(GOOD)


def test_target_picked_by_name_and_numeric_labels_merge():
    data = b"label,a,b\n1,0.5,2\n1.0,0.1,3\n 2,0.3,4\n10,0.2,5\n"
    t = parse_table(data, "t.csv", target="label")
    assert t.features == ("a", "b") and t.classes == ("1", "2", "10")  # numeric order
    assert t.y.tolist() == [0, 0, 1, 2]


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_delimiters_are_detected(sep):
    t = parse_table(GOOD.replace(b",", sep.encode()), "t.csv")
    assert t.shape == (6, 2, 2)


def test_headerless_file_gets_column_names_and_bom_crlf_blank_lines_are_fine():
    raw = read_csv(b"1,2,0\n3,4,1\n5,6,0\n", "t.csv")
    assert not raw.header and raw.columns == ("column 1", "column 2", "column 3")
    assert raw.n_rows == 3
    t = parse_table(b"\xef\xbb\xbfa,b,y\r\n1,2,p\r\n\r\n3,4,q\r\n", "t.csv")
    assert t.features == ("a", "b") and t.shape == (2, 2, 2)


def test_unnamed_index_column_and_server_path_never_kept():
    raw = read_csv(b",a,y\n0,1,p\n1,2,q\n", "/srv/secret/dir/t.csv")
    assert raw.columns == ("column 1", "a", "y") and raw.name == "t.csv"


BAD = [
    (b"", "the file is empty"),
    (b"  \n\n", "the file is empty"),
    (b"a,b,label\n", "header but no data rows"),
    (b"a,b,label\n1,2,x\n3,4\n", "line 3 has 2 values but the header has 3"),
    (b"a,b,label\n1,red,x\n3,blue,y\n", "'b' (line 2: 'red') does not"),
    (
        b"a,b,label\n1,,x\n3,4,y\nNA,4,x\n",
        "missing values in 'a' (1 row, first on line 4), 'b' (1 row, first on line 2)",
    ),
    (b"a,b,label\n1,inf,x\n3,4,y\n", "infinite values in 'b' (1 row, first on line 2)"),
    (b"a,b,label\n1,1e200,x\n3,4,y\n", "infinite values in 'b'"),
    (b"a,b,label\n1,2,x\n3,4,x\n", "has a single class ('x')"),
    (b"a,b,label\n1,2,x\n3,4,\n", "the target column 'label' is empty in 1 row (first on line 3)"),
    (b"a;b;label\n1,5;2;x\n3,5;4;y\n", "decimal commas"),
    (b"a,a,label\n1,2,x\n3,4,y\n", "columns 1 and 2 are both named 'a'"),
    (b"label\nx\ny\n", "a single column"),
    (b"a,b,label\n1,2,x\x00\n", "binary"),
    (b"\xff\xfea\x00,\x00b\x00", "UTF-16"),
    (b"PK\x03\x04rest", "zip or Excel"),
    (b"a,b,label\n1,2,caf\xe9\n", "not UTF-8 text (byte 0xe9"),
    (b'a,b,label\n1,2,"x\n', "malformed CSV"),
]


@pytest.mark.parametrize("data,message", BAD)
def test_bad_files_get_one_clear_message(data, message):
    with pytest.raises(DataError) as e:
        parse_table(data, "bad.csv")
    assert message in str(e.value) and str(e.value).startswith("data 'bad.csv': ")


def test_missing_target_column_is_named_with_a_guess():
    with pytest.raises(DataError, match=r"no column 'lable'.*did you mean 'label'"):
        parse_table(GOOD, "t.csv", target="lable")


def test_caps_say_what_to_lower(monkeypatch):
    monkeypatch.setattr(csv_parser, "MAX_BYTES", 100)
    with pytest.raises(DataError, match=r"the limit is 0 MB: keep fewer rows"):
        read_csv(b"a,b\n" + b"1,2\n" * 60, "big.csv")
    monkeypatch.setattr(csv_parser, "MAX_BYTES", 10**6)
    monkeypatch.setattr(csv_parser, "MAX_ROWS", 5)
    with pytest.raises(DataError, match="more than 5 rows; keep fewer rows"):
        read_csv(GOOD, "t.csv")
    monkeypatch.setattr(csv_parser, "MAX_FEATURES", 1)
    with pytest.raises(DataError, match="2 feature columns; the limit is 1: drop columns"):
        read_csv(GOOD, "t.csv")
    monkeypatch.setattr(csv_parser, "MAX_FEATURES", 1000)
    monkeypatch.setattr(csv_parser, "MAX_CLASSES", 3)
    many = b"a,y\n" + b"".join(f"{i},c{i}\n".encode() for i in range(5))
    with pytest.raises(DataError, match="5 distinct values; at most 3 classes.*does not regress"):
        parse_table(many, "t.csv")


# --- split, standardisation, tasks ------------------------------------------------------------


def test_split_is_stratified_deterministic_and_standardised_on_train_rows():
    t = parse_table(table_bytes(100, ("a", "b", "c", "d")), "t.csv")
    tr, va = tabular.split(t, 3)
    assert len(set(tr) | set(va)) == 100 and not set(tr) & set(va)
    assert np.bincount(t.y[va]).tolist() == [5, 5, 5, 5]  # 20 % of every class
    tr2, va2 = tabular.split(t, 3)
    assert (tr == tr2).all() and (va == va2).all()
    assert not np.array_equal(np.sort(tabular.split(t, 4)[1]), np.sort(va))
    xt, yt, xv, yv = tabular.tensors(t, 3)
    assert xt.dtype == torch.float32 and yt.dtype == torch.long
    assert torch.allclose(xt.mean(0), torch.zeros(2), atol=1e-5)
    assert torch.allclose(xt.std(0, unbiased=False), torch.ones(2), atol=1e-4)
    assert not torch.allclose(xv.mean(0), torch.zeros(2), atol=1e-6)  # validation rows unseen


def test_constant_column_and_lone_class_row_are_handled():
    t = parse_table(b"a,b,y\n1,5,p\n1,6,p\n1,7,q\n1,8,q\n1,9,r\n", "t.csv")
    xt, yt, xv, yv = tabular.tensors(t, 0)
    assert torch.isfinite(xt).all() and (xt[:, 0] == 0).all()
    assert 2 in yt.tolist() and 2 not in yv.tolist()  # the single 'r' row trains


@pytest.mark.parametrize(
    "task,dims", [("breast-cancer", (30, 2)), ("wine", (13, 3)), ("iris", (4, 3))]
)
def test_bundled_tables_read_from_the_package_files(task, dims):
    cfg = make_config({"task": task})
    t = make_task(cfg)
    assert (t.input_dim, t.output_dim) == dims and t.kind == "classification"
    assert len(t.x_train) + len(t.x_val) == tabular.BUNDLED[task].rows
    assert tabular.table_dims(cfg)[:2] == dims
    assert 0 < t.baseline_loss <= np.log(dims[1]) + 1e-9


@pytest.mark.slow
def test_csv_task_trains_deterministically_and_learns(tmp_path):
    path = tmp_path / "pets.csv"
    path.write_bytes(table_bytes(120))
    spec = {
        "task": "csv",
        "data": str(path),
        "depth": 3,
        "width": 16,
        "activation": "relu",
        "init": "he",
        "optimizer": "adam",
        "lr": 0.01,
        "steps": 60,
        "log_every": 20,
        "variants": [{"name": "relu"}],
    }
    a = run_comparison(comparison_from_dict(spec), threads=1)
    b = run_comparison(comparison_from_dict(spec), threads=1)
    assert (
        a.metrics_frame()
        .drop(columns=[])
        .query("metric != 'wall_s'")
        .equals(b.metrics_frame().query("metric != 'wall_s'"))
    )
    assert a.summary[0]["final_val_accuracy"] > 0.9
    assert a.comparison.variants[0].data_sha256 == csv_parser.sha256_of(path.read_bytes())


def test_budget_uses_the_parsed_shape():
    raw = read_csv(table_bytes(50), "t.csv")
    uploads = {raw.sha256: raw}
    cfg = {"task": "csv", "data": "t.csv", "data_sha256": raw.sha256, "variants": [{"name": "v"}]}
    comp = comparison_from_dict(cfg)
    tables = tabular.resolve_tables(comp, uploads)
    assert tabular.table_dims(comp.variants[0]) == (2, 2, 10)
    assert estimate(comp).gflop > 0
    res = run_comparison(comp, tables=tables, threads=1)
    assert res.summary[0]["error"] is None


def test_uploads_never_fall_back_to_reading_a_path(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(GOOD)
    comp = comparison_from_dict({"task": "csv", "data": str(path), "variants": [{"name": "v"}]})
    with pytest.raises(DataError, match="'t.csv' is not uploaded in this session"):
        tabular.resolve_tables(comp, uploads={})


def test_config_fields_validate():
    with pytest.raises(ConfigError, match="task=csv needs a CSV file"):
        make_config({"task": "csv"})
    with pytest.raises(ConfigError, match="only task=csv reads a data file"):
        make_config({"task": "digits", "data": "x.csv"})
    with pytest.raises(ConfigError, match="data_sha256: .* 64 hex digits"):
        make_config({"task": "csv", "data": "x.csv", "data_sha256": "abc"})
    assert make_config({"task": "csv", "data": "x.csv", "target": ""}).target == ""


def test_a_link_carries_the_data_fields_together():
    from dashboard.state.query_codec import decode, encode

    sha = "a" * 64
    link = {
        "preset": "deep-mlp",
        "task": "csv",
        "data": "pets.csv",
        "target": "animal",
        "data_sha256": sha,
    }
    comp, notices, _ = decode(link, family="mlp")
    assert notices == [] and comp.variants[0].data_sha256 == sha
    assert (comp.variants[0].task, comp.variants[0].data) == ("csv", "pets.csv")
    assert decode(encode(comp), family="mlp")[0].to_json_dict() == comp.to_json_dict()
    comp, notices, _ = decode({"preset": "deep-mlp", "data": "/etc/passwd"}, family="mlp")
    assert comp.variants[0].data == "" and "only task=csv reads a data file" in notices[0]


# --- the CLI ----------------------------------------------------------------------------------


def _run(args):
    return main(
        [
            "run",
            "--preset",
            "deep-mlp",
            "--steps",
            "2",
            "--seeds",
            "1",
            "--quiet",
            "--set",
            "depth=3",
            *args,
        ]
    )


@pytest.mark.slow
def test_cli_records_path_and_hash_and_notices_changed_data(tmp_path, capsys):
    data = tmp_path / "pets.csv"
    data.write_bytes(table_bytes(40))
    out = tmp_path / "out"
    assert (
        _run(
            [
                "--set",
                "task=csv",
                "--set",
                f"data={data}",
                "--set",
                "target=animal",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["data"] == str(data.resolve()) and cfg["target"] == "animal"
    assert cfg["data_sha256"] == csv_parser.sha256_of(data.read_bytes())
    assert len(pd.read_csv(out / "summary.csv")) == 6
    again = tmp_path / "again"
    assert main(["run", "--config", str(out / "config.json"), "--out", str(again), "--quiet"]) == 0
    data.write_bytes(table_bytes(40, seed=1))  # the file changes
    capsys.readouterr()
    third = tmp_path / "third"
    rc = main(["run", "--config", str(out / "config.json"), "--out", str(third), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "has changed since this config was recorded" in err and not third.exists()
    rc = main(
        [
            "run",
            "--config",
            str(out / "config.json"),
            "--set",
            "data_sha256=",
            "--out",
            str(third),
            "--quiet",
        ]
    )
    assert rc == 0


@pytest.mark.parametrize(
    "data,message", [(b"", "the file is empty"), (b"a,b\n1,x\n2,y\nq,z\n", "must hold numbers")]
)
def test_cli_bad_file_exits_2_and_writes_nothing(tmp_path, capsys, data, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    out = tmp_path / "out"
    assert _run(["--set", "task=csv", "--set", f"data={path}", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and not out.exists()


def test_cli_missing_file_exits_2(tmp_path, capsys):
    rc = _run(
        [
            "--set",
            "task=csv",
            "--set",
            f"data={tmp_path / 'nope.csv'}",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert rc == 2 and "no such file" in capsys.readouterr().err


def test_build_table_on_raw_table_keeps_hash():
    raw = read_csv(b"a,b,c\n1,2,0\n3,4,1\n", "t.csv")
    t = build_table(raw, "a")  # any column may be the target
    assert t.target == "a" and t.features == ("b", "c") and t.sha256 == raw.sha256

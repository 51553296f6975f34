"""Config schema: every field validated with a message naming it and what is allowed."""

from __future__ import annotations

import json

import pytest

from models import ConfigError, coerce, comparison_from_dict, make_config
from models.core.config import FIELDS, RunConfig
from models.io.comparison_io import load_comparison_file, parse_set_args


@pytest.mark.parametrize(
    "field,value",
    [
        ("depth", 0),
        ("depth", 65),
        ("depth", 2.5),
        ("depth", "many"),
        ("depth", True),
        ("width", 3),
        ("lr", float("nan")),
        ("lr", float("inf")),
        ("lr", -1),
        ("lr", "nan"),
        ("activation", "swish!"),
        ("init", 3),
        ("residual", "maybe"),
        ("seq_len", 4),
        ("seq_len", 1001),
        ("hidden", 257),
        ("seeds", 0),
        ("name", ""),
        ("momentum", 1.0),
    ],
)
def test_bad_values_name_the_field_and_the_range(field, value):
    with pytest.raises(ConfigError) as e:
        coerce(field, value)
    assert field in str(e.value) and "allowed" in str(e.value)


def test_text_values_are_typed():
    assert coerce("depth", "30") == 30
    assert coerce("lr", "1e-3") == 1e-3
    assert coerce("residual", "true") is True and coerce("residual", "0") is False
    assert parse_set_args(["depth=30", "activation=relu"]) == {"depth": 30, "activation": "relu"}


def test_unknown_field():
    with pytest.raises(ConfigError, match="unknown field 'dept'"):
        make_config({"dept": 3})


def test_family_and_task_must_agree():
    with pytest.raises(ConfigError, match="task"):
        make_config({"family": "rnn", "task": "digits"})
    with pytest.raises(ConfigError, match="task"):
        make_config({"family": "mlp", "task": "adding"})


def test_comparison_shared_and_variant_fields(tmp_path):
    comp = comparison_from_dict(
        {"depth": 7, "variants": [{"name": "a"}, {"name": "b", "depth": 3}]}, {"width": 8}
    )
    assert [(v.name, v.depth, v.width) for v in comp.variants] == [("a", 7, 8), ("b", 3, 8)]
    # the resolved config round-trips through JSON exactly
    path = tmp_path / "config.json"
    path.write_text(json.dumps(comp.to_json_dict()))
    again = load_comparison_file(path)
    assert again.variants == comp.variants


def test_toml_config(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        'depth = 4\n[[variants]]\nname = "x"\n[[variants]]\nname = "y"\nnorm = "layer"\n'
    )
    comp = load_comparison_file(path)
    assert [v.norm for v in comp.variants] == ["none", "layer"]


@pytest.mark.parametrize(
    "text,msg",
    [
        ("{not json", "neither valid JSON nor TOML"),
        ('{"variants": [{"depth": 3}]}', "needs a 'name'"),
        ('{"variants": [{"name": "a"}, {"name": "a"}]}', "unique"),
        ('{"lr": NaN, "variants": [{"name": "a"}]}', "NaN"),
        ("[1, 2]", "top level"),
        ('{"variants": []}', "non-empty"),
    ],
)
def test_malformed_files(tmp_path, text, msg):
    path = tmp_path / "bad.cfg"
    path.write_text(text)
    with pytest.raises(ConfigError, match=msg):
        load_comparison_file(path)


def test_schema_covers_every_field():
    import dataclasses

    assert set(FIELDS) == {f.name for f in dataclasses.fields(RunConfig)}
    for name, spec in FIELDS.items():
        assert coerce(name, getattr(RunConfig(), name)) == getattr(RunConfig(), name)
        assert spec.allowed()

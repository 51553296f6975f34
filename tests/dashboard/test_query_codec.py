"""URL codec: a comparison survives the round trip; bad input gives notices, never an exception."""

from __future__ import annotations

import base64
import zlib

import pytest

from dashboard.state.query_codec import config_key, decode, encode
from models.core.config import to_dict
from models.io.presets import PRESETS, load_preset


def same(a, b) -> bool:
    return [to_dict(v) for v in a.variants] == [to_dict(v) for v in b.variants]


@pytest.mark.parametrize("name", list(PRESETS))
def test_a_preset_is_one_short_parameter(name):
    comp = load_preset(name)
    assert encode(comp) == {"preset": name}
    back, notices, preset = decode({"preset": name}, family=comp.variants[0].family)
    assert same(back, comp) and not notices and preset == name


def test_shared_overrides_stay_readable():
    comp = load_preset("deep-mlp", {"steps": 40, "depth": 8})
    params = encode(comp, "deep-mlp")
    assert params == {"preset": "deep-mlp", "steps": "40", "depth": "8"}
    back, notices, _ = decode(params, family="mlp")
    assert same(back, comp) and not notices


def test_any_edit_round_trips_through_cfg():
    comp = load_preset("rnn-adding")
    comp.variants = comp.variants[:3]
    comp.variants[1].name = "renamed lstm"
    comp.variants[2].lr = 0.0123
    params = encode(comp, "rnn-adding")
    assert "cfg" in params and len(params["cfg"]) < 1200
    back, notices, _ = decode(params, family="rnn")
    assert same(back, comp) and not notices
    assert config_key(back) == config_key(comp)


@pytest.mark.parametrize(
    "params, word",
    [
        ({"preset": "nope"}, "unknown"),
        ({"depth": "999"}, "depth"),
        ({"depth": "nan"}, "depth"),
        ({"lr": "-1"}, "lr"),
        ({"steps": "1e9"}, "steps"),
        ({"bogus": "1"}, "bogus"),
        ({"cfg": "!!!not base64"}, "cfg"),
        ({"cfg": base64.urlsafe_b64encode(zlib.compress(b"[1,2]")).decode()}, "cfg"),
        ({"cfg": base64.urlsafe_b64encode(zlib.compress(b'{"variants": []}')).decode()}, "cfg"),
        ({"task": "adding"}, "task"),
        ({"preset": "rnn-adding"}, "other page"),
        ({"family": "rnn"}, "family"),
        ({"name": "x"}, "name"),
    ],
)
def test_bad_parameters_are_ignored_with_a_notice(params, word):
    comp, notices, _ = decode(params, family="mlp")
    assert notices and word in " ".join(notices)
    assert comp.variants  # still a runnable comparison
    assert comp.variants[0].family == "mlp"


def test_a_decompression_bomb_is_refused():
    """A valid config padded to 5 MB inflates past the cap: refused, though it would parse."""
    padded = b'{"variants": [{"name": "bomb"}]' + b" " * 5_000_000 + b"}"
    bomb = base64.urlsafe_b64encode(zlib.compress(padded, 9)).decode()
    assert len(bomb) < 8_000  # short enough to reach the inflation cap, not the length cap
    comp, notices, preset = decode({"cfg": bomb}, family="mlp")
    assert notices == ["the shared config (cfg) is malformed and was ignored"]
    assert preset == "deep-mlp" and same(comp, load_preset("deep-mlp"))
    # the same config without the padding is accepted: the refusal is the size's
    small = base64.urlsafe_b64encode(zlib.compress(padded.replace(b" ", b""))).decode()
    comp, notices, _ = decode({"cfg": small}, family="mlp")
    assert not notices and [v.name for v in comp.variants] == ["bomb"]


def test_weird_inputs_never_raise():
    for params in (
        {},
        {"preset": ["deep-mlp", "x"]},
        {"steps": None},
        {"": ""},
        {"steps": "ā"},
        {"cfg": ""},
        {"cfg": "=" * 50},
        {1: 2},
        {"seeds": "0"},
        {"width": "4.5"},
    ):
        comp, notices, preset = decode(params, family="mlp")
        assert comp.variants and preset in PRESETS
    comp, notices, _ = decode("not a mapping")  # type: ignore[arg-type]
    assert comp.variants

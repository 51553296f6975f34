"""Hostile configs, files and URLs: always a valid comparison or one clear error, never a crash.

Property-based (hypothesis) with bounded examples so the file stays well under a minute.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models import (
    FIELDS,
    Comparison,
    ConfigError,
    coerce,
    comparison_from_dict,
    load_comparison_file,
    make_config,
)
from models.cli import main as cli_mod
from models.core.runner import RunResult
from models.io.presets import DEFAULT_PRESET, DEFAULT_RNN_PRESET

ROOT = Path(__file__).resolve().parents[2]
FAST = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)

# --- strategies ----------------------------------------------------------------------------

# numbers up to 1e300 (larger ints have their own tests below)
huge_ints = st.integers(min_value=-(10**300), max_value=10**300)
floats = st.floats(allow_nan=True, allow_infinity=True)
texts = st.one_of(
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=50, max_size=300),
    st.sampled_from(
        ["nan", "inf", "-inf", "1e999", "0x10", " 3 ", "true", "", "\x00", "‮rtl", "5" * 400]
    ),
)
field_values = {
    name: st.one_of(
        st.sampled_from(list(spec.choices)) if spec.choices else st.nothing(),
        st.integers(int(spec.lo) - 2, int(spec.hi) + 2) if spec.lo is not None else st.nothing(),
        st.floats(spec.lo - 1, spec.hi + 1) if spec.lo is not None else st.nothing(),
    )
    for name, spec in FIELDS.items()
}
scalars = st.one_of(st.none(), st.booleans(), huge_ints, floats, texts)
junk = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.one_of(texts, huge_ints), inner, max_size=4)
    ),
    max_leaves=12,
)
keys = st.one_of(st.sampled_from(list(FIELDS) + ["variants", "title", "name"]), texts)
# a value is sometimes plausible for its field, sometimes junk
values_for = lambda k: st.one_of(field_values.get(k, st.nothing()), junk)  # noqa: E731
field_dict = st.dictionaries(keys, junk, max_size=6) | st.builds(
    dict,
    st.lists(
        st.sampled_from(list(FIELDS)).flatmap(lambda k: st.tuples(st.just(k), values_for(k))),
        max_size=6,
    ),
)
variant = st.one_of(
    field_dict.map(lambda d: {"name": "v", **d}), field_dict, junk
)  # mostly tables, sometimes nameless or not tables at all
config_dicts = st.one_of(
    st.builds(
        lambda shared, vs: {**shared, "variants": vs}, field_dict, st.lists(variant, max_size=14)
    ),
    st.builds(lambda shared, vs: {**shared, "variants": vs}, field_dict, junk),
    field_dict,
    junk,
)


REFUSED = object()


def valid_or_config_error(fn, *args):
    """Call fn: a result, or REFUSED on ConfigError (with a non-empty message); nothing else."""
    try:
        return fn(*args)
    except ConfigError as e:
        assert str(e).strip() and "Traceback" not in str(e)
        return REFUSED


# --- the validator -------------------------------------------------------------------------


@FAST
@given(st.one_of(st.sampled_from(list(FIELDS)), texts), junk)
def test_coerce_returns_a_typed_value_or_config_error(name, value):
    out = valid_or_config_error(coerce, name, value)
    if out is not REFUSED:
        spec = FIELDS[name]
        assert isinstance(out, spec.kind)
        if spec.lo is not None and not isinstance(out, bool):
            assert spec.lo <= out <= spec.hi


@FAST
@given(field_dict)
def test_make_config_is_valid_or_config_error(values):
    cfg = valid_or_config_error(make_config, values)
    if cfg is not REFUSED:
        for name, spec in FIELDS.items():
            v = getattr(cfg, name)
            assert isinstance(v, spec.kind)
            if spec.lo is not None:
                assert spec.lo <= v <= spec.hi


@pytest.mark.slow
@FAST
@given(config_dicts)
def test_comparison_from_dict_is_valid_or_config_error(data):
    comp = valid_or_config_error(comparison_from_dict, data)
    if comp is not REFUSED:
        assert isinstance(comp, Comparison) and 1 <= len(comp.variants) <= 12
        # what validated once round-trips through the config.json format
        again = comparison_from_dict(json.loads(json.dumps(comp.to_json_dict())))
        assert again.to_json_dict() == comp.to_json_dict()


def test_error_messages_name_the_field_and_the_allowed_range():
    with pytest.raises(ConfigError, match=r"depth: got 0; allowed: an integer from 1 to 64"):
        comparison_from_dict({"depth": 0, "variants": [{"name": "a"}]})
    with pytest.raises(ConfigError, match=r"lr: got nan"):
        comparison_from_dict({"lr": float("nan"), "variants": [{"name": "a"}]})
    with pytest.raises(ConfigError, match=r"activation: .*allowed: one of sigmoid"):
        comparison_from_dict({"activation": "evil()", "variants": [{"name": "a"}]})


# --- pathological numbers and files: a ConfigError with a short message, never a traceback ---


@pytest.mark.parametrize(
    "value", [10**400, -(10**400), 10**5000], ids=["1e400", "-1e400", "1e5000"]
)
def test_huge_integer_is_a_config_error(value):
    with pytest.raises(ConfigError, match=r"depth: got an integer of about \d+ digits") as e:
        comparison_from_dict({"depth": value, "variants": [{"name": "a"}]})
    assert len(str(e.value)) < 200


@pytest.mark.parametrize(
    "name,text",
    [
        ("digits.json", '{"depth": ' + "9" * 5000 + ', "variants": [{"name": "a"}]}'),
        ("deep.toml", "a = " + "[" * 5000),
        ("deep.cfg", "[" * 5000 + "]" * 5000),
        ("deep.json", '{"a":' * 5000),
    ],
)
def test_pathological_files_are_config_errors(name, text, tmp_path):
    (tmp_path / name).write_text(text)
    with pytest.raises(ConfigError):
        load_comparison_file(tmp_path / name)


# --- files ---------------------------------------------------------------------------------

file_texts = st.one_of(
    config_dicts.map(lambda d: json.dumps(d, default=str)),
    st.text(max_size=400),
    st.sampled_from(
        [
            "",
            "{}",
            "[]",
            "null",
            '{"variants": []}',
            "depth = 5\n[[variants]]\n",
            '{"depth": NaN, "variants": [{"name": "a"}]}',
            '{"depth": Infinity}',
            "depth = nan\n[[variants]]\nname='a'",
            "depth = inf\n[[variants]]\nname = 'a'",
            "title = 5\n",
            "\ufeff{}",
            '{"variants": [{"name": "a", "depth": 1e309}]}',
            '{"__class__": "os.system", "variants": [{"name": "a"}]}',
            "!!python/object/apply:os.system ['echo pwned']",
        ]
    ),
)


@pytest.mark.slow
@FAST
@given(file_texts, st.sampled_from([".json", ".toml", ".txt", ""]))
def test_load_comparison_file_is_valid_or_config_error(tmp_path_factory, text, suffix):
    path = tmp_path_factory.mktemp("cfg") / f"c{suffix}"
    path.write_text(text, encoding="utf-8")
    valid_or_config_error(load_comparison_file, path)


@FAST
@given(st.binary(max_size=300))
def test_binary_garbage_files_are_config_errors(tmp_path_factory, blob):
    path = tmp_path_factory.mktemp("bin") / "c.json"
    path.write_bytes(blob)
    valid_or_config_error(load_comparison_file, path)


def test_oversized_and_missing_files(tmp_path):
    big = tmp_path / "big.json"
    big.write_text(" " * 2_000_001)
    with pytest.raises(ConfigError, match="larger than"):
        load_comparison_file(big)
    with pytest.raises(ConfigError, match="no such file"):
        load_comparison_file(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="no such file"):
        load_comparison_file(tmp_path)  # a directory


# --- the CLI, in process ---------------------------------------------------------------------


def run_cli(argv: list[str]) -> tuple[int, str]:
    """models.cli.main.main in process: (exit code, stderr); SystemExit counts as its code."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = cli_mod.main(argv)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else 2
    return code, err.getvalue()


def assert_clean_refusal(code: int, stderr: str, out: Path) -> None:
    assert code == 2, stderr
    assert "Traceback" not in stderr
    assert len(re.findall(r"^error: ", stderr, re.M)) == 1, stderr
    assert not out.exists()


cli_values = st.one_of(
    texts, st.integers(-5, 10**6).map(str), st.sampled_from(["1e400", "-1", "nan"])
)
set_items = st.one_of(
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(list(FIELDS)), cli_values),
    texts,
)


@FAST
@given(
    st.sampled_from(["deep-mlp", "rnn-adding", "nope", "", "../etc/passwd"]),
    st.one_of(st.none(), cli_values),
    st.one_of(st.none(), cli_values),
    st.lists(set_items, max_size=3),
)
def test_cli_refuses_bad_input_cleanly_and_writes_nothing(
    tmp_path_factory, monkeypatch_session, preset, steps, seeds, sets
):
    out = tmp_path_factory.mktemp("cli") / "out"
    argv = ["run", "--preset", preset, "--out", str(out), "--quiet"]
    argv += ["--steps", steps] if steps is not None else []
    argv += ["--seeds", seeds] if seeds is not None else []
    for s in sets:
        argv += ["--set", s]
    code, stderr = run_cli(argv)
    if code == 0:  # it happened to be valid: the (stubbed) run wrote its files
        assert (out / "config.json").exists()
    else:
        assert_clean_refusal(code, stderr, out)


@pytest.fixture(scope="module")
def monkeypatch_session():
    """Stub training in the CLI: valid fuzzed inputs must not train for real."""
    mp = pytest.MonkeyPatch()
    mp.setattr(cli_mod, "run_comparison", lambda comp, callback=None, **_: RunResult(comp))
    yield mp
    mp.undo()


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["run"],
        ["fly"],
        ["run", "--preset", "deep-mlp"],
        ["run", "--out", "x"],
        ["run", "--preset", "deep-mlp", "--config", "c.toml", "--out", "x"],
        ["run", "--preset", "deep-mlp", "--out", "x", "--bogus"],
    ],
)
def test_cli_usage_errors_exit_2_without_traceback(argv):
    code, stderr = run_cli(argv)
    assert code == 2 and "Traceback" not in stderr and "error:" in stderr


# --- the CLI, as a user runs it ----------------------------------------------------------------

HOSTILE_FILES = {
    "nan.json": '{"lr": NaN, "variants": [{"name": "a"}]}',
    "junk.toml": "depth = [1, {a = 2}]\n[[variants]]\nname = 'a'\n",
    "binary.json": "\x00\x01\x02\xff",
    "unicode.toml": 'title = "‮ünï"\nactivation = "ṡigmoid"\n[[variants]]\nname = "a"\n',
    "range.json": '{"depth": 65, "variants": [{"name": "a"}]}',
    "types.json": '{"variants": [{"name": ["a"]}]}',
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list(HOSTILE_FILES))
def test_cli_subprocess_hostile_file_exit_2_one_message(name, tmp_path):
    cfg = tmp_path / name
    cfg.write_text(HOSTILE_FILES[name], encoding="utf-8", errors="surrogateescape")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "models", "run", "--config", str(cfg), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert not out.exists()


# --- no code execution from user data ----------------------------------------------------------


def test_engine_never_evaluates_or_unpickles_user_data():
    banned = re.compile(r"\b(eval|exec)\(|\bpickle\b|\bmarshal\b|\byaml\.load\b|torch\.load\(")
    hits = []
    for path in sorted((ROOT / "models").rglob("*.py")) + sorted(
        (ROOT / "dashboard").rglob("*.py")
    ):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if banned.search(code) and "weights_only=True" not in code:
                hits.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    # model.eval() (eval mode) is fine: only a bare eval( call counts
    hits = [h for h in hits if not re.search(r"\.eval\(\)", h)]
    assert hits == []


# --- URL query strings (dashboard.state.query_codec.decode: must never raise) ---------------------------

codec = pytest.importorskip("dashboard.state.query_codec")
url_keys = st.one_of(st.sampled_from(list(FIELDS) + ["preset", "cfg", "page", "name"]), texts)
packed_junk = st.one_of(
    config_dicts.map(lambda d: codec.pack(d) if isinstance(d, dict) else "x"),
    st.binary(max_size=80).map(lambda b: __import__("base64").urlsafe_b64encode(b).decode()),
    st.sampled_from(["", "=", "%%%", "eJwDAAAAAAE", "A" * 9000]),
)
url_values = st.one_of(
    texts, cli_values, packed_junk, st.lists(texts, max_size=3), st.none(), huge_ints, floats
)


@FAST
@given(
    st.dictionaries(url_keys, url_values, max_size=6),
    st.sampled_from([None, "mlp", "rnn"]),
)
@pytest.mark.slow
def test_url_query_decode_never_raises(params, family):
    default = DEFAULT_RNN_PRESET if family == "rnn" else DEFAULT_PRESET
    comparison, notices, preset = codec.decode(params, family=family, default_preset=default)
    assert isinstance(comparison, Comparison) and comparison.variants
    assert all(isinstance(n, str) and n for n in notices)
    if family is not None:
        assert {v.family for v in comparison.variants} == {family}
    # whatever came out is itself a valid comparison that encodes and decodes to itself
    again, _, _ = codec.decode(
        codec.encode(comparison, preset), family=family, default_preset=default
    )
    assert again.to_json_dict() == comparison.to_json_dict()


def test_decompression_bomb_in_url_is_refused_with_a_notice():
    bomb = codec.base64.urlsafe_b64encode(codec.zlib.compress(b"[" * 10_000_000, 9)).decode()
    comparison, notices, _ = codec.decode({"cfg": bomb})
    assert comparison.variants and any("cfg" in n for n in notices)

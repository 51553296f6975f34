"""Dashboard helpers without Streamlit: the draft, limits, cache, exports, claims and analysis."""

from __future__ import annotations

import dataclasses
import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from dashboard.charts import tradeoffs
from dashboard.charts.analysis import (
    headline,
    identical_variants,
    mean_field_sigmas,
    theory_profiles,
)
from dashboard.live import limits
from dashboard.state import draft
from dashboard.storage import exports
from dashboard.storage.cache import ResultCache
from dashboard.storage.claims import load_claims
from models import Comparison, ConfigError, load_comparison_file, run_comparison
from models.core.runner import METRIC_COLUMNS, RunResult
from models.io.presets import load_preset


def test_draft_round_trip_keeps_every_field():
    comp = load_preset("rnn-adding")
    d = draft.from_comparison(comp, "rnn-adding", first_id=5)
    assert [v["_id"] for v in d["variants"]] == [5, 6, 7, 8, 9, 10]
    assert draft.to_comparison(d).variants == comp.variants


def test_draft_add_remove_and_shared_settings():
    d = draft.from_comparison(load_preset("deep-mlp"), "deep-mlp")
    new = draft.add_variant(d)
    assert new["name"] == "variant 7" and new["_id"] == 6
    d["shared"]["depth"] = 7
    assert all(v.depth == 7 for v in draft.to_comparison(d).variants)
    draft.remove_variant(d, 6)
    assert len(d["variants"]) == 6
    for v in list(d["variants"])[:-1]:
        draft.remove_variant(d, v["_id"])
    draft.remove_variant(d, d["variants"][0]["_id"])
    assert len(d["variants"]) == 1  # a comparison keeps at least one variant


def test_draft_rejects_bad_values_with_a_message():
    d = draft.from_comparison(load_preset("deep-mlp"), "deep-mlp")
    d["variants"][0]["lr"] = -1.0
    with pytest.raises(ConfigError, match="lr"):
        draft.to_comparison(d)


def test_visible_fields_follow_the_variant():
    assert "momentum" in draft.visible_fields("mlp", {"optimizer": "momentum"})
    assert "momentum" not in draft.visible_fields("mlp", {"optimizer": "adam"})
    assert "activation" not in draft.visible_fields("rnn", {"cell": "lstm"})
    assert "spectral_radius" in draft.visible_fields(
        "rnn", {"cell": "rnn", "recurrent_init": "scaled"}
    )


def test_limits_accept_presets_and_refuse_huge_runs():
    for name in ("deep-mlp", "rnn-adding", "init-showdown"):
        assert limits.check(load_preset(name).variants) is None
    huge = load_preset("deep-mlp", {"depth": 64, "width": 256, "steps": 3000})
    refused = limits.check(huge.variants)
    assert refused.startswith("this run needs about") and "GFLOP of compute" in refused
    # a hint of fewer steps that really fits: searched, since fixed costs make cost not ∝ steps
    fit = int(re.search(r"at most (\d+) steps would fit", refused).group(1))
    assert 0 < fit < 3000
    capped = load_preset("deep-mlp", {"depth": 64, "width": 256, "steps": fit})
    assert "GFLOP" not in (limits.check(capped.variants) or "")  # its compute fits (memory
    more = load_preset("deep-mlp", {"depth": 64, "width": 256, "steps": fit + 1})  # is its own cap)
    assert "GFLOP of compute" in limits.check(more.variants)  # ... and it is the most that does
    assert "steps" in limits.check(load_preset("deep-mlp", {"steps": 50_000}).variants)
    assert limits.field_range("steps") == (0, 3000)
    assert limits.field_range("lr") == (0.0, 100.0)


def test_cache_keeps_complete_runs_only():
    cache = ResultCache(max_items=2)
    a, b, c = (RunResult(load_preset("deep-mlp")) for _ in range(3))
    stopped = RunResult(load_preset("deep-mlp"), stopped=True)
    cache.put("a", a)
    cache.put("s", stopped)
    assert cache.get("a") is a and cache.get("s") is None
    cache.put("b", b)
    cache.get("a")
    cache.put("c", c)  # evicts b, the least recently used
    assert cache.get("b") is None and cache.get("a") is a and cache.get("c") is c


def test_cache_holds_a_bounded_number_of_metric_rows():
    comp = load_preset("deep-mlp")
    rows = [("a", 0, k, "loss", 0, 1.0) for k in range(400)]
    results = [RunResult(comp, metrics=list(rows)) for _ in range(4)]
    cache = ResultCache(max_items=10, max_rows=1000)
    for key, res in zip("abcd", results):
        cache.put(key, res)
    assert [cache.get(k) is not None for k in "abcd"] == [False, False, True, True]
    big = RunResult(comp, metrics=rows * 5)  # over the budget alone: kept, the others go
    cache.put("big", big)
    assert cache.get("big") is big and cache.get("c") is None and cache.get("d") is None


@pytest.fixture(scope="module")
def tiny():
    comp = load_preset("deep-mlp", {"steps": 3, "seeds": 1, "depth": 6})
    return comp, run_comparison(comp)


def test_exports_parse_and_config_reproduces(tiny, tmp_path):
    comp, res = tiny
    (tmp_path / "config.json").write_bytes(exports.config_json(comp))
    assert load_comparison_file(tmp_path / "config.json").variants == comp.variants
    assert exports.metrics_csv(res).startswith(b"variant,seed,step,metric,index,value")
    assert exports.summary_csv(res).count(b"\n") == 1 + len(comp.variants)


def test_theory_profile_matches_the_measurement_at_init(tiny):
    comp, res = tiny
    frame = res.metrics_frame()
    base = comp.variants[0]
    assert mean_field_sigmas(base) == pytest.approx((1 / 3, 1 / (3 * base.width)))
    assert mean_field_sigmas(dataclasses.replace(base, residual=True)) is None
    prof = theory_profiles(frame, comp.variants, 0)
    assert "residual" not in prof and "batch norm" not in prof
    measured = frame[
        (frame.metric == "grad_norm") & (frame.step == 0) & (frame.variant == base.name)
    ]
    measured = measured.set_index("index")["value"]
    assert prof[base.name][-1] == pytest.approx(measured[base.depth])
    # the sigmoid prediction falls like the measurement: within a factor 3 at layer 1
    assert 1 / 3 < prof[base.name][0] / measured[1] < 3


def _table(rows: list[tuple]) -> pd.DataFrame:
    """A trade-offs table from (variant, final val loss, best val loss, diverged at, ratio)."""
    out = pd.DataFrame(columns=tradeoffs.COLUMNS)
    for i, (name, final, best, div, ratio) in enumerate(rows):
        out.loc[i] = {c: np.nan for c in tradeoffs.COLUMNS} | {
            "variant": name,
            "final val loss": final,
            "best val loss": best,
            "diverged at": div,
            "grad ratio first/last": ratio,
            "note": "",
        }
    return out


def test_headline_names_the_baseline_and_the_best_mitigation():
    nan = np.nan
    t = _table(
        [
            ("plain", 2.3, 2.3, nan, 1e-16),
            ("sigmoid (baseline)", 2.31, 2.3, nan, 1e-16),
            ("fix", 0.4, 0.3, nan, 0.9),
            ("better", 0.3, 0.3, 40.0, 1.0),
            ("twin", 2.31, 2.3, nan, 1e-16),
        ]
    )
    line = headline(t, "mlp", math.log(10))
    # the named baseline (not the first row), the best variant that learned and never diverged
    assert "“sigmoid (baseline)”" in line and "“fix”" in line and "better" not in line
    assert "first hidden layer" in line and "10⁻¹⁶×" in line


def test_headline_never_compares_a_variant_with_itself_or_holds_up_chance():
    nan = np.nan
    # exploding-rnn: clipping leaves the step-0 gradient as it was: no gradient contrast
    t = _table([("no clipping", 1.4, 1.4, 2.0, 7.5), ("clip norm 1", 0.159, 0.15, nan, 7.5)])
    line = headline(t, "rnn", 1 / 6)
    assert line.count("“no clipping”") == 1 and "diverged at step 2" in line
    assert "7.5×" not in line
    # relu-init: nothing but chance besides the baseline: nothing to say
    t = _table([("xavier", 2.31, 2.302, nan, 0.95), ("default", 2.31, 2.305, nan, 1e-10)])
    assert headline(t, "mlp", math.log(10)) is None
    assert headline(_table([("only", 0.1, 0.1, nan, 1.0)]), "mlp", math.log(10)) is None


def test_identical_variants_are_named_with_the_reason():
    comp = load_preset("deep-mlp", {"steps": 20, "seeds": 1, "depth": 6, "log_every": 5})
    keep = [v for v in comp.variants if v.name in ("sigmoid (baseline)", "clip norm 1")]
    comp = Comparison(variants=keep + [dataclasses.replace(keep[0], name="copy")])
    frame = run_comparison(comp, threads=1).metrics_frame()
    notes = identical_variants(frame, comp.variants)
    assert notes == {
        "clip norm 1": "identical to sigmoid (baseline) — clipping never triggered",
        "copy": "identical to sigmoid (baseline) — the same settings",
    }
    # one changed number anywhere and they are not identical any more
    f = frame.copy()
    row = f[(f.variant == "copy") & (f.metric == "grad_norm")].index[0]
    f.loc[row, "value"] *= 1.0000001
    assert "copy" not in identical_variants(f, comp.variants)


def test_claims_missing_or_malformed_gives_none(tmp_path):
    assert load_claims(tmp_path / "nope.json") is None
    (tmp_path / "bad.json").write_text("{")
    assert load_claims(tmp_path / "bad.json") is None
    good = {
        "generated": "now",
        "claims": [
            {
                "id": "a",
                "claim": "c",
                "source": "s",
                "expected": "1",
                "measured": "1.1",
                "passed": True,
            }
        ],
    }
    (tmp_path / "good.json").write_text(json.dumps(good))
    table = load_claims(tmp_path / "good.json")
    assert list(table.columns) == ["id", "passed", "claim", "expected", "measured", "source"]
    assert table.attrs["generated"] == "now"
    # the set-up note and the threshold's origin come along where the table has them
    good["claims"][0].update(setup="differs", threshold="theory: eq. 1")
    (tmp_path / "good.json").write_text(json.dumps(good))
    table = load_claims(tmp_path / "good.json")
    assert list(table.columns)[-2:] == ["setup", "threshold"]


def test_toy_params_parse_and_encode():
    from dashboard.state import toy_params

    values, notices = toy_params.parse({"w": "2.5", "T": "20", "activation": "tanh"})
    assert (values["w"], values["T"], values["activation"], notices) == (2.5, 20, "tanh", [])
    assert toy_params.encode(values) == {"w": "2.5", "T": "20", "activation": "tanh"}
    assert toy_params.encode(toy_params.DEFAULTS) == {}
    values, notices = toy_params.parse(
        {"w": "nan", "T": "2.5", "b": "99", "activation": "x", "z": 1}
    )
    assert values == toy_params.DEFAULTS and len(notices) == 5


def test_training_slots_are_released_even_when_interrupted():
    from dashboard.live import training

    class Bar:
        def progress(self, *a, **k):
            pass

    with pytest.raises(RuntimeError):
        with training.train_slot(Bar()):
            raise RuntimeError("a Stop click raises inside the callback")
    with training.train_slot(Bar()):  # the slot is free again
        pass


@pytest.mark.parametrize("workers", [1, 2])
def test_progress_text_counts_steps_per_variant_like_the_charts(workers):
    from dashboard.live.training import progress_text

    comp = load_preset("deep-mlp", {"steps": 10, "depth": 2, "width": 8})
    texts: list[str] = []
    run_comparison(
        comp,
        callback=lambda p: texts.append(progress_text(p.done_steps, comp, 1.0)),
        workers=workers,
    )
    n = len(comp.variants)
    assert (
        texts[0].startswith("Training: step 0 / 10 ·") and f"{n} variants side by side" in texts[0]
    )
    assert texts[-1].startswith("Training: step 10 / 10")
    steps = [int(t.split("step ")[1].split(" /")[0]) for t in texts]
    assert steps == sorted(steps)  # never goes back
    one = dataclasses.replace(comp, variants=comp.variants[:1])
    assert "side by side" not in progress_text(5, one, float("nan"))
    assert progress_text(5, one, float("nan")).endswith("estimating…")
    # the live charts show logged steps only: when they lag the bar, the bar says which one
    full = load_preset("deep-mlp")  # 150 steps, logged every 10
    text = progress_text(94 * n, full, 1.0, chart_step=90)
    assert text.startswith("Training: step 93 / 150 · charts at step 90 (logged every 10)")
    assert "charts at" not in progress_text(91 * n, full, 1.0, chart_step=90)


def test_live_chart_step_waits_for_variants_a_slice_behind_but_not_for_stopped_ones():
    from dashboard.live.training import live_step

    def frame(newest: dict[str, list[int]]) -> pd.DataFrame:
        rows = [(v, 0, s, "grad_norm", 1, 1.0) for v, steps in newest.items() for s in steps]
        return pd.DataFrame(rows, columns=METRIC_COLUMNS)

    assert live_step(frame({}), 20) == 0
    assert live_step(frame({"a": [0, 10, 20, 30], "b": [0, 10, 20]}), 20) == 20
    # "c" diverged at step 10: the chart goes on with the others
    assert (
        live_step(frame({"a": [0, 10, 20, 30, 40], "b": [0, 10, 20, 30], "c": [0, 10]}), 20) == 30
    )

"""The Streamlit app through AppTest: pages render, Train shows the trained data, URL and downloads."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import streamlit.testing.v1.app_test as app_test_module
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from dashboard.plain import plain
from dashboard.storage.cache import RESULTS
from models import comparison_from_dict, run_comparison
from models.io.presets import load_preset
from tests.helpers import APP_TIMEOUT, ROOT, ok

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
PAGES = [
    "views/deep.py",
    "views/recurrent.py",
    "views/transformer.py",
    "views/toy.py",
    "views/theory.py",
    "views/runs.py",
]


def new_app(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def charts(at: AppTest) -> dict[str, dict]:
    """Plotly specs of the page by title (text before ' at step')."""
    out = {}
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        title = spec["layout"].get("title", {}).get("text", "")
        out[title.split(" at step")[0]] = spec
    return out


def arr(v) -> np.ndarray:
    """A plotly JSON array: a list, or a typed array {"dtype", "bdata"[, "shape"]}."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        if "shape" in v:
            a = a.reshape([int(n) for n in str(v["shape"]).split(",")])
        return a.astype(float)
    return np.array([np.nan if x is None else x for x in np.ravel(v)], dtype=float).reshape(
        np.shape(v)
    )


@pytest.fixture(scope="module")
def trained(_private_run_store):
    """The deep page after training deep-mlp with 20 steps and one seed."""
    RESULTS.clear()
    at = new_app()
    at.number_input(key="mlp_s_steps").set_value(20)
    at.number_input(key="mlp_s_seeds").set_value(1)
    at.button(key="mlp_train").click().run()
    ok(at)
    return at


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(page):
    at = new_app()
    at.switch_page(page).run()
    ok(at)
    if page != "views/runs.py":  # the Runs page of an empty store lists nothing to draw
        assert len(at.get("plotly_chart")) >= 1
    assert at.title


@pytest.mark.slow
def test_train_draws_the_trained_data(trained):
    shown = trained.session_state["mlp_result"]
    comp = shown["comparison"]
    assert comp.variants[0].steps == 20 and comp.variants[0].seeds == 1
    # the same settings trained outside the app give the same numbers (the engine is deterministic)
    again = run_comparison(comparison_from_dict(comp.to_json_dict())).metrics_frame()
    figs = charts(trained)
    for key in (
        "Gradient norm per layer",
        "log10 ‖∇W_l‖ by layer and step",
        "Loss",
        "Accuracy",
        "Saturated or dead units",
        "Update-to-weight ratio",
        "Global gradient norm before clipping",
        "Share of steps clipped",
        "Benefit against cost",
    ):
        assert key in figs, f"missing chart {key}: {list(figs)}"

    def expected(metric, step=None):
        m = again[again.metric == metric]
        return m if step is None else m[m.step == step]

    profile = [
        t
        for t in figs["Gradient norm per layer"]["data"]
        if t.get("meta", {}).get("variant") and not t["meta"].get("theory")
    ]
    assert {t["meta"]["variant"] for t in profile} == {v.name for v in comp.variants}
    for t in profile:
        e = expected("grad_norm", 0)
        e = e[e.variant == t["meta"]["variant"]].sort_values("index")
        np.testing.assert_allclose(arr(t["x"]), e["index"])
        np.testing.assert_allclose(arr(t["y"]), e["value"], rtol=1e-6)
    loss = [t for t in figs["Loss"]["data"] if t.get("meta", {}).get("metric") == "val_loss"]
    assert len(loss) == len(comp.variants)
    for t in loss:
        e = expected("val_loss")
        e = e[e.variant == t["meta"]["variant"]].sort_values("step")
        np.testing.assert_allclose(arr(t["x"]), e["step"])
        np.testing.assert_allclose(arr(t["y"]), e["value"], rtol=1e-6)
    heat = [t for t in figs["log10 ‖∇W_l‖ by layer and step"]["data"] if t["type"] == "heatmap"]
    assert len(heat) == len(comp.variants)
    base = expected("grad_norm")
    base = base[base.variant == heat[0]["meta"]["variant"]]
    grid = base.pivot(index="index", columns="step", values="value")
    np.testing.assert_allclose(arr(heat[0]["z"]), np.log10(grid.to_numpy()), rtol=1e-6)
    # the baseline's gradient vanishes, the mitigations' do not: the headline says so
    assert plain("sigmoid (baseline)") in trained.info[0].value  # names are plain text
    assert "Best mitigation" in trained.info[0].value
    # clip norm 1 never clips on deep-mlp: its lines lie under the baseline's, and it says so
    twin = plain("identical to sigmoid (baseline)")
    said = [c.value for c in trained.caption if twin in c.value]
    assert said and "clipping never triggered" in said[0]
    # the table's note column is past its right edge on a laptop: the notes are said in full
    note = plain(
        "Note on “clip norm 1”: identical to sigmoid (baseline) — clipping never triggered."
    )
    assert note in [c.value for c in trained.caption]
    table = trained.dataframe[0].value
    assert list(table["variant"]) == [v.name for v in comp.variants]


@pytest.mark.slow
def test_a_rerun_after_training_reuses_the_figures_it_can(trained):
    """Moving the step slider rebuilds the per-step charts only; the rest are reused (plotly
    validates every property of a new figure: ~0.1-0.3 s a chart on 2 cores)."""
    before = dict(trained.session_state["_figures"])
    trained.slider(key="mlp_step").set_value(10).run()
    ok(trained)
    after = trained.session_state["_figures"]
    for name in ("mlp_loss", "mlp_accuracy", "mlp_heatmap", "mlp_gnorm", "mlp_scatter"):
        assert after[name][2] is before[name][2], name
    for name in ("mlp_profile", "mlp_saturation", "mlp_update"):
        assert after[name][2] is not before[name][2], name
    trained.slider(key="mlp_step").set_value(0).run()


def test_identical_settings_come_from_the_cache(trained):
    before = trained.session_state["mlp_result"]["result"]
    trained.button(key="mlp_train").click().run()
    ok(trained)
    assert trained.session_state["mlp_result"]["result"] is before
    assert any("cache" in t.value for t in trained.toast)


@pytest.mark.slow
def test_touching_a_widget_keeps_the_results(trained):
    trained.slider(key="mlp_step").set_value(20).run()
    ok(trained)
    assert "Gradient norm per layer" in charts(trained)
    trained.number_input(key="mlp_s_depth").set_value(5).run()
    ok(trained)
    assert trained.session_state["mlp_result"] is not None
    assert any("last trained" in i.value for i in trained.info)
    assert trained.query_params["depth"] in ("5", ["5"])
    trained.number_input(key="mlp_s_depth").set_value(20).run()


@pytest.mark.slow
def test_downloads_parse(monkeypatch):
    stores: list[MemoryMediaFileStorage] = []

    class Capture(MemoryMediaFileStorage):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            stores.append(self)

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", Capture)
    at = new_app(preset="deep-mlp", steps="5", seeds="1")
    at.button(key="mlp_train").click().run()
    ok(at)
    files = {}
    for el in at.get("download_button"):
        name = el.proto.url.rsplit("/", 1)[-1]
        files[el.proto.label] = stores[-1].get_file(name).content
    metrics = pd.read_csv(io.BytesIO(files["Metrics CSV"]))
    assert list(metrics.columns) == ["variant", "seed", "step", "metric", "index", "value"]
    assert set(metrics.step) >= {0, 5}
    summary = pd.read_csv(io.BytesIO(files["Summary CSV"]))
    assert len(summary) == 6 and "best_val_loss" in summary
    config = comparison_from_dict(json.loads(files["Config JSON"]))
    assert config.variants == at.session_state["mlp_result"]["comparison"].variants


def test_bad_url_parameters_give_notices():
    at = new_app(depth="999", bogus="1", lr="abc")
    ok(at)
    text = " ".join(w.value for w in at.warning)
    assert "depth" in text and "bogus" in text
    assert at.number_input(key="mlp_s_depth").value == 20  # the preset's value stands


def test_url_notices_are_one_box_and_cannot_carry_markdown():
    at = new_app(depth="[click](http://evil.example)", width="$x$", bogus="1")
    ok(at)
    assert len(at.warning) == 1  # one box, a line per ignored parameter
    text = at.warning[0].value
    assert "\\[click\\]\\(http\\:\u2060\\/\\/evil\\.example\\)" in text and "\\$x\\$" in text
    assert "](http" not in text  # no live link from a crafted address


def test_url_reproduces_a_config():
    comp = load_preset("deep-mlp", {"steps": 30, "depth": 8})
    comp.variants = comp.variants[:2]
    from dashboard.state.query_codec import encode

    at = new_app(**encode(comp, "deep-mlp"))
    ok(at)
    assert not at.warning
    assert at.number_input(key="mlp_s_depth").value == 8
    assert len(at.session_state["mlp_draft"]["variants"]) == 2


@pytest.mark.slow
def test_too_big_a_run_is_refused_with_a_message():
    at = new_app()
    at.number_input(key="mlp_s_width").set_value(256)
    at.number_input(key="mlp_s_depth").set_value(64)
    at.number_input(key="mlp_s_steps").set_value(3000)
    at.run()
    assert at.error and ("work" in at.error[0].value or "GFLOP" in at.error[0].value)
    at.button(key="mlp_train").click().run()
    assert "mlp_result" not in at.session_state


@pytest.mark.slow
def test_stop_keeps_what_was_trained():
    comp = load_preset("deep-mlp", {"steps": 100, "seeds": 1})
    seen = []
    partial = run_comparison(comp, callback=lambda p: seen.append(p.done_steps) or len(seen) < 2)
    assert partial.stopped and partial.metrics
    at = new_app()
    at.session_state["mlp_running"] = {
        "key": "k",
        "comparison": comp,
        "result": partial,
        "done": seen[-1],
        "total": 606,
    }
    at.run()
    ok(at)
    assert any("stopped" in w.value for w in at.warning)
    assert at.session_state["mlp_result"]["result"] is partial
    assert len(at.get("plotly_chart")) >= 9


@pytest.mark.slow
def test_variant_editor_add_rename_remove():
    at = new_app()
    at.button(key="mlp_add").click().run()
    d = at.session_state["mlp_draft"]
    assert len(d["variants"]) == 7
    vid = d["variants"][-1]["_id"]
    at.text_input(key=f"mlp_v{vid}_name").input("deeper relu").run()
    at.selectbox(key=f"mlp_v{vid}_activation").select("relu").run()
    at.selectbox(key=f"mlp_v{vid}_optimizer").select("adam").run()
    ok(at)
    v = at.session_state["mlp_draft"]["variants"][-1]
    assert (v["name"], v["activation"], v["optimizer"]) == ("deeper relu", "relu", "adam")
    assert f"mlp_v{vid}_momentum" not in [w.key for w in at.number_input]
    at.button(key=f"mlp_v{vid}_remove").click().run()
    ok(at)
    assert len(at.session_state["mlp_draft"]["variants"]) == 6


def test_duplicate_names_show_an_error_not_a_traceback():
    at = new_app()
    vid = at.session_state["mlp_draft"]["variants"][1]["_id"]
    at.segmented_control(key="mlp_editing").set_value(vid).run()
    at.text_input(key=f"mlp_v{vid}_name").input("sigmoid (baseline)").run()
    assert not at.exception
    assert at.error and "unique" in at.error[0].value


@pytest.mark.slow
def test_recurrent_preset_and_training():
    at = new_app()
    at.switch_page("views/recurrent.py").run()
    at.selectbox(key="rnn_preset").select("exploding-rnn").run()
    ok(at)
    assert len(at.session_state["rnn_draft"]["variants"]) == 3
    at.number_input(key="rnn_s_steps").set_value(10)
    at.number_input(key="rnn_s_seq_len").set_value(10)
    at.button(key="rnn_train").click().run()
    ok(at)
    figs = charts(at)
    assert "Gradient through time ‖∂L/∂h_t‖" in figs
    traces = [t for t in figs["Gradient through time ‖∂L/∂h_t‖"]["data"] if "meta" in t]
    assert len(traces) == 3 and len(arr(traces[0]["x"])) == 10
    # one group of units: saturation over training steps (a single dot at "layer 1" said
    # nothing), and the update ratio names the weight matrices
    sat = figs["Saturated or dead units over training"]
    assert sat["layout"]["xaxis"]["title"]["text"] == "step"
    lines = [t for t in sat["data"] if t.get("meta", {}).get("metric") == "saturation"]
    assert len(lines) == 3 and len(arr(lines[0]["x"])) > 1
    upd = figs["Update-to-weight ratio"]["layout"]["xaxis"]
    assert upd["ticktext"] == ["W_ih", "W_hh", "readout"]


def test_transformer_page_trains_its_preset_and_draws_every_block_chart():
    """The Transformers page: its default preset (Post-LN beside Pre-LN, warm-up, DeepNorm), the
    editor's new fields, and after training the per-block charts (blocks 1..depth + readout)."""
    at = new_app()
    at.switch_page("views/transformer.py").run()
    ok(at)
    draft = at.session_state["transformer_draft"]
    assert [v["name"] for v in draft["variants"]] == [
        "post-ln",
        "pre-ln",
        "post-ln + warm-up 75",
        "deepnorm",
    ]
    assert at.number_input(key="transformer_s_heads").value == 2
    # the editor words depth and width as the family does (its registry entry's labels)
    assert at.number_input(key="transformer_s_depth").label == "Depth (blocks)"
    assert at.number_input(key="transformer_s_width").label == "Width (d_model)"
    at.number_input(key="transformer_s_steps").set_value(4)
    at.number_input(key="transformer_s_depth").set_value(3)
    at.number_input(key="transformer_s_seeds").set_value(1)
    at.button(key="transformer_train").click().run()
    ok(at)
    figs = charts(at)
    for title in (
        "Gradient per block",
        "Gradient per sub-layer",
        "Attention entropy per block",
        "LayerNorm gain drift",
        "Update-to-weight ratio",
        "Loss",
        "Accuracy",
    ):
        assert title in figs, (title, list(figs))
    prof = [t for t in figs["Gradient per block"]["data"] if "meta" in t]
    assert len(prof) == 4 and len(arr(prof[0]["x"])) == 4  # 3 blocks + the readout
    assert figs["Gradient per block"]["layout"]["xaxis"]["title"]["text"].startswith("block l")


def test_toy_sliders_update_instantly():
    at = new_app()
    at.switch_page("views/toy.py").run()
    at.slider(key="toy_w").set_value(2.0).run()
    at.selectbox(key="toy_activation").select("tanh").run()
    ok(at)
    jac = charts(at)
    first = [k for k in jac if k.startswith("Jacobian")][0]
    assert "|w| = 2" in first


def test_theory_page_shows_every_committed_claim():
    at = new_app()
    at.switch_page("views/theory.py").run()
    ok(at)
    assert at.latex
    claims_json = ROOT / "models" / "science" / "claims.json"
    committed = [c["id"] for c in json.loads(claims_json.read_text())["claims"]]
    shown = [d.value for d in at.dataframe if "claim" in d.value.columns]
    assert len(shown) == 1 and sorted(shown[0]["id"]) == sorted(committed)
    md = " ".join(m.value for m in at.markdown) + " ".join(c.value for c in at.caption)
    assert "No claims table yet" not in md
    # the mitigations are a static table, so that their sentences wrap instead of being cut
    mitigations = at.table[0].value
    assert list(mitigations.columns) == ["mitigation", "what it does", "what it costs"]
    assert mitigations["what it costs"].str.len().max() > 40  # whole sentences, nothing cut


def test_charts_carry_a_short_mode_bar():
    """The full plotly mode bar covered chart titles on a phone (seen at 390 px): every chart on
    a page keeps only zoom, reset and save."""
    at = new_app()
    ok(at)
    for el in at.get("plotly_chart"):
        removed = json.loads(el.proto.config)["modeBarButtonsToRemove"]
        assert {"zoomIn2d", "zoomOut2d", "autoScale2d", "pan2d"} <= set(removed)


def test_a_claim_can_be_read_in_full():
    """The claims table cuts long cells at the column's edge; one claim reads out in full."""
    from dashboard.storage.claims import load_claims

    claims = load_claims()
    if claims is None:
        pytest.skip("no claims.json")
    at = new_app()
    at.switch_page("views/theory.py").run()
    row = claims.iloc[-1]
    at.selectbox(key="theory_claim_pick").select(row["id"]).run()
    ok(at)
    shown = [m.value for m in at.markdown if "Set-up (and how it differs" in m.value]
    assert len(shown) == 1
    assert plain(row["setup"]) in shown[0] and plain(row["claim"]) in shown[0]


def test_theory_page_labels_the_chaotic_phase_and_explains_the_gelu_jump():
    at = new_app()
    at.switch_page("views/theory.py").run()
    at.slider(key="theory_sw2").set_value(6.0).run()
    ok(at)
    table = [d.value for d in at.dataframe if "χ₁" in d.value.columns][0].set_index("activation")
    xi = pd.to_numeric(table["depth scale |ξ|"], errors="coerce")
    assert (xi.dropna() > 0).all()  # never a negative depth scale
    assert (
        table.loc["tanh", "gradients"] == "grow" and table.loc["sigmoid", "gradients"] == "vanish"
    )
    # gelu (shown by default) has two attractors near σ_w² ≈ 2.2: the other one is drawn dotted
    spec = charts(at)["Mean-field χ₁ per layer"]
    other = [t for t in spec["data"] if t.get("meta", {}).get("other_state")]
    assert [t["meta"]["activation"] for t in other] == ["gelu"]
    assert any("two stable states" in c.value for c in at.caption)


def test_steps_zero_preview_matches_at_init():
    at = new_app(preset="deep-mlp", seeds="1")
    ok(at)
    spec = charts(at)["Gradient per layer"]
    comp = load_preset("deep-mlp", {"seeds": 1})
    zero = dataclasses.replace(
        comp, variants=[dataclasses.replace(v, steps=0) for v in comp.variants]
    )
    frame = run_comparison(zero).metrics_frame()
    t = [t for t in spec["data"] if t.get("meta", {}).get("variant") == "residual"][0]
    e = frame[(frame.metric == "grad_norm") & (frame.variant == "residual")].sort_values("index")
    np.testing.assert_allclose(arr(t["y"]), e["value"], rtol=1e-6)


def test_the_preview_says_which_line_hides_under_another():
    """At initialisation "clip norm 1" is the baseline's very net (clipping acts on updates): its
    line lies under the baseline's, and the page says so instead of leaving a legend entry with
    no visible line."""
    at = new_app(preset="deep-mlp", seeds="1")
    ok(at)
    notes = [c.value for c in at.caption if "lies under" in c.value]
    want = plain(
        "“clip norm 1” is identical to sigmoid (baseline) — clipping changes only the updates, "
        "and none has been made yet: its line lies under the other's."
    )
    assert notes == [want]


def test_a_diverged_variant_is_shown_as_diverged():
    comp = comparison_from_dict(
        {
            "title": "boom",
            "depth": 6,
            "width": 32,
            "steps": 10,
            "seeds": 1,
            "log_every": 2,
            "variants": [
                {"name": "ok"},
                {"name": "boom", "activation": "relu", "init": "he", "init_gain": 3.0, "lr": 100.0},
            ],
        }
    )
    from dashboard.state.query_codec import encode

    at = new_app(**encode(comp))
    at.button(key="mlp_train").click().run()
    ok(at)
    figs = charts(at)
    marks = [t for t in figs["Loss"]["data"] if t.get("meta", {}).get("diverged") is not None]
    assert len(marks) == 1 and marks[0]["meta"]["variant"] == "boom"
    # the trade-offs table (the Jacobian's condition-number table comes before it)
    table = next(d.value for d in at.dataframe if "diverged at" in d.value.columns)
    table = table.set_index("variant")
    assert table.loc["boom", "diverged at"] == marks[0]["meta"]["diverged"]
    assert "diverged" in table.loc["boom", "note"]
    scatter = [t for t in figs["Benefit against cost"]["data"] if t["meta"]["variant"] == "boom"]
    assert scatter and scatter[0]["marker"]["symbol"] == "x"


def test_toy_at_w_0_marks_no_wall_and_says_why():
    at = new_app()
    at.switch_page("views/toy.py").run()
    at.slider(key="toy_w").set_value(0.0).run()
    ok(at)
    wall = charts(at)[""]  # the wall figure: two subplots, no title of its own
    texts = [a.get("text", "") for a in wall["layout"].get("annotations", [])]
    assert "wall" not in texts and "your b" in texts
    assert any("No wall here" in c.value for c in at.caption)
    jac = [v for k, v in charts(at).items() if k.startswith("Jacobian")][0]
    assert any("does not depend on x₀" in a.get("text", "") for a in jac["layout"]["annotations"])


def test_toy_settings_live_in_the_url_and_survive_a_page_visit():
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT).run()
    at.query_params.clear()  # as a browser opening /toy?w=3&T=bad
    at.query_params["w"] = "3"
    at.query_params["T"] = "bad"
    at.switch_page("views/toy.py").run()
    ok(at)
    assert at.slider(key="toy_w").value == 3.0 and at.slider(key="toy_T").value == 50
    assert any("T" in w.value for w in at.warning)
    at.slider(key="toy_b").set_value(-2.0).run()
    assert at.query_params["b"] in ("-2", ["-2"])
    at.switch_page("views/theory.py").run()
    at.switch_page("views/toy.py").run()
    assert at.slider(key="toy_b").value == -2.0 and at.slider(key="toy_w").value == 3.0


def test_the_jacobian_spectrum_and_its_condition_numbers_after_training():
    comp = comparison_from_dict(
        {
            "title": "iso",
            "depth": 8,
            "width": 16,
            "steps": 4,
            "seeds": 2,
            "log_every": 2,
            "activation": "tanh",
            "variants": [
                {"name": "orth", "init": "orthogonal"},
                {"name": "relu", "activation": "relu", "init": "he"},
            ],
        }
    )
    from dashboard.state.query_codec import encode

    at = new_app(**encode(comp))
    at.button(key="mlp_train").click().run()
    ok(at)
    spec = charts(at)["Singular values of the input–output Jacobian ∂h_L/∂x"]
    assert spec["layout"]["yaxis"]["type"] == "log"
    lines = {t["meta"]["variant"]: t for t in spec["data"] if t.get("meta")}
    assert set(lines) == {"orth", "relu"}
    cond = next(d.value for d in at.dataframe if "log10 s_max/s_min (step 0)" in d.value.columns)
    cond = cond.set_index("variant").iloc[:, 0]
    assert 0 <= cond["orth"] < 4 and cond["relu"] == float("inf")  # dead ReLU units: exact 0s
    table = next(d.value for d in at.dataframe if "diverged at" in d.value.columns)
    assert table.set_index("variant").loc["relu", "log10 cond J (init)"] == float("inf")


def test_theory_page_shows_ln_placement_beside_the_measured_profile():
    """The Theory page's Transformer section: Xiong et al.'s result beside a measured per-block
    profile at initialisation (Post-LN, Pre-LN, DeepNorm; 24 blocks + the readout)."""
    at = new_app()
    at.switch_page("views/theory.py").run()
    ok(at)
    assert any("where LayerNorm sits" in h.value for h in at.subheader)
    fig = charts(at)["Gradient per block at initialisation"]
    lines = {t["name"]: arr(t["y"]) for t in fig["data"] if "meta" in t}
    assert set(lines) == {"Post-LN", "Pre-LN", "DeepNorm (Post-LN)"}
    assert all(len(v) == 25 for v in lines.values())
    post, pre = lines["Post-LN"], lines["Pre-LN"]
    assert post[23] > post[0] and pre[23] < post[23]  # Xiong et al.: Post-LN grows to the top


def test_transformer_url_state_and_exports_round_trip(monkeypatch):
    """A Transformer comparison (the new fields included) travels through the URL to its page,
    and its Config JSON download rebuilds the same variants; the run lands in the Runs store."""
    from dashboard.state.query_codec import encode

    comp = load_preset("transformer-ln", {"steps": 3, "depth": 2, "seeds": 1})
    comp.variants = comp.variants[1:3]  # pre-ln; post-ln + warm-up 75
    stores: list[MemoryMediaFileStorage] = []

    class Capture(MemoryMediaFileStorage):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            stores.append(self)

    monkeypatch.setattr(app_test_module, "MemoryMediaFileStorage", Capture)
    at = new_app(**encode(comp, "transformer-ln"))
    ok(at)
    assert not at.warning
    draft = at.session_state["transformer_draft"]
    assert at.number_input(key="transformer_s_depth").value == 2
    assert [v["name"] for v in draft["variants"]] == ["pre-ln", "post-ln + warm-up 75"]
    at.button(key="transformer_train").click().run()
    ok(at)
    files = {}
    for el in at.get("download_button"):
        files[el.proto.label] = stores[-1].get_file(el.proto.url.rsplit("/", 1)[-1]).content
    config = comparison_from_dict(json.loads(files["Config JSON"]))
    assert config.variants == comp.variants
    assert [v.warmup_steps for v in config.variants] == [0, 75]
    assert [v.ln_placement for v in config.variants] == ["pre", "post"]
    metrics = pd.read_csv(io.BytesIO(files["Metrics CSV"]))
    own = {"attn_entropy", "attn_grad_norm", "ffn_grad_norm", "ln_gain_drift"}
    assert own <= set(metrics.metric)

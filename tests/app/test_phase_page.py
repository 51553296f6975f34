"""The Phase diagrams page: grid editing, live training, theory overlay, URL, store, hand-off."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.charts.phase import CLICK_LAYER, OUTCOMES, cell_grid, position
from dashboard.state import phase_grid as grid
from dashboard.state.query_codec import pack
from dashboard.views.phase import figure
from models import ConfigError
from models.store.sweeps import SweepStore
from models.sweep import run_sweep, sweep_from_dict
from models.sweep.presets import load_sweep_preset
from tests.helpers import APP_TIMEOUT, ok

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def phase_app(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=APP_TIMEOUT)
    for k, v in params.items():
        at.query_params[k] = v
    at.switch_page("views/phase.py")  # straight to the page, as a shared link lands
    return at.run()


def arr(v) -> np.ndarray:
    """A plotly JSON array: a list, or a typed array {"dtype", "bdata"[, "shape"]}."""
    if isinstance(v, dict) and "bdata" in v:
        a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        if "shape" in v:
            a = a.reshape([int(n) for n in str(v["shape"]).split(",")])
        return a.astype(float)
    return np.array([[np.nan if x is None else x for x in row] for row in v], dtype=float)


def heatmaps(at: AppTest) -> list[dict]:
    out = []
    for el in at.get("plotly_chart"):
        out.append(json.loads(el.proto.spec))
    return out


# --- pure helpers -------------------------------------------------------------------------------


def test_axis_values_from_lists_and_ranges():
    assert grid.parse_values("depth", "5, 10,20") == [5, 10, 20]
    assert grid.parse_values("init_gain", "0.5:2:4") == [0.5, 1.0, 1.5, 2.0]
    assert grid.parse_values("lr", "0.001:0.1:3 log") == [0.001, 0.01, 0.1]
    assert grid.parse_values("depth", "1:3:5") == [1, 2, 3]  # repeated ints collapse
    for bad, needle in [
        ("", "at least one"),
        ("5, x", "grid.depth"),
        ("1:2", "start:stop"),
        ("0:1:3 log", "positive"),
        ("1:9:99", "count"),
    ]:
        with pytest.raises(ConfigError, match=needle):
            grid.parse_values("depth", bad)


def test_axis_fields_come_from_the_training_pages_fields():
    assert "init_gain" in grid.axis_fields("mlp") and "depth" in grid.axis_fields("mlp")
    assert "seq_len" in grid.axis_fields("rnn") and "cell" in grid.axis_fields("rnn")
    assert "steps" not in grid.axis_fields("mlp")
    assert grid.categorical_options("mlp", "residual") == [False, True]


def test_page_caps_keep_a_shared_server_in_bounds():
    assert grid.check_caps(load_sweep_preset("tanh-phase-diagram")) is None
    assert grid.check_caps(load_sweep_preset("rnn-length")) is None
    big = load_sweep_preset("tanh-phase-diagram", {"seeds": 16})
    assert "page allows 400" in grid.check_caps(big)


def test_cells_average_seeds_and_theory_lines_sit_in_cell_coordinates():
    spec = sweep_from_dict(
        {
            "family": "mlp",
            "task": "digits",
            "activation": "tanh",
            "init": "normal",
            "bias_std": 0.2236,
            "width": 8,
            "steps": 2,
            "seeds": 2,
            "log_every": 1,
            "grid": {"init_gain": [0.7071, 1.3266, 2.0], "depth": [2, 40]},
        }
    )
    rows = run_sweep(spec).rows
    frame = pd.DataFrame(rows)
    z, text = cell_grid(
        frame,
        "init_gain",
        spec.grid["init_gain"],
        "depth",
        spec.grid["depth"],
        OUTCOMES["final validation accuracy"],
    )
    assert z.shape == (2, 3) and np.isfinite(z).all()
    want = frame[(frame.init_gain == 2.0) & (frame.depth == 40)].final_val_accuracy.mean()
    assert z[1, 2] == pytest.approx(want)
    assert "seeds:" in text[0, 0]
    fig, notes = figure(spec, rows, "final validation accuracy")
    names = [t.name for t in fig.data if t.type == "scatter" and t.name]  # (+ the dark edge)
    assert names == [CLICK_LAYER, "6 ξ_c (signals propagate below it)", "χ₁ = 1 (edge of chaos)"]
    # hover and click anywhere in a cell: the nearest click-layer centre is the cell's
    assert fig.layout.hovermode == "closest" and fig.layout.hoverdistance == -1
    assert all(t.hoverinfo == "skip" for t in fig.data if t.type == "heatmap")
    edge = [t for t in fig.data if t.name == "χ₁ = 1 (edge of chaos)"][0]
    # σ_w² = 1.76 sits just right of the σ_w = 1.3266 column (σ_w² = 1.7599)
    assert 1.0 <= edge.x[0] < 1.01
    assert "1.76" in notes[0]
    assert position([1, 2, 4], np.array([3.0]))[0] == pytest.approx(1.5)


def test_sweep_store_round_trip(store_location):
    store = SweepStore(store_location)
    spec = load_sweep_preset("rnn-length")
    rows = [{"seq_len": 5, "variant": "lstm", "seed": 0, "final_val_loss": np.float32(0.5)}]
    sid = store.save(spec.to_json_dict(), rows, "stopped", "rnn-length")
    assert store.list()[0]["id"] == sid and store.list()[0]["status"] == "stopped"
    spec_json, back, status = store.load(sid)
    assert spec_json == spec.to_json_dict() and back[0]["final_val_loss"] == 0.5
    assert store.delete(sid) and store.list() == []


# --- the page -------------------------------------------------------------------------------


def test_default_page_shows_the_grid_with_theory_before_training():
    at = phase_app()
    ok(at)
    assert at.query_params["sweep"] == "tanh-phase-diagram"
    (spec,) = heatmaps(at)
    kinds = [t["type"] for t in spec["data"]]
    lines = [t["name"] for t in spec["data"] if t["type"] == "scatter" and t.get("name")]
    lines = [n for n in lines if n != CLICK_LAYER]  # the cells' click layer is no theory line
    assert kinds.count("heatmap") == 1 and len(lines) == 2
    assert any("edge of chaos at σ" in c.value.replace("\\", "") for c in at.caption)
    assert any("45 grid points" in c.value for c in at.sidebar.caption)
    assert "with the theory's lines" in at.info[0].value


def test_a_grid_without_theory_lines_does_not_promise_them():
    """rnn-length: every variant has λ₁γ ≥ 1 at initialisation, so Pascanu's bound draws no line."""
    at = phase_app(sweep="rnn-length")
    ok(at)
    (spec,) = heatmaps(at)
    assert not [t for t in spec["data"] if t["type"] == "scatter" and t["name"] != CLICK_LAYER]
    assert "theory's lines" not in at.info[0].value and "grid to fill" in at.info[0].value


@pytest.mark.slow
def test_train_a_small_grid_then_open_a_point_as_a_comparison():
    at = phase_app()
    at.sidebar.text_input(key="phase_w_text0_init_gain").set_value("0.7071, 1.3266").run()
    at.sidebar.text_input(key="phase_w_text1_depth").set_value("3, 6").run()
    at.sidebar.number_input(key="phase_w_steps").set_value(10).run()
    ok(at)
    assert "sweepcfg" in at.query_params  # edited away from the preset: the sweep is in the URL
    at.sidebar.button(key="phase_train").click().run()
    ok(at)
    shown = at.session_state["phase_result"]
    assert len(shown["rows"]) == 4 * 2 and not shown["stopped"]
    (spec,) = heatmaps(at)
    z = [t for t in spec["data"] if t["type"] == "heatmap"][0]["z"]
    assert arr(z).shape == (2, 2) and np.isfinite(arr(z)).all()
    # every outcome draws
    for name in OUTCOMES:
        at.selectbox(key="phase_outcome").set_value(name).run()
        ok(at)
    # the stored sweep is listed on the Runs page
    at.switch_page("views/runs.py").run()
    ok(at)
    assert at.dataframe[-1].value.iloc[0]["outcome"] == "finished"
    # open the point (σ_w = 1.3266, depth = 6) on the training page
    at.switch_page("views/phase.py").run()
    at.selectbox(key="phase_point").set_value(3).run()
    at.button(key="phase_open").click().run()
    ok(at)
    d = at.session_state["mlp_draft"] if "mlp_draft" in at.session_state else None
    assert d is not None
    assert d["shared"]["depth"] == 6 and d["variants"][0]["init_gain"] == 1.3266


@pytest.mark.slow
def test_bad_grid_input_is_one_message_and_a_bad_url_one_notice():
    at = phase_app()
    at.sidebar.text_input(key="phase_w_text1_depth").set_value("5, deep").run()
    assert not at.exception
    assert len(at.error) == 1 and "grid.depth" in at.error[0].value.replace("\\", "")
    at = phase_app(sweepcfg="not-a-sweep")
    assert not at.exception
    assert any("sweepcfg" in w.value for w in at.warning)
    packed = pack(load_sweep_preset("rnn-length").to_json_dict())
    at = phase_app(sweepcfg=packed)
    ok(at)
    assert at.session_state["phase_sweep"]["grid"] == {"seq_len": [5, 10, 20, 40, 80]}


@pytest.mark.slow
def test_transformer_sweep_trains_a_small_grid_and_opens_a_point_on_its_page():
    """The transformer-lr preset (lr × depth per LayerNorm placement): a 2 × 1 grid of 3 steps
    trains, one heatmap panel per variant, and a point opens on the Transformers page."""
    at = phase_app(sweep="transformer-lr")
    ok(at)
    assert at.session_state["phase_sweep"]["family"] == "transformer"
    at.sidebar.text_input(key="phase_w_text0_lr").set_value("0.001, 0.02").run()
    at.sidebar.text_input(key="phase_w_text1_depth").set_value("2").run()
    at.sidebar.number_input(key="phase_w_steps").set_value(3).run()
    at.sidebar.button(key="phase_train").click().run()
    ok(at)
    shown = at.session_state["phase_result"]
    assert len(shown["rows"]) == 2 * 4 and not shown["stopped"]  # 2 points × 4 variants
    (spec,) = heatmaps(at)
    assert len([t for t in spec["data"] if t["type"] == "heatmap"]) == 4  # one per placement
    at.selectbox(key="phase_point").set_value(1).run()
    at.button(key="phase_open").click().run()
    ok(at)
    d = at.session_state["transformer_draft"]
    assert d["shared"]["depth"] == 2 and d["variants"][0]["lr"] == 0.02

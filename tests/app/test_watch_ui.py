"""Watched runs on the Runs page (AppTest): listed 'from your code', opened with layer names on
the axes, overlaid, and diagnosed."""

from __future__ import annotations

import json

import pytest
import torch
from streamlit.testing.v1 import AppTest
from torch import nn

from models import comparison_from_dict, run_comparison
from models.store.runs import RunStore
from models.watch import watch

LAB = {
    "title": "tiny mlp",
    "depth": 3,
    "width": 8,
    "steps": 4,
    "log_every": 2,
    "variants": [{"name": "sigmoid"}],
}


def _script():
    from dashboard.views.runs import runs_page

    runs_page()


def _watched(store: str, name: str, act, depth: int, he: bool) -> None:
    torch.manual_seed(0)
    layers, n = [], 8
    for _ in range(depth):
        lin = nn.Linear(n, 16)
        if he:
            nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
        layers += [lin, act()]
        n = 16
    model = nn.Sequential(*layers, nn.Linear(n, 3))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(1)
    with watch(model, opt, every=2, name=name, store=store) as w:
        for _ in range(5):
            x = torch.randn(32, 8, generator=g)
            loss = nn.functional.cross_entropy(model(x), (x[:, 0] > 0).long())
            loss.backward()
            opt.step()
            opt.zero_grad()
            w.log(loss=loss)


@pytest.fixture(scope="module")
def lab_run():
    comp = comparison_from_dict(LAB)
    return comp, run_comparison(comp, threads=1)


@pytest.fixture
def store_path(tmp_path, monkeypatch, lab_run):
    path = tmp_path / "runs.sqlite"
    monkeypatch.setenv("GFL_STORE", str(path))
    store = RunStore(path)
    store.save_run(*lab_run, "finished", preset="tiny-mlp")  # 1
    store.close()
    _watched(str(path), "deep sigmoid", nn.Sigmoid, 20, he=False)  # 2: vanishes
    _watched(str(path), "he relu", nn.ReLU, 3, he=True)  # 3: healthy
    return path


def app() -> AppTest:
    return AppTest.from_function(_script, default_timeout=60).run()


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def figures(at: AppTest) -> dict[str, dict]:
    out = {}
    for el in at.get("plotly_chart"):
        spec = json.loads(el.proto.spec)
        out[spec["layout"].get("title", {}).get("text", "")] = spec
    return out


def _open(at: AppTest, rid: int) -> AppTest:
    at.selectbox(key="runs_pick").set_value(rid).run()
    at.button(key="runs_open_btn").click().run()
    ok(at)
    return at


def test_watched_runs_are_listed_from_your_code_beside_lab_runs(store_path):
    at = app()
    ok(at)
    table = at.dataframe[0].value
    assert list(table["run"]) == [3, 2, 1]
    assert list(table["source"]) == ["from your code", "from your code", "lab"]
    assert table["preset / title"].tolist()[:2] == ["he relu", "deep sigmoid"]
    assert table["settings"][1].startswith("from your code · Sequential · 21 layers · 5 steps")


def test_opening_a_watched_run_shows_its_layers_by_name_and_the_diagnosis(store_path):
    at = _open(app(), 2)
    figs = figures(at)
    grad = figs["Gradient norm per layer at step 0"]
    assert grad["data"][0]["x"] == [str(2 * i) for i in range(21)]  # named_modules() names
    heat = next(f for t, f in figs.items() if t.startswith("log10 ‖∇‖ by layer"))
    assert heat["data"][0]["y"][0] == "0" and heat["data"][0]["x"] == [0, 2, 4]
    assert any(t.startswith("Update-to-weight ratio") for t in figs)
    assert any(t.startswith("Saturated or dead units") for t in figs)
    assert "Logged scalars" in figs and any(t.startswith("Global gradient norm") for t in figs)
    warnings = [w.value for w in at.warning]
    assert any("vanish" in w and "deep\\-mlp" in w for w in warnings), warnings
    assert "Trade-offs" not in [h.value for h in at.subheader]  # not the lab's results view


def test_a_healthy_watched_run_gets_no_diagnosis(store_path):
    at = _open(app(), 3)
    assert not [w.value for w in at.warning]
    assert "Diagnosis" not in [m.value for m in at.markdown]


def test_two_watched_runs_overlay(store_path):
    at = app()
    at.multiselect(key="runs_overlay").set_value([2, 3]).run()
    ok(at)
    grad = figures(at)["Gradient norm per layer at step 0"]
    assert [t["name"] for t in grad["data"]] == ["#2 deep sigmoid", "#3 he relu"]
    assert grad["layout"]["xaxis"]["categoryarray"][:3] == ["0", "2", "4"]
    assert any("#2 deep sigmoid" in w.value for w in at.warning)


def test_a_watched_run_overlays_with_a_lab_run_on_the_shared_curves(store_path):
    at = app()
    at.multiselect(key="runs_overlay").set_value([1, 2]).run()
    ok(at)
    loss = figures(at)["Loss"]
    names = {t.get("name", "").split(" (")[0] for t in loss["data"]}
    assert {"#1 sigmoid", "#2 deep sigmoid"} <= names
    assert not any(t.startswith("Gradient") for t in figures(at))  # different layers: no profile


def test_public_mode_lists_watched_runs_to_nobody_and_opens_them_by_share_link(
    store_path, monkeypatch
):
    monkeypatch.setenv("GFL_PUBLIC", "1")
    store = RunStore(store_path)
    share = next(r["share_id"] for r in store.list_runs() if r["id"] == 2)
    assert store.owner_of(2) is None  # written by the server's own user, through the store
    store.close()
    at = AppTest.from_function(_script, default_timeout=60)
    at.query_params["run"] = share
    at.run()
    ok(at)
    assert "Shared run" in [h.value for h in at.subheader]
    assert "Gradient norm per layer at step 0" in figures(at)
    assert not at.dataframe  # a visitor's own listing: no watched run in it

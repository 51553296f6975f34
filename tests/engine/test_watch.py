"""watch(): every recorded number against the one computed by hand from p.grad / p.data."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pandas as pd
import pytest
import torch
from torch import nn

from models import METRIC_COLUMNS, SUMMARY_COLUMNS, open_store
from models.watch import activation_kind, watch
from models.watch.run import LAYER_COLUMN

ROOT = Path(__file__).resolve().parents[2]
REL = 1e-5  # float32 norms against float64 sums of the same numbers


# --- the models ----------------------------------------------------------------------------------


def mlp(depth: int = 20, width: int = 16, act=nn.Tanh) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(8, width), act()]
    for _ in range(depth - 2):
        layers += [nn.Linear(width, width), act()]
    return nn.Sequential(*layers, nn.Linear(width, 3))


class SmallCNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        # declared out of forward order on purpose: the head first
        self.head = nn.Linear(8 * 4 * 4, 3)
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.act2 = nn.ReLU()

    def forward(self, x):
        x = self.act1(self.conv1(x))
        x = nn.functional.max_pool2d(self.act2(self.bn(self.conv2(x))), 2)
        return self.head(x.flatten(1))


class SmallTransformer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(4, 16)
        layer = nn.TransformerEncoderLayer(16, 2, 32, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.encoder(self.embed(x)).mean(1))


def batch(kind: str, g: torch.Generator, n: int = 16):
    shape = {"mlp": (n, 8), "cnn": (n, 1, 8, 8), "transformer": (n, 6, 4)}[kind]
    return torch.randn(shape, generator=g), torch.randint(0, 3, (n,), generator=g)


# --- by hand ---------------------------------------------------------------------------------------


def own_params(model: nn.Module) -> dict[str, list[nn.Parameter]]:
    """Layer name -> its trainable parameters (a shared one under its first module)."""
    out, seen = {}, set()
    for name, m in model.named_modules():
        ps = [p for p in m.parameters(recurse=False) if p.requires_grad and id(p) not in seen]
        seen |= {id(p) for p in ps}
        if ps:
            out[name or type(m).__name__] = ps
    return out


def norm(tensors) -> float:
    return math.sqrt(sum(float(t.double().square().sum()) for t in tensors))


def recorded(run, step: int, metric: str) -> dict[str, float]:
    """Layer name -> value of one metric at one step."""
    names = run.activations if metric == "saturation" else run.layers
    return {names[i - 1]: v for _, _, k, m, i, v in run.rows if k == step and m == metric}


def scalar(run, step: int, metric: str) -> float | None:
    vals = [v for _, _, k, m, _, v in run.rows if k == step and m == metric]
    return vals[0] if vals else None


def train_and_check(
    model,
    kind: str,
    steps: int = 7,
    every: int = 3,
    clip: float | None = None,
    micro: int = 1,
    lr: float = 0.05,
    optim=torch.optim.SGD,
):
    """Train with watch(); at every recorded step compare each number with the hand's."""
    g = torch.Generator().manual_seed(0)
    layers = own_params(model)
    opt = optim(model.parameters(), lr=lr)
    expected = {}
    w = watch(model, opt, every=every, store=False)
    for step in range(steps):
        for _ in range(micro):
            x, y = batch(kind, g)
            (nn.functional.cross_entropy(model(x), y) / micro).backward()
        grads = {
            n: [p.grad.detach().clone() for p in ps if p.grad is not None]
            for n, ps in layers.items()
        }
        total = norm([t for ts in grads.values() for t in ts])
        clipped = 0.0
        if clip is not None:
            clipped = float(nn.utils.clip_grad_norm_(model.parameters(), clip) > clip)
        before = {n: [p.detach().clone() for p in ps] for n, ps in layers.items()}
        opt.step()
        opt.zero_grad()
        if step % every == 0:
            expected[step] = {
                "grad_norm": {n: norm(t) for n, t in grads.items() if t},
                "weight_norm": {n: norm(b) for n, b in before.items()},
                "update_ratio": {
                    n: norm([p.detach() - b for p, b in zip(layers[n], before[n])])
                    / norm(before[n])
                    for n in layers
                },
                "grad_norm_total": total,
                "clipped": clipped,
            }
    run = w.close()
    assert w.error is None
    assert sorted(expected) == sorted({r[2] for r in run.rows})
    assert set(run.layers) == set(layers)
    for step, exp in expected.items():
        for metric in ("grad_norm", "weight_norm", "update_ratio"):
            got = recorded(run, step, metric)
            assert got.keys() == exp[metric].keys(), (step, metric)
            for name, v in exp[metric].items():
                assert got[name] == pytest.approx(v, rel=REL, abs=1e-12), (step, metric, name)
        g2w = recorded(run, step, "grad_to_weight")
        for name, v in exp["grad_norm"].items():
            assert g2w[name] == pytest.approx(v / exp["weight_norm"][name], rel=REL)
        assert scalar(run, step, "grad_norm_total") == pytest.approx(
            exp["grad_norm_total"], rel=REL
        )
        assert scalar(run, step, "clipped") == exp["clipped"]
    return run


def test_mlp_20_layers_every_number_by_hand():
    torch.manual_seed(1)
    run = train_and_check(mlp(20), "mlp", steps=8, every=3)
    assert run.layers == [str(2 * i) for i in range(20)]  # 20 layers, forward order
    assert len(run.activations) == 19 and set(run.activation_kinds) == {"tanh"}


def test_cnn_by_hand_and_in_forward_order():
    torch.manual_seed(2)
    run = train_and_check(SmallCNN(), "cnn", steps=5, every=2)
    assert run.layers == ["conv1", "conv2", "bn", "head"]  # not the declaration order
    assert run.activations == ["act1", "act2"] and run.activation_kinds == ["relu", "relu"]


def test_transformer_encoder_by_hand():
    torch.manual_seed(3)
    run = train_and_check(
        SmallTransformer(), "transformer", steps=5, every=2, optim=torch.optim.Adam, lr=1e-3
    )
    names = run.layers
    assert names[0] == "embed" and names[-1] == "head"
    # out_proj's own forward never runs (attention reads its weight): it follows self_attn
    i = names.index("encoder.layers.0.self_attn")
    assert names[i + 1] == "encoder.layers.0.self_attn.out_proj"
    assert names.index("encoder.layers.0.linear2") < names.index("encoder.layers.1.self_attn")


def test_gradient_accumulation_reads_the_accumulated_gradient():
    torch.manual_seed(4)
    train_and_check(mlp(6), "mlp", steps=6, every=2, micro=3)


def test_clipping_detected_and_the_norm_is_the_one_before_clipping():
    torch.manual_seed(5)
    run = train_and_check(mlp(6), "mlp", steps=4, every=1, clip=1e-3)
    assert all(scalar(run, k, "clipped") == 1.0 for k in range(4))
    assert all(scalar(run, k, "grad_norm_total") > 1e-3 for k in range(4))
    run = train_and_check(mlp(6), "mlp", steps=3, every=1, clip=1e6)
    assert all(scalar(run, k, "clipped") == 0.0 for k in range(3))


def _scaled_loop(model, opt, scaler, steps, clip=None, fake=False):
    g = torch.Generator().manual_seed(0)
    w = watch(model, opt, every=1, store=False, scaler=scaler)
    unscaled = []
    for _ in range(steps):
        x, y = batch("mlp", g)
        loss = nn.functional.cross_entropy(model(x), y)
        if fake:  # a scaler the loop drives by hand
            (loss * scaler.get_scale()).backward()
            for p in model.parameters():
                p.grad /= scaler.get_scale()
            unscaled.append(norm([p.grad for p in model.parameters()]))
            opt.step()
        else:
            scaler.scale(loss).backward()
            scaler.unscale_(opt)
            unscaled.append(norm([p.grad for p in model.parameters()]))
            if clip:
                nn.utils.clip_grad_norm_(model.parameters(), clip)
            scaler.step(opt)
            scaler.update()
        opt.zero_grad()
    return w.close(), unscaled


def test_grad_scaler_norms_are_unscaled():
    torch.manual_seed(6)
    model = mlp(5)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12)
    run, unscaled = _scaled_loop(model, opt, scaler, 4, clip=1e-3)
    for k, n in enumerate(unscaled):
        assert scalar(run, k, "grad_norm_total") == pytest.approx(n, rel=1e-4)
        assert scalar(run, k, "clipped") == 1.0


def test_a_scaler_with_only_get_scale():
    class FakeScaler:
        def get_scale(self) -> float:
            return 1024.0

    torch.manual_seed(7)
    model = mlp(5)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    run, unscaled = _scaled_loop(model, opt, FakeScaler(), 3, fake=True)
    for k, n in enumerate(unscaled):
        assert scalar(run, k, "grad_norm_total") == pytest.approx(n, rel=1e-5)
        assert scalar(run, k, "clipped") == 0.0


def test_first_non_finite_gradient_step_and_layer():
    torch.manual_seed(8)
    model = mlp(6)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(0)
    bad = model[6]  # the fourth Linear (layer index 4)
    w = watch(model, opt, every=2, store=False)
    for step in range(8):
        if step == 4:
            bad.weight.register_hook(lambda grad: grad * float("nan"))
        x, y = batch("mlp", g)
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        opt.zero_grad()
    run = w.close()
    assert run.diverged == (4, 4)
    assert run.layers[3] == "6"
    assert [r for r in run.rows if r[3] == "diverged"] == [(run.name, 0, 4, "diverged", 4, 4.0)]
    assert run.summary()[0]["diverged_step"] == 4
    assert run.diverged_after == 2  # seen at step 4: the first NaN came after step 2
    assert run.meta()["diverged_after"] == 2


def test_non_finite_gradient_with_every_1_is_the_exact_step():
    torch.manual_seed(8)
    model = mlp(4)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    g = torch.Generator().manual_seed(0)
    w = watch(model, opt, every=1, store=False)
    for step in range(5):
        if step == 3:
            model[2].weight.register_hook(lambda grad: grad * float("inf"))
        x, y = batch("mlp", g)
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        opt.zero_grad()
    run = w.close()
    assert run.diverged == (3, 2) and run.diverged_after == 2


def test_parameter_copies_are_reused_and_follow_a_changed_parameter():
    torch.manual_seed(4)
    model = mlp(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    w = watch(model, opt, every=1, store=False)
    g = torch.Generator().manual_seed(0)

    def step():
        x, y = batch("mlp", g)
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        opt.zero_grad()

    step()
    bufs = [b.data_ptr() for b in w._before]
    step()
    assert [b.data_ptr() for b in w._before] == bufs  # no new copies per step
    with torch.no_grad():  # a parameter's storage replaced: the copies read the new one
        model[0].weight.data = model[0].weight.data * 2
    layer = [model[0].weight, model[0].bias]
    before = [p.detach().clone() for p in layer]
    step()
    run = w.close()
    assert w.error is None and [b.data_ptr() for b in w._before] == bufs
    name = run.layers[0]
    assert recorded(run, 2, "weight_norm")[name] == pytest.approx(norm(before), rel=REL)
    delta = norm([p.detach() - b for p, b in zip(layer, before)]) / norm(before)
    assert recorded(run, 2, "update_ratio")[name] == pytest.approx(delta, rel=REL)


def test_saturation_of_activations_in_any_order_and_called_twice():
    torch.manual_seed(14)

    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(8, 16), nn.Linear(16, 16)
            self.sig, self.relu, self.head = nn.Sigmoid(), nn.ReLU(), nn.Linear(16, 3)

        def forward(self, x):
            h = self.sig(self.a(x))  # sigmoid first, then one ReLU called twice
            return self.head(self.relu(self.b(self.relu(self.b(h)))))

    model = Twice()
    with torch.no_grad():
        model.a.weight.mul_(30)
        model.b.bias[:6] = -50.0
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    w = watch(model, opt, every=1, store=False)
    x = torch.randn(32, 8)
    model(x).sum().backward()
    opt.step()
    run = w.close()
    from models.core.activations import ACTIVATIONS

    za = model.a(x)
    z1 = model.b(torch.sigmoid(za))
    z2 = model.b(torch.relu(z1))
    sat = float((za.abs() > ACTIVATIONS["sigmoid"].saturated_beyond).float().mean())
    dead = (float((z1 <= 0).all(0).float().mean()) + float((z2 <= 0).all(0).float().mean())) / 2
    got = recorded(run, 0, "saturation")
    assert run.activations == ["sig", "relu"]
    assert got["sig"] == pytest.approx(sat) and sat > 0.3
    assert got["relu"] == pytest.approx(dead) and dead >= 6 / 16


def test_a_non_finite_loss_marks_layer_zero():
    model = mlp(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    w = watch(model, opt, every=1, store=False)
    model(torch.randn(4, 8)).sum().backward()
    opt.step()
    w.log(loss=torch.tensor(float("inf")))
    assert w.close().diverged == (0, 0)


def test_frozen_layers_and_layers_without_gradient():
    torch.manual_seed(9)

    class Branchy(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.frozen = nn.Linear(8, 8)
            self.a = nn.Linear(8, 3)
            self.b = nn.Linear(8, 3)  # used on odd steps only
            self.frozen.requires_grad_(False)

        def forward(self, x, odd=False):
            return (self.b if odd else self.a)(self.frozen(x))

    model = Branchy()
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    w = watch(model, opt, every=1, store=False)
    for step in range(3):
        model(torch.randn(4, 8), odd=step % 2 == 1).sum().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    run = w.close()
    assert run.layers == ["a", "b"]  # the frozen layer has nothing to record
    assert set(recorded(run, 0, "grad_norm")) == {"a"}
    assert set(recorded(run, 1, "grad_norm")) == {"b"}
    assert set(recorded(run, 1, "weight_norm")) == {"a", "b"}


def test_tied_weights_count_once():
    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(10, 6)
            self.out = nn.Linear(6, 10, bias=False)
            self.out.weight = self.embed.weight

        def forward(self, i):
            return self.out(self.embed(i))

    model = Tied()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    w = watch(model, opt, every=1, store=False)
    model(torch.tensor([1, 2, 3])).sum().backward()
    expected = norm([model.embed.weight.grad])
    opt.step()
    run = w.close()
    assert run.layers == ["embed"]
    assert recorded(run, 0, "grad_norm")["embed"] == pytest.approx(expected, rel=REL)


def test_torch_compile_wrapped_model():
    torch.manual_seed(10)
    model = mlp(4)
    compiled = torch.compile(model, backend="eager")
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    w = watch(compiled, opt, every=1, store=False)
    x, y = torch.randn(4, 8), torch.randint(0, 3, (4,))
    nn.functional.cross_entropy(compiled(x), y).backward()
    expected = norm([p.grad for p in model.parameters()])
    opt.step()
    run = w.close()
    assert run.compiled and run.layers == ["0", "2", "4", "6"]
    assert run.activations == []  # no forward hooks on a compiled model: no saturation
    assert scalar(run, 0, "grad_norm_total") == pytest.approx(expected, rel=REL)


def test_zero_cost_between_recorded_steps_no_backward_hooks():
    model = mlp(4)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    w = watch(model, opt, every=5, store=False)
    for step in range(3):
        model(torch.randn(4, 8)).sum().backward()
        opt.step()
        opt.zero_grad()
        assert (len(w._armed_handles) == 0) == (step % 5 != 4)  # armed only before step 5
    w.close()
    assert all(not p._post_accumulate_grad_hooks for p in model.parameters())


def test_saturation_and_dead_units_by_hand():
    torch.manual_seed(13)
    model = nn.Sequential(
        nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.Sigmoid(), nn.Linear(16, 3)
    )
    with torch.no_grad():
        model[0].bias[:10] = -100.0  # 10 of 16 units never active
        model[2].weight.mul_(200)  # most sigmoid inputs far beyond its knee
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    w = watch(model, opt, every=1, store=False)
    x = torch.randn(32, 8)
    model(x).sum().backward()
    opt.step()
    run = w.close()
    z1 = model[0](x)
    z2 = model[2](torch.relu(z1))
    dead = float((z1 <= 0).all(0).float().mean())
    from models.core.activations import ACTIVATIONS

    sat = float((z2.abs() > ACTIVATIONS["sigmoid"].saturated_beyond).float().mean())
    got = recorded(run, 0, "saturation")
    assert dead >= 10 / 16 and got["1"] == pytest.approx(dead)
    assert sat > 0.5 and got["3"] == pytest.approx(sat)
    assert run.activation_kinds == ["relu", "sigmoid"]


def test_activation_kinds_come_from_the_registry():
    assert activation_kind(nn.LeakyReLU()) == "leaky_relu"
    assert activation_kind(nn.GELU()) == "gelu" and activation_kind(nn.SiLU()) == "silu"
    assert activation_kind(nn.Softmax(dim=1)) is None and activation_kind(nn.Linear(2, 2)) is None

    class ReLU(nn.Module):  # a user's class of the same name is not trusted
        def forward(self, x):
            return x

    assert activation_kind(ReLU()) is None


def test_an_error_while_recording_warns_once_and_training_goes_on():
    model = nn.Sequential(nn.Embedding(10, 4, sparse=True), nn.Linear(4, 2))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.warns(RuntimeWarning, match="recording stopped") as caught:
        w = watch(model, opt, every=1, store=False)
        for _ in range(3):
            model(torch.tensor([1, 2])).sum().backward()
            opt.step()
            opt.zero_grad()
        w.log(loss=1.0)
        w.close()
    assert len([c for c in caught if "recording stopped" in str(c.message)]) == 1
    assert w.error and w.steps == 0  # hooks gone: the later steps were not even counted
    assert w.run.summary()[0]["error"] == w.error


def test_an_unwritable_out_warns_instead_of_raising(tmp_path):
    (tmp_path / "file").write_text("x")
    model = mlp(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    w = watch(model, opt, out=str(tmp_path / "file" / "run"), store=False)
    model(torch.randn(2, 8)).sum().backward()
    opt.step()
    with pytest.warns(RuntimeWarning, match="could not be saved"):
        w.close()


def test_bad_arguments_get_clear_messages():
    model = mlp(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        watch("model", opt)
    with pytest.raises(TypeError, match="Optimizer"):
        watch(model, "sgd")
    with pytest.raises(ValueError, match="every"):
        watch(model, opt, every=0)
    other = torch.optim.SGD(nn.Linear(2, 2).parameters(), lr=0.1)
    with pytest.raises(ValueError, match="none of the model's parameters"):
        watch(model, other)


def test_files_in_the_cli_formats_and_the_store(tmp_path):
    torch.manual_seed(11)
    model = mlp(4)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    store_path = tmp_path / "runs.sqlite"
    with watch(
        model, opt, every=2, name="=baseline", out=str(tmp_path / "run"), store=str(store_path)
    ) as w:
        for _ in range(5):
            loss = model(torch.randn(4, 8)).pow(2).mean()
            loss.backward()
            opt.step()
            opt.zero_grad()
            w.log(loss=loss, accuracy=0.5)
    metrics = pd.read_csv(tmp_path / "run" / "metrics.csv", keep_default_na=False)
    assert list(metrics.columns) == METRIC_COLUMNS + [LAYER_COLUMN]
    assert set(metrics.variant) == {"'=baseline"}  # CSV-injection-safe
    g = metrics[metrics.metric == "grad_norm"]
    assert g.set_index("index")["layer"].to_dict() == {1: "0", 2: "2", 3: "4", 4: "6"}
    assert set(metrics[metrics.metric == "loss"].step) == {0, 2, 4}
    summary = pd.read_csv(tmp_path / "run" / "summary.csv")
    assert list(summary.columns) == SUMMARY_COLUMNS and summary.step_impl[0] == "watched"
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["watched"]["layers"] == ["0", "2", "4", "6"] and cfg["watched"]["steps"] == 5
    store = open_store(store_path)
    [row] = store.list_runs()
    assert row["settings"].startswith("from your code · Sequential · 4 layers")
    comp, result = store.load_run(row["id"])
    assert comp.watched == cfg["watched"]
    assert sorted(result.metrics) == sorted(w.run.rows)
    store.close()


def test_default_store_is_gfl_store(tmp_path, monkeypatch):
    monkeypatch.setenv("GFL_STORE", str(tmp_path / "env.sqlite"))
    model = mlp(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    w = watch(model, opt)
    model(torch.randn(2, 8)).sum().backward()
    opt.step()
    w.close()
    store = open_store(tmp_path / "env.sqlite")
    assert [r["id"] for r in store.list_runs()] == [w.run.store_id]
    store.close()


HOSTILE = """
import os, sys, warnings
import models  # the user's own package, first on the path
assert models.MINE, "the user's models package was replaced"
import torch
from torch import nn
from gradient_flow_lab import watch
assert sys.modules["models"] is models and models.MINE
model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
opt = torch.optim.SGD(model.parameters(), lr=0.1)
with warnings.catch_warnings():
    warnings.simplefilter("error")
    with watch(model, opt, every=1, out="out", store="runs.sqlite") as w:
        for _ in range(3):
            model(torch.randn(5, 4)).sum().backward()
            opt.step()
            opt.zero_grad()
print("ok", w.run.layers, type(w).__module__, sorted(os.listdir("out")))
"""


def test_a_project_with_its_own_models_package(tmp_path):
    pkg = tmp_path / "models"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("MINE = True\nfrom . import core\n")
    (pkg / "core.py").write_text("RUNNER = 'theirs'\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]))
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(HOSTILE)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[0] == "ok"
    assert "gradient_flow_lab._engine.watch.recorder" in out.stdout
    assert "['config.json', 'metrics.csv', 'summary.csv']" in out.stdout


def test_python_m_models_still_works_from_a_clone():
    out = subprocess.run(
        [sys.executable, "-m", "models", "presets"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0 and "deep-mlp" in out.stdout


def test_in_the_lab_gradient_flow_lab_reuses_the_imported_engine():
    import gradient_flow_lab
    import models

    assert gradient_flow_lab.load_engine() is models
    assert gradient_flow_lab.watch is watch


@pytest.mark.parametrize("doc", ["README.md", "docs/watch.md"])
def test_docs_example_runs_as_written(tmp_path, doc):
    """The first python block under "Watch your own model", exactly as written, in a new process."""
    section = (ROOT / doc).read_text().split("Watch your own model", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    env = dict(os.environ, PYTHONPATH=str(ROOT), GFL_STORE=str(tmp_path / "runs.sqlite"))
    with warnings.catch_warnings():
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
    assert out.returncode == 0, out.stderr[-3000:]
    store = open_store(tmp_path / "runs.sqlite")
    [row] = store.list_runs()
    assert row["settings"].startswith("from your code")
    comp, result = store.load_run(row["id"])
    assert "loss" in {r[3] for r in result.metrics}
    store.close()
    assert (tmp_path / "runs" / "baseline" / "metrics.csv").is_file()


@pytest.mark.parametrize(
    "name", ["sigmoid", "tanh", "relu", "leaky_relu", "gelu", "elu", "silu", "linear"]
)
def test_saturated_units_is_the_trainers_saturation_rule(name):
    from models.core.layers import saturated_units, saturation

    z = torch.randn(32, 24, generator=torch.Generator().manual_seed(0)) * 3
    z[:, :5] = -z[:, :5].abs() - 0.1  # a few units dead for every example
    flags = saturated_units(name, z)
    expected = float(saturation(name, z.unsqueeze(0))[0])
    got = 0.0 if flags is None else float(flags.float().mean())
    assert got == pytest.approx(expected, abs=1e-7)


def test_a_bad_scalar_is_skipped_with_one_warning_and_recording_goes_on():
    model = mlp(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    w = watch(model, opt, every=1, store=False)
    with pytest.warns(RuntimeWarning) as caught:
        for _ in range(3):
            model(torch.randn(2, 8)).sum().backward()
            opt.step()
            opt.zero_grad()
            w.log(loss=0.5, note="hello", grad_norm=1.0, batch=torch.ones(3))
    run = w.close()
    assert len(caught) == 3 and w.error is None  # once per bad name
    assert [scalar(run, k, "loss") for k in range(3)] == [0.5] * 3
    assert scalar(run, 2, "grad_norm_total") is not None


def test_the_cli_refuses_to_rerun_a_watched_config(tmp_path):
    model = mlp(3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with watch(model, opt, out=str(tmp_path / "run"), store=False):
        model(torch.randn(2, 8)).sum().backward()
        opt.step()
    from models.cli.main import main

    code = main(
        [
            "run",
            "--config",
            str(tmp_path / "run" / "config.json"),
            "--out",
            str(tmp_path / "again"),
            "--quiet",
        ]
    )
    assert code == 2 and not (tmp_path / "again").exists()


def test_a_damaged_watched_table_is_a_clear_config_error():
    from models import ConfigError, comparison_from_dict

    for bad, match in (
        ({"watched": [1], "variants": [{"name": "m"}]}, "expected a table"),
        ({"watched": {"layers": [1, 2]}, "variants": [{"name": "m"}]}, "must be text"),
        ({"watched": {}, "depth": 3, "variants": [{"name": "m"}]}, "no lab fields"),
    ):
        with pytest.raises(ConfigError, match=match):
            comparison_from_dict(bad)


def test_saturation_every_records_saturation_less_often():
    model = mlp(4, act=nn.ReLU)
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    w = watch(model, opt, every=1, saturation_every=3, store=False)
    for _ in range(7):
        model(torch.randn(8, 8)).sum().backward()
        opt.step()
        opt.zero_grad()
    run = w.close()
    assert sorted({r[2] for r in run.rows if r[3] == "saturation"}) == [0, 3, 6]
    assert sorted({r[2] for r in run.rows if r[3] == "grad_norm"}) == list(range(7))
    assert run.meta()["saturation_every"] == 3
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="saturation_every"):
            watch(model, opt, every=2, saturation_every=bad)
    with pytest.raises(ValueError, match="multiple of every"):
        watch(model, opt, every=2, saturation_every=3)

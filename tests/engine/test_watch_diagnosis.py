"""The watched run's diagnosis: pure rules on rows (synthetic), then on real watched loops.

Real loops: calibrated on seeds 0-4 (20-layer MLPs, width 32, SGD momentum, 40 steps): the deep
sigmoid MLP's first/last gradient ratio was 7e-17..1.2e-16 (line 1e-3: 13 decades of margin);
the He-initialised ReLU MLP's 0.15..0.67 (two decades above the line). Tested on seed 11.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from models import PRESETS
from models.watch import diagnose, watch
from models.watch.diagnosis import Finding

META = {
    "layers": ["embed", "block.0", "block.1", "head"],
    "activations": ["act0", "act1"],
    "activation_kinds": ["relu", "sigmoid"],
}


def rows(**metrics) -> list[tuple]:
    """metric=[(step, index, value), ...] -> rows of one run."""
    return [("r", 0, k, m, i, v) for m, vals in metrics.items() for k, i, v in vals]


def healthy(steps=(0, 10, 20)) -> dict:
    return {
        "grad_norm": [(k, i, 0.5 + 0.1 * i) for k in steps for i in (1, 2, 3, 4)],
        "update_ratio": [(k, i, 1e-3) for k in steps for i in (1, 2, 3, 4)],
        "grad_norm_total": [(k, 0, 1.0 + k / 100) for k in steps],
        "saturation": [(k, i, 0.1) for k in steps for i in (1, 2)],
        "loss": [(k, 0, 2.0 - k / 20) for k in steps],
    }


def kinds(findings: list[Finding]) -> list[str]:
    return [f.kind for f in findings]


def test_a_healthy_run_gets_no_diagnosis():
    assert diagnose(rows(**healthy()), META) == []
    assert diagnose([], {}) == []


def test_vanishing_quotes_the_ratio_the_layer_names_and_deep_mlp():
    m = healthy()
    m["grad_norm"] = [(k, i, 10.0 ** (i - 8)) for k in (0, 10, 20) for i in (1, 2, 3, 4)]
    [f] = diagnose(rows(**m), META)
    assert f.kind == "vanishing" and f.presets == ("deep-mlp",)
    assert "embed" in f.text and "head" in f.text and "0.001" in f.text and "3 recorded" in f.text
    assert "1e-03" in f.text or "0.001" in f.text
    # just above the line: nothing
    m["grad_norm"] = [(k, i, 2e-3 if i == 1 else 1.0) for k in (0, 10, 20) for i in (1, 2, 3, 4)]
    assert diagnose(rows(**m), META) == []


def test_exploding_and_diverged_point_to_clipping_and_rezero():
    m = healthy()
    m["grad_norm_total"] = [(0, 0, 1.0), (10, 0, 50.0), (20, 0, 5e3)]
    [f] = diagnose(rows(**m), META)
    assert f.kind == "exploding" and "5e+03" in f.text and "step 20" in f.text
    assert set(f.presets) == {"exploding-rnn", "deep-residual"}
    m["diverged"] = [(20, 3, 20.0)]
    fs = diagnose(rows(**m), META)
    assert kinds(fs) == ["diverged"]
    assert "step 20" in fs[0].text and "block.1" in fs[0].text and "ReZero" in fs[0].fix


def test_dead_relus_and_saturated_sigmoids():
    m = healthy()
    m["saturation"] = [(20, 1, 0.8), (20, 2, 0.7), (10, 1, 0.99)]
    fs = diagnose(rows(**m), META)
    assert kinds(fs) == ["dead", "saturated"]
    assert "80%" in fs[0].text and "act0" in fs[0].text and fs[0].presets == ("relu-init",)
    assert "70%" in fs[1].text and "act1" in fs[1].text and fs[1].presets == ("deep-mlp",)
    m["saturation"] = [(20, 1, 0.5), (20, 2, 0.5)]  # at the line: nothing
    assert diagnose(rows(**m), META) == []


def test_update_ratios_far_from_1e_minus_3():
    m = healthy()
    m["update_ratio"] = [(k, i, 1e-7) for k in (10, 20) for i in (1, 2)] + [(0, 1, 1.0)]
    [f] = diagnose(rows(**m), META)
    assert f.kind == "update-small" and "1e-07" in f.text
    m["update_ratio"] = [(k, i, 0.5) for k in (10, 20) for i in (1, 2)]
    [f] = diagnose(rows(**m), META)
    assert f.kind == "update-large" and "0.5" in f.text


def test_every_named_preset_exists():
    m = healthy()
    m["grad_norm"] = [(k, i, 10.0 ** (i - 8)) for k in (0, 10) for i in (1, 4)]
    m["diverged"] = [(10, 0, 10.0)]
    m["saturation"] = [(10, 1, 0.9), (10, 2, 0.9)]
    m["update_ratio"] = [(10, 1, 1.0)]
    fs = diagnose(rows(**m), META)
    assert len(fs) == 5
    assert all(p in PRESETS for f in fs for p in f.presets)


def _deep(act, he: bool) -> nn.Sequential:
    layers, n = [], 16
    for _ in range(19):
        lin = nn.Linear(n, 32)
        if he:
            nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
            nn.init.zeros_(lin.bias)
        layers += [lin, act()]
        n = 32
    return nn.Sequential(*layers, nn.Linear(n, 4))


def _train(model, seed: int = 11):
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    g = torch.Generator().manual_seed(100 + seed)
    w = watch(model, opt, every=5, store=False)
    for _ in range(40):
        x = torch.randn(64, 16, generator=g)
        y = (x[:, 0] > 0).long() + 2 * (x[:, 1] > 0).long()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        w.log(loss=loss)
    run = w.close()
    return diagnose(run.rows, run.meta())


@pytest.mark.slow
def test_a_deep_sigmoid_mlp_is_diagnosed_vanishing_and_he_relu_is_not():
    torch.manual_seed(11)
    assert "vanishing" in kinds(_train(_deep(nn.Sigmoid, he=False)))
    torch.manual_seed(11)
    assert not {"vanishing", "exploding", "diverged"} & set(kinds(_train(_deep(nn.ReLU, he=True))))


def test_divergence_seen_at_a_recorded_step_is_placed_between_the_recorded_steps():
    m = healthy()  # recorded at 0, 10, 20: a NaN seen at 20 came after step 10
    m["diverged"] = [(20, 3, 20.0)]
    [f] = [f for f in diagnose(rows(**m), META) if f.kind == "diverged"]
    assert "between step 11 and step 20" in f.text and "finite at step 10" in f.text
    # every=1: the step itself
    m = healthy(steps=(0, 1, 2))
    m["diverged"] = [(2, 3, 2.0)]
    [f] = [f for f in diagnose(rows(**m), META) if f.kind == "diverged"]
    assert "diverged at step 2:" in f.text

"""The engine's gradient measurements at initialisation and under clipping and divergence."""

from __future__ import annotations

import math

import pytest
import torch

from models import make_config
from models.core import theory
from models.core.activations import ACTIVATIONS
from models.core.layers import act_slope, saturation
from models.core.trainer import VariantTrainer
from tests.conftest import at, run_small


def test_deep_sigmoid_vanishes_relu_he_does_not():
    """Step 0: 20-layer sigmoid (PyTorch default init) vs ReLU + He on digits."""
    _, m = run_small(
        [{"name": "sig"}, {"name": "relu", "activation": "relu", "init": "he"}],
        depth=20,
        width=64,
        steps=0,
    )
    sig = at(m, "grad_norm", 0, variant="sig")
    relu = at(m, "grad_norm", 0, variant="relu")
    assert len(sig) == 21  # 20 hidden layers + readout
    assert sig[1] < 1e-8 * sig[20]
    hidden = relu.loc[1:20]
    assert hidden.max() / hidden.min() < 20


def test_clipping_keeps_direction_and_caps_norm():
    """Pascanu et al. Alg. 1: with SGD (lr 1) the update is -c g/||g|| when ||g|| > c."""
    base = dict(depth=3, width=16, optimizer="sgd", lr=1.0, steps=1, seeds=2, log_every=1)
    free = VariantTrainer(make_config(base))
    clip = VariantTrainer(make_config({**base, "clip_norm": 0.01}))
    updates = []
    for tr in (free, clip):
        before = [p.detach().clone() for p in tr.params]
        tr.advance(1)
        updates.append([p.detach() - b for p, b in zip(tr.params, before)])
    S = 2
    g = torch.cat([u.reshape(S, -1) for u in updates[0]], dim=1)  # -grad, per seed
    c = torch.cat([u.reshape(S, -1) for u in updates[1]], dim=1)
    assert torch.allclose(c.norm(dim=1), torch.full((S,), 0.01), rtol=1e-4)
    cos = torch.nn.functional.cosine_similarity(g, c, dim=1)
    assert torch.all(cos > 1 - 1e-5)
    assert torch.all(g.norm(dim=1) > 0.01)  # the gradient really was over the threshold


def test_clip_value_bounds_every_entry_and_reports_clipping():
    _, m = run_small([{"name": "v", "clip_value": 1e-4}], depth=3, width=8, steps=2, log_every=1)
    assert at(m, "clipped", 0).iloc[0] == 1.0
    assert at(m, "clipped_share", 2).iloc[0] == 1.0


def test_grad_norm_total_is_global_norm_before_clipping():
    _, m = run_small([{"name": "c", "clip_norm": 1e-3}], depth=2, width=8, steps=0)
    total = at(m, "grad_norm_total", 0).iloc[0]
    layers = at(m, "grad_norm", 0)
    assert total > 1e-3  # before clipping, so above the threshold
    assert total >= math.sqrt((layers**2).sum()) - 1e-6  # biases add to the weights' share


def test_diverging_variant_is_stopped_and_others_untouched():
    ok = {"name": "ok", "lr": 0.05}
    boom = {"name": "boom", "lr": 100.0, "activation": "relu", "init": "he", "init_gain": 10.0}
    shared = dict(depth=4, width=32, steps=30, log_every=5, seeds=2)
    res_both, m_both = run_small([ok, boom], **shared)
    _, m_alone = run_small([ok], **shared)
    rows = {r["variant"]: r for r in res_both.summary}
    assert rows["boom"]["diverged_step"] is not None
    assert rows["boom"]["diverged_layer"] is not None
    assert rows["ok"]["diverged_step"] is None
    a = m_both[m_both.variant == "ok"].reset_index(drop=True)
    b = m_alone[m_alone.variant == "ok"].reset_index(drop=True)
    keep = ~a.metric.isin(["wall_s"])
    assert a[keep]["value"].tolist() == b[keep]["value"].tolist()
    div = m_both[(m_both.variant == "boom") & (m_both.metric == "diverged")]
    assert len(div) == 2 and (div.value <= 30).all()


def test_a_finite_blow_up_is_diverged_like_nan():
    """lr = 100: the sigmoid net's loss climbs to hundreds while staying finite; it is diverged
    (step, layer 0 = the loss) and stops, like a NaN seed; a sane variant beside it is not."""
    blow = {"name": "blow", "lr": 100.0}
    ok = {"name": "ok", "lr": 0.05}
    res, m = run_small([blow, ok], depth=20, width=48, steps=60, log_every=5, seeds=2)
    rows = {(r["variant"], r["seed"]): r for r in res.summary}
    losses = m[(m.variant == "blow") & (m.metric == "loss")]
    assert losses.value.map(math.isfinite).all()  # never NaN: this is the finite kind
    for seed in (0, 1):
        r = rows[("blow", seed)]
        assert r["diverged_step"] is not None and r["diverged_step"] < 60, r
        assert r["diverged_layer"] == 0
        # stopped: nothing logged after the step it diverged
        assert losses[losses.seed == seed].step.max() < r["diverged_step"]
        assert rows[("ok", seed)]["diverged_step"] is None


def test_same_config_same_numbers():
    v = [{"name": "a"}, {"name": "b", "activation": "tanh", "norm": "layer"}]
    _, m1 = run_small(v, depth=5, width=16, steps=20, seeds=2, log_every=5)
    _, m2 = run_small(v, depth=5, width=16, steps=20, seeds=2, log_every=5)
    keep = m1.metric != "wall_s"
    assert m1[keep].equals(m2[keep])


@pytest.mark.parametrize("family", ["mlp", "rnn"])
def test_stacked_seeds_equal_seeds_trained_alone(family):
    """Seeds trained as one stacked model give what each seed alone gives."""
    extra = (
        dict(
            family="rnn", task="adding", seq_len=8, hidden=8, cell="lstm", optimizer="adam", lr=0.01
        )
        if family == "rnn"
        else dict(depth=4, width=16, norm="batch")
    )
    _, stacked = run_small([{"name": "v"}], seeds=3, steps=10, log_every=5, **extra)
    _, alone = run_small([{"name": "v"}], seeds=1, seed=2, steps=10, log_every=5, **extra)
    a = stacked[(stacked.seed == 2) & (stacked.metric != "wall_s")].reset_index(drop=True)
    b = alone[alone.metric != "wall_s"].reset_index(drop=True)
    assert a[["step", "metric", "index"]].equals(b[["step", "metric", "index"]])
    assert torch.allclose(
        torch.tensor(a.value.values), torch.tensor(b.value.values), rtol=1e-4, atol=1e-6
    )


def test_recorded_steps_and_metric_names():
    _, m = run_small([{"name": "v"}], depth=3, width=8, steps=25, log_every=10)
    assert sorted(m.step.unique().tolist()) == [0, 10, 20, 25]
    assert {
        "loss",
        "accuracy",
        "val_loss",
        "val_accuracy",
        "grad_norm",
        "grad_norm_total",
        "clipped",
        "grad_to_weight",
        "update_ratio",
        "saturation",
    } <= set(m.metric)
    assert 25 not in m[m.metric == "update_ratio"].step.tolist()  # no update after the last step
    sat = m[m.metric == "saturation"].value
    assert sat.between(0, 1).all()


def test_rnn_hidden_grad_norm_per_time_step():
    _, m = run_small(
        [{"name": "tanh"}, {"name": "irnn", "activation": "relu", "recurrent_init": "identity"}],
        family="rnn",
        task="adding",
        seq_len=40,
        hidden=32,
        activation="tanh",
        steps=0,
    )
    tanh = at(m, "hidden_grad_norm", 0, seed=0, variant="tanh")
    irnn = at(m, "hidden_grad_norm", 0, seed=0, variant="irnn")
    assert list(tanh.index) == list(range(1, 41))
    # default tanh RNN: the error signal reaching h_1 is tiny next to h_T's; identity keeps it
    assert tanh[1] / tanh[40] < 1e-4
    assert irnn[1] / irnn[40] > 0.1


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_saturation_threshold_is_the_slope_rule(name):
    """|z| beyond the threshold ⟺ slope below 10% of the maximum (away from the boundary)."""
    z = torch.linspace(-8, 8, 16001).view(1, 1, -1)
    c = ACTIVATIONS[name].saturated_beyond
    z = z[(z.abs() - c).abs() > 1e-3].view(1, 1, -1)  # no point within float noise of the edge
    by_slope = (act_slope(name, z) < 0.1 * theory.max_slope(name)).float().mean()
    assert saturation(name, z).item() == pytest.approx(by_slope.item(), abs=0)

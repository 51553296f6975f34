"""Tasks ship or are generated deterministically; every model option builds and trains."""

from __future__ import annotations

import itertools

import pytest
import torch

from models import make_config
from models.core.tasks import make_task
from models.core.trainer import VariantTrainer


def test_adding_problem_mean_predictor_scores_one_sixth():
    task = make_task(make_config({"family": "rnn", "task": "adding", "seq_len": 100}))
    x, y = next(task.batches(0, 20000))
    assert x.shape == (20000, 100, 2)
    assert torch.all(x[:, :, 1].sum(1) == 2)  # exactly two markers
    assert torch.all(x[:, :50, 1].sum(1) == 1)  # one in each half
    assert abs(((y - 1.0) ** 2).mean().item() - 1 / 6) < 0.005


def test_digits_fixed_split_and_shared_order():
    a = make_task(make_config({"task": "digits"}))
    b = make_task(make_config({"task": "digits", "activation": "relu", "seed": 5}))
    assert a.x_train.shape == (1437, 64) and a.x_val.shape == (360, 64)
    xa, _ = list(a.batches(30, 64))[-1]
    xb, _ = list(b.batches(30, 64))[-1]
    assert torch.equal(xa, xb)  # same data order regardless of the variant's own seed
    c = make_task(make_config({"task": "digits", "data_seed": 1}))
    assert not torch.equal(list(c.batches(3, 64))[-1][0], list(a.batches(3, 64))[-1][0])


def test_seq_digits_is_pixel_by_pixel():
    t = make_task(make_config({"family": "rnn", "task": "seq-digits"}))
    assert t.seq_len == 64 and t.x_val.shape == (360, 64, 1)


def test_spirals_and_temporal_order_shapes():
    s = make_task(make_config({"task": "spirals", "arms": 4}))
    assert s.x_train.shape[1] == 2 and set(s.y_train.tolist()) == {0, 1, 2, 3}
    t = make_task(make_config({"family": "rnn", "task": "temporal-order", "seq_len": 30}))
    x, y = next(t.batches(0, 64))
    assert x.shape == (64, 30, 6) and set(y.tolist()) <= {0, 1, 2, 3}
    assert torch.all((x[:, :, 4:].sum((1, 2))) == 2)  # exactly two relevant symbols


MLP_COMBOS = list(
    itertools.product(
        ["sigmoid", "tanh", "relu", "leaky_relu", "gelu", "elu", "silu", "linear"],
        ["default", "normal", "xavier", "he", "orthogonal"],
        ["none", "batch", "layer"],
        [False, True],
    )
)


@pytest.mark.parametrize("act,init,norm,res", MLP_COMBOS[::3] + MLP_COMBOS[1::7])
def test_every_mlp_option_trains(act, init, norm, res):
    cfg = make_config(
        dict(
            activation=act,
            init=init,
            norm=norm,
            residual=res,
            depth=3,
            width=8,
            steps=2,
            seeds=2,
            log_every=1,
            task="spirals",
            bias_std=0.1,
        )
    )
    tr = VariantTrainer(cfg)
    tr.advance(10)
    assert tr.done and tr.error is None and not tr.diverged


@pytest.mark.parametrize(
    "cell,rinit,act,opt",
    [
        (c, r, a, o)
        for c in ("rnn", "lstm", "gru")
        for r in ("default", "orthogonal", "identity", "scaled")
        for a, o in (("tanh", "adam"), ("sigmoid", "sgd"), ("relu", "momentum"))
    ][::2],
)
def test_every_rnn_option_trains(cell, rinit, act, opt):
    cfg = make_config(
        dict(
            family="rnn",
            task="temporal-order",
            cell=cell,
            recurrent_init=rinit,
            activation=act,
            optimizer=opt,
            seq_len=6,
            hidden=8,
            steps=2,
            seeds=2,
            log_every=1,
            spectral_radius=0.9,
            lr=0.01,
        )
    )
    tr = VariantTrainer(cfg)
    tr.advance(10)
    assert tr.done and tr.error is None


def test_gru_matches_pytorch_gru():
    """Our stacked GRU cell equals torch.nn.GRU given the same weights."""
    cfg = make_config(dict(family="rnn", task="adding", cell="gru", hidden=8, seq_len=7, seeds=1))
    tr = VariantTrainer(cfg)
    m = tr.model
    ref = torch.nn.GRU(2, 8, batch_first=True)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(m.inp.weight[0])
        ref.bias_ih_l0.copy_(m.inp.bias[0])
        ref.weight_hh_l0.copy_(m.w_hh[0])
        ref.bias_hh_l0.copy_(m.b_hh[0])
    x = torch.randn(5, 7, 2)
    states: list = []
    m(x, states=states)
    _, h = ref(x)
    assert torch.allclose(states[-1][0], h[0], atol=1e-5)


def test_lstm_matches_pytorch_lstm():
    cfg = make_config(dict(family="rnn", task="adding", cell="lstm", hidden=8, seq_len=7, seeds=1))
    m = VariantTrainer(cfg).model
    ref = torch.nn.LSTM(2, 8, batch_first=True)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(m.inp.weight[0])
        ref.bias_ih_l0.copy_(m.inp.bias[0])
        ref.weight_hh_l0.copy_(m.w_hh[0])
        ref.bias_hh_l0.copy_(m.b_hh[0])
    x = torch.randn(5, 7, 2)
    states: list = []
    m(x, states=states)
    _, (h, _) = ref(x)
    assert torch.allclose(states[-1][0], h[0], atol=1e-5)


def test_scaled_recurrent_init_hits_spectral_radius():
    cfg = make_config(
        dict(family="rnn", task="adding", recurrent_init="scaled", spectral_radius=1.5, hidden=32)
    )
    w = VariantTrainer(cfg).model.w_hh[0].double()
    assert abs(torch.linalg.eigvals(w).abs().max().item() - 1.5) < 1e-4


def test_init_variances():
    """Each scheme's weight variance matches its formula (fan_in 256, fan_out 256)."""
    from models.core.init import init_weight

    g = torch.Generator().manual_seed(0)
    n = 256
    expected = {
        "default": 1 / (3 * n),
        "normal": 1 / n,
        "xavier": 2 / (2 * n),
        "he": 2 / n,
        "orthogonal": 1 / n,
    }
    for scheme, var in expected.items():
        w = init_weight(scheme, n, n, 1.0, g)
        assert abs(w.var().item() / var - 1) < 0.03, scheme

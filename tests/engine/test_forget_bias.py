"""The LSTM forget-gate bias: where it lands, and that every training path sees it."""

from __future__ import annotations

import pytest
import torch

from models import ConfigError, make_config
from models.core.nets import RecurrentNet
from models.core.trainer import _flat
from models.fastpath.rnn import RNNBackprop

H = 6


def _net(cell: str = "lstm", seeds: int = 2, hidden: int = H, **fields) -> RecurrentNet:
    cfg = make_config(
        {
            "family": "rnn",
            "task": "temporal-order",
            "cell": cell,
            "hidden": hidden,
            "seq_len": 9,
            "seeds": seeds,
            **fields,
        }
    )
    return RecurrentNet(cfg, 6, 4)


def test_default_is_one_and_zero_is_pytorchs_init_plus_nothing():
    assert make_config({}).forget_bias == 1.0
    zero, one, three = (_net(forget_bias=b) for b in (0.0, 1.0, 3.0))
    forget = slice(H, 2 * H)  # gate rows i, f, g, o
    for net, b in ((one, 1.0), (three, 3.0)):
        # only the forget gate's rows move, by exactly the bias; every draw is unchanged
        torch.testing.assert_close(net.inp.bias[:, forget], zero.inp.bias[:, forget] + b)
        keep = torch.ones(4 * H, dtype=torch.bool)
        keep[forget] = False
        assert torch.equal(net.inp.bias[:, keep], zero.inp.bias[:, keep])
        for a, z in zip(
            (net.w_hh, net.b_hh, net.inp.weight), (zero.w_hh, zero.b_hh, zero.inp.weight)
        ):
            assert torch.equal(a, z)
    # PyTorch's init: both biases U(±1/√H), so the forget gate's total bias has mean ~0
    total = zero.inp.bias[:, forget] + zero.b_hh[:, forget]
    assert total.abs().max() <= 2 / H**0.5


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_cells_without_a_forget_gate_ignore_it(cell):
    a, b = _net(cell, forget_bias=0.0), _net(cell, forget_bias=5.0)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_out_of_range_is_one_clear_message():
    with pytest.raises(ConfigError, match="forget_bias"):
        make_config({"forget_bias": 50})
    with pytest.raises(ConfigError, match="forget_bias"):
        make_config({"forget_bias": "lots"})


@pytest.mark.parametrize("seeds,hidden", [(2, H), (3, 40)])  # block-diagonal / per-seed kernel
def test_fused_kernel_hand_written_and_autograd_agree_with_the_bias(seeds, hidden):
    net = _net(seeds=seeds, hidden=hidden, forget_bias=2.0)
    assert net.fuse_mode == ("block" if seeds * hidden <= 64 else "seeds")
    torch.manual_seed(0)
    x, y = torch.randn(5, 9, 6), torch.randint(0, 4, (5,))
    params = list(net.parameters())
    alive = torch.ones(seeds, dtype=torch.bool)

    def grads(out, ps=params):
        S, B, C = out.shape
        ce = torch.nn.functional.cross_entropy(out.reshape(S * B, C), y.repeat(S))
        return _flat(list(torch.autograd.grad(ce * S, ps)), seeds)

    ref_out = net(x)
    fused_out = net.fused_forward(x)
    torch.testing.assert_close(fused_out, ref_out, rtol=1e-5, atol=1e-6)
    g_ref, g_fused = grads(ref_out), grads(fused_out)
    torch.testing.assert_close(g_fused, g_ref, rtol=1e-4, atol=1e-6)
    g_hand = torch.empty_like(g_ref)
    RNNBackprop(net, "tanh", params).run(x, y, alive, True, g_hand)
    torch.testing.assert_close(g_hand, g_ref, rtol=1e-4, atol=1e-6)
    # and the bias matters: the forget gate's gradient differs from the unbiased net's
    zero = _net(seeds=seeds, hidden=hidden, forget_bias=0.0)
    g_zero = grads(zero(x), list(zero.parameters()))
    assert not torch.allclose(g_zero, g_ref)

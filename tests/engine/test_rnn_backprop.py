"""The recurrent nets' hand-written backpropagation through time against autograd."""

from __future__ import annotations

import pytest
import torch

from models import make_config
from models.core.nets import RecurrentNet
from models.core.trainer import _flat
from models.fastpath.manual_grad import compile_step
from models.fastpath.rnn import RNNBackprop, compiled_step, make_step

CASES = [("rnn", "tanh"), ("rnn", "relu"), ("rnn", "sigmoid"), ("lstm", "tanh"), ("gru", "tanh")]


def _pair(cell: str, act: str, task: str = "adding", **fields):
    cfg = make_config(
        {
            "family": "rnn",
            "task": task,
            "cell": cell,
            "activation": act,
            "hidden": 6,
            "seq_len": 7,
            "seeds": 3,
            **fields,
        }
    )
    torch.manual_seed(0)
    D, C = (2, 1) if task == "adding" else (6, 4)
    x = torch.randn(5, 7, D)
    y = torch.randn(5, 1) if task == "adding" else torch.randint(0, C, (5,))
    return RecurrentNet(cfg, D, C), RecurrentNet(cfg, D, C), x, y


def _autograd(model, x, y, alive, classification: bool):
    states: list = []
    record: list = []
    out = model(x, states=states, record=record)
    if classification:
        S, B, C = out.shape
        loss = (
            torch.nn.functional.cross_entropy(out.reshape(S * B, C), y.repeat(S), reduction="none")
            .view(S, B)
            .mean(1)
        )
    else:
        loss = (out.squeeze(-1) - y.view(1, -1)).pow(2).mean(1)
    total = torch.where(alive, loss, torch.zeros_like(loss)).sum()
    grads = torch.autograd.grad(total, list(model.parameters()) + states)
    P = len(list(model.parameters()))
    hidden = torch.stack([g.double().reshape(3, -1).norm(dim=1) for g in grads[P:]])
    return loss.detach(), record, grads[:P], hidden


@pytest.mark.parametrize("cell,act", CASES)
@pytest.mark.parametrize("task", ["adding", "temporal-order"])
def test_hand_written_bptt_equals_autograd(cell, act, task):
    ref, fast, x, y = _pair(cell, act, task, recurrent_init="orthogonal")
    classification = task != "adding"
    alive = torch.tensor([True, False, True])  # a dead seed: no gradient, others unchanged
    loss_ref, rec_ref, g_ref, hid_ref = _autograd(ref, x, y, alive, classification)
    params = list(fast.parameters())
    grad = torch.full_like(_flat(params, 3), float("nan"))  # every entry must be written
    record: list = []
    loss, _, hidden = RNNBackprop(fast, act, params).run(
        x, y, alive, classification, grad, record=record, hidden=True
    )
    torch.testing.assert_close(loss, loss_ref, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(grad, _flat(list(g_ref), 3), rtol=1e-4, atol=1e-6)
    assert torch.equal(grad[1], torch.zeros_like(grad[1]))
    torch.testing.assert_close(hidden, hid_ref, rtol=1e-5, atol=1e-12)
    assert len(record) == len(rec_ref) == 7
    for z, zr in zip(record, rec_ref):
        torch.testing.assert_close(z, zr, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell,act", CASES)
def test_every_hand_written_cell_compiles(cell, act):
    """A compile failure fails here, loudly (at run time it would only log and run slower)."""
    assert isinstance(compile_step(make_step(cell, act), strict=True), torch.jit.ScriptModule)


def test_the_compiled_step_is_the_python_step_bit_for_bit():
    assert isinstance(compiled_step("gru", "tanh"), torch.jit.ScriptModule)
    results = []
    for step in (make_step("gru", "tanh"), compiled_step("gru", "tanh")):
        _, fast, x, y = _pair("gru", "tanh")
        params = list(fast.parameters())
        bp = RNNBackprop(fast, "tanh", params, step=step)
        grad = torch.empty_like(_flat(params, 3))
        for _ in range(3):  # the profiling executor specialises after the first calls
            loss, acc, hid = bp.run(x, y, torch.ones(3, dtype=torch.bool), False, grad, hidden=True)
        results.append((loss, acc, hid, grad.clone()))
    for a, b in zip(*results):
        assert torch.equal(a, b)


@pytest.mark.parametrize("cell,act", CASES)
def test_one_pass_serves_the_training_batch_and_the_probe(cell, act):
    """Training rows and probe rows in one pass: each gets exactly what it gets alone."""
    _, fast, x, y = _pair(cell, act)
    params = list(fast.parameters())
    bp = RNNBackprop(fast, act, params)
    alive = torch.ones(3, dtype=torch.bool)
    xp, yp = torch.rand(4, 7, 2), torch.rand(4, 1)
    g_alone, g_probe, g_both = (torch.empty_like(_flat(params, 3)) for _ in range(3))
    rec_alone: list = []
    rec_both: list = []
    loss, acc, _ = bp.run(x, y, alive, False, g_alone, record=rec_alone)
    _, _, hid = bp.run(xp, yp, alive, False, g_probe, hidden=True)
    loss2, acc2, hid2 = bp.run(x, y, alive, False, g_both, rec_both, hidden=True, probe=(xp, yp))
    torch.testing.assert_close(loss2, loss, rtol=1e-6, atol=0)
    torch.testing.assert_close(acc2, acc, rtol=0, atol=0)
    torch.testing.assert_close(g_both, g_alone, rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(hid2, hid, rtol=1e-5, atol=1e-12)
    for a, b in zip(rec_both, rec_alone):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)

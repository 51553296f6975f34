"""The MLP's hand-written backward pass against autograd on the same stacked model."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from models import make_config
from models.core.activations import ACTIVATIONS
from models.core.nets import DeepMLP
from models.core.norms import NORMS
from models.core.trainer import _flat
from models.fastpath.manual_grad import compile_step, loss_and_grad
from models.fastpath.mlp import MLPBackprop, MLPStep, compiled_step


def _autograd(model: DeepMLP, x, y, alive):
    """Loss, logits' record and parameter gradients the straightforward way."""
    record: list = []
    out = model.train_forward(x, record=record)
    S, B, C = out.shape
    loss_s = F.cross_entropy(out.reshape(S * B, C), y.repeat(S), reduction="none").view(S, B)
    loss_s = loss_s.mean(1)
    total = torch.where(alive, loss_s, torch.zeros_like(loss_s)).sum()
    return loss_s, record, torch.autograd.grad(total, list(model.parameters()))


def _pair(**fields):
    """Two identical models (same seeds) and a batch: one for each path."""
    cfg = make_config({"depth": 4, "width": 12, "seeds": 3, **fields})
    torch.manual_seed(0)
    x, y = torch.randn(16, 7), torch.randint(0, 5, (16,))
    return DeepMLP(cfg, 7, 5), DeepMLP(cfg, 7, 5), cfg, x, y


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize(
    "residual,norm", [(False, "none"), (True, "none"), (False, "batch"), (True, "layer")]
)
def test_hand_written_gradients_equal_autograd(activation, residual, norm):
    ref, fast, cfg, x, y = _pair(
        activation=activation,
        residual=residual,
        norm=norm,
        init="normal",
        init_gain=1.5,
        bias_std=0.3,
    )
    alive = torch.ones(3, dtype=torch.bool)
    loss_ref, rec_ref, g_ref = _autograd(ref, x, y, alive)
    record: list = []
    params = list(fast.parameters())
    grad = torch.full_like(_flat(params, 3), float("nan"))  # every entry must be written
    loss, _ = MLPBackprop(fast, activation, params, norm).loss_and_grads(x, y, alive, grad, record)
    torch.testing.assert_close(loss, loss_ref.detach(), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(grad, _flat(list(g_ref), 3), rtol=1e-4, atol=1e-6)
    for z, zr in zip(record, rec_ref):  # the pre-activations the saturation metric reads
        torch.testing.assert_close(z, zr, rtol=1e-6, atol=1e-6)
    if norm == "batch":  # the running statistics move exactly as nn.BatchNorm1d's do
        for a, b in zip(fast.norms, ref.norms):
            torch.testing.assert_close(a.running_mean, b.running_mean)
            torch.testing.assert_close(a.running_var, b.running_var)


def test_a_nan_seed_cannot_touch_the_others():
    ref, fast, cfg, x, y = _pair(norm="batch")
    with torch.no_grad():
        fast.hidden[1].weight[1] = float("nan")  # seed 1 has diverged
    alive = torch.tensor([True, False, True])
    _, _, g_ref = _autograd(ref, x, y, alive)
    params = list(fast.parameters())
    grad = torch.empty_like(_flat(params, 3))
    loss, _ = MLPBackprop(fast, "sigmoid", params, "batch").loss_and_grads(x, y, alive, grad)
    assert torch.isnan(loss[1]) and torch.isfinite(loss[[0, 2]]).all()
    live = grad[[0, 2]]  # (the trainer zeroes a dead seed's slice itself)
    assert torch.isfinite(live).all()
    torch.testing.assert_close(live, _flat(list(g_ref), 3)[[0, 2]], rtol=1e-4, atol=1e-6)


def test_softmax_cross_entropy_gradient_is_softmax_minus_one_hot():
    out = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 2, 1, 2])
    loss, acc, g = loss_and_grad(out.detach(), y, torch.ones(2, dtype=torch.bool))
    ce = F.cross_entropy(out.reshape(8, 3), y.repeat(2), reduction="none").view(2, 4).mean(1)
    (g_ref,) = torch.autograd.grad(ce.sum(), out)
    torch.testing.assert_close(loss, ce.detach())
    torch.testing.assert_close(g, g_ref)
    assert torch.equal(acc, (out.argmax(-1) == y).double().mean(1).float())


def test_parameters_out_of_order_are_refused():
    _, fast, *_ = _pair()
    with pytest.raises(ValueError, match="registration order"):
        MLPBackprop(fast, "sigmoid", list(fast.parameters())[::-1])


@pytest.mark.parametrize("norm", NORMS.names(lambda n: n.fast is not None))
@pytest.mark.parametrize("activation", ACTIVATIONS.names(lambda a: a.grad is not None))
def test_every_hand_written_step_compiles(activation, norm):
    """A compile failure fails here, loudly (at run time it would only log and run slower)."""
    step = compile_step(MLPStep(activation, norm), strict=True)
    assert isinstance(step, torch.jit.ScriptModule)


def test_the_compiled_step_is_the_python_step_bit_for_bit():
    """TorchScript runs the same kernels: scripting must not change a single number."""
    compiled = compiled_step("gelu", "batch")
    assert isinstance(compiled, torch.jit.ScriptModule)  # compiled (GIL-free) on the pinned torch
    results = []
    for step in (MLPStep("gelu", "batch"), compiled):
        _, model, cfg, x, y = _pair(norm="batch", residual=True, activation="gelu")
        params = list(model.parameters())
        fast = MLPBackprop(model, "gelu", params, "batch", step=step)
        grad = torch.empty_like(_flat(params, 3))
        for _ in range(3):  # the profiling executor specialises after the first calls
            loss, acc = fast.loss_and_grads(x, y, torch.ones(3, dtype=torch.bool), grad)
        results.append((loss, acc, grad.clone(), model.norms[0].running_var.clone()))
    for a, b in zip(*results):
        assert torch.equal(a, b)


@pytest.mark.parametrize("norm,residual", [("none", False), ("batch", True), ("layer", False)])
def test_compiled_validation_equals_the_module_in_eval_mode(norm, residual):
    _, model, cfg, x, y = _pair(norm=norm, residual=residual, activation="tanh")
    params = list(model.parameters())
    fast = MLPBackprop(model, "tanh", params, norm)
    grad = torch.empty_like(_flat(params, 3))
    fast.loss_and_grads(x, y, torch.ones(3, dtype=torch.bool), grad)  # moves running statistics
    model.eval()
    with torch.no_grad():
        out = model(x)
    loss_ref = F.cross_entropy(out.reshape(-1, 5), y.repeat(3), reduction="none").view(3, -1)
    loss, acc = fast.validate(x, y)
    torch.testing.assert_close(loss, loss_ref.mean(1), rtol=1e-6, atol=1e-7)
    assert torch.equal(acc, (out.argmax(-1) == y).float().mean(1))


def test_without_torchscript_the_same_module_runs_as_python(monkeypatch, caplog):
    from models.fastpath import manual_grad

    def broken(fn):
        raise RuntimeError("TorchScript is not available")

    monkeypatch.setattr(torch.jit, "script", broken)
    step = MLPStep("tanh", "none")
    assert manual_grad.compile_step(step) is step  # at run time: logged, then plain Python
    assert "plain Python" in caplog.text
    with pytest.raises(RuntimeError, match="not available"):  # tests compile strictly
        manual_grad.compile_step(step, strict=True)
    monkeypatch.setenv("GFL_TORCHSCRIPT", "off")  # switched off: plain Python, nothing to log
    assert manual_grad.compile_step(MLPStep("tanh", "none"), strict=True).__class__ is MLPStep


def test_an_activation_without_a_hand_written_derivative_is_refused_by_the_fast_path():
    from models.core.activations import Activation
    from models.fastpath.mlp import supports

    entry = Activation("cube", lambda z: z**3, lambda x: x**3, lambda x: 3 * x**2, "z³")
    with ACTIVATIONS.added(entry):
        assert not supports("cube", "none", True)
        with pytest.raises(ValueError, match="no hand-written derivative"):
            MLPStep("cube", "none")
    with pytest.raises(ValueError, match="unknown activation"):  # never the identity
        MLPStep("cube", "none")

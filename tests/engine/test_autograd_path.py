"""Autograd is the reference path: every preset trains through it, and the fast path agrees."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import torch

from models import (
    ACTIVATIONS,
    DEFAULT_FAMILY,
    FAMILIES,
    PRESETS,
    Activation,
    comparison_from_dict,
    load_preset,
    run_comparison,
    theory,
)
from models.core.cells import CELLS, Cell
from models.core.runner import SUMMARY_COLUMNS
from models.core.trainer import VariantTrainer


def _run(preset: str, monkeypatch, fastpath: bool, **overrides):
    monkeypatch.setenv("GFL_FASTPATH", "on" if fastpath else "off")
    comp = load_preset(preset, {"steps": 10, "log_every": 1, **overrides})
    result = run_comparison(comp, workers=1)
    return result.metrics_frame(), result.summary_frame()


def _series(frame, metric):
    rows = frame[frame.metric == metric].sort_values(["variant", "seed", "step", "index"])
    return rows.set_index(["variant", "seed", "step", "index"])["value"]


def _trainer(cfg, monkeypatch, fastpath: bool) -> VariantTrainer:
    monkeypatch.setenv("GFL_FASTPATH", "on" if fastpath else "off")
    return VariantTrainer(cfg)


@pytest.mark.slow
@pytest.mark.parametrize("preset", list(PRESETS))
def test_the_first_ten_steps_agree_on_both_paths(preset, monkeypatch):
    """Each of the first 10 steps, from the same weights and batch: the fast path's loss and
    gradient norms equal autograd's to float rounding (the trajectories themselves may part
    where a variant explodes: rounding differences grow with the gradients)."""
    for cfg in load_preset(preset, {"steps": 10}).variants:
        fast = _trainer(cfg, monkeypatch, fastpath=True)
        ref = _trainer(cfg, monkeypatch, fastpath=False)
        assert ref.step_impl == "autograd" and ref.backprop is None
        buffers = [(a, b) for a, b in zip(fast.model.buffers(), ref.model.buffers())]
        for k in range(10):
            x, y = next(fast.batches)
            next(ref.batches)
            with torch.no_grad():
                ref.flat.copy_(fast.flat)  # every parameter is a view of it
                for a, b in buffers:  # batch norm's running statistics
                    b.copy_(a)
            log = k % 3 == 0  # log steps also record pre-activations and the probe
            rec_a, rec_b = ([], []) if log else (None, None)
            loss_a, _, g_a = fast._forward_backward(x, y, rec_a, fast.fused)
            loss_b, _, g_b = ref._forward_backward(x, y, rec_b, ref.fused)
            where = f"{preset} / {cfg.name}, step {k}"
            torch.testing.assert_close(
                loss_a, loss_b, rtol=1e-4, atol=1e-7, equal_nan=True, msg=where
            )
            norms_b = ref._param_norms(g_b)
            # a bias in front of batch norm has a zero true gradient: both paths leave float
            # residue that scales with the gradients around it (~1e-6 where they reach 1e2, in
            # the deep-residual preset's batch-norm variant), so atol scales with the largest
            scale = float(norms_b.nan_to_num(0.0, 0.0, 0.0).max().clamp_min(1.0))
            torch.testing.assert_close(
                fast._param_norms(g_a),
                norms_b,
                rtol=1e-4,
                atol=1e-7 * scale,
                equal_nan=True,
                msg=where,
            )
            if log and cfg.family == "rnn":
                hid_a = fast._hidden if fast._hidden is not None else fast._hidden_grads()
                hid_b = ref._hidden_grads()
                torch.testing.assert_close(
                    hid_a, hid_b, rtol=1e-4, atol=1e-9, equal_nan=True, msg=where
                )
            if log:  # the saturation the two records give (a unit at the threshold may flip)
                sat_a, sat_b = fast._saturation(rec_a), ref._saturation(rec_b)
                torch.testing.assert_close(sat_a, sat_b, rtol=0, atol=2e-3, msg=where)
            fast.opt.step([g_a.clone()])


@pytest.mark.slow
@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_trains_through_autograd(preset, monkeypatch):
    fast, fast_summary = _run(preset, monkeypatch, fastpath=True, steps=3)
    slow, slow_summary = _run(preset, monkeypatch, fastpath=False, steps=3)
    assert set(slow_summary.step_impl) == {"autograd"}
    family = FAMILIES[PRESETS[preset].get("family", DEFAULT_FAMILY)]
    if family.fast_path is not None:  # every preset of a family with a fast path uses it
        assert "manual-compiled" in set(fast_summary.step_impl)
    assert set(fast.metric) == set(slow.metric)  # the same metrics, whichever path
    a, b = _series(fast, "loss"), _series(slow, "loss")
    assert a.index.equals(b.index)
    np.testing.assert_allclose(a.xs(0, level="step"), b.xs(0, level="step"), rtol=1e-5)


def test_step_impl_is_the_last_summary_column():
    assert SUMMARY_COLUMNS[-1] == "step_impl"


def test_gfl_fastpath_off_trains_every_variant_through_autograd(monkeypatch):
    _, summary = _run("rnn-adding", monkeypatch, fastpath=False, steps=2)
    assert list(summary.step_impl.unique()) == ["autograd"]
    _, summary = _run("rnn-adding", monkeypatch, fastpath=True, steps=2)
    impls = dict(zip(summary.variant, summary.step_impl))
    assert impls["tanh rnn (baseline)"] == "manual-compiled"
    assert impls["lstm"] == "autograd"  # PyTorch's fused kernel trains it, through autograd


def test_without_torchscript_the_hand_written_steps_run_as_python_with_the_same_numbers(
    monkeypatch,
):
    fast, summary = _run("rnn-adding", monkeypatch, fastpath=True, steps=3)
    monkeypatch.setenv("GFL_TORCHSCRIPT", "off")
    plain, plain_summary = _run("rnn-adding", monkeypatch, fastpath=True, steps=3)
    impls = dict(zip(plain_summary.variant, plain_summary.step_impl))
    assert impls["tanh rnn (baseline)"] == "manual" and impls["gru"] == "manual"
    a, b = _series(fast, "loss"), _series(plain, "loss")
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-6)


def _softsign_phi(x):
    return x / (1.0 + np.abs(x))


def _softsign_dphi(x):
    return 1.0 / (1.0 + np.abs(x)) ** 2


SOFTSIGN = Activation(
    "softsign",
    torch.nn.functional.softsign,
    _softsign_phi,
    _softsign_dphi,
    "z/(1+|z|): tanh-like, with polynomial tails",
)


def test_a_new_activation_is_one_registry_entry(monkeypatch, caplog):
    """softsign, registered here alone: configs accept it, it trains (autograd), and the theory
    module gives its mean-field χ₁."""
    monkeypatch.delenv("GFL_FASTPATH", raising=False)
    with ACTIVATIONS.added(SOFTSIGN), caplog.at_level(logging.INFO, "models.engine"):
        comp = comparison_from_dict(
            {
                "family": "mlp",
                "task": "digits",
                "depth": 4,
                "width": 32,
                "activation": "softsign",
                "optimizer": "momentum",
                "lr": 0.05,
                "steps": 20,
                "log_every": 5,
                "seeds": 2,
                "variants": [{"name": "softsign"}],
            }
        )
        result = run_comparison(comp, workers=1)
        summary, frame = result.summary_frame(), result.metrics_frame()
        assert list(summary.step_impl) == ["autograd", "autograd"]
        assert "autograd" in caplog.text  # the engine says once which path it took
        loss = _series(frame, "loss").groupby("step").mean()
        assert loss.iloc[-1] < loss.iloc[0]  # it learns
        assert set(frame.metric) >= {"grad_norm", "saturation", "update_ratio"}
        # mean field: χ₁ = σ_w² E[φ′(√q* z)²]; softsign′(0) = 1, so χ₁ < σ_w² and rises with it
        chi = theory.chi1("softsign", 1.0, 0.05)
        assert 0 < chi < 1.0
        assert theory.chi1("softsign", 4.0, 0.05) > chi
        assert theory.max_slope("softsign") == pytest.approx(1.0, abs=1e-9)
        assert math.isfinite(theory.critical_sigma_w2("softsign", 0.05))
    assert "softsign" not in ACTIVATIONS  # the test leaves the registry as it found it


def _mgu_step(x_t, h, c, w_t, hh_bias, act, record):
    """Minimal gated unit (Zhou et al. 2016): one forget gate f, h_t = (1 − f) h + f h̃."""
    H = h.shape[-1]
    x_f, x_h = x_t.split([H, H], dim=-1)
    f_pre = torch.baddbmm(x_f, h, w_t[..., :H])
    if record is not None:
        record.append(f_pre.detach())
    f = torch.sigmoid(f_pre)
    h_new = torch.tanh(torch.baddbmm(x_h, f * h, w_t[..., H:]))
    return torch.lerp(h, h_new, f), c


def _mgu_inputs(xp, b_ih, b_hh, H):
    return (xp + (b_ih + b_hh).view(xp.shape[0], 1, 1, -1)).unbind(2), None


MGU = Cell(
    "mgu",
    2,
    "minimal gated unit: one forget gate",
    None,
    _mgu_inputs,
    _mgu_step,
    lambda xp, hh: (xp + hh).chunk(2, dim=-1)[0],
    flops=14,
    ops=8,
    saved=8,
)


def test_a_new_cell_is_one_registry_entry(monkeypatch, caplog):
    """A minimal gated unit, registered here alone: configs accept it, it trains through autograd
    (no kernel, no hand-written step), validates and records its gate's saturation."""
    monkeypatch.delenv("GFL_FASTPATH", raising=False)
    with CELLS.added(MGU), caplog.at_level(logging.INFO, "models.engine"):
        comp = comparison_from_dict(
            {
                "family": "rnn",
                "task": "adding",
                "seq_len": 10,
                "hidden": 16,
                "cell": "mgu",
                "optimizer": "adam",
                "lr": 0.01,
                "steps": 30,
                "log_every": 10,
                "seeds": 2,
                "variants": [{"name": "mgu"}],
            }
        )
        result = run_comparison(comp, workers=1)
        summary, frame = result.summary_frame(), result.metrics_frame()
        assert list(summary.step_impl) == ["autograd", "autograd"]
        assert "autograd" in caplog.text
        loss = _series(frame, "loss").groupby("step").mean()
        assert loss.iloc[-1] < loss.iloc[0]  # it learns
        assert set(frame.metric) >= {"val_loss", "hidden_grad_norm", "saturation", "grad_norm"}
        assert np.isfinite(_series(frame, "val_loss")).all()
    assert "mgu" not in CELLS

"""The fast paths give what the straightforward ones give: same curves, same seeds."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from benchmarks.reference import run_reference
from models import comparison_from_dict, make_config, run_comparison
from models.core.optim import StackedOptimizer
from models.core.runner import METRIC_COLUMNS
from models.core.trainer import VariantTrainer

KEY = ["variant", "seed", "step", "metric", "index"]


def _compare(a: pd.DataFrame, b: pd.DataFrame, rtol: float, atol: float) -> None:
    """Same rows; values equal within tolerance (wall_s and saturation counts excepted)."""
    m = a.merge(b, on=KEY, how="outer", suffixes=("_a", "_b"), indicator=True)
    assert (m._merge == "both").all(), m[m._merge != "both"].head()
    m = m[~m.metric.isin(["wall_s", "saturation"])]
    close = torch.isclose(
        torch.tensor(m.value_a.values), torch.tensor(m.value_b.values), rtol=rtol, atol=atol
    )
    assert bool(close.all()), m[~close.numpy()].head(10)


MLP = dict(family="mlp", task="digits", depth=6, width=16, steps=12, log_every=4, seeds=2, lr=0.05)
RNN = dict(
    family="rnn",
    task="adding",
    seq_len=10,
    hidden=8,
    activation="tanh",
    optimizer="adam",
    lr=0.01,
    steps=12,
    log_every=4,
    seeds=2,
    batch_size=16,
)
MLP_VARIANTS = [
    {"name": "sig"},
    {"name": "relu", "activation": "relu", "init": "he", "optimizer": "sgd"},
    {"name": "res bn", "residual": True, "norm": "batch", "activation": "tanh"},
    {"name": "ln clip", "norm": "layer", "clip_norm": 0.5, "optimizer": "adam", "lr": 0.01},
    {"name": "clip value", "clip_value": 0.01},
]
RNN_VARIANTS = [
    {"name": "tanh"},
    {"name": "relu clip", "activation": "relu", "recurrent_init": "identity", "clip_norm": 0.5},
    {"name": "lstm", "cell": "lstm"},
    {"name": "gru clip", "cell": "gru", "clip_norm": 0.1},
    {"name": "lstm 8 seeds", "cell": "lstm", "seeds": 8},  # 8 × 8 units: the largest block call
    {"name": "lstm 9 seeds", "cell": "lstm", "seeds": 9},  # beyond it: one kernel call per seed
    {"name": "gru 9 seeds", "cell": "gru", "seeds": 9},  # beyond it: the Python loop
]


@pytest.mark.slow
@pytest.mark.parametrize("shared,variants", [(MLP, MLP_VARIANTS), (RNN, RNN_VARIANTS)])
def test_engine_matches_plain_reference(shared, variants):
    """Stacked seeds, fused kernels and foreach updates against one nn.Module per seed."""
    comp = comparison_from_dict({**shared, "variants": variants})
    torch.set_num_threads(1)
    ref = pd.DataFrame(run_reference(comp), columns=METRIC_COLUMNS)
    eng = run_comparison(comp, threads=1).metrics_frame()
    _compare(eng, ref, rtol=2e-4, atol=1e-6)


@pytest.mark.parametrize("seeds,mode", [(3, "block"), (9, "seeds")])
def test_lstm_fused_kernel_matches_the_hand_written_step(seeds, mode):
    """The LSTM trains through PyTorch's kernel; every other cell (and the LSTM's re-run of a
    step that went non-finite) by hand (models.fastpath.rnn)."""
    cfg = make_config({**RNN, "cell": "lstm", "clip_norm": 0.3, "seeds": seeds})
    runs = []
    for fused in (True, False):
        tr = VariantTrainer(cfg)
        assert tr.fused and tr.model.fuse_mode == mode  # seeds × 8 units decide the kernel form
        tr.fused = fused
        tr.advance(cfg.steps + 1)
        runs.append(pd.DataFrame(tr.rows, columns=METRIC_COLUMNS))
    _compare(runs[0], runs[1], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cell,seeds", [("gru", 9), ("gru", 2), ("rnn", 3)])
def test_hand_trained_cells_validate_through_the_kernel_with_the_same_numbers(cell, seeds):
    """GRUs and vanilla RNNs train by hand; validation runs PyTorch's kernel."""
    cfg = make_config({**RNN, "cell": cell, "seeds": seeds})
    tr = VariantTrainer(cfg)
    assert not tr.fused
    tr.advance(3)  # trained weights, not just the initial ones
    x = tr.task.x_val
    with torch.no_grad():
        assert torch.allclose(tr.model.infer(x), tr.model(x), rtol=1e-5, atol=1e-6)


def _trained(cfg, **kwargs) -> tuple[torch.Tensor, pd.DataFrame]:
    tr = VariantTrainer(cfg, **kwargs)
    tr.advance(cfg.steps + 1)
    return tr.flat, pd.DataFrame(tr.rows, columns=METRIC_COLUMNS)


@pytest.mark.parametrize(
    "shared",
    [
        MLP,
        {**RNN, "cell": "lstm"},
        {**RNN, "clip_norm": 0.5},
        {**RNN, "cell": "gru", "clip_norm": 0.5},
    ],
)
def test_metrics_do_not_change_training(shared):
    """Instrumentation only reads: the weights after training are bit-identical without it, and
    the curves-only baseline (gradients=False) records the same curves and nothing else."""
    cfg = make_config(shared)
    full, m_full = _trained(cfg)
    off, m_off = _trained(cfg, instrument=False)
    curves, m_curves = _trained(cfg, gradients=False)
    assert torch.equal(full, off) and torch.equal(full, curves) and m_off.empty
    assert set(m_curves.metric) == {"loss", "accuracy", "val_loss", "val_accuracy", "wall_s"}
    keep = m_full[m_full.metric.isin(set(m_curves.metric) - {"wall_s"})]
    _compare(keep, m_curves[m_curves.metric != "wall_s"], rtol=0, atol=0)


def test_same_seeds_same_numbers_exactly():
    comp = comparison_from_dict({**RNN, "variants": RNN_VARIANTS[:3]})
    a = run_comparison(comp, threads=1).metrics_frame()
    b = run_comparison(comp, threads=1).metrics_frame()
    keep = a.metric != "wall_s"
    assert a[keep].equals(b[keep])


@pytest.mark.parametrize("kind", ["sgd", "momentum", "adam"])
def test_stacked_optimizer_is_torch_optim_bit_for_bit(kind):
    gen = torch.Generator().manual_seed(0)
    init = [torch.randn(3, 7, 5, generator=gen), torch.randn(3, 5, generator=gen)]
    grads = [[torch.randn(p.shape, generator=gen) for p in init] for _ in range(6)]
    mine = [p.clone().requires_grad_() for p in init]
    theirs = [torch.nn.Parameter(p.clone()) for p in init]
    opt = StackedOptimizer(mine, kind, 0.01, 0.9)
    if kind == "adam":
        ref = torch.optim.Adam(theirs, lr=0.01)
    else:
        ref = torch.optim.SGD(theirs, lr=0.01, momentum=0.9 if kind == "momentum" else 0.0)
    for gs in grads:
        opt.step(gs)
        for p, g in zip(theirs, gs):
            p.grad = g.clone()
        ref.step()
    for a, b in zip(mine, theirs):
        assert torch.equal(a.detach(), b.detach())


def test_clipping_an_rnn_scales_shared_bias_gradient_once():
    """Autograd hands b_ih and b_hh one gradient tensor; clipping must scale it exactly once."""
    cfg = make_config({**RNN, "clip_norm": 1e-3, "optimizer": "sgd", "lr": 1.0, "steps": 1})
    tr = VariantTrainer(cfg)
    before = [p.detach().clone() for p in tr.params]
    tr.advance(1)
    upd = torch.cat([(p.detach() - b).reshape(2, -1) for p, b in zip(tr.params, before)], 1)
    assert torch.allclose(upd.norm(dim=1), torch.full((2,), 1e-3), rtol=1e-4)


@pytest.mark.parametrize("norm,residual", [("none", False), ("batch", True), ("layer", False)])
def test_mlp_train_forward_is_forward_exactly(norm, residual):
    cfg = make_config({**MLP, "norm": norm, "residual": residual})
    tr = VariantTrainer(cfg)
    x, _ = next(tr.batches)
    rec_a: list = []
    rec_b: list = []
    torch.manual_seed(0)
    a = tr.model(x, record=rec_a)
    b = tr.model.train_forward(x, record=rec_b)
    assert torch.equal(a, b)
    assert all(torch.equal(u, v) for u, v in zip(rec_a, rec_b))


def _without_wall(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame.metric != "wall_s"].reset_index(drop=True)


def test_variants_on_two_workers_give_the_same_numbers_exactly():
    """Variants trained side by side on two threads record what one thread records, row for row."""
    comp = comparison_from_dict({**RNN, "variants": RNN_VARIANTS[:4]})
    one = run_comparison(comp, threads=1, workers=1)
    two = run_comparison(comp, threads=1, workers=2)
    assert _without_wall(two.metrics_frame()).equals(_without_wall(one.metrics_frame()))
    drop = ["wall_s", "s_per_step"]
    assert two.summary_frame().drop(columns=drop).equals(one.summary_frame().drop(columns=drop))


def test_two_workers_stop_when_asked_and_keep_every_variant_consistent():
    comp = comparison_from_dict({**MLP, "steps": 40, "variants": MLP_VARIANTS})
    seen: list[int] = []
    result = run_comparison(
        comp, callback=lambda p: seen.append(p.done_steps) or len(seen) < 3, workers=2
    )
    assert result.stopped and len(seen) == 3 and seen == sorted(seen)
    assert 0 < seen[-1] < sum(v.steps + 1 for v in comp.variants)
    assert seen[0] == len(comp.variants)  # the first report: step 0 of every variant, no more
    frame = result.metrics_frame()
    # every variant got going (round-robin), and no log step is half-written
    assert set(frame.variant) == {v["name"] for v in MLP_VARIANTS}
    per_step = frame[frame.metric.isin(["loss", "val_loss"])].groupby(["variant", "step"]).size()
    assert (per_step == 2 * comp.variants[0].seeds).all()


def test_a_failing_variant_leaves_the_others_training_on_two_workers(monkeypatch):
    comp = comparison_from_dict({**MLP, "variants": MLP_VARIANTS[:3]})
    real = VariantTrainer._train_step

    def broken(self):
        if self.cfg.name == "relu" and self.step == 5:
            raise RuntimeError("boom")
        real(self)

    monkeypatch.setattr(VariantTrainer, "_train_step", broken)
    summary = run_comparison(comp, workers=2).summary_frame()
    errors = summary.set_index("variant").error
    assert errors["relu"].iloc[0] == "RuntimeError: boom"
    assert errors.drop("relu").isna().all()
    assert (summary[summary.variant != "relu"].final_loss.notna()).all()

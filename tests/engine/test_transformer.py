"""The Transformer family: stacked seeds, LayerNorm placement, DeepNorm, ReZero, GPT-2 init,
warm-up, and its per-block instruments (checked against autograd directly)."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from models.core.config import make_config
from models.core.errors import ConfigError
from models.core.optim import OPTIMIZERS
from models.core.tasks import make_task
from models.core.trainer import VariantTrainer
from models.core.transformer import TransformerNet, attention_entropy, deepnorm_constants

BASE = dict(
    family="transformer",
    task="row-digits",
    depth=3,
    width=16,
    heads=2,
    norm="layer",
    activation="relu",
    optimizer="adam98",
    lr=0.003,
    batch_size=16,
    steps=4,
    seeds=2,
    log_every=2,
)


def cfg(**over):
    return make_config({**BASE, **over})


def net(c):
    t = make_task(c)
    return TransformerNet(c, t.input_dim, t.output_dim), t


@pytest.mark.parametrize("placement", ["post", "pre"])
def test_a_stacked_seed_computes_what_a_lone_model_of_that_seed_computes(placement):
    stacked, t = net(cfg(ln_placement=placement, seeds=2, seed=5))
    lone, _ = net(cfg(ln_placement=placement, seeds=1, seed=6))
    x = t.x_val[:8]
    torch.testing.assert_close(stacked(x)[1], lone(x)[0], rtol=1e-5, atol=1e-6)


def test_rezero_pre_ln_starts_as_the_identity_stack():
    """Every gate 0: each block adds nothing, so the output is the readout of the embeddings."""
    m, t = net(cfg(ln_placement="pre", rezero=True, seeds=1))
    x = t.x_val[:4]
    h = torch.matmul(x.unsqueeze(0), m.embed.transpose(1, 2).unsqueeze(1)) + m.pos[:, None]
    h = F.layer_norm(h, h.shape[-1:]).mean(2)
    want = h @ m.readout.transpose(1, 2) + m.readout_b.unsqueeze(1)
    torch.testing.assert_close(m(x), want)


def test_post_ln_output_of_each_block_is_normalised():
    m, t = net(cfg(ln_placement="post", depth=2, seeds=1))
    seen = []
    h = torch.matmul(t.x_val[:4].unsqueeze(0), m.embed.transpose(1, 2).unsqueeze(1))
    assert h.std() > 0
    with torch.no_grad():
        for blk in m.blocks:  # the gain is 1 and the bias 0 at init: mean 0, variance 1
            h = F.layer_norm(h + blk.attend(h), h.shape[-1:])
            h = F.layer_norm(h + blk.feed_forward(h, torch.relu, None), h.shape[-1:])
            seen.append(h)
    assert torch.allclose(seen[-1].mean(-1), torch.zeros(1), atol=1e-5)


def test_deepnorm_constants_and_init_scaling():
    assert deepnorm_constants(12) == pytest.approx(((24) ** 0.25, 96**-0.25))
    a, _ = net(cfg(depth=4))
    b, _ = net(cfg(depth=4, deepnorm=True))
    alpha, beta = deepnorm_constants(4)
    assert b.alpha == pytest.approx(alpha) and a.alpha == 1.0
    d = BASE["width"]
    blk_a, blk_b = a.blocks[2], b.blocks[2]
    # queries and keys as drawn, values, output and both FFN layers ×β (same draws)
    torch.testing.assert_close(blk_b.qkv[:, : 2 * d], blk_a.qkv[:, : 2 * d])
    for pa, pb in (
        (blk_a.qkv[:, 2 * d :], blk_b.qkv[:, 2 * d :]),
        (blk_a.out, blk_b.out),
        (blk_a.ff1, blk_b.ff1),
        (blk_a.ff2, blk_b.ff2),
    ):
        torch.testing.assert_close(pb, pa * beta)


def test_gpt2_init_scales_output_projections_by_one_over_root_2n():
    m, _ = net(cfg(init="gpt2", depth=8, width=64, heads=4, seeds=1))
    blk = m.blocks[0]
    assert blk.ff1.std().item() == pytest.approx(0.02, rel=0.05)
    for w in (blk.out, blk.ff2):
        assert w.std().item() == pytest.approx(0.02 / math.sqrt(16), rel=0.08)


def test_unit_groups_cover_every_parameter_but_the_embeddings_once():
    m, _ = net(cfg(ln_placement="pre", rezero=True))
    grouped = [id(p) for g in m.unit_groups() for p in g]
    assert len(grouped) == len(set(grouped))
    rest = {id(p) for p in m.parameters()} - set(grouped)
    assert rest == {id(m.embed), id(m.pos)}
    assert len(m.unit_groups()) == BASE["depth"] + 1


def test_block_metrics_match_autograd_norms_of_each_blocks_parameters():
    c = cfg(steps=0)
    tr = VariantTrainer(c)
    x, y = next(make_task(c).batches(0, c.batch_size))
    m, _ = net(c)  # the same seeds: the same weights as the trainer's model
    out = m(x)
    S, B, C = out.shape
    loss = F.cross_entropy(out.reshape(S * B, C), y.repeat(S), reduction="none").view(S, B)
    grads = dict(
        zip(map(id, m.parameters()), torch.autograd.grad(loss.mean(1).sum(), list(m.parameters())))
    )

    def rss(params):
        return (
            torch.stack([grads[id(p)].reshape(S, -1).double().pow(2).sum(1) for p in params])
            .sum(0)
            .sqrt()
        )

    tr.advance(1)
    rows = [(r[1], r[3], r[4], r[5]) for r in tr.rows]
    for i, group in enumerate(m.unit_groups(), start=1):
        want = rss(group)
        got = [v for s, metric, idx, v in rows if metric == "grad_norm" and idx == i]
        assert got == pytest.approx(want.tolist(), rel=1e-4)
    for i, blk in enumerate(m.blocks, start=1):
        for metric, params in (
            ("attn_grad_norm", blk.attention_params()),
            ("ffn_grad_norm", blk.ffn_params()),
        ):
            got = [v for s, mm, idx, v in rows if mm == metric and idx == i]
            assert got == pytest.approx(rss(params).tolist(), rel=1e-4)
    drift = [v for s, mm, idx, v in rows if mm == "ln_gain_drift"]
    assert drift == [0.0] * (2 * BASE["depth"])  # the gains start at 1
    ent = [v for s, mm, idx, v in rows if mm == "attn_entropy"]
    assert len(ent) == 2 * BASE["depth"] and all(0 < e <= math.log(8) + 1e-6 for e in ent)


def test_uniform_attention_has_entropy_ln_t():
    p = torch.full((1, 2, 3, 8, 8), 1 / 8)
    assert attention_entropy([p]).item() == pytest.approx(math.log(8))
    one_hot = torch.eye(8).expand(1, 2, 3, 8, 8)
    assert attention_entropy([one_hot]).item() == pytest.approx(0.0, abs=1e-6)


def test_warm_up_scales_the_learning_rate_linearly_and_zero_changes_nothing():
    c = cfg(optimizer="sgd", lr=0.1, warmup_steps=4, steps=6, seeds=1)
    tr = VariantTrainer(c, instrument=False)
    lrs = []
    for _ in range(6):
        tr.advance(1)
        lrs.append(tr.opt.lr)
    assert lrs == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1, 0.1])
    plain = VariantTrainer(dataclasses.replace(c, warmup_steps=0), instrument=False)
    plain.advance(3)
    assert plain.opt.lr == 0.1


def test_warm_up_first_update_is_lr_over_w_times_the_gradient():
    c = cfg(optimizer="sgd", lr=0.4, warmup_steps=8, steps=2, seeds=1)
    tr = VariantTrainer(c, instrument=False)
    before = tr.flat.clone()
    x, y = next(make_task(c).batches(0, c.batch_size))
    _, _, g = tr._forward_backward(x, y, None, False)
    g = g.clone()
    tr2 = VariantTrainer(c, instrument=False)
    tr2.advance(1)
    torch.testing.assert_close(tr2.flat, before - 0.05 * g)


def test_adam98_is_adam_with_beta2_0_98():
    assert OPTIMIZERS["adam98"].betas == (0.9, 0.98)
    assert OPTIMIZERS["adam"].betas == (0.9, 0.999)


@pytest.mark.parametrize(
    "over, words",
    [
        (dict(width=18, heads=4), "multiple"),
        (dict(deepnorm=True, ln_placement="pre"), "ln_placement=post"),
        (dict(norm="batch"), "batch statistics"),
        (dict(depth=49), "1 to 48"),
        (dict(task="digits"), "allowed: row-digits, hops"),
        (dict(ln_placement="middle"), "post, pre"),
    ],
)
def test_bad_transformer_configs_get_a_clear_message(over, words):
    with pytest.raises(ConfigError, match=words):
        cfg(**over)


def test_row_digits_fixes_the_sequence_length_and_hops_learns_its_labels():
    assert cfg(seq_len=30).seq_len == 8
    t = make_task(cfg(task="hops", seq_len=6))
    x, y = t.x_val, t.y_val
    f = x.argmax(-1)  # token i holds f(i)
    rows = torch.arange(len(y))
    assert torch.equal(f[rows, f[rows, f[rows, 0]]], y)


def test_the_same_config_and_seed_give_the_same_numbers():
    c = cfg(steps=3, log_every=1)
    a, b = VariantTrainer(c), VariantTrainer(c)
    a.advance(4)
    b.advance(4)
    assert a.rows and [r[:5] for r in a.rows] == [r[:5] for r in b.rows]
    assert [r[5] for r in a.rows if r[3] != "wall_s"] == [r[5] for r in b.rows if r[3] != "wall_s"]


def test_recorded_metrics_are_the_familys_registered_ones_and_the_budget_covers_them():
    from models import comparison_from_dict, estimate, run_comparison
    from models.core.metrics import of_family

    comp = comparison_from_dict({**BASE, "steps": 3, "log_every": 1, "variants": [{"name": "a"}]})
    frame = run_comparison(comp, workers=1).metrics_frame()
    assert set(frame["metric"]) == {m.name for m in of_family("transformer")}
    assert len(frame) <= estimate(comp).rows


def test_budget_counts_the_parameters_of_every_placement():
    from models.core.nets import param_count
    from models.core.transformer_family import transformer_params

    for over in (
        dict(ln_placement="pre"),
        dict(ln_placement="post"),
        dict(norm="none"),
        dict(rezero=True),
        dict(task="hops", seq_len=6),
    ):
        c = cfg(**over)
        assert transformer_params(c) == param_count(net(c)[0]), over

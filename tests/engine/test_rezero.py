"""ReZero (Bachlechner et al. 2020): residual branches scaled by a learnable α that starts at 0."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from models import ConfigError, make_config, run_comparison
from models.core.nets import DeepMLP
from models.core.trainer import VariantTrainer
from models.io.comparison_io import comparison_from_dict


def _model(**fields) -> DeepMLP:
    cfg = make_config({"depth": 6, "width": 12, "seeds": 2, "residual": True, **fields})
    return DeepMLP(cfg, 7, 5)


def test_rezero_needs_residual_and_says_so() -> None:
    with pytest.raises(ConfigError, match="rezero.*residual=true"):
        make_config({"rezero": True})
    assert make_config({"rezero": "true", "residual": "true"}).rezero is True
    # a recurrent config ignores it, like the other MLP-only fields
    assert make_config({"family": "rnn", "task": "adding", "rezero": True}).rezero is True


def test_rezero_starts_as_the_identity_stack() -> None:
    """α = 0: every residual block adds nothing, so the logits are the readout of block 1."""
    m = _model(rezero=True, activation="relu", init="he")
    assert m.rezero is not None and m.rezero.shape == (2, 5)  # blocks 2..6, per seed
    assert torch.count_nonzero(m.rezero) == 0
    x = torch.randn(9, 7)
    h1 = torch.relu(m.hidden[0](x.unsqueeze(0).expand(2, 9, 7)))
    torch.testing.assert_close(m(x), m.readout(h1), rtol=0, atol=0)
    # the module-free training forward is the same arithmetic
    torch.testing.assert_close(m.train_forward(x), m(x), rtol=0, atol=0)


def test_rezero_branch_is_scaled_by_alpha() -> None:
    """With α set, the forward equals h ← h + α_l φ(W_l h + b_l), written out here."""
    m = _model(rezero=True, activation="tanh")
    with torch.no_grad():
        m.rezero.copy_(torch.linspace(-1, 1, 10).view(2, 5))
    x = torch.randn(4, 7)
    h = torch.tanh(m.hidden[0](x.unsqueeze(0).expand(2, 4, 7)))
    for i in range(1, 6):
        h = h + m.rezero[:, i - 1].view(2, 1, 1) * torch.tanh(m.hidden[i](h))
    torch.testing.assert_close(m(x), m.readout(h))
    torch.testing.assert_close(m.train_forward(x), m(x))


def test_rezero_gradients_reach_alpha_but_not_the_branches_at_first() -> None:
    """At α = 0 the loss depends on α (∂L/∂α_l = ⟨δ, φ(z_l)⟩ ≠ 0) but on no branch weight."""
    m = _model(rezero=True, activation="relu", init="he")
    x, y = torch.randn(16, 7), torch.randint(0, 5, (16,))
    out = m(x)
    loss = F.cross_entropy(out.reshape(-1, 5), y.repeat(2))
    ga, gw2, gw1 = torch.autograd.grad(loss, [m.rezero, m.hidden[2].weight, m.hidden[0].weight])
    assert torch.all(ga.abs() > 0)
    assert torch.count_nonzero(gw2) == 0
    assert torch.count_nonzero(gw1) > 0  # block 1 and the readout learn from the first step


def test_rezero_trains_through_autograd_and_is_deterministic() -> None:
    """The hand-written MLP pass has no α: the trainer takes autograd, and α moves."""
    cfg = make_config(
        {
            "depth": 8,
            "width": 16,
            "seeds": 2,
            "residual": True,
            "rezero": True,
            "activation": "relu",
            "init": "he",
            "steps": 5,
            "lr": 0.05,
        }
    )
    trainer = VariantTrainer(cfg)
    assert trainer.backprop is None
    trainer.advance(5)
    assert torch.count_nonzero(trainer.model.rezero) > 0
    comp = {
        "depth": 8,
        "width": 16,
        "seeds": 2,
        "residual": True,
        "activation": "relu",
        "init": "he",
        "steps": 5,
        "lr": 0.05,
        "log_every": 1,
        "variants": [{"name": "rezero", "rezero": True}],
    }
    a, b = (run_comparison(comparison_from_dict(comp), threads=1).metrics_frame() for _ in "ab")
    a, b = a[a.metric != "wall_s"], b[b.metric != "wall_s"]  # all but the clock
    assert a["value"].equals(b["value"])
    assert a[a.metric == "loss"]["value"].notna().all()

"""The input–output Jacobian's singular values: against autograd, against 60-digit arithmetic,
and as the trainer records them."""

from __future__ import annotations

import mpmath
import pytest
import torch

from models import Comparison, make_config, run_comparison
from models.core.jacobian import condition_log10, hidden_jacobian_sv, layer_jacobians
from models.core.nets import DeepMLP
from models.core.norms import StackedBatchNorm


def _net(**fields) -> DeepMLP:
    cfg = make_config({"depth": 3, "width": 8, "seeds": 2, "bias_std": 0.3, **fields})
    return DeepMLP(cfg, 5, 3)


def _normed(z: torch.Tensor, norm: torch.nn.Module, mean, var) -> torch.Tensor:
    """A hidden block's norm in float64; batch norm with the given (fixed) statistics."""
    if isinstance(norm, torch.nn.Identity):
        return z
    if isinstance(norm, StackedBatchNorm):
        z = (z - mean.unsqueeze(1)) / torch.sqrt(var.unsqueeze(1) + norm.eps)
    else:
        z = torch.nn.functional.layer_norm(z, z.shape[-1:], eps=norm.eps)
    return z * norm.weight.double().unsqueeze(1) + norm.bias.double().unsqueeze(1)


def _dense_reference(model: DeepMLP, x: torch.Tensor) -> torch.Tensor:
    """∂h_L/∂x of row 0 by autograd in float64, batch-norm statistics of the batch held fixed."""
    x = x.double()

    def forward(h: torch.Tensor, stats: list) -> torch.Tensor:  # h: (S, B, n_in)
        for i, (lin, norm) in enumerate(zip(model.hidden, model.norms)):
            z = torch.baddbmm(lin.bias.double().unsqueeze(1), h, lin.weight.double().mT)
            if len(stats) <= i:  # the batch pass: record its statistics
                stats.append((z.mean(1), z.var(1, unbiased=False)))
            a = model.act(_normed(z, norm, *stats[i]))
            h = h + a if model.residual and i > 0 else a
        return h

    stats: list = []
    with torch.no_grad():
        forward(x.unsqueeze(0).expand(2, *x.shape), stats)
    row = lambda x0: forward(x0.view(1, 1, -1).expand(2, 1, -1), stats)[:, 0]  # noqa: E731
    return torch.autograd.functional.jacobian(row, x[0]).detach()  # (S, width, n_in)


CASES = [
    {"activation": "tanh", "init": "normal"},
    {"activation": "sigmoid"},
    {"activation": "gelu", "init": "xavier"},
    {"activation": "elu", "residual": True},
    {"activation": "silu", "norm": "layer"},
    {"activation": "tanh", "norm": "batch", "init": "orthogonal"},
    {"activation": "leaky_relu", "init": "he", "residual": True, "norm": "layer"},
    {"activation": "linear", "init": "normal"},
]


@pytest.mark.parametrize("fields", CASES)
def test_singular_values_equal_autograds_dense_jacobian(fields):
    torch.manual_seed(0)
    model, x = _net(**fields), torch.randn(7, 5)
    if fields.get("norm") == "layer":  # non-trivial gains, so the norm's own Jacobian counts
        for n in model.norms:
            n.weight.data.uniform_(0.5, 1.5)
    dense = _dense_reference(model, x)
    torch.testing.assert_close(
        torch.stack([torch.linalg.matrix_rank(d) for d in dense]), torch.tensor([5, 5])
    )
    ref = torch.linalg.svdvals(dense)
    sv = hidden_jacobian_sv(model, x)
    assert sv.shape == (2, 5) and sv.dtype == torch.float64
    torch.testing.assert_close(sv, ref, rtol=1e-10, atol=0)


def test_dead_relu_units_are_exact_zeros_and_the_rest_match():
    torch.manual_seed(1)
    model, x = _net(activation="relu", init="he", width=6), torch.randn(3, 5)
    sv = hidden_jacobian_sv(model, x)
    ref = torch.linalg.svdvals(_dense_reference(model, x))
    for s in range(2):
        zeros = int((sv[s] == 0).sum())
        assert zeros == int((ref[s] < 1e-12 * ref[s, 0]).sum())
        torch.testing.assert_close(sv[s, : 5 - zeros], ref[s, : 5 - zeros], rtol=1e-10, atol=0)
    assert torch.isinf(condition_log10(sv)).any()  # at least one seed lost rank at this size


@pytest.mark.parametrize("activation", ["tanh", "linear"])
def test_tiny_singular_values_are_exact_to_relative_precision(activation):
    """Depth 25 of Gaussian weights spreads the spectrum over ~20 decades: float64 products
    would give rounding below s_max·1e-16; the factored computation matches 60-digit maths."""
    cfg = make_config(
        {"depth": 25, "width": 6, "activation": activation, "init": "normal", "seeds": 1}
    )
    model = DeepMLP(cfg, 6, 2)
    x = torch.randn(1, 6, generator=torch.Generator().manual_seed(3))
    mpmath.mp.dps = 60
    prod = mpmath.eye(6)
    for a in layer_jacobians(model, x):
        prod = mpmath.matrix(a[0].tolist()) * prod
    exact = sorted((float(s) for s in mpmath.svd_r(prod, compute_uv=False)), reverse=True)
    sv = hidden_jacobian_sv(model, x)[0]
    assert exact[0] / exact[-1] > 1e15  # beyond what a float64 product could resolve
    torch.testing.assert_close(sv, torch.tensor(exact, dtype=torch.float64), rtol=1e-9, atol=0)


def test_orthogonal_linear_net_is_an_isometry():
    cfg = make_config(
        {"depth": 40, "width": 64, "activation": "linear", "init": "orthogonal", "seeds": 2}
    )
    sv = hidden_jacobian_sv(DeepMLP(cfg, 64, 10), torch.randn(4, 64))
    # the weights are float32: orthogonal to ~1e-7 each, so 40 layers stay within ~1e-6
    torch.testing.assert_close(sv, torch.ones_like(sv), rtol=0, atol=1e-5)


def test_the_trainer_records_the_spectrum_at_the_first_and_last_step():
    cfg = {
        "depth": 6,
        "width": 16,
        "activation": "tanh",
        "init": "orthogonal",
        "steps": 7,
        "log_every": 3,
        "seeds": 2,
    }
    runs = [
        run_comparison(Comparison([make_config(cfg)]), threads=1).metrics_frame() for _ in range(2)
    ]
    f = runs[0]
    sv = f[f.metric == "jacobian_sv"]
    assert sorted(sv.step.unique()) == [0, 7]
    assert sorted(sv.seed.unique()) == [0, 1]
    for (_, _), g in sv.groupby(["seed", "step"]):
        assert list(g["index"]) == list(range(16))
        assert (g["value"].diff().dropna() <= 0).all()  # largest first
    assert runs[0].equals(
        runs[1].assign(value=runs[1].value.where(runs[1].metric != "wall_s", runs[0].value))
    )
    rnn = make_config({"family": "rnn", "task": "adding", "steps": 2, "seq_len": 5})
    g = run_comparison(Comparison([rnn]), threads=1).metrics_frame()
    assert "jacobian_sv" not in set(g.metric)


class _Wrapped(torch.nn.Module):
    """A norm the Jacobian code does not know by type: its Jacobian must come by autograd."""

    def __init__(self, inner: torch.nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.inner(z)


@pytest.mark.parametrize("norm", ["layer", "batch"])
def test_an_unknown_norm_gets_its_jacobian_by_autograd(norm):
    torch.manual_seed(2)
    model, x = _net(activation="tanh", norm=norm), torch.randn(6, 5)
    for n in model.norms:
        n.weight.data.uniform_(0.5, 1.5)
    known = hidden_jacobian_sv(model, x)
    model.norms = torch.nn.ModuleList(_Wrapped(n) for n in model.norms)
    if norm == "layer":  # a per-example norm: the same map
        torch.testing.assert_close(hidden_jacobian_sv(model, x), known, rtol=1e-10, atol=0)
    else:  # batch statistics now move with the example (not held fixed): close, not equal
        assert torch.isfinite(hidden_jacobian_sv(model, x)).all()


def test_rezero_branches_at_zero_leave_only_the_input_layer():
    model, x = _net(activation="tanh", residual=True, depth=4), torch.randn(3, 5)
    model.rezero = torch.nn.Parameter(torch.zeros(2, 3))  # α per seed and block 2..depth
    first = torch.linalg.svdvals(layer_jacobians(model, x)[0])
    torch.testing.assert_close(hidden_jacobian_sv(model, x), first, rtol=1e-10, atol=0)

"""The input–output Jacobian of a deep MLP and its singular values (dynamical isometry).

χ₁ is only the mean squared singular value of J = ∂h_L/∂x; Saxe et al. (2014) and Pennington,
Schoenholz & Ganguli (2017) show learning speed follows the whole spectrum, which at depth 30
spans tens of decades (Gaussian tanh: ~10⁻³⁵ to 1). Multiplying the layer Jacobians out in
float64 would bury everything below s_max·10⁻¹⁶ in rounding, so J is kept factored: a graded QR
of the product (Q_l R_l = A_l Q_{l-1}, J = Q_L R_L ⋯ R_1) and a one-sided Jacobi SVD of the
triangular factor (LAPACK dgejsv), which finds every singular value to float64 *relative*
accuracy (checked against 60-digit arithmetic in the tests). Units with zero slope (ReLU) give
exactly zero rows; they are dropped, and the rank they remove is reported as exact zeros.
Cost: ~10–20 ms a seed at depth 20–30, width 48–64 (a shared, loaded 2-core machine), twice a
run (first and last step): ~3% of the deep-mlp preset's training time.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from scipy.linalg import lapack
from torch import Tensor, nn

from .metrics import condition_log10  # noqa: F401  (defined once there; imported from here too)
from .norms import StackedBatchNorm, StackedLayerNorm


def layer_jacobians(model: nn.Module, x: Tensor) -> list[Tensor]:
    """∂h_l/∂h_{l-1} at ``x``'s first row, per hidden layer: [(S, width, fan_in)], float64.

    Batch norm acts with the statistics of the batch ``x`` (as in training), held fixed: the
    per-example map. Layer norm's own Jacobian is written out; any other registered norm's is
    found by autograd. ReZero's branch scales (``model.rezero``) are honoured.
    """
    # the whole batch where a norm may read batch statistics; one example otherwise
    per_example = all(isinstance(n, (nn.Identity, StackedLayerNorm)) for n in model.norms)
    x = x.detach().double()
    x = x[:1] if per_example else x
    S = model.hidden[0].weight.shape[0]
    rezero = getattr(model, "rezero", None)  # (S, depth − 1) residual-branch scales, if any
    h = x.unsqueeze(0).expand(S, *x.shape)  # (S, B, n_in)
    jacs = []
    for i, (lin, norm) in enumerate(zip(model.hidden, model.norms)):
        w, b = lin.weight.detach().double(), lin.bias.detach().double()
        z = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))  # (S, B, width)
        jac = w  # ∂z/∂h of the first example: (S, width, fan_in)
        if isinstance(norm, StackedBatchNorm):
            var = z.var(1, unbiased=False, keepdim=True)
            scale = norm.weight.detach().double().unsqueeze(1) / torch.sqrt(var + norm.eps)
            z = (z - z.mean(1, keepdim=True)) * scale + norm.bias.detach().double().unsqueeze(1)
            jac = scale[:, 0].unsqueeze(-1) * jac
        elif isinstance(norm, StackedLayerNorm):
            n = z.shape[-1]
            zc = z - z.mean(-1, keepdim=True)
            s = torch.sqrt(zc.square().mean(-1, keepdim=True) + norm.eps)  # (S, B, 1)
            zh = (zc / s)[:, 0]  # (S, width)
            # ∂ẑ/∂z = (I − 11ᵀ/n − ẑẑᵀ/n)/s, then the gain γ per unit
            eye = torch.eye(n, dtype=z.dtype)
            d_norm = (eye - 1.0 / n - zh.unsqueeze(2) * zh.unsqueeze(1) / n) / s[:, 0].unsqueeze(-1)
            g = norm.weight.detach().double()
            jac = torch.bmm(g.unsqueeze(-1) * d_norm, jac)
            z = zc / s * g.unsqueeze(1) + norm.bias.detach().double().unsqueeze(1)
        elif not isinstance(norm, nn.Identity):  # any other registered norm: by autograd
            jac_n, z = _norm_jacobian(norm, z)
            jac = torch.bmm(jac_n, jac)
        a, slope = _act_and_slope(model.act, z)
        jac = slope[:, 0].unsqueeze(-1) * jac
        if model.residual and i > 0:
            if rezero is not None:  # ReZero: the branch is scaled by its α (S,)
                alpha = rezero[:, i - 1].detach().double()
                jac, a = alpha.view(-1, 1, 1) * jac, alpha.view(-1, 1, 1) * a
            jac = jac + torch.eye(jac.shape[1], dtype=jac.dtype)
            a = h + a
        jacs.append(jac)
        h = a
    return jacs


def _norm_jacobian(norm: nn.Module, z: Tensor) -> tuple[Tensor, Tensor]:
    """A norm layer's Jacobian at the first example, (S, n, n), and its output, by autograd on
    a float64 copy (one seed at a time: seeds never mix). The copy keeps the module's mode;
    running statistics it may update are the copy's."""
    mod = copy.deepcopy(norm).double()
    out = mod(z).detach()
    jacs = []
    for s in range(z.shape[0]):

        def first(z0: Tensor, s: int = s) -> Tensor:
            zs = z.clone()
            zs[s, 0] = z0
            return mod(zs)[s, 0]

        jacs.append(torch.autograd.functional.jacobian(first, z[s, 0], vectorize=True))
    return torch.stack(jacs), out


def _act_and_slope(act, z: Tensor) -> tuple[Tensor, Tensor]:
    """φ(z) and φ'(z), element-wise, by autograd (exact for every registered activation)."""
    with torch.enable_grad():
        zz = z.detach().requires_grad_(True)
        a = act(zz)
        (slope,) = torch.autograd.grad(a.sum(), zz)
    return a.detach(), slope


def singular_values(jacs: list[Tensor]) -> Tensor:
    """Singular values of the product A_L ⋯ A_1 per seed, largest first: (S, min(m, n)).

    Exact zeros for rank lost to zero rows (dead units); NaN for a seed with non-finite factors.
    """
    S = jacs[0].shape[0]
    k = min(jacs[-1].shape[1], jacs[0].shape[2])
    out = torch.zeros(S, k, dtype=torch.float64)
    for s in range(S):
        factors = [j[s] for j in jacs]
        if not all(bool(torch.isfinite(f).all()) for f in factors):
            out[s] = float("nan")
            continue
        sv = _product_sv(factors)
        out[s, : sv.shape[0]] = sv
    return out


def _product_sv(factors: list[Tensor]) -> Tensor:
    """Nonzero-rank singular values of factors[-1] ⋯ factors[0] by graded QR and Jacobi SVD."""
    t = None  # the triangular product R_l ⋯ R_1: (r, n_in)
    q = None  # orthonormal basis of the image so far, in the kept units: (kept, r)
    keep = None
    for a in factors:
        if q is not None:
            a = a[:, keep] @ q  # units dropped below are constant: their columns do not matter
        keep = a.abs().amax(1) > 0  # rows that vanish exactly: units with zero slope
        a = a[keep]
        if a.shape[0] == 0:
            return torch.zeros(0, dtype=torch.float64)
        q, r = torch.linalg.qr(a)  # reduced: q (rows, r), r (r, cols)
        t = r if t is None else r @ t
    m = t.numpy()
    m = m.T.copy() if m.shape[0] < m.shape[1] else m  # dgejsv wants rows ≥ columns
    # joba=0 ('C'): no rank truncation; jobr=0, jobp=0: no range restriction or perturbation,
    # so tiny singular values are computed, not flushed to zero
    sva, _, _, work, _, info = lapack.dgejsv(m, joba=0, jobu=3, jobv=3, jobr=0, jobt=0, jobp=0)
    if info != 0:  # Jacobi did not converge (never seen): the plain SVD of the factor
        sva, work = np.linalg.svd(m, compute_uv=False), np.ones(2)
    sv = np.sort(sva * (work[0] / work[1]))[::-1].copy()  # work[0]/work[1] undoes its scaling
    return torch.from_numpy(sv)


def hidden_jacobian_sv(model: nn.Module, x: Tensor) -> Tensor:
    """Singular values of ∂h_L/∂x at ``x``'s first row, per seed: (S, k), largest first."""
    return singular_values(layer_jacobians(model, x))

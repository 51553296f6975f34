"""Theory: why products of Jacobians vanish or explode, mean field, and what each fix costs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard.charts.theory import chi1_figure
from dashboard.claims import load_claims
from dashboard.editor import choice_help
from dashboard.results_view import CHART_CONFIG
from models import ACTIVATIONS, theory

MITIGATIONS = pd.DataFrame([
    ("ReLU + He init", "slope 1 where active; Var(W) = 2/fan_in keeps the signal", "dead units; no dynamical isometry"),
    ("Xavier / orthogonal init", "Jacobians near norm 1 at the start (orthogonal: all singular values 1)", "only at initialisation; training can drift away"),
    ("Residual connections", "identity path: ∂x_{l+1}/∂x_l = I + ∂F/∂x_l", "equal widths; activations grow with depth without normalisation"),
    ("Batch / layer norm", "re-centres pre-activations out of saturation", "extra compute; batch norm depends on batch size"),
    ("Gradient clipping", "caps ‖g‖ at c, same direction: stops explosions", "does nothing for vanishing; c is a hyper-parameter"),
    ("LSTM / GRU", "additive cell state, forget gate ≈ 1 carries the error unchanged", "3–4× parameters and compute per step"),
    ("IRNN (ReLU + identity W_hh)", "W_hh = I: the state is copied, gradient norm 1", "unstable without small lr and clipping"),
], columns=["mitigation", "what it does", "what it costs"])  # fmt: skip


def render() -> None:
    st.title("Theory: products of Jacobians")
    st.markdown("Backpropagation through $L$ layers (or $T$ time steps) multiplies Jacobians:")
    st.latex(
        r"\frac{\partial \mathcal{L}}{\partial h_1} = "
        r"\Big(\prod_{l=2}^{L} W_l^\top \operatorname{diag}\big(\phi'(z_{l})\big)\Big)"
        r"\frac{\partial \mathcal{L}}{\partial h_L}"
    )
    st.markdown(
        "If the factors' norms sit below 1 the product shrinks exponentially with depth "
        "(**vanishing**); above 1 it grows (**exploding**). The sigmoid's slope is at most "
        "1/4, so twenty sigmoid layers scale the gradient by up to $4^{-20} \\approx 10^{-12}$."
    )
    st.subheader("Recurrent nets: Pascanu's condition")
    st.latex(
        r"x_t = W\sigma(x_{t-1}) + W_{in}u_t + b,\qquad "
        r"\Big\|\frac{\partial x_t}{\partial x_k}\Big\| \le "
        r"\big(\|W\|\,\gamma\big)^{t-k},\quad \gamma = \sup|\sigma'|"
    )
    st.markdown(
        "Pascanu, Mikolov & Bengio (2013): if the largest singular value of $W$ is below "
        "$1/\\gamma$ (4 for sigmoid, 1 for tanh), long-range gradients **must** vanish; "
        "above it is **necessary** (not sufficient) for them to explode. Clipping "
        "$g \\leftarrow c\\,g/\\|g\\|$ when $\\|g\\| > c$ fixes exploding, not vanishing."
    )
    st.subheader("Mean field: the edge of chaos")
    st.latex(
        r"q^{l} = \sigma_w^2\,\mathbb{E}_z\big[\phi(\sqrt{q^{l-1}}z)^2\big] + \sigma_b^2,"
        r"\qquad \chi_1 = \sigma_w^2\,\mathbb{E}_z\big[\phi'(\sqrt{q^*}z)^2\big]"
    )
    st.markdown(
        "With weights $\\mathcal{N}(0, \\sigma_w^2/n)$ and biases $\\mathcal{N}(0, "
        "\\sigma_b^2)$, squared gradient norms change by $\\chi_1$ per layer (Poole et "
        "al. 2016, Schoenholz et al. 2017): $\\chi_1 < 1$ ordered (vanish), $\\chi_1 > 1$ "
        "chaotic (explode), depth scale $\\xi = -1/\\ln\\chi_1$."
    )
    c1, c2 = st.columns([1, 3])
    with c1:
        acts = st.multiselect(
            "Activations",
            list(ACTIVATIONS),
            default=[a.name for a in ACTIVATIONS.entries() if a.featured],
            key="theory_acts",
            help=choice_help(ACTIVATIONS),
        )
        sb2 = st.slider("σ_b²", 0.0, 1.0, 0.05, 0.01, key="theory_sb2")
        sw2 = st.slider("σ_w² (marker)", 0.1, 6.0, 1.0, 0.05, key="theory_sw2")
    grid = np.geomspace(0.1, 6.0, 60)
    curves = {a: theory.chi1_curve(a, sb2, grid) for a in acts}
    crit = {a: theory.critical_sigma_w2(a, sb2, 0.1, 6.0) for a in acts}
    with c2:
        st.plotly_chart(chi1_figure(grid, curves, crit, sw2), config=CHART_CONFIG, key="theory_chi")
        st.caption(
            "χ₁ per layer against the weight variance. Where a curve crosses the dashed "
            "line (diamond) the net is critical: gradients neither vanish nor explode, so "
            "very deep nets train. Sigmoid never gets there below σ_w² = 16."
        )
    with c1:
        rows = []
        for a in acts:
            chi = float(theory.chi1(a, sw2, sb2))
            xi = float(theory.depth_scale(chi))
            rows.append(
                {
                    "activation": a,
                    "χ₁": round(chi, 3),
                    "depth scale ξ": "∞" if not np.isfinite(xi) else round(xi, 1),
                }
            )
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, key="theory_table")
    st.subheader("What each mitigation does, and what it costs")
    st.dataframe(MITIGATIONS, hide_index=True, width="stretch", key="theory_mitigations")
    claims_section()


def claims_section() -> None:
    st.subheader("Claims from the literature, checked against this engine")
    claims = load_claims()
    if claims is None:
        st.caption(
            "No claims table yet: `models/science/claims.json` is written by the science checks "
            "(`python scripts/science_table.py`)."
        )
        return
    st.dataframe(
        claims,
        hide_index=True,
        width="stretch",
        key="theory_claims",
        height=36 * (len(claims) + 1) + 4,  # every claim visible, no inner scroll
        column_config={
            "passed": st.column_config.CheckboxColumn("passed", width="small"),
            "claim": st.column_config.TextColumn("claim", width="large"),
        },
    )
    if claims.attrs.get("generated"):
        st.caption(f"Generated {claims.attrs['generated']}.")


render()

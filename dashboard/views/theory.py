"""Theory: why products of Jacobians vanish or explode, mean field, and what each fix costs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard.charts import gradients
from dashboard.charts.common import variant_colors
from dashboard.charts.theory import chi1_figure
from dashboard.plain import plain
from dashboard.storage.claims import load_claims
from dashboard.widgets.editor import choice_help
from dashboard.widgets.results_view import CHART_CONFIG
from models import ACTIVATIONS, FAMILIES, comparison_from_dict, run_comparison, theory

MITIGATIONS = pd.DataFrame(
    [
        (
            "ReLU + He init",
            "slope 1 where active; Var(W) = 2/fan_in keeps the signal",
            "dead units; no dynamical isometry",
        ),
        (
            "Xavier / orthogonal init",
            "each layer's gain near 1 at the start. Orthogonal: every singular value of each weight matrix is 1; the net's Jacobian also multiplies in the activation slopes, so with tanh its spectrum is decades narrower than with Gaussian weights, not all 1",
            "only at initialisation; training can drift away",
        ),
        (
            "Residual connections",
            "identity path: ∂x_{l+1}/∂x_l = I + ∂F/∂x_l",
            "equal widths; activations grow with depth without normalisation",
        ),
        (
            "ReZero (residual, no norm)",
            "x_{l+1} = x_l + α_l F(x_l), α_l learnable from 0: the deep stack starts as the identity, so activations and gradients cannot blow up",
            "needs residual blocks; branches learn only once α moves (one extra scalar per block)",
        ),
        (
            "Batch / layer norm",
            "re-centres pre-activations out of saturation",
            "extra compute; batch norm depends on batch size",
        ),
        (
            "Gradient clipping",
            "caps ‖g‖ at c, same direction: stops explosions",
            "cannot lift vanishing gradients (it only ever shrinks ‖g‖); c is a hyper-parameter",
        ),
        (
            "LSTM / GRU",
            "additive cell state: along it the error is multiplied only by the forget gate, not by a weight matrix. forget_bias = 1 starts that gate at σ(1) ≈ 0.73, not 1: at initialisation ‖∂c₅₀/∂c₁‖ is orders of magnitude above bias 0's (≤ 1e-2 against ≤ 3e-8), and training can open the gate further",
            "3–4× parameters and compute per step",
        ),
        (
            "Pre-LN, warm-up, DeepNorm (Transformers)",
            "Pre-LN keeps LayerNorm off the residual path, so no block's gradient grows towards the output; a warm-up or DeepNorm's scaled residual lets Post-LN take larger steps",
            "Pre-LN: a final LayerNorm, later blocks matter less; warm-up: extra steps at a small rate; DeepNorm: fixed α, β per depth",
        ),
        (
            "IRNN (ReLU + identity W_hh)",
            "W_hh = I: the state is copied, gradient norm 1",
            "unstable without small lr and clipping",
        ),
    ],
    columns=["mitigation", "what it does", "what it costs"],
)


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
    st.subheader("Gated cells: the forget gate")
    st.latex(
        r"c_t = f_t \odot c_{t-1} + i_t \odot g_t,\qquad "
        r"\frac{\partial c_t}{\partial c_{t-1}} = \operatorname{diag}(f_t),\quad "
        r"f_t = \sigma(W_f x_t + U_f h_{t-1} + b_f)"
    )
    st.markdown(
        "The LSTM's cell state is carried additively: along it the error is multiplied by the "
        "forget gate $f_t$ per step, not by a weight matrix. With $b_f = 0$ (PyTorch's "
        "initialisation) $f_t \\approx 0.5$: after 10 steps $0.5^{10} \\approx 0.001$ of the "
        "error is left. The config field `forget_bias` (default 1, as Gers, Schmidhuber & "
        "Cummins 2000 and Jozefowicz, Zaremba & Sutskever 2015 recommend, and as Keras does) "
        "adds to $b_f$ at initialisation: $f_t \\approx \\sigma(1) \\approx 0.73$ keeps "
        "$0.73^{10} \\approx 0.04$, forty times more, enough for training to find a long-range "
        "dependency and open the gate further. Set it to 0 to see what the fix is worth."
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
    curves, crit, other = {}, {}, {}
    for a in acts:
        curves[a], crit[a], other[a] = _phase_curves(a, sb2)
    with c2:
        fig = chi1_figure(grid, curves, crit, sw2, other)
        st.plotly_chart(fig, config=CHART_CONFIG, key="theory_chi")
        st.caption(
            "χ₁ per layer against the weight variance. Where a curve crosses the dashed "
            "line (diamond) the net is critical: gradients neither vanish nor explode, so "
            "very deep nets train. Sigmoid never gets there below σ_w² = 16."
        )
        bistable = [a for a in acts if np.isfinite(other[a]).any()]
        if bistable:
            st.caption(
                f"Dotted ({', '.join(bistable)}): the length map has two stable states here, a "
                "small fixed point q* and unbounded growth (q → ∞), split by an unstable fixed "
                "point. The solid curve follows inputs of variance q = 1, so it jumps where that "
                "split point falls below 1 (GELU, σ_b² = 0.05: σ_w² ≈ 2.22); nets fed smaller "
                "inputs stay on the dotted ordered branch, larger ones on the chaotic one."
            )
    # under both columns, the page's width: in the quarter-width control column the table was
    # cut at its fourth column (seen in chromium, desktop and phone)
    with st.container():
        rows = depth_scale_rows(acts, sw2, sb2)
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, key="theory_table", width="stretch")
            st.caption(
                "|ξ| = 1/|ln χ₁|: layers over which the squared gradient shrinks (ordered) or "
                "grows (chaotic) by a factor e. Nets train to a depth of roughly 6ξ_c "
                "(Schoenholz et al. 2017), from the correlation map: ξ_c = |ξ| in the ordered "
                "phase, longer in the chaotic one (tanh, σ_b² = 0.05: 71 layers at σ_w² = 2.5 "
                "and 42 at 4.0, where 6|ξ| would say 48 and 20). 6ξ_c is a bound: a short "
                "training run trains less deep than it."
            )
    st.subheader("Residual nets without normalisation: ReZero")
    st.latex(
        r"h_{l+1} = h_l + \alpha_l\,F(h_l),\qquad "
        r"\frac{\partial \mathcal{L}}{\partial h_l} = \frac{\partial \mathcal{L}}{\partial h_L}"
        r"\Big(1 + \frac{\partial}{\partial h_l}\sum_{i=l}^{L-1} \alpha_i F(h_i)\Big)"
    )
    st.markdown(
        "The identity path carries the error from the top to every block (He et al. 2016b, "
        "eqs. 4–5), but without normalisation the forward signal pays for it: with ReLU "
        "branches and He init each block adds as much as it receives, so $E[h^2]$ at least "
        "doubles per block ($2^{63}$ over 64 blocks) and SGD diverges at once. ReZero "
        "(Bachlechner et al. 2020; Fixup, Zhang et al. 2019, in the same spirit) multiplies "
        "each branch by a learnable $\\alpha_l$ that starts at 0: the deep stack starts as "
        "the identity and the branches switch on as training moves $\\alpha$. The config "
        "field `rezero` (with `residual`) does it; the `deep-residual` preset shows a 64-block "
        "net rescued without normalisation."
    )
    transformer_section()
    st.subheader("What each mitigation does, and what it costs")
    # a static table: its sentences wrap (in a data grid they were cut at the column's edge)
    st.table(MITIGATIONS, hide_index=True)
    claims_section()


TRANSFORMER = "transformer"  # the family this section is about (its FAMILIES entry)
PROFILE_BLOCKS = 24  # the Theory page's measured profile: deep enough for Xiong's shapes


@st.cache_data(max_entries=1, show_spinner="Measuring the per-block gradient at initialisation…")
def ln_profile_frame() -> pd.DataFrame:
    """Per-block gradient norms at step 0 of a 24-block encoder, Post-LN, Pre-LN and DeepNorm
    (width 32, 4 heads, the digits as 8 row tokens, 3 seeds)."""
    comp = comparison_from_dict(
        {
            "family": TRANSFORMER,
            "task": "row-digits",
            "depth": PROFILE_BLOCKS,
            "width": 32,
            "heads": 4,
            "norm": "layer",
            "activation": "relu",
            "steps": 0,
            "seeds": 3,
            "batch_size": 64,
            "variants": [
                {"name": "Post-LN", "ln_placement": "post"},
                {"name": "Pre-LN", "ln_placement": "pre"},
                {"name": "DeepNorm (Post-LN)", "ln_placement": "post", "deepnorm": True},
            ],
        }
    )
    return run_comparison(comp, threads=1).metrics_frame()


def transformer_section() -> None:
    st.subheader("Transformers: where LayerNorm sits")
    st.latex(
        r"\text{Post-LN: } x_{l+1} = \mathrm{LN}\big(x_l + F(x_l)\big)\qquad"
        r"\text{Pre-LN: } x_{l+1} = x_l + F\big(\mathrm{LN}(x_l)\big)"
    )
    st.markdown(
        "Xiong et al. 2020 (*On Layer Normalization in the Transformer Architecture*, Thm 1): "
        "at initialisation the gradient of the last block's weights is $O(d\\sqrt{\\ln d})$ "
        "for Post-LN whatever the depth $L$, and $O(d\\sqrt{\\ln d / L})$ for Pre-LN, and "
        "Post-LN's gradient grows towards the output. Large steps then destabilise Post-LN: "
        "hence its learning-rate warm-up, which Pre-LN does without. DeepNorm (Wang et al. "
        "2022) keeps Post-LN but scales its residual by $\\alpha = (2N)^{1/4}$ and the branch "
        "weights at init by $\\beta = (8N)^{-1/4}$ for $N$ blocks. Measured on this engine "
        f"at initialisation, {PROFILE_BLOCKS} blocks:"
    )
    frame = ln_profile_frame()
    fam = FAMILIES[TRANSFORMER]
    colors = variant_colors(list(dict.fromkeys(frame["variant"])))
    fig = gradients.profile_figure(
        frame,
        0,
        colors,
        title="Gradient per block at initialisation",
        x_title=fam.depth_axis + fam.depth_note,
        y_title="‖∇θ_block‖",
    )
    st.plotly_chart(fig, config=CHART_CONFIG, key="theory_ln_profile")
    st.caption(
        "Post-LN's gradient rises towards the last block; Pre-LN's is flat or falling and a "
        "fraction of Post-LN's (about 1/√L); DeepNorm's β shrinks Post-LN's at every block. "
        "The transformer-ln preset trains them side by side (Post-LN at Adam lr 0.008 stays "
        "near chance where the others learn), and the Phase diagrams page's transformer-lr "
        "sweep shows which learning rates each placement survives at each depth. The claims "
        "xiong-ln-ratio, xiong-ln-profile and xiong-warmup-lr below measure it on held-out "
        "seeds."
    )


@st.cache_data(max_entries=64, show_spinner=False)
def _phase_curves(activation: str, sb2: float) -> tuple[np.ndarray, float, np.ndarray]:
    """χ₁ on the σ_w² grid (inputs of variance 1), the critical σ_w², and χ₁ at the length map's
    other attractor where it has two (nan elsewhere)."""
    grid = np.geomspace(0.1, 6.0, 60)
    chi = theory.chi1_curve(activation, sb2, grid)
    ends = theory.chi1_at_attractors(activation, sb2, grid)  # (60, 2): smallest, largest state
    two = ~np.isclose(ends[:, 0], ends[:, 1], rtol=1e-6)
    # the attractor the solid curve is not on
    alt = np.where(np.isclose(chi, ends[:, 0], rtol=1e-6), ends[:, 1], ends[:, 0])
    return chi, theory.critical_sigma_w2(activation, sb2, 0.1, 6.0), np.where(two, alt, np.nan)


@st.cache_data(max_entries=256, show_spinner=False)  # the correlation map's solve: ~0.05 s each
def _trainable_depth(activation: str, sw2: float, sb2: float) -> str:
    """6 ξ_c from the correlation map (Schoenholz et al. 2017), as the table shows it."""
    try:
        six = 6.0 * float(theory.xi_c(activation, sw2, sb2))
    except Exception:  # an activation the correlation map cannot be solved for here
        return "—"
    return "∞" if not np.isfinite(six) else str(round(six))


def depth_scale_rows(acts: list[str], sw2: float, sb2: float) -> list[dict]:
    """χ₁, |ξ|, the trainable depth 6ξ_c and which way gradients go, per activation, at the
    marked σ_w²."""
    rows = []
    for a in acts:
        chi = float(theory.chi1(a, sw2, sb2))
        xi = abs(float(theory.depth_scale(chi)))
        trend = theory.gradient_trend(chi)
        rows.append(
            {
                "activation": a,
                "χ₁": round(chi, 3),
                "depth scale |ξ|": "∞" if not np.isfinite(xi) else round(xi, 1),
                "trainable depth 6ξ_c": _trainable_depth(a, sw2, sb2),
                "gradients": "neither (critical)" if trend == "critical" else trend,
            }
        )
    return rows


def provenance_text(prov: dict, generated: str | None = None) -> str:
    """One sentence naming the run that produced the claims table (plain text: the file's
    strings never go through Markdown)."""
    if not prov:
        return plain(
            f"Generated {generated}."
            if generated
            else "Which run produced this table is not recorded."
        )
    return plain(
        f"Produced {prov.get('generated', '?')} by scripts/science_table.py at commit "
        f"{prov.get('commit', '?')} on {prov.get('cpu', '?')} ({prov.get('cores', '?')} cores, "
        f"Python {prov.get('python', '?')}, torch {prov.get('torch', '?')}); the seeds column "
        "says which seeds each claim measured."
    )


CLAIM_FIELDS = {  # the claims table's columns, as read out for one claim
    "claim": "Claim",
    "expected": "Expected",
    "measured": "Measured",
    "source": "Source",
    "setup": "Set-up (and how it differs from the paper)",
    "threshold": "Threshold from",
    "seeds": "Seeds measured",
}


def _claim_detail(claims: pd.DataFrame) -> None:
    """One claim read in full: the table's cells are cut at their column's edge."""
    ids = list(claims["id"])
    if not ids:
        return
    pick = st.selectbox("Read a claim in full", ids, key="theory_claim_pick")
    row = claims[claims["id"] == pick].iloc[0]
    verdict = "passed" if bool(row["passed"]) else "did not pass"
    lines = [f"**{plain(pick)}** ({verdict})"]
    lines += [
        f"**{label}.** {plain(row[k], 2000)}"
        for k, label in CLAIM_FIELDS.items()
        if k in row and str(row[k]).strip()
    ]
    st.markdown("  \n".join(lines))


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
            "setup": st.column_config.TextColumn(
                "set-up (and how it differs from the paper)", width="large"
            ),
            "threshold": st.column_config.TextColumn("threshold from", width="medium"),
            "seeds": st.column_config.TextColumn("seeds", width="small"),
        },
    )
    st.caption(provenance_text(claims.attrs.get("provenance") or {}, claims.attrs.get("generated")))
    _claim_detail(claims)
    st.caption(
        "Each claim's pass line comes from theory (the paper's formula or argument) or from a "
        "calibration run on other seeds than the ones measured (the threshold column names "
        "both and the margin); the set-up column says where the experiment departs from the "
        "paper. The test suite recomputes every claim and fails when this table disagrees "
        "with what its machine measures."
    )


render()

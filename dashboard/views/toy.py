"""The scalar toy x_t = w σ(x_{t-1}) + b: instant, no training."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard.charts.toy import b_grid, jacobian_figure, wall_caption, wall_figure
from dashboard.state import toy_params
from dashboard.state.url_state import url_notices
from dashboard.widgets.results_view import CHART_CONFIG
from models import theory

TOY_ACTIVATIONS = toy_params.ACTIVATIONS


def render() -> None:
    st.title("The toy model: one neuron, many steps")
    st.markdown(
        "The smallest recurrent net: $x_t = w\\,\\sigma(x_{t-1}) + b$. Backpropagating through "
        "$T$ steps multiplies $T$ factors $w\\,\\sigma'(x_{t-1})$. With $|\\sigma'| \\le \\gamma$ "
        "the product is at most $(|w|\\gamma)^T$: below $|w| = 1/\\gamma$ it **must** vanish."
    )
    if "toy_values" not in st.session_state:  # first visit: settings from the address
        values, notices = toy_params.parse(st.query_params.to_dict())
        st.session_state["toy_values"] = values
        url_notices(notices)
    kept = st.session_state["toy_values"]  # survives visits to other pages; widget state does not
    for k, v in kept.items():
        st.session_state.setdefault(f"toy_{k}", v)
    with st.sidebar:
        st.subheader("Toy settings")
        act = st.selectbox("Activation σ", TOY_ACTIVATIONS, key="toy_activation")
        w = st.slider("w (recurrent weight)", -10.0, 10.0, step=0.1, key="toy_w")
        b = st.slider("b (bias)", -6.0, 3.0, step=0.01, key="toy_b")
        T = st.slider("T (time steps)", 1, 200, key="toy_T")
        x0 = st.slider("x₀ (start)", -2.0, 2.0, step=0.05, key="toy_x0")
    kept.update({"activation": act, "w": w, "b": b, "T": T, "x0": x0})
    wanted = toy_params.encode(kept)
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)
    gamma = theory.max_slope(act)
    t = np.arange(1, T + 1)
    with np.errstate(all="ignore"):
        dx = theory.toy_dxT_dx0(w, b, x0, T, act)
        wall = theory.toy_wall_b(w, x0, act)  # nan where x₀ cannot be an unstable fixed point
        saddles = theory.toy_saddle_nodes(w, act)
        slope = w * float(theory.dphi(act, x0))
        bs = b_grid(-6.0, 3.0, wall)
        loss, grad = theory.toy_loss_and_grad_b(w, bs, x0=x0, T=T, activation=act)
    c1, c2 = st.columns(2)
    with c1:
        st.plotly_chart(jacobian_figure(t, dx, w, gamma), config=CHART_CONFIG, key="toy_jac")
        st.caption(
            "Blue: how much x_T still depends on x₀ (log scale). Red dashed: the bound "
            "(|w|γ)^t. Under 1/γ the bound forces the blue line down exponentially."
        )
    with c2:
        st.plotly_chart(
            wall_figure(bs, loss, grad, b, wall, saddles), config=CHART_CONFIG, key="toy_wall"
        )
        st.caption("Loss and its gradient as b varies (x₀, w, T fixed).")
        st.caption(wall_caption(w, x0, slope, wall, saddles))
    m1, m2, m3 = st.columns(3)
    m1.metric("γ = max |σ'|", f"{gamma:g}")
    m2.metric(
        "|w|·γ",
        f"{abs(w) * gamma:.3g}",
        "vanishing guaranteed" if abs(w) * gamma < 1 else "may explode",
        delta_color="off",
    )
    final = float(dx[-1]) if dx.size and np.isfinite(dx[-1]) else float("nan")
    m3.metric("|∂x_T/∂x₀|", f"{final:.2e}")


render()

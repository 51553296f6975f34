"""A one-chart page for ``benchmarks.chart_probe``: the same six log-scale lines drawn by
Plotly, ECharts or Vega-Lite (``?k=plotly|echarts|vega``), nothing else on the page."""

import numpy as np
import streamlit as st

kind = st.query_params.get("k", "plotly")
st.title("Chart probe")
x = list(range(1, 21))
ys = {f"v{i}": list(10.0 ** (-np.arange(20) * 0.8 * (i == 0)) * (1 + 0.1 * i)) for i in range(6)}
if kind == "echarts":
    st.echarts_chart(
        {
            "tooltip": {"trigger": "axis"},
            "legend": {"bottom": 0},
            "xAxis": {"type": "value", "name": "layer"},
            "yAxis": {"type": "log"},
            "series": [
                {"type": "line", "name": k, "data": [[a, b] for a, b in zip(x, v)]}
                for k, v in ys.items()
            ],
        },
        height=460,
    )
elif kind == "vega":
    st.line_chart(ys)
else:
    import plotly.graph_objects as go

    fig = go.Figure([go.Scatter(x=x, y=v, name=k) for k, v in ys.items()])
    st.plotly_chart(fig.update_yaxes(type="log"))

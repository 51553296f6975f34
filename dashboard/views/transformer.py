"""Transformers: LayerNorm placement, warm-up and residual scaling."""

from dashboard.widgets.lab import render_lab

render_lab("transformer")  # title, intro and charts: its FAMILIES entry

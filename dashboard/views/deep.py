"""Landing page: deep MLPs."""

from dashboard.widgets.lab import render_lab

render_lab("mlp")  # title, intro and charts: its FAMILIES entry

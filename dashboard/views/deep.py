"""Landing page: deep MLPs."""

from dashboard.lab import render_lab

render_lab("mlp")  # title, intro and charts: its FAMILIES entry

"""Landing page: deep MLPs."""

from dashboard.lab import render_lab

render_lab("mlp", "Deep networks: where does the gradient go?")

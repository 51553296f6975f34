"""The headless command line: ``python -m models presets | run | sweep`` (the top layer)."""

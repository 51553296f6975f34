"""Benchmarks: ``python -m benchmarks`` measures the engine against a hand-written reference loop."""

"""Live runs: training a comparison or a sweep on this server (progress, queue, caps, memory)."""

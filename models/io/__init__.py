"""Config files and presets: reading a comparison from a file, a dict or a named preset.

Above the core, below the store, the sweeps, the science and the CLI (ARCHITECTURE.md).
"""

"""Input and output: config files, presets and the headless CLI."""

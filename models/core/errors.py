"""Errors the engine reports to users (never a traceback)."""


class ConfigError(ValueError):
    """A user-supplied setting is unknown, of the wrong type, or out of range."""


class DataError(ConfigError):
    """A data file (task=csv) is missing, unreadable, malformed or beyond the caps."""

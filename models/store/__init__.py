"""The run store: runs and sweeps kept in one database, so a reload or a restart loses nothing.

Below the CLI and the dashboard, above the engine and the config files: ``db`` (where the store
lives: a SQLite file or a database URL; the schema and its migrations, on SQLAlchemy Core),
``runs`` (RunStore), ``sweeps`` (SweepStore, beside the runs). No streamlit here: the dashboard
and a user's own training loop (``watch()``) both write runs through it.
"""

from .db import SCHEMA_VERSION, StoreError, StoreUnavailable, safe_location
from .runs import SHARE_ID, RunStore, open_store, outcome
from .runs import default_path as default_store_path
from .sweeps import SweepStore

__all__ = [
    "SCHEMA_VERSION",
    "SHARE_ID",
    "RunStore",
    "StoreError",
    "StoreUnavailable",
    "SweepStore",
    "default_store_path",
    "open_store",
    "outcome",
    "safe_location",
]

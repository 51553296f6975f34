"""The run store: runs and sweeps kept in one database, so a reload or a restart loses nothing.

Below the CLI and the dashboard, above the engine and the config files: ``runs`` (RunStore, its
schema and migrations), ``sweeps`` (SweepStore, beside the runs). No streamlit here: the dashboard
and a user's own training loop (``watch()``) both write runs through it.
"""

from .runs import SCHEMA_VERSION, SHARE_ID, RunStore, StoreError, open_store, outcome
from .runs import default_path as default_store_path
from .sweeps import SweepStore

__all__ = [
    "SCHEMA_VERSION",
    "SHARE_ID",
    "RunStore",
    "StoreError",
    "SweepStore",
    "default_store_path",
    "open_store",
    "outcome",
]

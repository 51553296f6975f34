"""Imported once per server process, before the first page runs: heavy imports, then gc.freeze.

Streamlit re-executes the page scripts on every rerun, but modules import once. Importing the
engine, pandas and plotly here (not lazily inside the first page) and then freezing what they
allocated moves ~280k long-lived objects out of the garbage collector's reach, so every later
collection (Python's automatic ones) walks only what a rerun allocates.
"""

from __future__ import annotations

import gc

from dashboard.live import memory

memory.limit_arenas()  # before the training threads exist: see dashboard/live/memory.py
memory.fix_mmap_threshold()  # big arrays mapped apart, unmapped when freed: same module

import numpy  # noqa: E402, F401
import pandas  # noqa: E402, F401
import plotly.graph_objects  # noqa: E402, F401
from plotly.subplots import make_subplots  # noqa: E402, F401

import dashboard.widgets.results_view  # noqa: E402, F401  (the charts and, through them, the engine)
import models  # noqa: E402, F401

gc.collect()
gc.freeze()

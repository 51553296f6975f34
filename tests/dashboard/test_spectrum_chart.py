"""The Jacobian spectrum chart and the condition-number column of the trade-offs table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dashboard.charts import spectrum, tradeoffs
from dashboard.charts.common import variant_colors

COLS = ["variant", "seed", "step", "metric", "index", "value"]
COLORS = variant_colors(["iso", "spread", "relu"])


def _frame() -> pd.DataFrame:
    rows = []
    for seed in (0, 1):
        for step in (0, 50):
            for i in range(4):
                rows.append(("iso", seed, step, "jacobian_sv", i, 1.0 - 0.1 * i))  # 1 decade: ~0
                rows.append(("spread", seed, step, "jacobian_sv", i, 10.0 ** (-3 * i - seed)))
                rows.append(
                    ("relu", seed, step, "jacobian_sv", i, 0.0 if i >= 2 else 2.0 / (i + 1))
                )
            rows.append(("iso", seed, step, "val_loss", 0, 1.0))
    return pd.DataFrame(rows, columns=COLS)


def test_condition_numbers_in_decades_with_exact_zeros_as_infinity():
    f = _frame()
    assert spectrum.condition_log10(f, "iso") == pytest.approx(math.log10(1 / 0.7))
    assert spectrum.condition_log10(f, "spread") == pytest.approx(9.0)  # both seeds span 9
    assert spectrum.condition_log10(f, "relu") == math.inf
    assert math.isnan(spectrum.condition_log10(f, "missing"))


def test_spectrum_figure_log_scale_zeros_counted_and_not_drawn():
    fig = spectrum.spectrum_figure(_frame(), 40, COLORS)  # nearest recorded step: 50
    assert "step 50" in fig.layout.title.text and fig.layout.yaxis.type == "log"
    lines = {t.meta["variant"]: t for t in fig.data if t.meta}
    assert set(lines) == {"iso", "spread", "relu"}
    assert "2 of 4 exactly 0" in lines["relu"].name
    assert np.isnan(np.asarray(lines["relu"].y[2:], dtype=float)).all()
    # the median over seeds, geometric: seeds at 10^-3i and 10^-3i-1
    assert lines["spread"].y[1] == pytest.approx(10**-3.5)


def test_empty_and_broken_frames_give_a_figure_not_a_crash():
    empty = pd.DataFrame(columns=COLS)
    assert spectrum.spectrum_figure(empty, 0, COLORS).layout.annotations
    f = _frame()
    f.loc[f.index % 5 == 0, "value"] = np.nan
    f.loc[f.index % 7 == 0, "value"] = np.inf
    spectrum.spectrum_figure(f, 0, COLORS)
    spectrum.condition_log10(f, "spread")


def test_tradeoff_table_appends_the_condition_number():
    f = _frame()
    summary = pd.DataFrame(columns=["variant", "seed"])
    info = [{"name": n, "family": "mlp", "depth": 3} for n in ("iso", "relu")]
    table = tradeoffs.tradeoff_table(f, summary, info).set_index("variant")
    assert tradeoffs.COLUMNS[-1] == "log10 cond J (init)"  # appended: no column moves
    assert table.loc["relu", "log10 cond J (init)"] == math.inf
    assert table.loc["iso", "log10 cond J (init)"] < 0.2

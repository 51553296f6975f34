"""The sweep presets' stories, checked on every seed of each preset (titles are claims).

tanh-phase-diagram: the trainable region follows 6 ξ_c (Schoenholz et al. 2017, Fig. 5);
rnn-length: the tanh RNN's solvable T is far below the LSTM's and GRU's (Hochreiter &
Schmidhuber 1997). The sweeps are shared with test_claims through the claims' cache.
"""

from __future__ import annotations

import pytest

from models.science import phase

pytestmark = [pytest.mark.science, pytest.mark.slow]


def test_trainable_region_follows_the_theory():
    m = phase.measure_phase_diagram()
    assert m["beyond"], "the preset must hold points deeper than 2·6ξ_c"
    assert m["beyond_best"] < phase.UNTRAINED  # every seed of every such point
    assert max(m["near_deep_mean"]) >= phase.TRAINED  # near χ₁ = 1, at the deepest depth
    assert all(v < phase.UNTRAINED for v in m["far_deep_mean"].values())
    assert m["rho"] < -0.7
    assert phase.claim_phase_diagram()["passed"]


def test_tanh_rnn_gives_up_long_before_lstm_and_gru_on_every_seed():
    T = phase.solvable_lengths()
    assert len(T["tanh rnn"]) == 2  # seeds 0 and 1
    assert 2 * max(T["tanh rnn"]) <= min(T["lstm"])
    assert 4 * max(T["tanh rnn"]) <= min(T["gru"])
    assert phase.claim_rnn_length()["passed"]

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
    # only the ordered end lies at ≥ 2·6ξ_c; σ_w² = 4 at depth 40 (6ξ_c = 41.9) is not judged
    assert {round(g * g, 2) for g, _ in m["beyond"]} == {0.5}
    assert m["rho"] < phase.PHASE_RHO
    assert phase.claim_phase_diagram()["passed"]


def test_tanh_rnn_gives_up_long_before_the_gru_and_no_later_than_the_lstm():
    T = phase.solvable_lengths()
    assert len(T["tanh rnn"]) == phase.RNN_LENGTH_SEEDS and "irnn" not in T  # held-out seeds
    assert max(T["tanh rnn"]) <= min(T["lstm"])  # 2× margin on seeds 0–4
    assert 4 * max(T["tanh rnn"]) <= min(T["gru"])  # 8× seen on seeds 0–4
    assert phase.claim_rnn_length()["passed"]

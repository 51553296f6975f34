"""The correlation depth scale ξ_c behind the phase diagram (Schoenholz et al. 2017, Fig. 5)."""

from __future__ import annotations

import math

import pytest

from models.core import theory

pytestmark = pytest.mark.science
SB2 = 0.05  # σ_b² of the paper's Fig. 5 and of the tanh phase-diagram preset


def test_ordered_phase_correlations_converge_to_one_and_xi_c_is_the_gradient_scale():
    for s in (0.5, 1.0, 1.5):
        assert theory.correlation_fixed_point("tanh", s, SB2) == 1.0
        assert theory.xi_c("tanh", s, SB2) == pytest.approx(
            theory.depth_scale(theory.chi1("tanh", s, SB2))
        )


def test_chaotic_phase_has_c_star_below_one_and_chi_c_below_one():
    for s in (2.0, 3.0, 4.0):
        c = theory.correlation_fixed_point("tanh", s, SB2)
        assert 0.0 < c < 1.0
        q = theory.q_fixed_point("tanh", s, SB2)
        # c* is a fixed point of the correlation map
        fc = theory._pair_expectation(
            lambda x: theory.phi("tanh", x), lambda x: theory.phi("tanh", x), q, c
        )
        assert (s * fc + SB2) / q == pytest.approx(c, abs=1e-6)
        assert 0.0 < theory.chi_c("tanh", s, SB2) < 1.0


def test_xi_c_diverges_at_the_edge_of_chaos_and_falls_on_both_sides():
    crit = theory.critical_sigma_w2("tanh", SB2)
    assert crit == pytest.approx(1.76, abs=0.01)
    grid = [0.5, 1.0, 1.5, crit - 0.03, crit + 0.04, 2.5, 4.0]
    xi = [theory.xi_c("tanh", s, SB2) for s in grid]
    assert xi[:4] == sorted(xi[:4]) and xi[4:] == sorted(xi[4:], reverse=True)
    assert min(xi[3], xi[4]) > 50 > max(xi[0], xi[-1])
    # Fig. 5's scale: 6 ξ_c is a few layers deep in the ordered phase, tens around it
    curve = theory.trainable_depth_curve("tanh", SB2, [0.5, 4.0])
    assert 4 < curve[0] < 12 and 25 < curve[1] < 80
    assert math.isinf(theory.xi_c("linear", 1.0, 0.0)) or theory.xi_c("linear", 1.0, 0.0) > 1e6

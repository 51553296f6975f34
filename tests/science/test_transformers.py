"""LayerNorm placement in Transformers (Xiong et al. 2020) on the engine, on held-out seeds."""

from __future__ import annotations

import numpy as np
import pytest

from models.science import transformers as V

pytestmark = [pytest.mark.science, pytest.mark.slow]


def test_pre_over_post_last_block_ratio_falls_like_one_over_root_depth() -> None:
    """Xiong et al. Thm 1: Pre-LN's last-block gradient O(d√(ln d / L)), Post-LN's O(d√(ln d)).
    Calibration seeds 100-102: 0.67, 0.48, 0.22 at 3, 12, 48 blocks (slope -0.40)."""
    m = V.measure_profiles()
    ratios = [V.geo_mean(m[L]["pre"][L - 1] / m[L]["post"][L - 1]) for L in V.DEPTHS]
    assert ratios[0] > ratios[1] > ratios[2], ratios
    slope = np.polyfit(np.log(V.DEPTHS), np.log(ratios), 1)[0]
    assert abs(slope - V.SLOPE) <= V.SLOPE_TOL, slope
    assert V.claim_xiong_ratio()["passed"]


def test_post_ln_gradient_grows_towards_the_output_pre_ln_does_not() -> None:
    """Xiong et al. Fig. 3 at 48 blocks. Calibration seeds 100-102: last/first Post-LN 1.5,
    Pre-LN 0.69 (geometric means)."""
    m = V.measure_profiles()
    post, pre = m[48]["post"], m[48]["pre"]
    assert V.geo_mean(post[47] / post[0]) > 1.0
    assert V.geo_mean(pre[47] / pre[0]) < 1.0
    assert V.claim_xiong_profile()["passed"]


def test_warm_up_and_deepnorm_raise_post_ln_largest_learning_rate() -> None:
    """Xiong et al. §3: Post-LN needs a warm-up; the transformer-lr sweep at 12 blocks.
    Calibration seeds 10-11: Post-LN up to lr 0.003, warm-up 0.008, Pre-LN and DeepNorm 0.02."""
    c = V.claim_warmup_lr()
    assert c["passed"], c["measured"]


def test_sabotage_a_flat_ratio_fails_the_claim() -> None:
    """The ratio claim can fail: Pre-LN equal to Post-LN at every depth."""
    m = V.measure_profiles()
    flat = {L: {"post": m[L]["post"], "pre": m[L]["post"]} for L in V.DEPTHS}
    assert not V.claim_xiong_ratio(flat)["passed"]
    swapped = {L: {"post": m[L]["pre"], "pre": m[L]["post"]} for L in V.DEPTHS}
    assert not V.claim_xiong_profile(swapped)["passed"]

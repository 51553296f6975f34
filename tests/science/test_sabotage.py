"""One sabotage per claim: the claim's mechanism switched off or broken on purpose, and its check
must then fail. A check that still passes could not catch the bug it is about.

Most sabotages are exact substitutions: runs are deterministic per config and seed, so a variant
whose mechanism is switched off (clipping, batch norm, the skip, α = 0, the forget-gate bias,
gating, the init scheme, init_gain) runs exactly as the variant without it, and its measurement
is that variant's, already measured. Where the mechanism is engine code (the RNN's use of
W_hh, the toy's clipping) the engine is patched and the claim measured again. The measurements
are cached and shared with the other science tests, so this file adds about a second.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable

import pytest

import models.science as S
from models.core.cells import CELLS
from models.science import initialisation as I
from models.science import isometry as ISO
from models.science import mean_field as MF
from models.science import mitigations as MI
from models.science import phase as P
from models.science import recurrent as R
from models.science import transformers as TF

pytestmark = [pytest.mark.science, pytest.mark.slow]


def _swap(m: dict, broken: str, donor: str) -> dict:
    """A copy of a measurement whose ``broken`` entry is ``donor``'s (the mechanism off)."""
    out = copy.deepcopy(m)
    out[broken] = copy.deepcopy(m[donor])
    return out


def mean_field_ordered() -> dict:
    # weights drawn at σ_w² = 2.5 where 1 was asked: the factor is the chaotic one
    m = copy.deepcopy(MF.measure_mean_field())
    m["rows"][1.0]["measured"] = m["rows"][2.5]["measured"]
    return m


def mean_field_chaotic() -> dict:
    # init_gain ignored: every net is drawn at σ_w² = 1
    m = copy.deepcopy(MF.measure_mean_field())
    m["rows"][2.5]["measured"] = m["rows"][1.0]["measured"]
    return m


def mean_field_critical() -> dict:
    m = copy.deepcopy(MF.measure_mean_field())
    m["critical_measured"] = MF._crossing(MF.MF_GRID, [m["rows"][1.0]["measured"]] * 5)
    return m


def correlation_map() -> dict:
    m = copy.deepcopy(MF.measure_correlation_map())  # init_gain ignored: all at σ_w² = 1
    for s in (2.5, 4.0):
        m[s]["last"] = m[1.0]["last"]
    return m


def trainable_depth() -> dict:
    m = copy.deepcopy(MF.measure_trainable_depth())  # init_gain ignored: all at σ_w² = 1
    for s in (1.76, 2.5):
        m[s]["min"], m[s]["max"] = m[1.0]["min"], m[1.0]["max"]
    return m


def glorot_forward() -> dict:
    m = copy.deepcopy(I.measure_glorot_forward())  # the standard init scheme built as Xavier
    m["default"]["measured"] = m["xavier"]["measured"]
    return m


def glorot_backprop() -> dict:
    m = copy.deepcopy(I.measure_glorot_backprop())
    m["default"]["factor"] = m["xavier"]["factor"]
    return m


def glorot_weight_gradients() -> dict:
    return _swap(I.measure_glorot_backprop(), "default", "xavier")


def sigmoid_saturation() -> dict:
    m = I.measure_sigmoid_saturation()  # the sigmoid net built with tanh: no saturating tail
    return {**copy.deepcopy(m["tanh"]), "control_accuracy": m["control_accuracy"]}


def he_init() -> dict:
    return _swap(I.measure_he_variance(), "xavier", "he")


def he_backward() -> dict:
    return _swap(I.measure_he_backward(), "xavier", "he")


def he_training() -> dict:
    m = copy.deepcopy(I.measure_he_training())  # He init switched off: built as Xavier
    m["acc_min"]["he"] = m["acc_min"]["xavier"]
    m["acc_max"]["he"] = m["acc_max"]["xavier"]
    return m


def pascanu_jacobian(monkeypatch: pytest.MonkeyPatch) -> dict:
    # the engine's RNN with W_hhᵀ where W_hh belongs: h_t = φ(W_ih x_t + W_hhᵀ h_(t−1) + b)
    spec = CELLS["rnn"]

    def transposed_step(x_t, h, c, w_t, hh_bias, act, record):
        return spec.step(x_t, h, c, w_t.transpose(1, 2), hh_bias, act, record)

    monkeypatch.setitem(CELLS._entries, "rnn", dataclasses.replace(spec, step=transposed_step))
    return R.measure_rnn_jacobian()


def toy_wall() -> dict:
    return R.measure_toy_wall(R.TOY_N, None)  # clipping switched off


def clipping() -> dict:
    return _swap(R.measure_clipping(), "clip norm 1", "no clipping")


def adding() -> dict:
    return _swap(R.measure_adding(), "lstm", "tanh rnn")  # the gated cell built as vanilla


def hidden_grad_ratio() -> dict:
    return _swap(R.measure_hidden_grad_ratio(), "irnn", "tanh rnn, orthogonal")


def forget_gate() -> dict:
    return _swap(R.measure_forget_gate(), 1.0, 0.0)  # forget_bias ignored


def batch_norm() -> dict:
    m = copy.deepcopy(MI.measure_batch_norm())  # norm switched off
    for k in ("min", "max"):
        m[k]["batch norm"] = m[k]["plain"]
    return m


def residual() -> dict:
    return _swap(MI.measure_residual(), "residual", "plain")  # the skips switched off


def rezero() -> dict:
    return _swap(MI.measure_rezero(), "rezero", "residual, no norm (baseline)")  # α not zeroed


def linear_isometry() -> dict:
    return _swap(MI.measure_linear_isometry(), "orthogonal", "normal")


def phase_diagram() -> dict:
    # the sweep builds its shallowest net whatever depth it is asked for
    _, df = P._sweep("tanh-phase-diagram", P.PHASE_SEEDS)
    shallow = df[df.depth == df.depth.min()].set_index(["init_gain", "seed"])
    broken = df.copy()
    broken["final_val_accuracy"] = [
        shallow.loc[(g, s), "final_val_accuracy"] for g, s in zip(df.init_gain, df.seed)
    ]
    return P.measure_phase_diagram(broken)


def rnn_length() -> dict:
    T = copy.deepcopy(P.solvable_lengths())  # gating switched off: LSTM and GRU as vanilla
    T["lstm"] = T["gru"] = T["tanh rnn"]
    return T


def isometry_spectrum() -> dict:
    return _swap(ISO.measure_isometry(), ISO.TANH_ORTH, ISO.TANH_GAUSS)  # orthogonal off


def isometry_training() -> dict:
    return _swap(ISO.measure_isometry(), ISO.TANH_ORTH, ISO.TANH_GAUSS)


def xiong_ratio() -> dict:
    # ln_placement ignored: every "Pre-LN" net is built as Post-LN
    m = TF.measure_profiles()
    return {L: {"post": m[L]["post"], "pre": m[L]["post"]} for L in TF.DEPTHS}


def xiong_profile() -> dict:
    # ln_placement swapped: LayerNorm put where the other placement puts it
    m = TF.measure_profiles()
    return {L: {"post": m[L]["pre"], "pre": m[L]["post"]} for L in TF.DEPTHS}


def warmup_lr() -> dict:
    # warmup_steps and DeepNorm's α, β ignored: those variants train as plain Post-LN
    m = copy.deepcopy(TF.measure_lr_sweep())
    for v in ("post-ln + warm-up 75", "deepnorm"):
        for d in (2, 6, 12):
            m["table"][(v, d)] = copy.deepcopy(m["table"][("post-ln", d)])
    return m


SABOTAGE: dict[str, tuple[Callable, Callable]] = {
    "claim_mean_field_ordered": (mean_field_ordered, MF.claim_mean_field_ordered),
    "claim_mean_field_chaotic": (mean_field_chaotic, MF.claim_mean_field_chaotic),
    "claim_mean_field_critical": (mean_field_critical, MF.claim_mean_field_critical),
    "claim_correlation_map": (correlation_map, MF.claim_correlation_map),
    "claim_trainable_depth": (trainable_depth, MF.claim_trainable_depth),
    "claim_glorot_forward": (glorot_forward, I.claim_glorot_forward),
    "claim_glorot_backprop": (glorot_backprop, I.claim_glorot_backprop),
    "claim_glorot_weight_gradients": (glorot_weight_gradients, I.claim_glorot_weight_gradients),
    "claim_sigmoid_saturation": (sigmoid_saturation, I.claim_sigmoid_saturation),
    "claim_he_init": (he_init, I.claim_he_init),
    "claim_he_backward": (he_backward, I.claim_he_backward),
    "claim_he_training": (he_training, I.claim_he_training),
    "claim_pascanu_jacobian": (pascanu_jacobian, R.claim_pascanu_jacobian),
    "claim_toy_wall": (toy_wall, R.claim_toy_wall),
    "claim_clipping": (clipping, R.claim_clipping),
    "claim_adding": (adding, R.claim_adding),
    "claim_hidden_grad_ratio": (hidden_grad_ratio, R.claim_hidden_grad_ratio),
    "claim_forget_gate": (forget_gate, R.claim_forget_gate),
    "claim_batch_norm": (batch_norm, MI.claim_batch_norm),
    "claim_residual": (residual, MI.claim_residual),
    "claim_rezero": (rezero, MI.claim_rezero),
    "claim_linear_isometry": (linear_isometry, MI.claim_linear_isometry),
    "claim_phase_diagram": (phase_diagram, P.claim_phase_diagram),
    "claim_rnn_length": (rnn_length, P.claim_rnn_length),
    "claim_isometry_spectrum": (isometry_spectrum, ISO.claim_isometry_spectrum),
    "claim_isometry_training": (isometry_training, ISO.claim_isometry_training),
    "claim_xiong_ratio": (xiong_ratio, TF.claim_xiong_ratio),
    "claim_xiong_profile": (xiong_profile, TF.claim_xiong_profile),
    "claim_warmup_lr": (warmup_lr, TF.claim_warmup_lr),
}


def test_every_claim_has_a_sabotage() -> None:
    assert set(SABOTAGE) == {f.__name__ for f in S.CLAIMS}
    assert all(SABOTAGE[f.__name__][1] is f for f in S.CLAIMS)


@pytest.mark.parametrize("name", list(SABOTAGE))
def test_the_claim_fails_with_its_mechanism_broken(name: str, monkeypatch) -> None:
    broken, claim = SABOTAGE[name]
    # the claim on the real measurement passes (measured before any patch): the sabotage is
    # what fails it below
    assert claim()["passed"] is True, name
    m = broken(monkeypatch) if name == "claim_pascanu_jacobian" else broken()
    verdict = claim(m)
    assert verdict["passed"] is False, (name, verdict["measured"])

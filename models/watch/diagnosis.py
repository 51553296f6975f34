"""A watched run's diagnosis in plain words: what went wrong, the numbers that say so, and the
lab preset that shows the same thing and its fix. Pure (rows in, findings out); says nothing when
nothing is wrong.

The lines (from issue 23 and the lab's presets; the run's own numbers are quoted in each
sentence so a reader can judge the margin):
- vanishing: the first layer's gradient below VANISH_RATIO x the last layer's (median over the
  recorded steps) -> deep-mlp (He init, residual connections, normalisation);
- exploding: the first layer's gradient above 1/VANISH_RATIO x the last's, or the global norm
  grown EXPLODE_GROWTH-fold from the first recorded step -> exploding-rnn, deep-residual;
- diverged: a non-finite gradient or loss -> exploding-rnn, deep-residual (clipping, ReZero);
- dead units: a ReLU-like activation module with more than DEAD_SHARE of its units never active
  on a batch, at the last recorded step -> relu-init (He init);
- saturated units: a sigmoid/tanh-like module with more than SATURATED_SHARE of its inputs where
  the slope is below 10% of its maximum -> deep-mlp (normalisation, another activation);
- update-to-weight ratio (the rule of thumb is ~1e-3): the median over layers and recorded steps
  (step 0 excluded) below UPDATE_LOW or above UPDATE_HIGH.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..core.activations import ACTIVATIONS

VANISH_RATIO = 1e-3
EXPLODE_GROWTH = 1e3
DEAD_SHARE = 0.5
SATURATED_SHARE = 0.5
UPDATE_LOW, UPDATE_HIGH = 1e-5, 1e-1  # two decades either side of ~1e-3


@dataclass(frozen=True)
class Finding:
    """One sentence of the diagnosis."""

    kind: str  # vanishing | exploding | diverged | dead | saturated | update-small | update-large
    text: str  # plain words, with the numbers that triggered it
    presets: tuple[str, ...]  # the lab's presets that show it (and its fix)
    fix: str  # what those presets show works


def _g(x: float) -> str:
    return f"{x:.2g}" if x and (abs(x) < 1e-2 or abs(x) >= 1e4) else f"{x:.3g}"


def _by(rows: Iterable[tuple], metric: str) -> dict[int, dict[int, float]]:
    """{step: {index: value}} of one metric."""
    out: dict[int, dict[int, float]] = {}
    for r in rows:
        if r[3] == metric:
            out.setdefault(int(r[2]), {})[int(r[4])] = float(r[5])
    return out


def _name(names: list[str], index: int) -> str:
    return names[index - 1] if 0 < index <= len(names) else f"layer {index}"


def diagnose(rows: Iterable[tuple], meta: dict[str, Any]) -> list[Finding]:
    """Findings for one watched run: ``rows`` (variant, seed, step, metric, index, value) of that
    run, ``meta`` its config.json ``watched`` table (layer and activation names)."""
    rows = list(rows)
    layers = [str(n) for n in meta.get("layers", [])]
    acts = [str(n) for n in meta.get("activations", [])]
    kinds = [str(k) for k in meta.get("activation_kinds", [])]
    found: list[Finding] = []
    div = [r for r in rows if r[3] == "diverged"]
    if div:
        step, layer = int(div[0][2]), int(div[0][4])
        where = "in the loss" if layer == 0 else f"first in layer {_name(layers, layer)}"
        # the previous recorded step (everything finite there): NaN/inf is only seen at
        # recorded steps, so with every > 1 the first one lies somewhere after it
        before = [int(r[2]) for r in rows if int(r[2]) < step]
        after = max(before) if before else None
        if step == 0 or after == step - 1:
            when = f"at step {step}"
        elif after is None:
            when = f"at or before step {step} (the first recorded step)"
        else:
            when = (
                f"between step {after + 1} and step {step} (recorded every "
                f"{step - after} steps; everything was finite at step {after})"
            )
        found.append(
            Finding(
                "diverged",
                f"Training diverged {when}: a gradient or the loss became NaN or infinite "
                f"({where}).",
                ("exploding-rnn", "deep-residual"),
                "clip the gradient norm (exploding-rnn) or start residual branches at zero "
                "(ReZero, deep-residual); a smaller learning rate also helps",
            )
        )
    grads = {k: v for k, v in _by(rows, "grad_norm").items() if v}
    ratios = []
    first_last = None
    for _step, by_layer in sorted(grads.items()):
        idx = sorted(i for i, v in by_layer.items() if math.isfinite(v))
        if len(idx) >= 2 and by_layer[idx[-1]] > 0:
            ratios.append(by_layer[idx[0]] / by_layer[idx[-1]])
            first_last = (idx[0], idx[-1])
    if ratios and first_last:
        med = statistics.median(ratios)
        a, b = (_name(layers, i) for i in first_last)
        if med < VANISH_RATIO:
            found.append(
                Finding(
                    "vanishing",
                    f"Gradients vanish towards the input: the first layer ({a}) gets {_g(med)} of "
                    f"the gradient of the last ({b}) (median over {len(ratios)} recorded steps; "
                    f"below {_g(VANISH_RATIO)}).",
                    ("deep-mlp",),
                    "He (or Xavier) initialisation, residual connections, batch or layer "
                    "normalisation",
                )
            )
        elif med > 1 / VANISH_RATIO:
            found.append(
                Finding(
                    "exploding",
                    f"Gradients grow towards the input: the first layer ({a}) gets {_g(med)} times "
                    f"the gradient of the last ({b}) (median over {len(ratios)} recorded steps; "
                    f"above {_g(1 / VANISH_RATIO)}).",
                    ("exploding-rnn", "deep-residual"),
                    "gradient clipping, ReZero, a smaller initialisation or learning rate",
                )
            )
    totals = [
        (k, v[0])
        for k, v in sorted(_by(rows, "grad_norm_total").items())
        if 0 in v and math.isfinite(v[0])
    ]
    if not div and len(totals) >= 2 and totals[0][1] > 0:
        peak_step, peak = max(totals, key=lambda kv: kv[1])
        growth = peak / totals[0][1]
        if growth > EXPLODE_GROWTH and not any(f.kind == "exploding" for f in found):
            found.append(
                Finding(
                    "exploding",
                    f"The gradient norm grew {_g(growth)}-fold, from {_g(totals[0][1])} at step "
                    f"{totals[0][0]} to {_g(peak)} at step {peak_step}.",
                    ("exploding-rnn", "deep-residual"),
                    "gradient clipping (exploding-rnn), ReZero (deep-residual)",
                )
            )
    sat = _by(rows, "saturation")
    if sat:
        step = max(sat)
        dead, saturated = [], []
        for i, share in sorted(sat[step].items()):
            kind = kinds[i - 1] if 0 < i <= len(kinds) else ""
            rule = ACTIVATIONS[kind].saturation if kind in ACTIVATIONS else "slope"
            if rule == "dead" and share > DEAD_SHARE:
                dead.append((share, _name(acts, i), kind))
            elif rule == "slope" and share > SATURATED_SHARE:
                saturated.append((share, _name(acts, i), kind))
        if dead:
            share, name, kind = max(dead)
            others = f" and in {len(dead) - 1} more" if len(dead) > 1 else ""
            found.append(
                Finding(
                    "dead",
                    f"Dead units: {100 * share:.0f}% of the units after {name} ({kind}) were never "
                    f"active on a batch at step {step}{others} (above {100 * DEAD_SHARE:.0f}%).",
                    ("relu-init",),
                    "He initialisation (Var(W) = 2/fan-in); if it is already He, a smaller learning "
                    "rate, wider layers or a leaky activation",
                )
            )
        if saturated:
            share, name, kind = max(saturated)
            others = f" and in {len(saturated) - 1} more" if len(saturated) > 1 else ""
            found.append(
                Finding(
                    "saturated",
                    f"Saturated units: {100 * share:.0f}% of the inputs to {name} ({kind}) sit where "
                    f"its slope is below 10% of its maximum at step {step}{others} (above "
                    f"{100 * SATURATED_SHARE:.0f}%).",
                    ("deep-mlp",),
                    "batch or layer normalisation before the activation, Xavier initialisation, or "
                    "a non-saturating activation",
                )
            )
    upd = [
        v
        for k, by_layer in _by(rows, "update_ratio").items()
        if k > 0
        for v in by_layer.values()
        if math.isfinite(v) and v > 0
    ]
    if upd:
        med = statistics.median(upd)
        if med < UPDATE_LOW:
            found.append(
                Finding(
                    "update-small",
                    f"Updates are tiny: the median update-to-weight ratio is {_g(med)} (rule of "
                    f"thumb ~1e-3; below {_g(UPDATE_LOW)}): the weights barely move.",
                    ("deep-mlp",),
                    "a larger learning rate; where it comes from vanished gradients, the "
                    "deep-mlp mitigations",
                )
            )
        elif med > UPDATE_HIGH:
            found.append(
                Finding(
                    "update-large",
                    f"Updates are huge: the median update-to-weight ratio is {_g(med)} (rule of "
                    f"thumb ~1e-3; above {_g(UPDATE_HIGH)}): each step rewrites the weights.",
                    ("exploding-rnn",),
                    "a smaller learning rate, or gradient clipping",
                )
            )
    return found

"""Widgets that edit a draft comparison: preset picker, shared settings, variant editor.

Every widget has a stable key ``{family}_...``: the draft in session state is the source of
truth, and a widget's state is seeded from it whenever Streamlit has forgotten the widget.
"""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from dashboard.live.limits import MAX_VARIANTS, field_range
from dashboard.plain import plain
from dashboard.state import draft as drafts
from models import DEFAULT_FAMILY, FAMILIES, FIELDS, PRESETS, load_preset, task_title

LABELS = {
    "task": "Task",
    "depth": "Depth (hidden layers)",
    "width": "Width (units per layer)",
    "arms": "Spiral arms",
    "batch_size": "Batch size",
    "steps": "Training steps",
    "seeds": "Seeds",
    "log_every": "Log every (steps)",
    "seq_len": "Sequence length T",
    "hidden": "Hidden units",
    "activation": "Activation",
    "init": "Weight init",
    "init_gain": "Init gain (σ_w)",
    "bias_std": "Bias std (σ_b)",
    "residual": "Residual",
    "rezero": "ReZero (residual branch × learnable α = 0 at start)",
    "norm": "Normalisation",
    "optimizer": "Optimizer",
    "lr": "Learning rate",
    "momentum": "Momentum",
    "clip_norm": "Clip norm (0 = off)",
    "clip_value": "Clip value (0 = off)",
    "cell": "Cell",
    "recurrent_init": "Recurrent init",
    "spectral_radius": "Spectral radius",
    "forget_bias": "Forget-gate bias (init)",
}
FLOAT_STEPS = {
    "init_gain": 0.1,
    "bias_std": 0.05,
    "lr": 0.001,
    "momentum": 0.05,
    "clip_norm": 0.5,
    "clip_value": 0.05,
    "spectral_radius": 0.1,
    "forget_bias": 0.5,
}


CUSTOM = "custom"  # the preset picker's entry for settings that are no preset's


def family_presets(family: str) -> list[str]:
    """Preset names of one family, in the order PRESETS lists them."""
    return [n for n, p in PRESETS.items() if p.get("family", DEFAULT_FAMILY) == family]


def draft_key(family: str) -> str:
    return f"{family}_draft"


def load_into_state(family: str, comparison, preset: str) -> None:
    """Replace the family's draft (fresh variant ids, so old widget state cannot leak in)."""
    counter = st.session_state.get("variant_counter", 0)
    d = drafts.from_comparison(comparison, preset, first_id=counter)
    st.session_state["variant_counter"] = counter + len(d["variants"])
    st.session_state[draft_key(family)] = d
    for k in [k for k in st.session_state if str(k).startswith(f"{family}_s_")]:
        del st.session_state[k]
    st.session_state[f"{family}_preset"] = preset


def _on_preset(family: str) -> None:
    name = st.session_state[f"{family}_preset"]
    if name in PRESETS:  # "custom" is a state, not something to load: the draft stays
        load_into_state(family, load_preset(name), name)


def _choices(family: str, name: str, variant: dict[str, Any] | None = None) -> tuple[str, ...]:
    if name == "task":
        return FAMILIES[family].tasks
    return FAMILIES[family].choices(name, FIELDS[name].choices or ())


def choice_help(choices: Any) -> str | None:
    """One line per registry entry (name: description) for a selectbox's help, or None."""
    entries = getattr(choices, "entries", None)
    if entries is None:
        return None
    # help text is Markdown: escape what the descriptions may contain (W_hh, 1/(1+e^−z), ...)
    lines = [f"{e.name}: {e.description}" for e in entries()]
    return "\n\n".join(re.sub(r"([\\`*_{}\[\]()#+\-.!|<>^~$])", r"\\\1", line) for line in lines)


def field_widget(
    family: str, name: str, key: str, value: Any, container=st, on_change=None, args=()
) -> Any:
    """One widget for one config field, ranged by the engine's schema; returns its value."""
    spec = FIELDS[name]
    label = FAMILIES[family].labels.get(name) or LABELS.get(name, name)
    hook = {"on_change": on_change, "args": args}
    if spec.choices:
        options = list(_choices(family, name))
        if st.session_state.get(key, value) not in options:
            st.session_state[key] = value if value in options else options[0]
        elif key not in st.session_state:
            st.session_state[key] = value
        shown = task_title if name == "task" else str
        return container.selectbox(
            label, options, key=key, help=choice_help(spec.choices), format_func=shown, **hook
        )
    if spec.kind is bool:
        st.session_state.setdefault(key, bool(value))
        return container.toggle(label, key=key, **hook)
    lo, hi = field_range(name)
    if spec.kind is int:
        lo_i, hi_i = int(lo), int(hi)
        cur = st.session_state.get(key, value)
        st.session_state[key] = int(min(max(int(cur), lo_i), hi_i))
        return container.number_input(
            label, min_value=lo_i, max_value=hi_i, step=1, key=key, **hook
        )
    cur = st.session_state.get(key, value)
    st.session_state[key] = float(min(max(float(cur), lo), hi))
    return container.number_input(
        label,
        min_value=float(lo),
        max_value=float(hi),
        step=FLOAT_STEPS.get(name, 0.1),
        format="%g",
        key=key,
        **hook,
    )


def preset_picker(family: str, exact: str | None) -> None:
    """Selectbox of the family's presets; choosing one replaces the draft.

    ``exact``: the preset the draft's settings are exactly (None: "custom"). A link or a sweep
    point with other settings never wears a preset's name, whatever the address says.
    """
    names = [*family_presets(family), CUSTOM]
    key = f"{family}_preset"
    st.session_state[key] = exact if exact in names else CUSTOM
    st.selectbox(
        "Preset",
        names,
        key=key,
        on_change=_on_preset,
        args=(family,),
        help="A ready-made comparison; edit it below. “custom”: settings that are no preset's "
        "(edited, or opened from a link or a sweep point).",
    )


def shared_settings(family: str, container=st) -> None:
    """Settings every variant shares (task, sizes, steps, seeds, log interval)."""
    d = st.session_state[draft_key(family)]
    if f"{family}_s_task" in st.session_state:
        d["shared"]["task"] = st.session_state[f"{family}_s_task"]
    for name in FAMILIES[family].shared_fields:
        if name == "arms" and d["shared"].get("task") != "spirals":
            continue
        d["shared"][name] = field_widget(
            family, name, f"{family}_s_{name}", d["shared"][name], container
        )


def editing_key(family: str) -> str:
    """Session key of the variant being edited: its stable ``_id``, never its name or place."""
    return f"{family}_editing"


def editor_open_key(family: str) -> str:
    return f"{family}_editor_open"


def _on_add(family: str) -> None:
    d = st.session_state[draft_key(family)]
    if len(d["variants"]) < MAX_VARIANTS:
        new = drafts.add_variant(d)
        st.session_state[editing_key(family)] = new["_id"]  # the new variant opens, selected
    st.session_state[editor_open_key(family)] = True


def _on_remove(family: str, vid: int) -> None:
    d = st.session_state[draft_key(family)]
    ids = [v["_id"] for v in d["variants"]]
    drafts.remove_variant(d, vid)
    left = [v["_id"] for v in d["variants"]]
    if vid not in left and left:  # select the neighbour that took its place
        st.session_state[editing_key(family)] = left[min(ids.index(vid), len(left) - 1)]
    st.session_state[editor_open_key(family)] = True


def _on_edit(family: str) -> None:
    st.session_state[editor_open_key(family)] = True  # an edit keeps the editor open


def _pull(family: str, v: dict[str, Any]) -> None:
    """Copy the variant's widget values (when Streamlit holds them) into the draft."""
    for name in ("name", *(f for f, _ in FAMILIES[family].variant_fields)):
        key = f"{family}_v{v['_id']}_{name}"
        if key in st.session_state:
            v[name] = st.session_state[key]


def variant_label(v: dict[str, Any]) -> str:
    """A variant as the picker shows it (Markdown there: plain text, shortened)."""
    return plain(v["name"], 28) or "(unnamed)"


def variant_editor(family: str) -> None:
    """Pick a variant (by its stable id), edit its name and fields, remove it; or add one.

    The picker's value is the variant's ``_id``, so renaming a variant (its label) or adding
    one never moves the selection: every edit lands on the variant the user is looking at.
    """
    d = st.session_state[draft_key(family)]
    for v in d["variants"]:  # fresh widget values first: labels and visible fields follow at once
        _pull(family, v)
    ids = [v["_id"] for v in d["variants"]]
    key = editing_key(family)
    if st.session_state.get(key) not in ids:
        st.session_state[key] = ids[0]
    labels = {v["_id"]: variant_label(v) for v in d["variants"]}
    vid = st.segmented_control(
        "Variant to edit",
        ids,
        format_func=labels.get,
        key=key,
        required=True,
        on_change=_on_edit,
        args=(family,),
    )
    v = next((x for x in d["variants"] if x["_id"] == vid), d["variants"][0])
    vid = v["_id"]
    top = st.columns([3, 1], vertical_alignment="bottom")
    key = f"{family}_v{vid}_name"
    st.session_state.setdefault(key, v["name"])
    v["name"] = top[0].text_input("Name", key=key, max_chars=60, on_change=_on_edit, args=(family,))
    top[1].button(
        "Remove",
        key=f"{family}_v{vid}_remove",
        on_click=_on_remove,
        args=(family, vid),
        disabled=len(d["variants"]) <= 1,
        width="stretch",
    )
    fields = drafts.visible_fields(family, v)
    cols = st.columns(4)
    for i, name in enumerate(fields):
        v[name] = field_widget(
            family,
            name,
            f"{family}_v{vid}_{name}",
            v[name],
            cols[i % 4],
            on_change=_on_edit,
            args=(family,),
        )
    st.button(
        "Add variant",
        key=f"{family}_add",
        on_click=_on_add,
        args=(family,),
        disabled=len(d["variants"]) >= MAX_VARIANTS,
        help="Copies the last variant and opens it; then change what you want to compare.",
    )

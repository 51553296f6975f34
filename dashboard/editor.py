"""Widgets that edit a draft comparison: preset picker, shared settings, variant editor.

Every widget has a stable key ``{family}_...``: the draft in session state is the source of
truth, and a widget's state is seeded from it whenever Streamlit has forgotten the widget.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard import draft as drafts
from dashboard.limits import MAX_VARIANTS, field_range
from dashboard.plain import plain
from models import DATA_FIELDS, FIELDS, MLP_TASKS, PRESETS, RNN_TASKS, load_preset, task_title

LABELS = {
    "task": "Task", "depth": "Depth (hidden layers)", "width": "Width (units per layer)",
    "arms": "Spiral arms", "batch_size": "Batch size", "steps": "Training steps",
    "seeds": "Seeds", "log_every": "Log every (steps)", "seq_len": "Sequence length T",
    "hidden": "Hidden units", "activation": "Activation", "init": "Weight init",
    "init_gain": "Init gain (σ_w)", "bias_std": "Bias std (σ_b)", "residual": "Residual",
    "norm": "Normalisation", "optimizer": "Optimizer", "lr": "Learning rate",
    "momentum": "Momentum", "clip_norm": "Clip norm (0 = off)",
    "clip_value": "Clip value (0 = off)", "cell": "Cell", "recurrent_init": "Recurrent init",
    "spectral_radius": "Spectral radius", "forget_bias": "Forget-gate bias (init)",
}  # fmt: skip
FLOAT_STEPS = {"init_gain": 0.1, "bias_std": 0.05, "lr": 0.001, "momentum": 0.05,
               "clip_norm": 0.5, "clip_value": 0.05, "spectral_radius": 0.1, "forget_bias": 0.5}  # fmt: skip


def family_presets(family: str) -> list[str]:
    """Preset names of one family, in the order PRESETS lists them."""
    return [n for n, p in PRESETS.items() if p.get("family", "mlp") == family]


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
    load_into_state(family, load_preset(name), name)


def _choices(family: str, name: str, variant: dict[str, Any] | None = None) -> tuple[str, ...]:
    if name == "task":
        return MLP_TASKS if family == "mlp" else RNN_TASKS
    if name == "activation" and family == "rnn":
        return drafts.RNN_CELL_ACTIVATIONS
    return FIELDS[name].choices or ()


def field_widget(family: str, name: str, key: str, value: Any, container=st) -> Any:
    """One widget for one config field, ranged by the engine's schema; returns its value."""
    spec = FIELDS[name]
    label = LABELS.get(name, name)
    if spec.choices:
        options = list(_choices(family, name))
        if st.session_state.get(key, value) not in options:
            st.session_state[key] = value if value in options else options[0]
        elif key not in st.session_state:
            st.session_state[key] = value
        shown = task_title if name == "task" else str
        return container.selectbox(label, options, key=key, format_func=shown)
    if spec.kind is bool:
        st.session_state.setdefault(key, bool(value))
        return container.toggle(label, key=key)
    lo, hi = field_range(name)
    if spec.kind is int:
        lo_i, hi_i = int(lo), int(hi)
        cur = st.session_state.get(key, value)
        st.session_state[key] = int(min(max(int(cur), lo_i), hi_i))
        return container.number_input(label, min_value=lo_i, max_value=hi_i, step=1, key=key)
    cur = st.session_state.get(key, value)
    st.session_state[key] = float(min(max(float(cur), lo), hi))
    return container.number_input(
        label,
        min_value=float(lo),
        max_value=float(hi),
        step=FLOAT_STEPS.get(name, 0.1),
        format="%g",
        key=key,
    )


def preset_picker(family: str) -> None:
    """Selectbox of the family's presets; choosing one replaces the draft."""
    names = family_presets(family)
    key = f"{family}_preset"
    if st.session_state.get(key) not in names:
        st.session_state[key] = st.session_state[draft_key(family)].get("preset", names[0])
        if st.session_state[key] not in names:
            st.session_state[key] = names[0]
    st.selectbox(
        "Preset",
        names,
        key=key,
        on_change=_on_preset,
        args=(family,),
        help="A ready-made comparison; edit it below.",
    )


def shared_settings(family: str, container=st) -> None:
    """Settings every variant shares (task, sizes, steps, seeds, log interval)."""
    d = st.session_state[draft_key(family)]
    if f"{family}_s_task" in st.session_state:
        d["shared"]["task"] = st.session_state[f"{family}_s_task"]
    for name in drafts.SHARED[family]:
        if name == "arms" and d["shared"].get("task") != "spirals":
            continue
        if name in DATA_FIELDS:  # the "Your CSV" panel sets them (dashboard/csv_panel)
            continue
        d["shared"][name] = field_widget(family, name, f"{family}_s_{name}",
                                         d["shared"][name], container)  # fmt: skip


def _on_add(family: str) -> None:
    d = st.session_state[draft_key(family)]
    if len(d["variants"]) < MAX_VARIANTS:
        drafts.add_variant(d)


def _on_remove(family: str, vid: int) -> None:
    drafts.remove_variant(st.session_state[draft_key(family)], vid)


def variant_editor(family: str) -> None:
    """A tab per variant: rename, edit its fields, remove; plus a button to add one."""
    d = st.session_state[draft_key(family)]
    tabs = st.tabs([plain(v["name"], 28) or "(unnamed)" for v in d["variants"]])
    for tab, v in zip(tabs, d["variants"]):
        vid = v["_id"]
        for name, _ in drafts.VARIANT_FIELDS[family]:  # pull fresh widget values first, so
            key = f"{family}_v{vid}_{name}"  # fields that depend on others appear at once
            if key in st.session_state:
                v[name] = st.session_state[key]
        with tab:
            top = st.columns([3, 1])
            key = f"{family}_v{vid}_name"
            st.session_state.setdefault(key, v["name"])
            v["name"] = top[0].text_input("Name", key=key, max_chars=60)
            top[1].button("Remove", key=f"{family}_v{vid}_remove", on_click=_on_remove,
                          args=(family, vid), disabled=len(d["variants"]) <= 1,
                          width="stretch")  # fmt: skip
            fields = drafts.visible_fields(family, v)
            cols = st.columns(4)
            for i, name in enumerate(fields):
                v[name] = field_widget(family, name, f"{family}_v{vid}_{name}", v[name],
                                       cols[i % 4])  # fmt: skip
    st.button(
        "Add variant",
        key=f"{family}_add",
        on_click=_on_add,
        args=(family,),
        disabled=len(d["variants"]) >= MAX_VARIANTS,
        help="Copies the last variant; then change what you want to compare.",
    )

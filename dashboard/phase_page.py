"""The Phase diagrams page: a sweep over one or two config fields, trained live, drawn as
heatmaps (one per variant) with the theory's lines on top, saved beside the runs."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import editor, training, visitor
from dashboard import phase_grid as grid
from dashboard.charts.phase import (
    OUTCOMES,
    Panel,
    axis_title,
    cell_grid,
    phase_figure,
    position,
    tick_text,
)
from dashboard.plain import clean, file_name, plain
from dashboard.query_codec import _pack, _unpack
from dashboard.results_view import CHART_CONFIG
from dashboard.url_state import page_of
from models import (
    DEFAULT_FAMILY,
    DEFAULT_SWEEP_PRESET,
    FAMILIES,
    SWEEP_PRESETS,
    ConfigError,
    RunConfig,
    StoreError,
    SweepResult,
    SweepSpec,
    SweepStore,
    mean_field_applies,
    mean_field_overlay,
    pascanu_applies,
    pascanu_length,
    run_sweep,
    sweep_preset_dict,
)
from models import default_store_path as default_path

P = "phase"  # session-state prefix
W = "phase_w_"  # widget keys: cleared when a preset is loaded
CUSTOM = "(custom)"
REDRAW_S = 0.8
INTRO = (
    "A comparison answers *which of these variants trains?*; a sweep answers *where is the "
    "boundary?* Every cell below is one grid point, trained with every variant and seed. Press "
    "**Train**: cells fill in as their points finish. Where the theory has something to say "
    "(tanh-like MLPs with normal init over σ_w² × depth; vanilla RNNs over T) its lines are drawn "
    "on top."
)


@st.cache_resource(show_spinner=False)
def sweep_store(path: str) -> SweepStore:
    try:
        return SweepStore(path)
    except StoreError:
        return SweepStore(":memory:")


def get_sweep_store() -> SweepStore:
    return sweep_store(default_path())


# --- the sweep being edited -----------------------------------------------------------------


def _load(d: dict[str, Any], preset: str) -> None:
    for k in [k for k in st.session_state if str(k).startswith(W)]:
        del st.session_state[k]
    st.session_state[f"{P}_sweep"] = d
    st.session_state[f"{P}_preset"] = preset


def _on_preset() -> None:
    name = st.session_state[f"{P}_preset_pick"]
    if name in SWEEP_PRESETS:
        _load(sweep_preset_dict(name), name)


def _initial() -> None:
    """First visit: the sweep from the address (?sweep=NAME or ?sweepcfg=...), else the default."""
    if f"{P}_sweep" in st.session_state:
        return
    notices = []
    params = {str(k): v for k, v in st.query_params.to_dict().items()}
    d, preset = None, DEFAULT_SWEEP_PRESET
    if params.get("sweepcfg"):
        try:
            d = _unpack(params["sweepcfg"])
            grid.build(d)
            preset = CUSTOM
        except Exception as e:  # noqa: BLE001 - anything malformed becomes one notice
            notices.append(f"sweepcfg: {e if isinstance(e, ConfigError) else 'malformed'}")
            d = None
    if d is None and params.get("sweep"):
        if params["sweep"] in SWEEP_PRESETS:
            preset = params["sweep"]
        else:
            notices.append(f"sweep: no sweep preset named {clean(params['sweep'], 40)!r}")
    if d is None:
        d = sweep_preset_dict(preset)
    _load(d, preset)
    st.session_state[f"{P}_notices"] = notices


def _family(d: dict[str, Any]) -> str:
    family = d.get("family")
    return family if isinstance(family, str) and family in FAMILIES else DEFAULT_FAMILY


def _axis_editor(i: int, d: dict[str, Any], family: str, taken: str | None) -> tuple[str, list]:
    """Field and values of axis ``i`` (0 or 1); ('', []) when axis 2 is off."""
    axes = list(d.get("grid", {}))
    options = [f for f in grid.axis_fields(family) if f != taken]
    if i == 1:
        options = ["(none)"] + options
    current = axes[i] if i < len(axes) else ("(none)" if i == 1 else options[0])
    key = f"{W}axis{i}"
    if st.session_state.get(key) not in options:
        st.session_state[key] = current if current in options else options[0]
    name = st.selectbox(
        f"Axis {i + 1}" + (" (rows)" if i == 1 else " (columns)"), options, key=key,
        format_func=lambda f: editor.LABELS.get(f, f),
    )  # fmt: skip
    if name == "(none)":
        return "", []
    old = d.get("grid", {}).get(name)
    if grid.is_categorical(name):
        choices = grid.categorical_options(family, name)
        default = [v for v in (old or choices[:2]) if v in choices]
        vkey = f"{W}vals{i}_{name}"
        st.session_state.setdefault(vkey, default)
        return name, list(st.multiselect("Values", choices, key=vkey))
    if old is None:
        base = d.get(name, getattr(RunConfig(), name))
        old = [base]
    vkey = f"{W}text{i}_{name}"
    st.session_state.setdefault(vkey, grid.format_values(old))
    text = st.text_input(
        "Values", key=vkey,
        help="A list (1, 2, 4) or a range start:stop:count, e.g. 0.5:2:7 (add ' log' for "
        "geometric spacing)",
    )  # fmt: skip
    try:
        return name, grid.parse_values(name, text)
    except ConfigError as e:
        st.session_state[f"{P}_grid_error"] = str(e)
        return name, []


def _editor(d: dict[str, Any]) -> dict[str, Any]:
    """Sidebar widgets; returns the sweep dict they describe."""
    family = _family(d)
    st.session_state.pop(f"{P}_grid_error", None)
    st.subheader("Grid")
    a0, v0 = _axis_editor(0, d, family, None)
    a1, v1 = _axis_editor(1, d, family, a0)
    new_grid = {a0: v0}
    if a1:
        new_grid[a1] = v1
    st.subheader("Settings")
    out = {k: v for k, v in d.items() if k not in ("grid",)}
    names = [v.get("name") for v in d.get("variants", [])]
    if len(names) > 1:
        chosen = st.multiselect("Variants", names, default=names, key=f"{W}variants")
        out["variants"] = [v for v in d["variants"] if v.get("name") in chosen] or d["variants"][:1]
    fields = FAMILIES[family].editable_fields
    in_variants = {k for v in out.get("variants", []) for k in v}
    for name in dict.fromkeys(fields):
        if name in new_grid or name in in_variants or name == "name":
            continue
        value = d.get(name, getattr(RunConfig(family=family), name))
        out[name] = editor.field_widget(family, name, f"{W}{name}", value)
    out["grid"] = new_grid
    return out


# --- training -------------------------------------------------------------------------------


def _running_key() -> str:
    return f"{P}_running"


def _recover() -> None:
    """A sweep cut short by a rerun (Stop, any widget): its finished points become the result."""
    run = st.session_state.pop(_running_key(), None)
    if run and run.get("rows"):
        _save(run["spec"], run["rows"], "stopped", run.get("preset"))
        st.session_state[f"{P}_result"] = {
            "spec": run["spec"], "rows": run["rows"], "stopped": True,
        }  # fmt: skip


def _save(spec: SweepSpec, rows: list[dict[str, Any]], status: str, preset: str | None) -> None:
    try:
        get_sweep_store().save(spec.to_json_dict(), rows, status, preset, owner=visitor.owner())
    except Exception as e:  # noqa: BLE001 - saving must never break the page
        st.warning(f"This sweep could not be saved: {plain(visitor.hide_paths(e), 200)}",
                   icon=":material/save:")  # fmt: skip


def _eta(s: float) -> str:
    if not math.isfinite(s):
        return "estimating…"
    return f"{s:.0f} s left" if s < 90 else f"{s / 60:.1f} min left"


def _train(spec: SweepSpec, preset: str | None) -> None:
    run = {"spec": spec, "rows": [], "preset": preset}
    st.session_state[_running_key()] = run
    bar = st.progress(0.0, text="Building the models…")
    holder = st.empty()
    state = {"last": -math.inf, "n": 0}

    def callback(p) -> None:
        run["rows"] = p.rows
        bar.progress(
            min(1.0, p.fraction),
            text=f"Training: {p.done_points} of {p.total_points} grid points × variants done · "
            + _eta(p.eta_s),
        )
        now = time.perf_counter()
        if now - state["last"] < REDRAW_S:
            return
        state["last"], state["n"] = now, state["n"] + 1
        fig, _ = figure(spec, p.rows, _outcome_name(spec))
        holder.plotly_chart(fig, config=CHART_CONFIG, key=f"{P}_live_{state['n']}")

    with training._train_slot(bar):
        result = run_sweep(spec, callback=callback)
    st.session_state.pop(_running_key(), None)
    bar.empty()
    holder.empty()
    _save(spec, result.rows, "stopped" if result.stopped else "finished", preset)
    st.session_state[f"{P}_result"] = {"spec": spec, "rows": result.rows, "stopped": False}


# --- drawing --------------------------------------------------------------------------------


def _outcome_name(spec: SweepSpec) -> str:
    key = f"{P}_outcome"
    if key in st.session_state and st.session_state[key] in OUTCOMES:
        return st.session_state[key]
    first = spec.comparisons[0].variants[0]
    regression = first.task == "adding"
    return "final validation loss" if regression else "final validation accuracy"


def _squared(spec: SweepSpec) -> bool:
    return "init_gain" in spec.axes and all(
        v.init == "normal" for c in spec.comparisons for v in c.variants
    )


def figure(spec: SweepSpec, rows: list[dict[str, Any]], outcome_name: str):
    """The phase diagram of ``rows`` so far, and notes on the theory drawn (or not)."""
    outcome = OUTCOMES[outcome_name]
    frame = pd.DataFrame(rows)
    for col in spec.axes + ["variant", "error", "diverged_step", "steps_to_target"]:
        if col not in frame:
            frame[col] = None
    axes = list(spec.axes)
    if len(axes) == 2 and axes[0] == "depth" and axes[1] == "init_gain":
        axes = axes[::-1]  # σ_w² across, depth up: the papers' orientation
    squared = _squared(spec)
    x_axis, x_vals = axes[0], spec.grid[axes[0]]
    notes: list[str] = []
    variants = spec.comparisons[0].variants
    panels = []
    if len(axes) == 1:
        names = [v.name for v in variants]
        z, text = cell_grid(frame, x_axis, x_vals, None, names, outcome)
        lines = []
        for k, v in enumerate(variants):
            if pascanu_applies(v, axes):
                factor, T = pascanu_length(v)
                if math.isfinite(T):
                    xs = position(x_vals, np.array([T, T]))
                    lines.append((f"Pascanu bound (λ₁γ)^T = 1% ({v.name})", xs,
                                  np.array([k - 0.5, k + 0.5]), "dash"))  # fmt: skip
                    notes.append(
                        f"{v.name}: λ₁γ = {factor:.2f} < 1 at initialisation, so the gradient "
                        f"across T steps is at most {factor:.2f}^T: under 1% beyond T ≈ {T:.0f} "
                        "(dashed line; Pascanu et al. 2013)."
                    )
                else:
                    notes.append(
                        f"{v.name}: λ₁γ = {factor:.2f} ≥ 1 at initialisation (λ₁ = largest "
                        "singular value of W_hh, γ = max|φ'|): Pascanu's vanishing bound does "
                        "not apply, so no line is drawn; whatever limits T here is measured, "
                        "not bounded."
                    )
        panels.append(Panel("all variants", z, text, lines))
        y_ticks, y_title = [clean(n, 24) for n in names], "variant"
    else:
        y_axis, y_vals = axes[1], spec.grid[axes[1]]
        for v in variants:
            z, text = cell_grid(frame[frame["variant"] == v.name], x_axis, x_vals, y_axis,
                                y_vals, outcome)  # fmt: skip
            lines = []
            if mean_field_applies(v, axes):
                gains = [float(g) for g in x_vals]
                o = mean_field_overlay(v.activation, v.bias_std, min(gains), max(gains))
                xs = position(gains, np.sqrt(o.sigma_w2))
                depth = np.where(np.isfinite(o.depth_limit), o.depth_limit, 1e9)
                ys = position([float(d) for d in y_vals], np.minimum(depth, max(y_vals)))
                ys = np.where(depth > max(y_vals), len(y_vals) - 0.5, ys)
                lines.append(("6 ξ_c (trainable depth)", xs, ys, "solid"))
                if math.isfinite(o.critical_sigma_w2):
                    cx = position(gains, np.array([math.sqrt(o.critical_sigma_w2)] * 2))
                    lines.append(("χ₁ = 1 (edge of chaos)", cx,
                                  np.array([-0.5, len(y_vals) - 0.5]), "dash"))  # fmt: skip
                    notes.append(
                        f"{v.name}: edge of chaos at σ_w² = {o.critical_sigma_w2:.2f} "
                        f"(σ_b² = {v.bias_std**2:.3g}); theory: trainable while depth ≲ 6 ξ_c "
                        "(Schoenholz et al. 2017)."
                    )
            panels.append(Panel(v.name, z, text, lines))
        y_ticks, y_title = tick_text(y_vals, squared and y_axis == "init_gain"), axis_title(y_axis)
    title = spec.title or "Sweep"
    fig = phase_figure(
        panels, tick_text(x_vals, squared and x_axis == "init_gain"), y_ticks,
        axis_title(x_axis, squared), y_title, outcome, title,
    )  # fmt: skip
    return fig, notes


def _point_label(spec: SweepSpec, i: int) -> str:
    p = spec.points[i]
    return ", ".join(f"{a} = {clean(v, 20)}" for a, v in zip(spec.axes, p.values))


def _open_point(spec: SweepSpec, i: int) -> None:
    """Load a grid point's comparison into its training page and go there."""
    comp = spec.point_comparison(i)
    comp.title = clean(f"{spec.title or 'Sweep'} · {_point_label(spec, i)}", 200)
    family = comp.variants[0].family
    editor.load_into_state(family, comp, "")
    st.session_state[f"{family}_loaded"] = True
    st.session_state.pop(training.result_key(family), None)
    st.query_params.clear()
    st.switch_page(page_of(family))


def _results(spec: SweepSpec, shown: dict[str, Any]) -> None:
    rows = shown["rows"]
    if shown.get("stopped"):
        st.warning(
            f"The sweep was stopped: {len(rows)} finished rows are shown.",
            icon=":material/stop_circle:",
        )
    names = list(OUTCOMES)
    key = f"{P}_outcome"
    if st.session_state.get(key) not in names:
        st.session_state[key] = _outcome_name(spec)
    st.selectbox("Colour the cells by", names, key=key)
    fig, notes = figure(spec, rows, st.session_state[key])
    event = st.plotly_chart(
        fig, config=CHART_CONFIG, key=f"{P}_chart", on_select="rerun", selection_mode="points"
    )
    for n in notes:
        st.caption(plain(n, 400))
    st.caption(
        "Each cell is the mean over seeds; hover for every seed's value. Grey cells have not "
        "trained yet (or failed). Gradient ratio = ‖∇W₁‖/‖∇W_L‖, first layer over readout: "
        "far below 1 means the gradient vanished on its way down."
    )
    clicked = _clicked_point(spec, event)
    labels = {i: _point_label(spec, i) for i in range(len(spec.points))}
    pick_key = f"{P}_point"
    if clicked is not None:
        st.session_state[pick_key] = clicked
    if st.session_state.get(pick_key) not in labels:
        st.session_state[pick_key] = 0
    c1, c2 = st.columns([3, 1])
    c1.selectbox("Open a grid point as a comparison", list(labels), format_func=labels.get,
                 key=pick_key, help="Click a cell or pick it here")  # fmt: skip
    c2.write("")
    if c2.button("Open on the training page", key=f"{P}_open", width="stretch"):
        _open_point(spec, st.session_state[pick_key])
    res = SweepResult(spec, rows)
    d1, d2 = st.columns(2)
    base = file_name(spec.title or "sweep", fallback="sweep")
    d1.download_button("sweep.csv", res.frame().to_csv(index=False).encode(), f"{base}.csv",
                       "text/csv", key=f"{P}_csv", width="stretch")  # fmt: skip
    d2.download_button(
        "sweep.json", json.dumps(spec.to_json_dict(), indent=2, ensure_ascii=False).encode(),
        f"{base}.json", "application/json", key=f"{P}_json", width="stretch",
        help="Reproduce with: python -m models sweep --config sweep.json --out DIR",
    )  # fmt: skip


def _clicked_point(spec: SweepSpec, event) -> int | None:
    """The grid point of a clicked cell (None when nothing usable was clicked)."""
    try:
        pts = event.selection.points  # type: ignore[union-attr]
    except AttributeError:
        return None
    if not pts or len(spec.axes) != 2:
        return None
    try:
        x, y = int(round(pts[0]["x"])), int(round(pts[0]["y"]))
    except (KeyError, TypeError, ValueError):
        return None
    axes = list(spec.axes)
    flip = axes[0] == "depth" and axes[1] == "init_gain"
    xa, ya = (axes[1], axes[0]) if flip else (axes[0], axes[1])
    try:
        values = {xa: spec.grid[xa][x], ya: spec.grid[ya][y]}
        return spec.point_for(values).index
    except (IndexError, ConfigError):
        return None


# --- the page -------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=8)
def _preset_json(name: str) -> dict[str, Any]:
    return grid.build(sweep_preset_dict(name)).to_json_dict()


def _write_url(spec: SweepSpec, preset: str) -> None:
    """?sweep=NAME for an unchanged preset, else ?sweepcfg=<the resolved sweep, packed>."""
    if preset in SWEEP_PRESETS:
        wanted = {"sweep": preset}
    else:
        wanted = {"sweepcfg": _pack(spec.to_json_dict())}
    current = {str(k): v for k, v in st.query_params.to_dict().items()}
    if current != wanted:
        st.query_params.from_dict(wanted)


def phase_page() -> None:
    """Sidebar: preset, Train/Stop, grid and settings; main: the live phase diagram."""
    _recover()
    opened = st.session_state.pop(f"{P}_open_id", None)
    if opened is not None:
        _reopen(opened)
    _initial()
    st.title("Phase diagrams: which settings train at all?")
    st.markdown(INTRO)
    notices = st.session_state.pop(f"{P}_notices", [])
    if notices:
        st.warning("Ignored from the address:\n" + "\n".join(f"- {plain(n, 160)}" for n in notices))
    d = st.session_state[f"{P}_sweep"]
    with st.sidebar:
        options = list(SWEEP_PRESETS) + [CUSTOM]
        preset = st.session_state.get(f"{P}_preset", DEFAULT_SWEEP_PRESET)
        st.session_state[f"{P}_preset_pick"] = preset if preset in options else CUSTOM
        st.selectbox("Sweep preset", options, key=f"{P}_preset_pick", on_change=_on_preset)
        if preset in SWEEP_PRESETS:
            st.caption(SWEEP_PRESETS[preset]["title"])
        b1, b2 = st.columns(2)
        train_clicked = b1.button("Train", key=f"{P}_train", type="primary", width="stretch")
        b2.button("Stop", key=f"{P}_stop", width="stretch",
                  help="Stops the sweep and keeps the grid points already finished.")  # fmt: skip
        edited = _editor(d)
    spec, problem = None, st.session_state.get(f"{P}_grid_error")
    if problem is None:
        try:
            spec = grid.build(edited)
            problem = grid.check_caps(spec)
        except ConfigError as e:
            problem = str(e)
    if problem:
        st.error(f"This sweep cannot run: {plain(problem, 400)}", icon=":material/block:")
        return
    if edited != d:
        st.session_state[f"{P}_sweep"] = edited
    if preset in SWEEP_PRESETS and spec.to_json_dict() != _preset_json(preset):
        preset = CUSTOM  # edited away from the preset
        st.session_state[f"{P}_preset"] = preset
    _write_url(spec, preset)
    n_pts, n_var = len(spec.points), len(spec.variant_names)
    st.sidebar.caption(
        f"{n_pts} grid points × {n_var} variant{'s' if n_var > 1 else ''} × seeds = "
        f"{spec.n_runs} runs"
    )
    if train_clicked:
        _train(spec, preset if preset in SWEEP_PRESETS else None)
    shown = st.session_state.get(f"{P}_result")
    if shown is None or shown["spec"].to_json_dict() != spec.to_json_dict():
        if shown is not None:
            st.info("The settings changed since the last sweep: press **Train** to run them.",
                    icon=":material/info:")  # fmt: skip
        fig, notes = figure(spec, [], _outcome_name(spec))
        # the theory draws lines (scatter traces); the cells are heatmaps
        lines = any(t.type == "scatter" for t in fig.data)
        below = "the grid, with the theory's lines" if lines else "the grid to fill"
        st.info(f"Press **Train** in the sidebar. Below: {below}.", icon=":material/arrow_back:")
        st.plotly_chart(fig, config=CHART_CONFIG, key=f"{P}_empty")
        for n in notes:
            st.caption(plain(n, 400))
        return
    _results(spec, shown)


def _reopen(sweep_id: int) -> None:
    """Show a stored sweep (from the Runs page)."""
    try:
        spec_json, rows, status = get_sweep_store().load(sweep_id)
        spec = grid.build(spec_json)
    except (KeyError, StoreError, ConfigError) as e:
        st.error(f"Sweep #{sweep_id} cannot be opened: {plain(e, 200)}", icon=":material/error:")
        return
    for r in rows:
        r["point"] = spec.point_for({a: r[a] for a in spec.axes}).index
    _load(spec_json, CUSTOM)
    st.session_state[f"{P}_result"] = {"spec": spec, "rows": rows, "stopped": status == "stopped"}

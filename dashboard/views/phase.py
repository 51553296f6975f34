"""The Phase diagrams page: a sweep over one or two config fields, trained live, drawn as
heatmaps (one per variant) with the theory's lines on top, saved beside the runs."""

from __future__ import annotations

import json
import math
import time
from typing import Any

import streamlit as st

from dashboard.charts.phase import (
    CLICK_LAYER,
    OUTCOMES,
)
from dashboard.charts.phase_diagram import figure
from dashboard.live import training
from dashboard.plain import clean, file_name, plain
from dashboard.state import phase_grid as grid
from dashboard.state import visitor
from dashboard.state.query_codec import pack, unpack
from dashboard.state.url_state import page_of
from dashboard.storage import runs_store
from dashboard.storage.runs_store import get_sweep_store
from dashboard.widgets import editor
from dashboard.widgets.results_view import CHART_CONFIG
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
    run_sweep,
    safe_csv,
    sweep_preset_dict,
)

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
            d = unpack(params["sweepcfg"])
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
        f"Axis {i + 1}" + (" (rows)" if i == 1 else " (columns)"),
        options,
        key=key,
        format_func=lambda f: editor.LABELS.get(f, f),
    )
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
        "Values",
        key=vkey,
        help="A list (1, 2, 4) or a range start:stop:count, e.g. 0.5:2:7 (add ' log' for "
        "geometric spacing)",
    )
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
            "spec": run["spec"],
            "rows": run["rows"],
            "stopped": True,
        }


def _save(spec: SweepSpec, rows: list[dict[str, Any]], status: str, preset: str | None) -> None:
    """Keep the sweep; a database that is away gets it when it is back (runs_store.Pending)."""
    store, spec_json, owner = get_sweep_store(), spec.to_json_dict(), visitor.owner()
    runs_store.keep_trying(lambda: store.save(spec_json, rows, status, preset, owner=owner))


def progress_text(p, n_variants: int) -> str:
    """The bar's line: the share of the work it shows, and the grid points finished.

    The share is weighted by each stack's cost and grid points train side by side in stacks,
    so 20% of the work can be done before the first point finishes: the line says both, in
    words that do not contradict the bar.
    """
    what = "grid points × variants" if n_variants > 1 else "grid points"
    return (
        f"Training: {min(100.0, 100 * p.fraction):.0f}% of the work · {p.done_points} of "
        f"{p.total_points} {what} finished (they train side by side and finish in batches) · "
        + training.time_left(p.eta_s)
    )


def seeds_line(spec: SweepSpec) -> str:
    """'45 grid points × 1 variant × 2 seeds = 90 runs' for the sidebar."""
    n_pts, n_var = len(spec.points), len(spec.variant_names)
    seeds = sorted({v.seeds for c in spec.comparisons for v in c.variants})
    s = str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]}–{seeds[-1]}"
    return (
        f"{n_pts} grid points × {n_var} variant{'s' if n_var > 1 else ''} × {s} "
        f"seed{'s' if seeds != [1] else ''} = {spec.n_runs} runs"
    )


def _train(spec: SweepSpec, preset: str | None) -> None:
    run = {"spec": spec, "rows": [], "preset": preset}
    st.session_state[_running_key()] = run
    bar = st.progress(0.0, text="Building the models…")
    holder = st.empty()
    state = {"last": -math.inf, "n": 0}

    def callback(p) -> None:
        run["rows"] = p.rows
        bar.progress(min(1.0, p.fraction), text=progress_text(p, len(spec.variant_names)))
        now = time.perf_counter()
        if now - state["last"] < REDRAW_S:
            return
        state["last"], state["n"] = now, state["n"] + 1
        fig, _ = figure(spec, p.rows, _outcome_name(spec))
        holder.plotly_chart(fig, config=CHART_CONFIG, key=f"{P}_live_{state['n']}")

    with training.train_slot(bar):
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
        st.caption(plain(n, 900))
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
    c1.selectbox(
        "Open a grid point as a comparison",
        list(labels),
        format_func=labels.get,
        key=pick_key,
        help="Click a cell or pick it here",
    )
    c2.write("")
    if c2.button("Open on the training page", key=f"{P}_open", width="stretch"):
        _open_point(spec, st.session_state[pick_key])
    res = SweepResult(spec, rows)
    d1, d2 = st.columns(2)
    base = file_name(spec.title or "sweep", fallback="sweep")
    d1.download_button(
        "sweep.csv",
        safe_csv(res.frame()).encode(),
        f"{base}.csv",
        "text/csv",
        key=f"{P}_csv",
        width="stretch",
    )
    d2.download_button(
        "sweep.json",
        json.dumps(spec.to_json_dict(), indent=2, ensure_ascii=False).encode(),
        f"{base}.json",
        "application/json",
        key=f"{P}_json",
        width="stretch",
        help="Reproduce with: python -m models sweep --config sweep.json --out DIR",
    )


def _clicked_point(spec: SweepSpec, event) -> int | None:
    """The grid point of a clicked cell (None when nothing usable was clicked)."""
    try:
        pts = event.selection.points  # type: ignore[union-attr]
    except AttributeError:
        return None
    if not pts or len(spec.axes) != 2:
        return None
    # the click layer's points sit on cell centres (whole numbers); a theory line's do not
    cells = []
    for pt in pts:
        try:
            fx, fy = float(pt["x"]), float(pt["y"])
        except (KeyError, TypeError, ValueError):
            continue
        if fx.is_integer() and fy.is_integer():
            cells.append((int(fx), int(fy)))
    if not cells:
        return None
    x, y = cells[0]
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
        wanted = {"sweepcfg": pack(spec.to_json_dict())}
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
        b2.button(
            "Stop",
            key=f"{P}_stop",
            width="stretch",
            help="Stops the sweep and keeps the grid points already finished.",
        )
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
    st.sidebar.caption(seeds_line(spec))
    if train_clicked:
        _train(spec, preset if preset in SWEEP_PRESETS else None)
    shown = st.session_state.get(f"{P}_result")
    if shown is None or shown["spec"].to_json_dict() != spec.to_json_dict():
        if shown is not None:
            st.info(
                "The settings changed since the last sweep: press **Train** to run them.",
                icon=":material/info:",
            )
        fig, notes = figure(spec, [], _outcome_name(spec))
        # the theory draws lines (scatter traces); the cells are heatmaps
        lines = any(t.type == "scatter" and t.name != CLICK_LAYER for t in fig.data)
        below = "the grid, with the theory's lines" if lines else "the grid to fill"
        st.info(f"Press **Train** in the sidebar. Below: {below}.", icon=":material/arrow_back:")
        st.plotly_chart(fig, config=CHART_CONFIG, key=f"{P}_empty")
        for n in notes:
            st.caption(plain(n, 900))
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


if __name__ == "__main__":  # run as the page script (st.Page in app.py)
    phase_page()

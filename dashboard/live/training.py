"""Train a comparison live: progress bar, throttled chart redraws, partial results kept on stop.

Streamlit reruns the script when a widget is touched mid-run, raising inside our callback; the
callback therefore saves the run so far to session state on every call, and the next script
run promotes it to the shown result (marked stopped) instead of throwing it away.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import threading
import time

import streamlit as st

from dashboard.charts import curves
from dashboard.live import memory
from dashboard.state import visitor
from dashboard.state.query_codec import config_key, matching_preset
from dashboard.storage import runs_store
from dashboard.storage.cache import RESULTS
from dashboard.widgets.result_charts import gradient_profile
from dashboard.widgets.results_view import CHART_CONFIG, chart_frame, colors_of
from models import FAMILIES, Comparison, RunResult, env_int, run_comparison, slice_steps

REDRAW_S = 0.4  # at most ~2.5 redraws a second: browsers and the websocket keep up
# ... and never more than a quarter of the time: the next redraw waits 3x the last one's cost
# (a redraw holds the GIL for its pandas and plotly work, which the workers' Python needs too)
REDRAW_SHARE = 0.25
# ... and none in a run's first 1.5 s: step 0 is drawn at once, and a run this short (deep-mlp,
# ~1.3 s on 2 cores) ends before a redraw would tell the user anything. Each redraw makes the
# browser build two new Plotly charts (~0.15 s of its CPU each), on the same two cores the
# training threads need (profiled: Plotly, with the layout work it forces, was about half of
# the browser's busy CPU in a Train click).
REDRAW_FIRST_S = 1.5


# Runs train one at a time per server (GFL_CONCURRENT_RUNS overrides): on a shared 2-core host
# a second user's run waits its turn instead of halving everyone's speed and doubling memory.
_SLOTS = threading.BoundedSemaphore(env_int("GFL_CONCURRENT_RUNS") or 1)


@contextlib.contextmanager
def train_slot(bar, key: str | None = None):
    """Hold a training slot; while waiting, say so (a Stop click still interrupts the wait).

    With ``key`` (a config key), yields the cached result of those settings when one is there
    by the time the run would start (another visitor trained the same settings while this one
    waited): the run then does not train again, and no slot is held. Else yields None.
    """
    while not _SLOTS.acquire(timeout=0.5):
        hit = RESULTS.get(key) if key else None
        if hit is not None:  # done while we waited, even if the slot went to another run
            yield hit
            return
        bar.progress(
            0.0,
            text="Queued: another run is training on this server… yours starts when it ends "
            "(Stop or changing a setting cancels the wait)",
        )
    try:
        yield RESULTS.get(key) if key else None
    finally:
        _SLOTS.release()


def variant_step(done_steps: int, comparison: Comparison) -> tuple[int, int]:
    """(step k, of N): ``done_steps`` (summed over variants, step 0 included) per variant.

    The runner advances every variant one step in turn, so the sum divided by the number of
    variants is the step the charts are at: the unit of the progress bar and the Runs page.
    """
    n = len(comparison.variants)
    last = max(v.steps for v in comparison.variants)
    return min(last, max(0, done_steps // max(1, n) - 1)), last


def progress_text(
    done_steps: int, comparison: Comparison, eta_s: float, chart_step: int | None = None
) -> str:
    """'Training: step k / N · charts at step c · V variants side by side · time left', k counted
    per variant (``variant_step``).

    The charts can only show logged steps (every ``log_every``), redrawn a few times a second:
    when they lag the bar, the bar says which step they show rather than leave two numbers.
    """
    n = len(comparison.variants)
    step, last = variant_step(done_steps, comparison)
    side = f" · {n} variants side by side" if n > 1 else ""
    charts = ""
    if chart_step is not None and chart_step != step:
        every = min(v.log_every for v in comparison.variants)
        charts = f" · charts at step {chart_step} (logged every {every})"
    return f"Training: step {step} / {last}{charts}{side} · {time_left(eta_s)}"


def live_step(frame, lag: int) -> int:
    """The step the live gradient chart shows: the newest one every running variant has logged.

    Two variants train at a time, so one may be a slice or two ahead of another; a variant more
    than ``lag`` steps behind the front has stopped (diverged or failed) and does not hold it.
    """
    if frame.empty:
        return 0
    newest = frame.groupby("variant")["step"].max()
    return int(newest[newest >= newest.max() - lag].min())


def at_init(comparison: Comparison) -> Comparison:
    """The same comparison with steps = 0: only the measurements at initialisation."""
    return Comparison(
        [dataclasses.replace(v, steps=0) for v in comparison.variants], comparison.title
    )


def preview_key(comparison: Comparison) -> str:
    """Cache key of the at-initialisation run of ``comparison``."""
    return "preview:" + config_key(at_init(comparison))


def running_key(family: str) -> str:
    return f"{family}_running"


def result_key(family: str) -> str:
    return f"{family}_result"


def recover_interrupted(family: str) -> None:
    """A run cut short by a rerun (Stop or any widget) becomes the shown, stopped result.

    Streamlit reruns the page on any widget change, which ends the run; ``why`` records
    whether the user pressed Stop (the button reads True in the rerun it caused) or not.
    """
    run = st.session_state.pop(running_key(family), None)
    if run and run.get("progress") is not None:  # the newest progress, read only now
        run["result"] = run["progress"].result
    if run and run.get("result") is not None and run["result"].metrics:
        res: RunResult = run["result"]
        res.stopped = True
        runs_store.save_interrupted(run)  # the run store keeps what it trained
        step, last = variant_step(run.get("done", 0), run["comparison"])
        stop = any(st.session_state.get(f"{family}_{k}") for k in ("stop", "stop_phone"))
        why = "stop" if stop else "rerun"
        st.session_state[result_key(family)] = {
            "key": run["key"],
            "comparison": run["comparison"],
            "result": res,
            "stopped": True,
            "done": run.get("done", 0),
            "total": run.get("total", 0),
            "step": step,
            "last": last,
            "why": why,
        }


def time_left(s: float) -> str:
    """Seconds left as a progress line says them ('42 s left', '3.5 min left', 'estimating…')."""
    if not math.isfinite(s):
        return "estimating…"
    return f"{s:.0f} s left" if s < 90 else f"{s / 60:.1f} min left"


def _show_cached(
    family: str, key: str, comparison: Comparison, hit: RunResult, data_info: str
) -> None:
    """Show a cached result of these settings instead of training them again."""
    if visitor.public_mode():
        # another visitor trained these settings: this visitor's Runs page lists it too (once)
        saved = st.session_state.setdefault("_saved_cache_hits", set())
        if key not in saved:
            saved.add(key)
            runs_store.save(
                comparison,
                hit,
                "finished",
                matching_preset(comparison),
                owner=visitor.owner(),
                data_info=data_info,
            )
    st.session_state[result_key(family)] = {
        "key": key,
        "comparison": comparison,
        "result": hit,
        "stopped": False,
    }


def train(
    family: str, comparison: Comparison, tables: dict | None = None, data_info: str = ""
) -> bool:
    """Train (or fetch from cache) and store the result; True when it came from the cache.

    ``tables``: task=csv's parsed data from this session; ``data_info``: what the run store
    records about it (name and shape, never the data).
    """
    key = config_key(comparison)
    hit = RESULTS.get(key)
    if hit is not None:
        _show_cached(family, key, comparison, hit, data_info)
        return True
    saver = runs_store.RunSaver(
        comparison, matching_preset(comparison), owner=visitor.owner(), data_info=data_info
    )
    run = {
        "key": key,
        "comparison": comparison,
        "result": None,
        "done": 0,
        "total": 0,
        "saver": saver,
    }
    st.session_state[running_key(family)] = run
    colors = colors_of(comparison)
    bar = st.progress(0.0, text="Building the models…")
    holder = st.empty()
    with holder.container():
        c1, c2 = st.columns(2)
        ph_grad, ph_loss = c1.empty(), c2.empty()
    # last: when the last redraw ended; cost: what it took; step: the step the charts show
    state = {"last": -math.inf, "cost": 0.0, "draws": 0, "step": None}
    first_redraw = time.perf_counter() + REDRAW_FIRST_S  # no redraw before (step 0 drawn now)
    fam = FAMILIES[family]

    # a variant may be up to two round-robin slices ahead of another (one done, one running)
    lag = 2 * max(slice_steps(v) for v in comparison.variants)

    def draw(frame) -> None:
        frame = chart_frame(frame)
        last = live_step(frame, lag)
        state["step"] = last
        n = state["draws"]
        ph_grad.plotly_chart(
            gradient_profile(fam, frame, last, colors, short=True),
            config=CHART_CONFIG,
            key=f"{fam.key}_live_grad_{n}",
        )
        ph_loss.plotly_chart(
            curves.curves_figure(frame, ("loss", "val_loss"), colors, "Loss", "loss", log_y=True),
            config=CHART_CONFIG,
            key=f"{family}_live_loss_{n}",
        )

    # Step 0 is known before training starts when the page's preview measured it (same seeds,
    # same first batch): draw it at once, so the first chart does not wait for the first chunk.
    preview = RESULTS.get(preview_key(comparison))
    if preview is not None and preview.metrics:
        draw(preview.metrics_frame())

    def callback(p) -> None:
        # the run so far survives a Stop (see recover_interrupted), read from the progress only
        # when needed: a snapshot copies every row, and callbacks come after every slice
        run["progress"] = p
        run["done"], run["total"] = p.done_steps, p.total_steps
        saver.tick(p)  # saved every few seconds: a closed tab keeps what was trained
        now = time.perf_counter()
        wait = max(REDRAW_S, state["cost"] * (1 - REDRAW_SHARE) / REDRAW_SHARE)
        if now >= first_redraw and now - state["last"] >= wait:
            run["result"] = p.result
            state["draws"] += 1  # a new key for each redraw (the preview's was 0)
            draw(run["result"].metrics_frame())
            state["last"] = time.perf_counter()
            state["cost"] = state["last"] - now
        text = progress_text(p.done_steps, comparison, p.eta_s, state["step"])
        bar.progress(min(1.0, p.fraction), text=text)

    with train_slot(bar, key) as hit:
        if hit is None:
            result = run_comparison(comparison, callback=callback, tables=tables or {})
    if hit is not None:  # an identical run finished while this one was queued
        st.session_state.pop(running_key(family), None)
        bar.empty()
        holder.empty()
        _show_cached(family, key, comparison, hit, data_info)
        return True
    saver.finish(result)
    st.session_state.setdefault("_saved_cache_hits", set()).add(key)  # saved: not again
    st.session_state.pop(running_key(family), None)
    bar.empty()
    holder.empty()
    RESULTS.put(key, result)
    memory.trim()  # the live frames and the save's CSV are freed now: give them back
    st.session_state[result_key(family)] = {
        "key": key,
        "comparison": comparison,
        "result": result,
        "stopped": result.stopped,
        "done": run["done"],
        "total": run["total"],
        **dict(zip(("step", "last"), variant_step(run["done"], comparison))),
    }
    return False

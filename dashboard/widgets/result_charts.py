"""The results page's charts as a list of specs, drawn by one loop (``results_view``).

A spec names its figure (a pure function in ``dashboard/charts/``), its caption, the row it
shares with its neighbours and whether it follows the step slider. A family lists the specs
that apply to it by name (``Family.charts``, in page order). Every figure is memoised the same
way (``memo_figure``: built once per result and step shown). Adding a chart: a figure function
in charts/, one ``ChartSpec`` below, its name in the families' ``charts`` (ARCHITECTURE.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard.charts import blocks, clipping, curves, gradients, layers, spectrum, tradeoffs
from dashboard.charts.analysis import theory_profiles
from dashboard.charts.common import log_scale_note, nearest_step
from dashboard.plain import plain, plotly_text
from models import METRICS, Comparison, Family, RunResult


@dataclass
class ChartInput:
    """What every chart of one result may read."""

    family: Family
    comparison: Comparison
    result: RunResult
    raw: pd.DataFrame  # the metrics frame, variants under their own names
    frame: pd.DataFrame  # the same under their chart names (results_view.chart_frame)
    colors: dict[str, str]  # chart name -> colour
    table: pd.DataFrame  # the trade-offs table
    twins: dict[str, str]  # variant -> "identical to ..." notes
    step: int  # the step the slider shows
    memo: dict[str, Any] = field(default_factory=dict)  # values shared by specs of one draw


@dataclass(frozen=True)
class ChartSpec:
    """One chart of the results page."""

    name: str  # what a family's ``charts`` lists
    key: str  # its widget and memo key, after the family's prefix: "mlp_profile"
    row: str  # consecutive specs of one row share a row of columns (ROWS: their widths)
    build: Callable[[ChartInput], go.Figure]  # a pure figure of charts/
    caption: Callable[[ChartInput], str] | str = ""  # Markdown: the app's own words only
    step: bool = False  # drawn at the step the slider shows (memoised per step)
    # drawn in the next column of the row, then the caption under it (the spectrum's table)
    beside: Callable[[ChartInput], None] | None = None
    before: Callable[[ChartInput], None] | None = None  # drawn above its row (a table)
    after: Callable[[ChartInput], None] | None = None  # drawn under its caption (notes)

    def caption_of(self, ctx: ChartInput) -> str:
        return self.caption(ctx) if callable(self.caption) else self.caption


EMPTY_CELL = "—"  # a table cell with no value (never the word "None")

# column widths of each row
ROWS = {
    "gradients": [1, 1],
    "curves": [1, 1],
    "spectrum": [3, 2],
    "layers": [1, 1],
    "clipping": [2, 1],
    "tradeoffs": [1, 1],
    "blocks": [1, 1, 1],
}


def chart_name(name: str) -> str:
    """A variant's name as the figures show it: Plotly reads HTML in names, so it is escaped."""
    return plotly_text(name)


def cond_text(v: float, short: bool = False) -> str:
    """A condition number in decades; ∞ where a singular value is exactly 0 (``short``: "∞"
    alone, for a narrow column whose caption says what it means)."""
    if v == float("inf"):
        return "∞" if short else "∞ (rank-deficient)"
    return f"{v:.1f}"


def gradient_profile(
    fam: Family, frame: pd.DataFrame, step: int, colors: dict[str, str], short: bool = False
) -> go.Figure:
    """The family's gradient over depth at one step (the preview, live training, the Runs
    page); ``short``: the axis title without its note (the narrow live chart)."""
    return gradients.profile_figure(
        frame,
        step,
        colors,
        metric_name=fam.gradient_metric,
        title=fam.gradient_title,
        x_title=fam.depth_axis + ("" if short else fam.depth_note),
        y_title=METRICS[fam.gradient_metric].label,
    )


# --- the builders: pure figures of charts/, fed from the input ------------------------------


def _profile(ctx: ChartInput) -> go.Figure:
    theory = theory_profiles(ctx.raw, ctx.comparison.variants, ctx.step)
    theory = {chart_name(k): v for k, v in theory.items()}
    return gradients.profile_figure(ctx.frame, ctx.step, ctx.colors, theory=theory)


def _profile_in_time(ctx: ChartInput) -> go.Figure:
    return gradients.profile_figure(
        ctx.frame,
        ctx.step,
        ctx.colors,
        metric_name="hidden_grad_norm",
        title="Gradient through time ‖∂L/∂h_t‖",
        x_title="time step t",
        y_title="‖∂L/∂h_t‖",
    )


def _heatmap_in_time(ctx: ChartInput) -> go.Figure:
    return gradients.heatmap_figure(
        ctx.frame,
        ctx.colors,
        metric_name="hidden_grad_norm",
        title="log10 ‖∂L/∂h_t‖ by time step and training step",
        y_title="t",
    )


def _profile_by_unit(ctx: ChartInput) -> go.Figure:
    """The gradient over the family's depth unit (a Transformer's blocks, the readout last)."""
    return gradient_profile(ctx.family, ctx.frame, ctx.step, ctx.colors)


def _heatmap_by_unit(ctx: ChartInput) -> go.Figure:
    fam = ctx.family
    return gradients.heatmap_figure(
        ctx.frame,
        ctx.colors,
        metric_name=fam.gradient_metric,
        title=f"log10 {METRICS[fam.gradient_metric].label} by {fam.depth_unit} and training step",
        y_title=fam.depth_axis,
    )


def _tokens(ctx: ChartInput) -> int:
    return ctx.comparison.variants[0].seq_len


def _loss(ctx: ChartInput) -> go.Figure:
    return curves.curves_figure(
        ctx.frame,
        ("loss", "val_loss"),
        ctx.colors,
        "Loss",
        "loss (dotted: train, solid: validation)",
        log_y=True,
    )


def _accuracy(ctx: ChartInput) -> go.Figure:
    return curves.curves_figure(
        ctx.frame,
        ("accuracy", "val_accuracy"),
        ctx.colors,
        "Accuracy",
        "accuracy (dotted: train, solid: validation)",
        baseline=None,
    )


def _twins(ctx: ChartInput) -> None:
    for name, note in ctx.twins.items():
        st.caption(plain(f"“{name}” is {note}: its lines lie under the other's."))


def _update(ctx: ChartInput) -> go.Figure:
    return layers.update_ratio_figure(
        ctx.frame, max(ctx.step, 0), ctx.colors, ctx.family.weight_names
    )


def _gnorm(ctx: ChartInput) -> go.Figure:
    thresholds = {chart_name(v.name): v.clip_norm for v in ctx.comparison.variants}
    return clipping.grad_norm_total_figure(ctx.frame, ctx.colors, thresholds)


def _clipshare(ctx: ChartInput) -> go.Figure:
    share = clipping.clipped_share_table(ctx.frame, ctx.colors)
    return clipping.clipped_share_figure(share, ctx.colors)


def _scatter(ctx: ChartInput) -> go.Figure:
    named = ctx.table.assign(variant=ctx.table["variant"].map(chart_name))
    regression = ctx.comparison.variants[0].task == "adding"
    return tradeoffs.benefit_cost_figure(named, ctx.colors, regression)


def _scale_of(ctx: ChartInput) -> str:
    """What the y gridlines of the figure just drawn are (its log scale as laid out)."""
    fig = ctx.memo.get("figure")
    return log_scale_note(fig) if fig is not None else "log scale"


def _condition_table(ctx: ChartInput) -> None:
    """The condition number of each variant's Jacobian at the step shown."""
    at = nearest_step(ctx.frame, spectrum.METRIC, ctx.step)
    if at is None:
        return
    table = ctx.table
    cond = pd.DataFrame(
        {
            "variant": table["variant"],
            f"log10 s_max/s_min (step {at})": [
                spectrum.condition_log10(ctx.frame, chart_name(n), at) for n in table["variant"]
            ],
        }
    )
    st.dataframe(
        cond.style.format({cond.columns[1]: cond_text}, na_rep=EMPTY_CELL),
        hide_index=True,
        width="stretch",
        key=f"{ctx.family.key}_cond",
        placeholder=EMPTY_CELL,
    )


def _tradeoffs_table(ctx: ChartInput) -> None:
    from dashboard.widgets.results_view import trade_offs

    trade_offs(ctx)


CHARTS: list[ChartSpec] = [
    ChartSpec(
        "gradient profile",
        "profile",
        "gradients",
        _profile,
        step=True,
        caption=lambda ctx: (
            "Each line is one variant: the gradient each layer's weights receive. "
            "A line falling towards layer 1 is a vanishing gradient "
            f"({_scale_of(ctx)}). Dashed: mean-field prediction at "
            "initialisation. ‖∇W_l‖ is the back-propagated error times the layer's input, so it "
            "can look healthier than the error itself: when the forward signal grows towards the "
            "input as the error shrinks, the two cancel (Glorot & Bengio 2010, eq. 14)."
        ),
    ),
    ChartSpec(
        "gradient through time",
        "profile",
        "gradients",
        _profile_in_time,
        step=True,
        caption="How much the loss at the end still depends on the hidden state at "
        "step t. Falling towards t = 1: early inputs are forgotten (vanishing); "
        "rising: exploding.",
    ),
    ChartSpec(
        "gradient heatmap",
        "heatmap",
        "gradients",
        lambda ctx: gradients.heatmap_figure(ctx.frame, ctx.colors),
        caption="Colour = log10 of the gradient norm, layer (up) by training step "
        "(right); one panel per variant, one colour scale. Dark bottom rows: "
        "the early layers get almost nothing. (Weight gradients, not the error "
        "signal: a level band can hide an error that shrinks layer by layer.)",
    ),
    ChartSpec(
        "gradient heatmap through time",
        "heatmap",
        "gradients",
        _heatmap_in_time,
        caption="Colour = log10 ‖∂L/∂h_t‖, time step (up) by training step (right), one "
        "panel per variant on one colour scale.",
    ),
    ChartSpec(
        "gradient per block",
        "profile",
        "gradients",
        _profile_by_unit,
        step=True,
        caption="Each line is one variant: the norm of all of a block's parameters' gradients "
        "(the last point: the readout). Xiong et al. 2020: at initialisation Post-LN's "
        "gradient grows towards the output, Pre-LN's does not and is smaller by about "
        "1/√L, which is why Post-LN needs a learning-rate warm-up. Log scale.",
    ),
    ChartSpec(
        "gradient heatmap by block",
        "heatmap",
        "gradients",
        _heatmap_by_unit,
        caption="Colour = log10 of each block's gradient norm, block (up; the top row: the "
        "readout) by training step (right); one panel per variant, one colour scale.",
    ),
    ChartSpec(
        "sub-layer gradients",
        "sublayers",
        "blocks",
        lambda ctx: blocks.sublayer_figure(ctx.frame, ctx.step, ctx.colors),
        step=True,
        caption="Each block's attention (solid) and feed-forward (dotted) gradient, with "
        "their LayerNorms: which half of the block the gradient reaches.",
    ),
    ChartSpec(
        "attention entropy",
        "entropy",
        "blocks",
        lambda ctx: blocks.entropy_figure(ctx.frame, ctx.step, ctx.colors, _tokens(ctx)),
        step=True,
        caption="How spread each block's attention is, on a fixed probe batch: ln T (dashed) "
        "is uniform, 0 attends to one token. Falling towards 0 early is entropy collapse, "
        "an instability of its own (Zhai et al. 2023).",
    ),
    ChartSpec(
        "layernorm gain drift",
        "drift",
        "blocks",
        lambda ctx: blocks.gain_drift_figure(ctx.frame, ctx.step, ctx.colors),
        step=True,
        caption="How far each block's LayerNorm gains have moved from their initial 1 (RMS).",
    ),
    ChartSpec(
        "loss",
        "loss",
        "curves",
        _loss,
        after=_twins,
        caption="Lower is better (log scale, so one variant's spike does not flatten the rest). "
        "Solid = validation, dotted = training batch; the band spans the seeds. "
        "✕ marks the step a variant diverged (NaN/Inf, or its loss blew up past 20× its start).",
    ),
    ChartSpec(
        "accuracy",
        "accuracy",
        "curves",
        _accuracy,
        caption="Higher is better; a flat line near chance means the gradient never "
        "reached the layers that needed it.",
    ),
    ChartSpec(
        "jacobian spectrum",
        "spectrum",
        "spectrum",
        lambda ctx: spectrum.spectrum_figure(ctx.frame, ctx.step, ctx.colors),
        step=True,
        beside=_condition_table,
        caption="Dynamical isometry (Saxe et al. 2014; Pennington, Schoenholz & Ganguli 2017): "
        "how the net stretches each direction of its input, from the largest (left) to the "
        "smallest. A flat line near the dashed 1 passes every direction's signal and "
        "gradient through unchanged, and the net trains fast; a line falling over many "
        "decades (log scale) squashes most directions to nothing, however healthy the "
        "mean (χ₁) looks. Orthogonal weights with tanh near σ_w² = 1 keep it decades "
        "flatter than Gaussian weights (flat at 1 only with σ_w just above 1 and small "
        "inputs, Pennington et al.: the dynamical-isometry preset still spans a few "
        "decades); ReLU with any weights does not (its zero slopes make "
        "some values exactly 0: counted in the legend). Band: the seeds' range; recorded "
        "at the first and the last step, on the first probe example.",
    ),
    ChartSpec(
        "saturation by layer",
        "saturation",
        "layers",
        lambda ctx: layers.saturation_figure(ctx.frame, ctx.step, ctx.colors),
        step=True,
        caption="Share of units whose slope is under 10% of its maximum (sigmoid/tanh) or "
        "that never fire (ReLU): they pass almost no gradient back.",
    ),
    ChartSpec(  # one group of units: over training, not across layers
        "saturation over training",
        "saturation",
        "layers",
        lambda ctx: layers.saturation_steps_figure(ctx.frame, ctx.colors),
        caption="Share of saturated units over training: the vanilla RNN's hidden units (slope "
        "under 10% of its maximum, or never firing for ReLU), the LSTM's and GRU's "
        "sigmoid gates (stuck open or shut). They pass almost no gradient back.",
    ),
    ChartSpec(
        "update ratio",
        "update",
        "layers",
        _update,
        step=True,
        caption="How much one update changes each weight matrix, relative to its size; "
        "around 1e-3 is healthy, far below means it is not learning.",
    ),
    ChartSpec(
        "gradient norm",
        "gnorm",
        "clipping",
        _gnorm,
        caption="Global gradient norm before clipping (all weights together, dominated by the "
        "largest layers: it can look steady while the early layers' share vanishes); "
        "dashed lines are the clip thresholds. "
        "Clipping rescales any step above its line to the line: it tames explosions "
        "but cannot lift a vanished gradient.",
    ),
    ChartSpec(
        "clipped share",
        "clipshare",
        "clipping",
        _clipshare,
        caption="Share of training steps in which clipping changed the gradient.",
    ),
    ChartSpec(
        "benefit and cost",
        "scatter",
        "tradeoffs",
        _scatter,
        before=_tradeoffs_table,
        caption="Up is better, right costs more time per step; ✕ = diverged.",
    ),
]
SPECS = {s.name: s for s in CHARTS}


def specs_of(fam: Family) -> list[ChartSpec]:
    """The charts of a family's results, in its order (an unknown name is a bug: KeyError)."""
    return [SPECS[name] for name in fam.charts]


def rows_of(specs: list[ChartSpec]) -> list[list[ChartSpec]]:
    """Consecutive specs of one row, grouped."""
    rows: list[list[ChartSpec]] = []
    for s in specs:
        if rows and rows[-1][0].row == s.row:
            rows[-1].append(s)
        else:
            rows.append([s])
    return rows

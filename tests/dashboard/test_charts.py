"""Figure builders: data in, plotly figure out; zeros, NaN and Inf on log axes never crash."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboard.charts import clipping, common, curves, gradients, layers, theory, toy, tradeoffs
from models.core import theory as mf

NAMES = ["base", "fix"]
COLORS = common.variant_colors(NAMES)


def frame(diverge: bool = False, bad: bool = False) -> pd.DataFrame:
    """Two variants × two seeds × steps 0, 10, 20 × 3 layers, with predictable values."""
    rows = []
    for v, name in enumerate(NAMES):
        for seed in (0, 1):
            for step in (0, 10, 20):
                rows += [
                    (name, seed, step, "loss", 0, 2.0 - 0.05 * step + seed * 0.1),
                    (name, seed, step, "val_loss", 0, 2.1 - 0.05 * step),
                    (name, seed, step, "accuracy", 0, 0.1 + 0.02 * step),
                    (name, seed, step, "val_accuracy", 0, 0.1 + 0.03 * step * v),
                    (name, seed, step, "grad_norm_total", 0, 1.0 + step),
                    (name, seed, step, "clipped_share", 0, 0.5 * v),
                ]
                for layer in (1, 2, 3):
                    g = 10.0 ** (layer - 4) if v == 0 else 1.0
                    rows += [
                        (name, seed, step, "grad_norm", layer, g * (1 + seed)),
                        (name, seed, step, "saturation", layer, 0.1 * layer),
                        (name, seed, step, "update_ratio", layer, 1e-3),
                        (name, seed, step, "hidden_grad_norm", layer, g),
                    ]
    f = pd.DataFrame(rows, columns=["variant", "seed", "step", "metric", "index", "value"])
    if bad:
        f.loc[f.index % 7 == 0, "value"] = 0.0
        f.loc[f.index % 11 == 0, "value"] = np.nan
        f.loc[f.index % 13 == 0, "value"] = np.inf
    if diverge:
        f = pd.concat([f, pd.DataFrame([("fix", 1, 10, "diverged", 0, 10.0)], columns=f.columns)])
    return f


def traces_of(fig: go.Figure, variant: str) -> list:
    return [t for t in fig.data if (t.meta or {}).get("variant") == variant]


def test_palette_is_stable_by_position():
    assert common.variant_colors(["a", "b"]) == {"a": common.PALETTE[0], "b": common.PALETTE[1]}
    assert len(set(common.variant_colors([str(i) for i in range(12)]).values())) == 12


def test_overlaid_runs_never_share_a_colour():
    # the Runs page overlays up to 6 runs of up to 6 variants: "#12 gru" and "#4 gru" differ
    names = [f"#{r} {v}" for r in (12, 9, 7, 4, 2, 1) for v in "abcdef"]
    colors = common.variant_colors(names)
    assert len(set(colors.values())) == len(names) == 36


def test_short_runs_draw_no_marker_in_a_colour_of_no_legend_entry():
    """Plotly gives a trace of under 20 points without a mode default-coloured markers."""
    f = frame()
    f = f[f.step <= 10]  # two logged points
    fig = curves.curves_figure(f, ("loss", "val_loss"), COLORS, "Loss", "loss", log_y=True)
    legend = {t.line.color for t in fig.data if t.showlegend is not False}
    for t in fig.data:
        assert t.mode is not None, t.name
        if "markers" in t.mode:
            assert (t.marker.color or t.line.color) in legend, t.name


def test_log_safe_drops_what_a_log_axis_cannot_show():
    out = common.log_safe([1.0, 0.0, -1.0, np.nan, np.inf, 1e-30])
    assert out[0] == 1.0 and out[-1] == 1e-30
    assert np.isnan(out[1:5]).all()


def test_curves_mean_and_band_across_seeds():
    fig = curves.curves_figure(frame(), ("loss", "val_loss"), COLORS, "Loss", "loss")
    main = [t for t in traces_of(fig, "base") if t.meta.get("metric") == "loss"][0]
    np.testing.assert_allclose(main.y, [2.05, 1.55, 1.05])  # mean of seeds 0 and 1
    bands = [t for t in fig.data if t.fill == "toself"]
    assert len(bands) == 4  # two metrics × two variants
    assert main.line.color == COLORS["base"]


def test_curves_mark_divergence():
    fig = curves.curves_figure(frame(diverge=True), ("val_loss",), COLORS, "Loss", "loss")
    marks = [t for t in fig.data if (t.meta or {}).get("diverged") == 10]
    assert len(marks) == 1 and marks[0].marker.symbol == "x"


def test_profile_at_nearest_step_with_theory():
    pred = np.array([0.1, 0.5, 1.0])
    fig = gradients.profile_figure(frame(), 12, COLORS, theory={"base": pred})
    assert "step 10" in fig.layout.title.text
    base = [t for t in traces_of(fig, "base") if not t.meta.get("theory")][0]
    np.testing.assert_allclose(base.y, [1.5e-3, 1.5e-2, 1.5e-1])
    th = [t for t in traces_of(fig, "base") if t.meta.get("theory")][0]
    assert th.line.dash == "dash" and list(th.x) == [1, 2, 3]
    assert fig.layout.yaxis.type == "log"


def test_heatmaps_share_one_colour_scale():
    fig = gradients.heatmap_figure(frame(), COLORS)
    heat = [t for t in fig.data if isinstance(t, go.Heatmap)]
    assert len(heat) == 2 and {t.coloraxis for t in heat} == {"coloraxis"}
    np.testing.assert_allclose(np.asarray(heat[0].z)[:, 0], np.log10([1.5e-3, 1.5e-2, 1.5e-1]))
    assert fig.layout.coloraxis.cmin == pytest.approx(math.log10(1.5e-3))


def test_heatmap_inner_panels_leave_the_layer_labels_to_the_left_column():
    """With every panel over the same layers, inner panels' tick labels sat on the panel to their
    left (seen in chromium): only the first column labels the rows."""
    fig = gradients.heatmap_figure(frame(), COLORS)
    assert fig.layout.yaxis.showticklabels is not False
    assert fig.layout.yaxis2.showticklabels is False


def test_heatmap_panel_titles_are_short_and_stay_escaped():
    # a 60-character name ran into the neighbouring panels' titles; a cut must not split "&lt;"
    long = "<b>x</b> " + "a very long variant name " * 3
    from dashboard.widgets.results_view import chart_name

    f = frame().replace({"variant": {"base": chart_name(long)}})
    colors = common.variant_colors([chart_name(long), "fix"])
    fig = gradients.heatmap_figure(f, colors)
    titles = [a.text.replace("<br>", " ") for a in fig.layout.annotations][:2]  # lines joined
    assert titles[0].startswith("&lt;b&gt;x&lt;/b&gt; a very") and titles[0].endswith("…")
    assert len(titles[0].replace("&lt;", "<").replace("&gt;", ">")) <= gradients.PANEL_TITLE_CHARS
    assert titles[1] == "fix"
    heat = [t for t in fig.data if isinstance(t, go.Heatmap)][0]
    assert chart_name(long) in heat.hovertemplate  # the hover keeps the whole name


@pytest.mark.parametrize("diverge", [False, True])
def test_every_builder_copes_with_zeros_nan_inf(diverge):
    f = frame(diverge=diverge, bad=True)
    figs = [
        curves.curves_figure(f, ("loss", "val_loss"), COLORS, "L", "l", log_y=True),
        curves.curves_figure(f, ("accuracy", "val_accuracy"), COLORS, "A", "a"),
        gradients.profile_figure(f, 0, COLORS),
        gradients.profile_figure(f, 20, COLORS, metric_name="hidden_grad_norm"),
        gradients.heatmap_figure(f, COLORS),
        layers.saturation_figure(f, 10, COLORS),
        layers.update_ratio_figure(f, 10, COLORS),
        clipping.grad_norm_total_figure(f, COLORS, {"base": 0.0, "fix": 1.0}),
        clipping.clipped_share_figure(clipping.clipped_share_table(f, COLORS), COLORS),
    ]
    for fig in figs:
        fig.to_json()  # serialisable, as Streamlit needs
        for t in fig.data:
            if fig.layout.yaxis.type == "log" and getattr(t, "y", None) is not None:
                y = np.asarray([np.nan if v is None else v for v in t.y], dtype=float)
                assert not (y[np.isfinite(y)] <= 0).any()


def test_empty_data_gives_a_message_not_a_crash():
    empty = pd.DataFrame(columns=["variant", "seed", "step", "metric", "index", "value"])
    for fig in (
        curves.curves_figure(empty, ("loss",), COLORS, "L", "l"),
        gradients.profile_figure(empty, 0, COLORS),
        gradients.heatmap_figure(empty, COLORS),
        clipping.grad_norm_total_figure(empty, COLORS, {}),
    ):
        assert fig.layout.annotations and "no" in fig.layout.annotations[0].text


def test_clipping_threshold_line_and_share():
    f = frame()
    fig = clipping.grad_norm_total_figure(f, COLORS, {"base": 0.0, "fix": 5.0})
    assert [s.y0 for s in fig.layout.shapes] == [5.0]
    share = clipping.clipped_share_table(f, COLORS).set_index("variant")["clipped_share"]
    assert share["base"] == 0.0 and share["fix"] == pytest.approx(0.5)


def test_variants_clipping_at_one_threshold_share_one_line_and_label():
    """Two labels at the same height were drawn over each other ("clip at 1 (a)(b)")."""
    f = frame()
    fig = clipping.grad_norm_total_figure(f, COLORS, {"base": 1.0, "fix": 1.0})
    assert [s.y0 for s in fig.layout.shapes] == [1.0]
    labels = [a.text for a in fig.layout.annotations]
    assert labels == ["clip at 1 (base, fix)"]


def test_a_log_axis_with_one_decade_in_range_labels_plotly_ticks():
    """0.012 to 0.3 holds only 10⁻¹: decade labels alone left one label on the axis."""
    assert common.log_axis([0.012, 0.3]) == common.FEW_DECADES_LOG_AXIS  # 1, 2, 5 × 10ⁿ
    assert common.log_axis([0.009, 0.3])["dtick"] == 1  # 10⁻² and 10⁻¹: two labels


def summary_frame(diverged: bool = False) -> pd.DataFrame:
    rows = []
    for name in NAMES:
        for seed in (0, 1):
            rows.append(
                {
                    "variant": name,
                    "seed": seed,
                    "final_loss": 1.0,
                    "final_val_loss": 1.0 + seed,
                    "final_accuracy": 0.5,
                    "final_val_accuracy": 0.4,
                    "best_val_loss": 0.9,
                    "steps_to_target": 10 if name == "fix" else None,
                    "diverged_step": 10 if (diverged and name == "fix" and seed == 1) else None,
                    "diverged_layer": None,
                    "wall_s": 1.0,
                    "s_per_step": 0.01 * (1 + seed),
                    "params": 123,
                    "error": None,
                }
            )
    return pd.DataFrame(rows)


def test_tradeoff_table_and_scatter():
    info = [{"name": n, "family": "mlp", "depth": 3} for n in NAMES]
    table = tradeoffs.tradeoff_table(frame(True), summary_frame(True), info).set_index("variant")
    assert table.loc["base", "final val loss"] == pytest.approx(1.5)
    assert table.loc["base", "grad ratio first/last"] == pytest.approx(1e-2)
    assert table.loc["fix", "grad ratio first/last"] == pytest.approx(1.0)
    assert table.loc["fix", "diverged at"] == 10 and "diverged" in table.loc["fix", "note"]
    assert math.isnan(table.loc["base", "diverged at"])
    assert (
        table.loc["fix", "reached target"] == "2/2" and table.loc["base", "reached target"] == "0/2"
    )
    assert table.loc["fix", "best val accuracy"] == pytest.approx(0.7)
    fig = tradeoffs.benefit_cost_figure(table.reset_index(), COLORS)
    fix = traces_of(fig, "fix")[0]
    assert fix.marker.symbol == "x" and "diverged @ 10" in fix.name
    # names in the legend and hover, never as text beside the points (overlapped, cut off)
    assert all(t.mode == "markers" and not t.text for t in fig.data)
    assert fig.layout.showlegend
    assert fix.x[0] == pytest.approx(15.0)  # ms per step


def test_toy_figures_cope_with_overflow():
    t = np.arange(1, 51)
    with np.errstate(all="ignore"):
        dx = mf.toy_dxT_dx0(5.0, -2.6, 0.5, 50)
        b = toy.b_grid(-6, 3, mf.toy_bifurcation_b(5.0))
        loss, grad = mf.toy_loss_and_grad_b(5.0, b)
    fig = toy.jacobian_figure(t, dx, 5.0, 0.25)
    assert fig.layout.yaxis.type == "log" and "1/γ = 4" in fig.layout.title.text
    wall = toy.wall_figure(b, loss, grad, -1.0, mf.toy_bifurcation_b(5.0))
    assert [t.name for t in wall.data if t.showlegend is False] == ["loss", "|gradient|"]
    grad_y = np.asarray(wall.data[1].y, dtype=float)
    assert np.nanmax(grad_y) / np.nanmedian(grad_y) > 100  # the wall stands out
    toy.jacobian_figure(t, np.full(50, np.inf), 100.0, 1.0).to_json()


def test_chi1_figure_marks_the_edge_of_chaos():
    grid = np.geomspace(0.1, 6, 30)
    curves_ = {
        "tanh": mf.chi1_curve("tanh", 0.05, grid),
        "sigmoid": mf.chi1_curve("sigmoid", 0.05, grid),
    }
    crit = {a: mf.critical_sigma_w2(a, 0.05, 0.1, 6.0) for a in curves_}
    fig = theory.chi1_figure(grid, curves_, crit, 1.0)
    diamonds = [t for t in fig.data if t.mode == "markers"]
    assert len(diamonds) == 1 and diamonds[0].x[0] == pytest.approx(1.76, abs=0.02)


def test_chi1_figure_draws_the_other_attractor_dotted_only_where_there_is_one():
    grid = np.linspace(1.5, 3.0, 31)
    ends = mf.chi1_at_attractors("gelu", 0.05, grid)
    other = np.where(np.isclose(ends[:, 0], ends[:, 1]), np.nan, ends[:, 0])
    curves_ = {"gelu": mf.chi1_curve("gelu", 0.05, grid), "tanh": mf.chi1_curve("tanh", 0.05, grid)}
    fig = theory.chi1_figure(grid, curves_, {}, 1.0, {"gelu": other, "tanh": np.full(31, np.nan)})
    dotted = [t for t in fig.data if (t.meta or {}).get("other_state")]
    assert len(dotted) == 1 and dotted[0].line.dash == "dot"
    y = np.asarray(dotted[0].y, dtype=float)
    assert np.isfinite(y).sum() == np.isfinite(other).sum() > 0


def test_toy_wall_figure_marks_the_basin_boundary_and_the_bifurcations():
    """Pascanu et al. 2013, §2.3: the wall is the basin boundary (x₀ the unstable fixed point),
    inside the bistable band whose ends are the saddle-node bifurcations."""
    wall, saddles = mf.toy_wall_b(5.0), mf.toy_saddle_nodes(5.0)
    b = toy.b_grid(-6, 3, wall)
    with np.errstate(all="ignore"):
        loss, grad = mf.toy_loss_and_grad_b(5.0, b)
    fig = toy.wall_figure(b, loss, grad, -1.0, wall, saddles)
    legend = [t.name for t in fig.data if t.showlegend is not False]
    assert legend.count("basin boundary: the wall") == 1 and legend.count("saddle-node") == 1
    assert "bistable band" in legend
    lines = [sh.x0 for sh in fig.layout.shapes if sh.type == "line"]
    for x in (wall, *saddles):  # each marked in both panels
        assert sum(abs(v - x) < 1e-12 for v in lines) == 2
    band = [s for s in fig.layout.shapes if s.type == "rect"]
    assert (
        band and band[0].x0 == pytest.approx(saddles[0]) and band[0].x1 == pytest.approx(saddles[1])
    )
    text = toy.wall_caption(5.0, 0.5, 5.0 * float(mf.dphi("sigmoid", 0.5)), wall, saddles)
    assert "-2.612" in text and "-2.656" in text and "-2.344" in text and "unstable" in text
    # w = 0: no basin boundary, so no wall marker, and the caption says why
    assert np.isnan(mf.toy_wall_b(0.0)) and mf.toy_saddle_nodes(0.0) == ()
    flat = toy.wall_figure(b, loss, grad, -1.0, mf.toy_wall_b(0.0), ())
    assert "basin boundary: the wall" not in [t.name for t in flat.data]
    assert "No wall here" in toy.wall_caption(0.0, 0.5, 0.0, float("nan"), ())


def test_toy_jacobian_at_w_0_says_why_it_is_blank():
    t = np.arange(1, 51)
    dx = mf.toy_dxT_dx0(0.0, -1.0, 0.5, 50)
    assert (dx == 0).all()
    fig = toy.jacobian_figure(t, dx, 0.0, 0.25)
    assert any("does not depend on x₀" in a.text for a in fig.layout.annotations)
    fine = toy.jacobian_figure(t, mf.toy_dxT_dx0(5.0, -1.0, 0.5, 50), 5.0, 0.25)
    assert not any("x₀" in (a.text or "") for a in fine.layout.annotations)


@pytest.mark.parametrize("act", ["relu", "linear"])
def test_toy_overflow_is_named_not_left_blank(act):
    b = toy.b_grid(-6, 3, float("nan"))
    with np.errstate(all="ignore"):
        loss, grad = mf.toy_loss_and_grad_b(10.0, b, T=200, activation=act)
    assert (~np.isfinite(loss)).any()  # |x_T| ~ 10^200: its square overflows
    fig = toy.wall_figure(b, loss, grad, -1.0, float("nan"))
    notes = [a.text for a in fig.layout.annotations if "overflow" in (a.text or "")]
    assert len(notes) == 1 and "1e308" in notes[0]


def test_log_axes_label_decades_only_or_full_numbers():
    """Never a bare "5 2" between decades: decade labels when the data spans one or more, plotly's
    ticks in full ("0.3") when it spans less."""
    f = frame()
    fig = curves.curves_figure(f, ("loss", "val_loss"), COLORS, "Loss", "loss", log_y=True)
    ax = fig.layout.yaxis  # the loss spans 1.0 to 2.1: under a decade
    assert ax.type == "log" and ax.minorloglabels == "complete"
    fig = gradients.profile_figure(f, 0, COLORS)  # 1e-3 .. 2: three decades
    ax = fig.layout.yaxis
    assert ax.type == "log" and ax.dtick == 1 and ax.minorloglabels == "none"
    wide = common.log_axis([1e-16, 1.0])  # sixteen decades: every second one labelled
    assert wide["dtick"] == 2 and wide["minorloglabels"] == "none"


def test_a_short_log_panel_labels_fewer_decades_and_drops_minor_ticks():
    """The toy's gradient panel is half a figure tall: eight decades with nine minor ticks each
    piled into black bars over the labels (seen in chromium); it labels every 2nd decade."""
    b = np.linspace(-6, 3, 50)
    grad = np.logspace(-4, 4, 50)
    fig = toy.wall_figure(b, np.full(50, 0.1), grad, -1.0, float("nan"))
    ax = fig.layout.yaxis2
    assert ax.type == "log" and ax.dtick == 2 and ax.minor.ticks == ""
    assert common.log_axis(grad)["dtick"] == 1  # a full-height chart keeps every decade
    # eight decades in a full chart: faint minor gridlines, no comb of minor tick marks
    assert (
        common.log_axis(grad)["minor"]["ticks"] == "" and common.log_axis(grad)["minor"]["showgrid"]
    )
    assert common.log_axis([1e-3, 1.0])["minor"]["ticks"] == "outside"  # three: room for them


def test_heatmap_panel_of_a_variant_whose_seeds_all_diverged_says_so():
    f = frame()
    f = f[~((f.variant == "fix") & (f.step > 0))]  # "fix" stopped after step 0, both seeds
    div = pd.DataFrame([("fix", s, 5, "diverged", 0, 5.0) for s in (0, 1)], columns=f.columns)
    fig = gradients.heatmap_figure(pd.concat([f, div]), COLORS)
    notes = [a for a in fig.layout.annotations if "diverged at step 5" in (a.text or "")]
    assert len(notes) == 1 and notes[0].xref == "x2 domain"
    # every panel spans the same steps: the stopped variant's blank reads as stopped
    assert fig.layout.xaxis.range == fig.layout.xaxis2.range and fig.layout.xaxis2.range[1] > 20
    one_seed = pd.concat([frame(diverge=True)])  # one of two seeds diverged: the panel goes on
    fig = gradients.heatmap_figure(one_seed, COLORS)
    assert not [a for a in fig.layout.annotations if "diverged at step" in (a.text or "")]


def test_transformer_block_charts_draw_every_variant_and_say_when_empty():
    """Sub-layer gradients (attention solid, FFN dotted), attention entropy with ln T, and
    LayerNorm gain drift, from a real two-variant Transformer run."""
    import math

    from dashboard.charts.blocks import entropy_figure, gain_drift_figure, sublayer_figure
    from models import comparison_from_dict, run_comparison

    comp = comparison_from_dict(
        {
            "family": "transformer",
            "task": "row-digits",
            "depth": 2,
            "width": 8,
            "heads": 2,
            "steps": 2,
            "log_every": 1,
            "batch_size": 8,
            "norm": "layer",
            "variants": [
                {"name": "post", "ln_placement": "post"},
                {"name": "pre", "ln_placement": "pre"},
            ],
        }
    )
    frame = run_comparison(comp, threads=1).metrics_frame()
    colors = {"post": "#D1495B", "pre": "#2E86AB"}
    fig = sublayer_figure(frame, 0, colors)
    assert {(t.meta["variant"], t.meta["sublayer"]) for t in fig.data} == {
        (v, s) for v in colors for s in ("attention", "feed-forward")
    }
    assert all(len(t.x) == 2 for t in fig.data)  # one point per block
    ent = entropy_figure(frame, 2, colors, tokens=8)
    assert any(s.y0 == pytest.approx(math.log(8)) for s in ent.layout.shapes)
    assert all(0 < y <= math.log(8) + 1e-6 for t in ent.data for y in t.y if y is not None)
    assert len(gain_drift_figure(frame, 2, colors).data) == 2
    empty = frame[~frame.metric.isin(["attn_grad_norm", "ln_gain_drift"])]
    assert "no sub-layer" in sublayer_figure(empty, 0, colors).layout.annotations[0].text
    assert "no LayerNorm" in gain_drift_figure(empty, 0, colors).layout.annotations[0].text

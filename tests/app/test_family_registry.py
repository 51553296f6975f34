"""The family and metric registries: no code outside them branches on a family's name, every
entry is complete, and a family registered later trains, is costed and validates everywhere."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from models import (
    FAMILIES,
    FIELDS,
    METRICS,
    PRESETS,
    TASKS,
    ConfigError,
    comparison_from_dict,
    estimate,
    make_config,
    run_comparison,
)
from models.core.metrics import SHAPES, of_family, rows_per_seed

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("models", "dashboard", "benchmarks", "scripts")
# where a family's name may be written: its registry entry, the entries that name their
# family (tasks, metrics recorded by one family only), presets and the science claims' configs
ALLOWED = {
    "models/core/families.py",
    "models/core/family_registry.py",
    "models/core/metrics.py",
    "models/core/tasks.py",
    "models/io/presets.py",
    "models/sweep/presets.py",
}
ALLOWED_DIRS = ("models/science/",)


def _branch_patterns(name: str) -> list[re.Pattern]:
    q = rf"[\"']{re.escape(name)}[\"']"
    return [
        re.compile(rf"(==|!=)\s*{q}|{q}\s*(==|!=)"),  # family == "mlp", "rnn" != family
        re.compile(rf"{q}\s+if\b|\belse\s+{q}"),  # "mlp" if ... else ..., ... else "rnn"
        re.compile(rf"\bin\s*[\(\[\{{]\s*{q}"),  # family in ("mlp", ...)
        re.compile(rf"[\{{,]\s*{q}\s*:"),  # {"mlp": ..., "rnn": ...}: a table keyed by family
        re.compile(rf"\.get\(\s*[\"']family[\"']\s*,\s*{q}"),  # .get("family", "mlp")
        re.compile(rf"family\s*=\s*{q}"),  # family="mlp" as a default or a branch's argument
    ]


def family_branches(root: Path = ROOT) -> list[str]:
    """``path:line: text`` of every line outside the registries that branches on a family's
    name. A line about a cell is not one: the vanilla cell is also named "rnn"."""
    patterns = [p for name in FAMILIES for p in _branch_patterns(name)]
    found = []
    for top in SCANNED:
        for path in sorted((root / top).rglob("*.py")):
            rel = path.relative_to(root).as_posix()
            if rel in ALLOWED or rel.startswith(ALLOWED_DIRS):
                continue
            for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if "cell" in code.lower():
                    continue
                if any(p.search(code) for p in patterns):
                    found.append(f"{rel}:{i}: {line.strip()}")
    return found


def test_no_code_outside_the_registry_branches_on_a_family_name():
    found = family_branches()
    assert not found, "ask FAMILIES[name] instead of branching on it:\n" + "\n".join(found)


def test_the_scan_finds_a_branch(tmp_path):
    """The scan itself works: a planted branch of each kind is found."""
    (tmp_path / "dashboard").mkdir()
    (tmp_path / "dashboard" / "x.py").write_text(
        'a = 1 if family == "mlp" else 2\n'
        'b = "rnn" if x else "mlp"\n'
        'c = {"mlp": 1, "rnn": 2}\n'
        'd = p.get("family", "mlp")\n'
        'e = cfg.cell == "rnn"\n'  # a cell: not a family branch
    )
    found = family_branches(tmp_path)
    assert [f.split(":")[1] for f in found] == ["1", "2", "3", "4"]


@pytest.mark.parametrize("name", list(FAMILIES))
def test_a_family_entry_is_complete(name):
    fam = FAMILIES[name]
    for f in (*fam.shared_fields, *fam.data_fields, *(f for f, _ in fam.variant_fields)):
        assert f in FIELDS, f
    assert len(fam.tasks) > 0
    assert PRESETS[fam.default_preset].get("family") == name
    assert not fam.page or (ROOT / "dashboard" / fam.page).is_file()
    assert fam.gradient_metric in METRICS and METRICS[fam.gradient_metric].applies(name)
    from dashboard.widgets.result_charts import SPECS

    assert fam.charts and all(c in SPECS for c in fam.charts)


def test_every_recorded_metric_is_registered_and_counted():
    """What the trainer records is what the registry says each family records, and the
    budget's row count (from the registry) covers the rows recorded."""
    for preset in ("deep-mlp", "rnn-adding"):
        comp = comparison_from_dict(
            {**PRESETS[preset], "variants": PRESETS[preset]["variants"][:1]},
            {"steps": 3, "log_every": 1, "seeds": 1},
        )
        cfg = comp.variants[0]
        frame = run_comparison(comp, workers=1).metrics_frame()
        assert set(frame["metric"]) == {m.name for m in of_family(cfg.family)}
        assert all(m.shape in SHAPES for m in METRICS.entries())
        assert len(frame) <= estimate(comp).rows == rows_per_seed(cfg, 4)


def test_a_family_registered_later_validates_trains_and_is_costed():
    """A new family is one entry (here a copy of the MLP's under another name) plus its tasks:
    config validation, the trainer and the budget accept it at once."""
    mlp = FAMILIES["mlp"]
    new = dataclasses.replace(mlp, name="wide-mlp", title="Wide networks")
    task = dataclasses.replace(TASKS["digits"], name="wide-digits", family="wide-mlp")
    with FAMILIES.added(new), TASKS.added(task):
        with pytest.raises(ConfigError, match="allowed: wide-digits"):
            make_config({"family": "wide-mlp", "task": "digits"})
        cfg = {
            "name": "w",
            "family": "wide-mlp",
            "task": "wide-digits",
            "depth": 2,
            "width": 8,
            "steps": 2,
        }
        comp = comparison_from_dict({"variants": [cfg]})
        assert estimate(comp).flops > 0
        frame = run_comparison(comp, workers=1).metrics_frame()
        assert {"grad_norm", "jacobian_sv"} <= set(frame["metric"])
    assert "wide-mlp" not in FAMILIES and "wide-digits" not in TASKS


@pytest.fixture
def wide_family(monkeypatch):
    """A family registered at run time (a copy of the MLP's) with a task, a preset and no page
    script of its own: what adding a family outside dashboard/ amounts to."""
    from models.io import presets

    new = dataclasses.replace(
        FAMILIES["mlp"],
        name="wide-mlp",
        title="Wide networks",
        heading="Wide networks",
        page="",
        default_preset="wide-demo",
    )
    task = dataclasses.replace(TASKS["digits"], name="wide-digits", family="wide-mlp")
    preset = {
        "title": "wide",
        "family": "wide-mlp",
        "task": "wide-digits",
        "depth": 3,
        "width": 8,
        "steps": 4,
        "log_every": 2,
        "variants": [{"name": "a"}, {"name": "b", "activation": "tanh"}],
    }
    monkeypatch.setitem(presets.PRESETS, "wide-demo", preset)
    with FAMILIES.added(new), TASKS.added(task):
        yield new


def test_a_family_registered_later_gets_a_page_and_its_charts(wide_family, tmp_path, monkeypatch):
    """The app makes a page for it, and the lab page trains it and draws its charts, with
    nothing of it written in dashboard/."""
    from streamlit.testing.v1 import AppTest

    from dashboard.state import url_state

    monkeypatch.setenv("GFL_STORE", str(tmp_path / "runs.sqlite"))
    app = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120).run()
    assert not app.exception, [e.value for e in app.exception]
    assert url_state.FAMILY_PAGES["wide-mlp"].url_path == "wide-mlp"
    at = AppTest.from_string(
        "from dashboard.widgets.lab import render_lab\nrender_lab('wide-mlp')", default_timeout=120
    ).run()
    at.button(key="wide-mlp_train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    titles = [json.loads(el.proto.spec)["layout"]["title"]["text"] for el in at.get("plotly_chart")]
    assert any(t.startswith("Gradient norm per layer") for t in titles)
    assert any(t.startswith("Singular values of the input–output Jacobian") for t in titles)


@pytest.mark.parametrize("preset", ["deep-mlp", "rnn-adding", "transformer-ln"])
def test_every_chart_of_a_family_builds_from_its_run(preset):
    """The specs a family lists build a figure with data from a run of that family (pure: no
    Streamlit page), each a figure with at least one trace."""
    from dashboard.widgets.result_charts import ChartInput, specs_of
    from dashboard.widgets.results_view import chart_frame, colors_of, table_of

    comp = comparison_from_dict(PRESETS[preset], {"steps": 2, "log_every": 1, "seeds": 1})
    result = run_comparison(comp, workers=1)
    fam = FAMILIES[comp.variants[0].family]
    raw = result.metrics_frame()
    ctx = ChartInput(
        fam, comp, result, raw, chart_frame(raw), colors_of(comp), table_of(comp, result, {}), {}, 2
    )
    for spec in specs_of(fam):
        fig = spec.build(ctx)
        assert len(fig.data) > 0, spec.name
        assert spec.caption_of(ctx), spec.name


def test_an_unknown_family_is_a_clear_error():
    with pytest.raises(ConfigError, match="family"):
        make_config({"family": "spiking"})


def test_condition_log10_is_written_once():
    """The engine's and the dashboard's condition numbers are one function."""
    hits = [
        p.relative_to(ROOT).as_posix()
        for top in SCANNED
        for p in (ROOT / top).rglob("*.py")
        if re.search(r"^def condition_log10\(sv", p.read_text(encoding="utf-8"), re.M)
    ]
    assert hits == ["models/core/metrics.py"]


def test_a_task_of_another_family_names_the_allowed_ones():
    with pytest.raises(ConfigError, match="is a sequence task; with family=mlp allowed: digits"):
        make_config({"family": "mlp", "task": "adding"})
    with pytest.raises(ConfigError, match="is not a sequence task; with family=rnn"):
        make_config({"family": "rnn", "task": "digits"})

"""The import rules of ARCHITECTURE.md, one test per rule, read from the source with `ast`.

Every import counts, the ones inside functions and under `if TYPE_CHECKING` too: a rule broken
in a function body is broken the first time the function runs. No module is imported here (no
torch): this file runs in a fraction of a second.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from tests.helpers import ROOT

# The engine's layers, lowest first: each package and the packages of `models` it may import
# (besides itself). Keep in step with ARCHITECTURE.md's table.
LAYERS: dict[str, set[str]] = {
    "models.core": {"models.fastpath"},  # the trainer only (test below)
    "models.fastpath": {"models.core"},  # core's registries only (test below)
    "models.io": {"models.core"},
    "models.store": {"models.core", "models.io"},
    "models.sweep": {"models.core", "models.io"},
    "models.science": {"models.core", "models.io", "models.sweep"},
    # watch(): a user's own loop recorded into the run store (gradient_flow_lab loads it)
    "models.watch": {"models.core", "models.io", "models.store"},
    "models.cli": {"models.core", "models.io", "models.store", "models.sweep", "models.science"},
}
# The front door: the public names (models/__init__.py) and `python -m models`.
FRONT = {"models", "models.__main__"}
# What the fast path may read of core: the registries (and their error type). A core module
# outside this set may import the fast path's trainer hooks, so reading it would be a cycle.
REGISTRIES = {
    "models.core.activations",
    "models.core.cells",
    "models.core.errors",
    "models.core.init",
    "models.core.norms",
    "models.core.optim",
    "models.core.registry",
}
# Private names one dashboard module still takes from another; issue 20 §4 removes them. The
# list only shrinks: an entry that no longer occurs fails the test, so it is struck off.
KNOWN_PRIVATE: set[tuple[str, str]] = set()  # none left: keep it so


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the imported module (a submodule where `from pkg import sub` names one)
    name: str | None  # the name taken from it (`from target import name`), else None
    relative: bool
    line: int


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(dotted: str) -> bool:
    base = ROOT.joinpath(*dotted.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@cache
def imports_of(path: Path) -> tuple[Import, ...]:
    """Every import statement in a file, wherever it sits, resolved to absolute names."""
    mod = module_name(path)
    here = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [Import(mod, a.name, None, False, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            target = ".".join(base + ([node.module] if node.module else []))
            for a in node.names:
                sub = f"{target}.{a.name}"
                if is_module(sub):  # `from ..fastpath import mlp`: the module mlp
                    found.append(Import(mod, sub, None, bool(node.level), node.lineno))
                else:
                    found.append(Import(mod, target, a.name, bool(node.level), node.lineno))
    return tuple(found)


def engine_imports() -> list[Import]:
    return [i for p in sources("models") for i in imports_of(p)]


def top(dotted: str, depth: int = 2) -> str:
    return ".".join(dotted.split(".")[:depth])


def public_names() -> set[str]:
    """models.__all__, read from the source."""
    tree = ast.parse((ROOT / "models" / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return set(ast.literal_eval(node.value))
    raise AssertionError("models/__init__.py has no __all__")


def test_the_resolver_reads_relative_and_function_level_imports(tmp_path):
    """The rules below are only as good as this reader."""
    trainer = imports_of(ROOT / "models" / "core" / "trainer.py")
    assert any(i.target == "models.fastpath.mlp" and i.relative for i in trainer)
    tabular = imports_of(ROOT / "models" / "core" / "tabular.py")  # one import in a function
    assert any(i.target == "models.core.csv_parser" and i.name == "MAX_CLASSES" for i in tabular)


def test_every_engine_package_sits_in_a_layer():
    packages = {module_name(p.parent) for p in (ROOT / "models").glob("*/__init__.py")}
    assert packages == set(LAYERS), "place a new package of models/ in LAYERS and ARCHITECTURE.md"


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_a_layer_imports_only_the_layers_below_it(layer):
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in engine_imports()
        if top(i.module) == layer
        and i.target.startswith("models")
        and top(i.target) not in LAYERS[layer] | {layer}
    ]
    assert not wrong, f"{layer} may import {sorted(LAYERS[layer])} only:\n" + "\n".join(wrong)


def test_the_fast_path_reads_only_cores_registries():
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in engine_imports()
        if top(i.module) == "models.fastpath"
        and top(i.target) == "models.core"
        and i.target not in REGISTRIES
    ]
    assert not wrong, "\n".join(wrong)


def test_only_the_trainer_and_the_family_entries_reach_into_the_fast_path():
    users = {
        i.module
        for i in engine_imports()
        if top(i.module) == "models.core" and top(i.target) == "models.fastpath"
    }
    # the trainer runs the steps; a family entry names which hand-written step its nets take
    assert users <= {"models.core.trainer", "models.core.families"}
    assert "models.core.trainer" in users


def test_the_engine_imports_itself_relatively_and_nothing_above_it():
    """Relative imports let the engine load under another package name; it never reaches up
    into the app, the benchmarks or the tests."""
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in engine_imports()
        if i.target.split(".")[0] in {"models", "dashboard", "streamlit", "benchmarks", "tests"}
        and not i.relative
    ]
    assert not wrong, "\n".join(wrong)


def test_the_front_door_is_the_only_module_outside_a_layer():
    outside = {module_name(p) for p in sources("models") if top(module_name(p)) not in LAYERS}
    assert outside == FRONT


def test_the_dashboard_uses_the_engine_only_through_its_public_names():
    names = public_names()
    wrong = []
    for path in sources("dashboard"):
        for i in imports_of(path):
            if i.target.split(".")[0] != "models":
                continue
            if i.target != "models":
                wrong.append(f"{i.module}:{i.line} imports {i.target}")
            elif i.name is not None and i.name not in names:
                wrong.append(f"{i.module}:{i.line} imports {i.name}, not in models.__all__")
    assert not wrong, "\n".join(wrong)


def private_uses(path: Path) -> set[tuple[str, str]]:
    """(module, other module's private name) for `from x import _name` and `x._name`."""
    mod = module_name(path)
    ours = ("dashboard", "models")
    found, aliases = set(), {}
    for i in imports_of(path):
        if i.target.split(".")[0] not in ours:
            continue
        if i.name is None:
            aliases[i.target.rsplit(".", 1)[-1]] = i.target  # `from pkg import module`
        elif i.name.startswith("_") and not i.name.startswith("__"):
            found.add((mod, f"{i.target}.{i.name}"))
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in ours:
                    aliases[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom):  # `from dashboard import phase_grid as grid`
            for a in node.names:
                if a.asname and a.name in aliases:
                    aliases[a.asname] = aliases[a.name]
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            found.add((mod, f"{aliases[node.value.id]}.{node.attr}"))
    return found


def test_no_dashboard_module_uses_another_modules_private_names():
    found = set().union(*(private_uses(p) for p in sources("dashboard")))
    assert found - KNOWN_PRIVATE == set(), "make the name public, or move the code where it is used"
    assert KNOWN_PRIVATE - found == set(), "fixed: strike these off KNOWN_PRIVATE"


# --- dashboard/ shows its parts (ARCHITECTURE.md: views, widgets, state, storage, live, charts) --

DASHBOARD = ROOT / "dashboard"
FOLDERS = {"views", "widgets", "state", "storage", "live", "charts"}
TOP_LEVEL = {"__init__.py", "app.py", "warm.py", "plain.py"}  # the entry and two shared helpers


def test_every_dashboard_module_lives_in_its_folder():
    loose = {p.name for p in DASHBOARD.glob("*.py")} - TOP_LEVEL
    folders = {p.name for p in DASHBOARD.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert not loose, f"put these in one of {sorted(FOLDERS)}: {sorted(loose)}"
    assert folders == FOLDERS, "a new folder of dashboard/ belongs in ARCHITECTURE.md and here"


def test_pages_are_scripts_nobody_imports():
    """A page (dashboard/views/) is run by st.Page; shared code lives in widgets/, state/, ..."""
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for p in sources("dashboard")
        for i in imports_of(p)
        if i.target.startswith("dashboard.views") and not i.module.startswith("dashboard.views")
    ]
    assert not wrong, "\n".join(wrong)


def test_figures_are_built_only_in_charts():
    """Figure builders are pure functions of dashboard/charts/ (data in, Plotly figure out)."""
    builders = ("go.Figure(", "make_subplots(", "go.Scatter(", "go.Heatmap(", "go.Bar(")
    wrong = [
        str(p.relative_to(ROOT))
        for p in DASHBOARD.rglob("*.py")
        if "charts" not in p.parts and any(b in p.read_text(encoding="utf-8") for b in builders)
    ]
    assert not wrong, wrong

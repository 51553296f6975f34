"""Gradient Flow Lab for your own training loop: ``from gradient_flow_lab import watch``.

The lab's engine is the package ``models`` in this repository, a name many projects also use for
their own code. So this package loads the engine's directory under a private name,
``gradient_flow_lab._engine`` (the engine uses relative imports only, so it runs under any
name), and never looks up ``models`` on ``sys.path``: a project with its own ``models`` package
keeps it. Where the engine is already imported as ``models`` from this same directory (the
dashboard, the lab's tests), that copy is used instead of loading a second one.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ENGINE_DIR = Path(__file__).resolve().parent.parent / "models"
ENGINE_NAME = __name__ + "._engine"


def _same_dir(module: ModuleType | None) -> bool:
    try:
        return Path(module.__file__).resolve().parent == ENGINE_DIR  # type: ignore[union-attr]
    except (AttributeError, TypeError):
        return False


def load_engine() -> ModuleType:
    """The lab's engine package, loaded once under ``gradient_flow_lab._engine``."""
    if ENGINE_NAME in sys.modules:
        return sys.modules[ENGINE_NAME]
    lab = sys.modules.get("models")
    if _same_dir(lab):
        return lab  # type: ignore[return-value]
    init = ENGINE_DIR / "__init__.py"
    if not init.is_file():
        raise ImportError(f"gradient_flow_lab: the engine is missing (expected {init})")
    spec = importlib.util.spec_from_file_location(
        ENGINE_NAME, init, submodule_search_locations=[str(ENGINE_DIR)]
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[ENGINE_NAME] = module
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except BaseException:
        del sys.modules[ENGINE_NAME]
        raise
    return module


_engine = load_engine()
_watch = importlib.import_module(_engine.__name__ + ".watch")
watch = _watch.watch
Watch = _watch.Watch
diagnose = _watch.diagnose

__all__ = ["Watch", "diagnose", "load_engine", "watch"]

"""Tables as tasks: scikit-learn's bundled sets and the user's own CSV file (task=csv).

A table is split into training and validation rows per class (stratified, 80/20, drawn with
``data_seed``) and standardised with the training rows' mean and std. A CSV file is read once
per comparison (``resolve_tables``); every variant then trains on the same arrays.
"""

from __future__ import annotations

import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from .config import Comparison, RunConfig
from .csv_parser import MAX_BYTES, RawTable, Table, build_table, read_csv
from .errors import DataError

VAL_FRACTION = 0.2  # of each class's rows, for validation


@dataclass(frozen=True)
class BundledSet:
    """A table scikit-learn ships as a file (read directly: importing sklearn costs ~1 s)."""

    file: str  # in sklearn/datasets/data/: first line 'rows,features,class names...'
    loader: str  # the sklearn.datasets function that reads the same file (fallback)
    rows: int
    features: int
    classes: int
    label: str  # short, for a task picker
    title: str


BUNDLED: dict[str, BundledSet] = {
    "breast-cancer": BundledSet(
        "breast_cancer.csv",
        "load_breast_cancer",
        569,
        30,
        2,
        "Breast cancer (scikit-learn)",
        "Wisconsin breast cancer: 30 cell-nucleus measurements, malignant or benign",
    ),
    "wine": BundledSet(
        "wine_data.csv",
        "load_wine",
        178,
        13,
        3,
        "Wine (scikit-learn)",
        "Wine: 13 chemical measurements, 3 cultivars",
    ),
    "iris": BundledSet(
        "iris.csv",
        "load_iris",
        150,
        4,
        3,
        "Iris (scikit-learn)",
        "Iris: 4 flower measurements, 3 species",
    ),
}
BUNDLED_TARGET = 0.9  # val_accuracy for steps_to_target: each set is known to reach it


@lru_cache(maxsize=len(BUNDLED))
def bundled_table(task: str) -> Table:
    """One of scikit-learn's bundled tables, from the file the package ships."""
    spec = BUNDLED[task]
    found = importlib.util.find_spec("sklearn")
    path = Path(found.origin).parent / "datasets" / "data" / spec.file if found else None
    if path is not None and path.is_file():
        with path.open() as f:
            names = f.readline().strip().split(",")[2:]
        raw = np.loadtxt(path, delimiter=",", skiprows=1)  # (rows, features + 1)
        x, y = raw[:, :-1], raw[:, -1].astype(np.int64)
    else:  # an unusual layout: let sklearn find it
        import sklearn.datasets

        d = getattr(sklearn.datasets, spec.loader)()
        x, y, names = d.data, d.target, list(d.target_names)
    feats = tuple(f"feature {j + 1}" for j in range(x.shape[1]))
    return Table(f"{spec.file} (scikit-learn)", "", feats, "class", x, y, tuple(names))


# --- CSV files ---------------------------------------------------------------------------------


def read_file(path: str) -> RawTable:
    """Read a CSV file from disk (CLI and config files; the dashboard never reads paths)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"data: no such file '{path}'")
    if not p.is_file():
        raise DataError(f"data: '{path}' is not a file")
    size = p.stat().st_size
    if size > MAX_BYTES:
        raise DataError(
            f"data '{p.name}': the file is {size / 2**20:.1f} MB; the limit is "
            f"{MAX_BYTES // 2**20} MB: keep fewer rows (a random sample) or columns"
        )
    try:
        data = p.read_bytes()
    except OSError as e:
        raise DataError(f"data: cannot read '{path}' ({e.strerror or e})") from None
    return read_csv(data, p.name)


def check_hash(cfg: RunConfig, raw: RawTable) -> None:
    """A config that recorded its file's hash must get the same contents back."""
    if cfg.data_sha256 and cfg.data_sha256 != raw.sha256:
        raise DataError(
            f"data '{raw.name}' has changed since this config was recorded (SHA-256 then "
            f"{cfg.data_sha256[:12]}…, now {raw.sha256[:12]}…), so its results would not be "
            "comparable. To train on the new contents, drop data_sha256 from the config "
            "(or --set data_sha256=)"
        )


def resolve_tables(
    comparison: Comparison, uploads: Mapping[str, RawTable] | None = None
) -> dict[tuple[str, str], Table]:
    """Every table the comparison's task=csv variants train on, keyed by (sha256, target).

    Files are read from the ``data`` paths and each variant's ``data_sha256`` is filled in (so
    config.json records it). With ``uploads`` (sha256 -> parsed file: the dashboard's session)
    no path is ever read: a variant whose hash is not among them is refused.
    """
    raws: dict[str, RawTable] = {}
    tables: dict[tuple[str, str], Table] = {}
    for cfg in comparison.variants:
        if cfg.task != "csv":
            continue
        if uploads is not None:
            raw = uploads.get(cfg.data_sha256)
            if raw is None:
                shown = cfg.data.replace("\\", "/").rsplit("/", 1)[-1]
                raise DataError(
                    f"data '{shown}' is not uploaded in this session: upload the "
                    "file (links and saved runs never carry the data itself)"
                )
        else:
            raw = raws.get(cfg.data) or read_file(cfg.data)
            raws[cfg.data] = raw
            check_hash(cfg, raw)
            cfg.data_sha256 = raw.sha256
        key = (raw.sha256, cfg.target)
        if key not in tables:
            tables[key] = build_table(raw, cfg.target)
            remember_shape(tables[key], cfg.target)
    return tables


# --- shapes, for the cost model (no data: rows, features and classes only) ---------------------

_SHAPES: OrderedDict[tuple[str, str], tuple[int, int, int]] = OrderedDict()
_SHAPES_LOCK = threading.Lock()


def remember_shape(table: Table, target: str) -> None:
    """Record a parsed table's (rows, features, classes) for ``table_dims``."""
    remember_dims(table.sha256, target, table.shape)


def remember_dims(sha256: str, target: str, shape: tuple[int, int, int]) -> None:
    """Record (rows, features, classes) of a CSV file a run recorded (e.g. a stored run
    re-opened in a new process: its chance level and sizes without the data)."""
    with _SHAPES_LOCK:
        _SHAPES[(sha256, target)] = tuple(int(n) for n in shape)
        _SHAPES.move_to_end((sha256, target))
        while len(_SHAPES) > 256:
            _SHAPES.popitem(last=False)


def table_dims(cfg: RunConfig) -> tuple[int, int, int]:
    """(input features, classes, validation rows) of a table task, without reading data."""
    if cfg.task in BUNDLED:
        b = BUNDLED[cfg.task]
        return b.features, b.classes, round(b.rows * VAL_FRACTION)
    from .csv_parser import MAX_CLASSES, MAX_FEATURES

    with _SHAPES_LOCK:
        shape = _SHAPES.get((cfg.data_sha256, cfg.target))
    if shape is None:  # not parsed in this process yet: the largest a file may be
        return MAX_FEATURES, MAX_CLASSES, 2000
    rows, feats, classes = shape
    return feats, classes, max(1, round(rows * VAL_FRACTION))


# --- table -> training and validation tensors ---------------------------------------------------


def split(table: Table, data_seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training rows, validation rows): VAL_FRACTION of each class (a lone row trains)."""
    rng = np.random.default_rng(data_seed)
    train, val = [], []
    for k in range(len(table.classes)):
        idx = rng.permutation(np.flatnonzero(table.y == k))
        n_val = int(round(len(idx) * VAL_FRACTION)) if len(idx) > 1 else 0
        n_val = max(n_val, 1) if len(idx) > 1 else 0
        val.append(idx[:n_val])
        train.append(idx[n_val:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(val))


def tensors(table: Table, data_seed: int):
    """(x_train, y_train, x_val, y_val), standardised with the training rows' mean and std."""
    tr, va = split(table, data_seed)
    xt, xv = table.x[tr], table.x[va]
    mean = xt.mean(axis=0)
    std = xt.std(axis=0)
    std = np.where(std > 0, std, 1.0)  # a constant column stays 0 instead of dividing by 0
    xt, xv = (xt - mean) / std, (xv - mean) / std  # float64 first: large raw values stay exact
    as_x = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    as_y = lambda i: torch.tensor(table.y[i], dtype=torch.long)  # noqa: E731
    return as_x(xt), as_y(tr), as_x(xv), as_y(va)


def prior_loss(y: torch.Tensor, classes: int) -> float:
    """Cross-entropy of always predicting the class frequencies: the line a model must beat."""
    p = torch.bincount(y, minlength=classes).double() / max(1, len(y))
    p = p[p > 0]
    return float(-(p * p.log()).sum())


def csv_target(y: torch.Tensor, classes: int) -> float:
    """val_accuracy for steps_to_target on an unknown table: halfway from the majority class
    (what always guessing it scores) to perfect."""
    majority = float(torch.bincount(y, minlength=classes).max()) / max(1, len(y))
    return round((1 + majority) / 2, 3)

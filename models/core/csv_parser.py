"""Read a user's CSV file into a classification table, or say in one sentence what is wrong.

Two stages, so the dashboard can preview a file before its target column is chosen:
``read_csv`` turns bytes into named text columns (encoding, delimiter, header, ragged rows,
size caps); ``build_table`` picks the target and turns the rest into numbers (non-numeric,
missing and infinite values, classes). Every problem is a ``DataError`` naming the file, the
columns and a line, and saying what to change; nothing else escapes (a fuzz test checks).
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import re
from dataclasses import dataclass

import numpy as np

from .errors import DataError

MAX_BYTES = 20 * 2**20  # file size: a spreadsheet export of a few hundred thousand cells
MAX_ROWS = 200_000  # data rows
MAX_FEATURES = 1000  # feature columns (the target not counted)
MAX_CLASSES = 100  # distinct labels of the target column
MAX_VALUE = 1e100  # |x| beyond this cannot be standardised reliably in float64
MISSING = {"", "na", "n/a", "nan", "null", "none", "?", "-", "missing", "#n/a"}
DELIMITERS = (",", ";", "\t", "|")  # tried in this order; the first that fits the rows wins
SNIFF_ROWS = 50  # rows looked at to pick the delimiter
_DECIMAL_COMMA = re.compile(r"'-?\d+,\d+'\)$")  # the quoted bad cell at a message's end

csv.field_size_limit(MAX_BYTES)  # one huge quoted field is a size problem, not a crash


@dataclass(frozen=True)
class RawTable:
    """A CSV file as named text columns (stage 1): what the preview shows before a target."""

    name: str  # the file's name (never a directory: it is shown to users)
    sha256: str  # of the file's bytes
    columns: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]  # column-major: cells[j][i] = row i of column j
    lines: tuple[int, ...]  # the file line each data row ends on (for messages)
    header: bool  # False: the first row held numbers, columns are named 'column 1', ...
    delimiter: str
    n_bytes: int

    @property
    def n_rows(self) -> int:
        return len(self.lines)


@dataclass(frozen=True)
class Table:
    """A classification table (stage 2): numeric features, integer labels, class names."""

    name: str
    sha256: str
    features: tuple[str, ...]
    target: str
    x: np.ndarray  # (rows, features) float64, finite
    y: np.ndarray  # (rows,) int64 in 0..classes-1
    classes: tuple[str, ...]  # label text of each class index

    @property
    def shape(self) -> tuple[int, int, int]:
        """(rows, feature columns, classes)."""
        return self.x.shape[0], self.x.shape[1], len(self.classes)

    def class_counts(self) -> dict[str, int]:
        """Rows per class, in class order."""
        counts = np.bincount(self.y, minlength=len(self.classes))
        return {c: int(n) for c, n in zip(self.classes, counts)}

    def describe(self) -> str:
        """'569 rows × 30 features, 2 classes' (what a run records about its data)."""
        r, f, c = self.shape
        return f"{r:,} rows × {f:,} feature{'s' if f != 1 else ''}, {c} classes"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fail(name: str, problem: str) -> DataError:
    return DataError(f"data '{name}': {problem}")


def _quote(text: str, n: int = 30) -> str:
    text = text if len(text) <= n else text[: n - 1] + "…"
    return repr(text)


def _names(cols: list[str], n: int = 5, quote: bool = True) -> str:
    shown = ", ".join(_quote(c) if quote else c for c in cols[:n])
    return shown + (f" and {len(cols) - n} more" if len(cols) > n else "")


# --- stage 1: bytes -> text columns -----------------------------------------------------------


def _decode(data: bytes, name: str) -> str:
    if len(data) > MAX_BYTES:
        raise _fail(
            name,
            f"the file is {len(data) / 2**20:.1f} MB; the limit is "
            f"{MAX_BYTES // 2**20} MB: keep fewer rows (a random sample) or columns",
        )
    if not data.strip():
        raise _fail(name, "the file is empty")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise _fail(name, "the file is UTF-16 text; save it as CSV in UTF-8")
    if data[:4] == b"PK\x03\x04":
        raise _fail(name, "this is a zip or Excel (.xlsx) file, not CSV text; export it as CSV")
    if b"\x00" in data:
        raise _fail(name, "the file is binary (it holds NUL bytes), not CSV text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise _fail(
            name,
            f"the file is not UTF-8 text (byte 0x{data[e.start]:02x} at position "
            f"{e.start}); save it as CSV in UTF-8",
        ) from None
    bad = next((ch for ch in text if ch < " " and ch not in "\t\r\n"), None)
    if bad is not None:
        raise _fail(name, f"the file holds a control character ({bad!r}); it is not CSV text")
    return text


def _rows(text: str, delimiter: str, limit: int | None, name: str):
    """(row, line) pairs of non-blank rows; stops after ``limit`` rows when given."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for row in reader:
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            yield row, reader.line_num
            if limit is not None:
                limit -= 1
                if limit <= 0:
                    return
    except csv.Error as e:
        raise _fail(
            name, f"malformed CSV near line {reader.line_num} ({e}; a quote left open?)"
        ) from None


def _sniff(text: str, name: str) -> str:
    """The delimiter whose first rows all have the header's (more than one) field count."""
    best, best_width = ",", 0
    for d in DELIMITERS:
        head = [r for r, _ in _rows(text, d, SNIFF_ROWS, name)]
        width = len(head[0]) if head else 0
        if width > 1 and all(len(r) == width for r in head):
            return d
        if width > best_width:
            best, best_width = d, width
    return best


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def read_csv(data: bytes, name: str) -> RawTable:
    """Parse CSV bytes into named text columns (header row required unless it holds numbers)."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1] or "data.csv"  # never a server path
    text = _decode(data, name)
    delimiter = _sniff(text, name)
    it = _rows(text, delimiter, None, name)
    first = next(it, None)
    if first is None:
        raise _fail(name, "the file has no rows")
    head, line = first
    if len(head) > MAX_FEATURES + 1:
        raise _fail(
            name, f"{len(head) - 1:,} feature columns; the limit is {MAX_FEATURES:,}: drop columns"
        )
    header = not all(_is_number(c) and c.strip() for c in head)
    width = len(head)
    rows: list[list[str]] = [] if header else [head]
    lines: list[int] = [] if header else [line]
    for row, line in it:
        if len(row) != width:
            raise _fail(
                name,
                f"line {line} has {len(row)} values but the "
                f"{'header' if header else 'first row'} has {width}: every row "
                "needs one value per column (ragged rows)",
            )
        if len(rows) >= MAX_ROWS:
            raise _fail(name, f"more than {MAX_ROWS:,} rows; keep fewer rows (a random sample)")
        rows.append(row)
        lines.append(line)
    if not rows:
        raise _fail(name, "the file has a header but no data rows")
    columns = _column_names(head, header, name)
    cells = tuple(tuple(c) for c in zip(*rows))
    return RawTable(
        name, sha256_of(data), columns, cells, tuple(lines), header, delimiter, len(data)
    )


def _column_names(head: list[str], header: bool, name: str) -> tuple[str, ...]:
    if not header:
        return tuple(f"column {j + 1}" for j in range(len(head)))
    names = []
    for j, raw in enumerate(head):
        col = raw.strip()
        if not col:
            col = f"column {j + 1}"  # e.g. the unnamed index column pandas writes
        if len(col) > 200 or not col.isprintable():
            raise _fail(
                name,
                f"the name of column {j + 1} is not printable text of at most "
                "200 characters; rename it",
            )
        names.append(col)
    seen: dict[str, int] = {}
    for j, col in enumerate(names):
        if col in seen:
            raise _fail(
                name,
                f"columns {seen[col] + 1} and {j + 1} are both named "
                f"{_quote(col)}; give every column its own name",
            )
        seen[col] = j
    return tuple(names)


# --- stage 2: text columns -> numbers and classes ---------------------------------------------


def _to_float(cells: tuple[str, ...]) -> np.ndarray | None:
    """Numbers of a column (missing cells as NaN), or None when a cell is not a number."""
    clean = ["nan" if c.strip().lower() in MISSING else c for c in cells]
    try:
        return np.asarray(clean, dtype=np.float64)
    except (ValueError, OverflowError):
        return None


def _first_bad(cells: tuple[str, ...]) -> int:
    for i, c in enumerate(cells):
        if c.strip().lower() not in MISSING and not _is_number(c):
            return i
    return 0


def _labels(raw: RawTable, j: int) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer class indices and class names of column ``j`` (numeric labels sorted by value)."""
    cells = [c.strip() for c in raw.cells[j]]
    target = raw.columns[j]
    missing = [i for i, c in enumerate(cells) if c.lower() in MISSING]
    if missing:
        raise _fail(
            raw.name,
            f"the target column {_quote(target)} is empty in {len(missing):,} "
            f"row{'s' if len(missing) > 1 else ''} (first on line "
            f"{raw.lines[missing[0]]}); remove those rows",
        )
    values = _to_float(tuple(cells))
    if values is not None and np.isfinite(values).all() and (values == np.round(values)).all():
        cells = [str(int(v)) for v in values]  # '1', '1.0' and ' 1' are one class
        names = sorted(set(cells), key=int)
    elif values is not None and np.isfinite(values).all():
        names = sorted(set(cells), key=float)
    else:
        names = sorted(set(cells))
    if len(names) > MAX_CLASSES:
        raise _fail(
            raw.name,
            f"the target column {_quote(target)} has {len(names):,} distinct "
            f"values; at most {MAX_CLASSES} classes are allowed: pick another "
            "target column, or bin the values into classes (this tool "
            "classifies; it does not regress)",
        )
    if len(names) < 2:
        raise _fail(
            raw.name,
            f"the target column {_quote(target)} has a single class "
            f"({_quote(names[0])}); a classifier needs at least two",
        )
    index = {c: k for k, c in enumerate(names)}
    return np.array([index[c] for c in cells], dtype=np.int64), tuple(names)


def build_table(raw: RawTable, target: str = "") -> Table:
    """Pick the target (default: the last column); every other column must be numeric."""
    target = target.strip()
    if not target:
        j = len(raw.columns) - 1
    elif target in raw.columns:
        j = raw.columns.index(target)
    else:
        close = difflib.get_close_matches(target, raw.columns, n=1)
        guess = f"did you mean {_quote(close[0])}? " if close else ""
        raise _fail(
            raw.name,
            f"there is no column {_quote(target)} to use as the target; "
            f"{guess}the columns are {_names(list(raw.columns), 8)}",
        )
    if len(raw.columns) < 2:
        raise _fail(
            raw.name,
            "the file has a single column; it needs at least one feature "
            "column and a target column (are the values separated by commas, "
            "semicolons or tabs?)",
        )
    features = [c for k, c in enumerate(raw.columns) if k != j]
    cols, text_cols = [], []
    for k, col in enumerate(raw.columns):
        if k == j:
            continue
        values = _to_float(raw.cells[k])
        if values is None:
            i = _first_bad(raw.cells[k])
            text_cols.append(f"{_quote(col)} (line {raw.lines[i]}: {_quote(raw.cells[k][i], 20)})")
        cols.append(values)
    if text_cols:
        hint = (
            " (decimal commas? write 1.5, not 1,5)"
            if any(_DECIMAL_COMMA.search(t) for t in text_cols)
            else ""
        )
        verb = "does not" if len(text_cols) == 1 else "do not"
        raise _fail(
            raw.name,
            f"feature columns must hold numbers, and "
            f"{_names(text_cols, 3, quote=False)} {verb}{hint}; drop those "
            "columns, encode them as numbers, or pick one as the target",
        )
    x = np.stack(cols, axis=1) if cols else np.zeros((raw.n_rows, 0))
    _check_values(raw, x, features)
    y, classes = _labels(raw, j)
    return Table(raw.name, raw.sha256, tuple(features), raw.columns[j], x, y, classes)


def _check_values(raw: RawTable, x: np.ndarray, features: list[str]) -> None:
    """Missing, then infinite (or absurdly large) values: name the columns and a line."""
    for what, bad, advice in (
        ("missing values", np.isnan(x), "remove or fill those rows"),
        (
            "infinite values",
            np.isinf(x) | (np.abs(np.nan_to_num(x)) > MAX_VALUE),
            f"remove those rows or rescale the column (values beyond ±{MAX_VALUE:g} are refused)",
        ),
    ):
        cols = np.flatnonzero(bad.any(axis=0))
        if len(cols):
            parts = []
            for k in cols[:5]:
                rows = np.flatnonzero(bad[:, k])
                parts.append(
                    f"{_quote(features[k])} ({len(rows):,} row{'s' if len(rows) > 1 else ''}"
                    f", first on line {raw.lines[rows[0]]})"
                )
            more = f" and {len(cols) - 5} more columns" if len(cols) > 5 else ""
            raise _fail(raw.name, f"{what} in {', '.join(parts)}{more}; {advice}")


def parse_table(data: bytes, name: str, target: str = "") -> Table:
    """Both stages at once: CSV bytes to a classification table."""
    return build_table(read_csv(data, name), target)

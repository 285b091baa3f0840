"""ProPublica COMPAS with the preprocessing of Aranyani's official code (``src/data.py``)."""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from onlinekit.streams.errors import MissingDataError, StreamError

__all__ = ["SCALES", "COMPAS_CATEGORICAL", "COMPAS_COLUMNS", "COMPAS_FEATURES", "CompasData", "load_compas"]

#: The 11 columns the paper uses, in the order of the authors' headerless train/test files.
COMPAS_COLUMNS = (
    "juv_fel_count", "juv_misd_count", "juv_other_count", "priors_count", "age", "c_charge_degree",
    "c_charge_desc", "age_cat", "sex", "race", "is_recid",
)
#: The 10 model inputs (``race`` and ``sex`` included), in this order.
COMPAS_FEATURES = COMPAS_COLUMNS[:-1]
#: Feature columns that are label-encoded (``race`` is binarised instead, see ``load_compas``).
COMPAS_CATEGORICAL = ("c_charge_degree", "c_charge_desc", "age_cat", "sex")
_NUMERIC = ("juv_fel_count", "juv_misd_count", "juv_other_count", "priors_count", "age")
_WHITE = frozenset({"White", "Caucasian"})
_NOT_WHITE = frozenset({"Black", "Other", "African-American", "Hispanic", "Asian", "Native American"})
_SOURCE = ("the ProPublica compas-analysis repository, https://github.com/propublica/compas-analysis "
           "(file compas-scores-two-years.csv); the paper used its authors' own train.csv/test.csv split "
           "of that data (headerless, columns " + ", ".join(COMPAS_COLUMNS) + "), concatenated in that order")


@dataclass
class CompasData:
    """Preprocessed COMPAS stream in file order (the same fields as ``AdultData``, plus the encodings).

    Attributes
    ----------
    X : ndarray of shape (n, 10)
        Features ``COMPAS_FEATURES``: counts and age as read, categoricals label-encoded, race
        binarised; not scaled.
    y : ndarray of shape (n,)
        ``is_recid`` (0 or 1).
    sensitive : ndarray of shape (n,)
        Race: White = 1, Black / Other = 0.
    feature_names : list of str
    path : str
        The file, or the folder whose ``train.csv`` and ``test.csv`` were read.
    categories : dict
        For each label-encoded column, its categories in code order (code ``i`` is ``categories[col][i]``).
    n_dropped : int
        Rows dropped because one of the 11 used columns was empty.

    Examples
    --------
    >>> import numpy as np
    >>> d = CompasData(np.zeros((2, 10)), np.array([0, 1]), np.array([1, 0]))
    >>> len(d), d.n_dropped
    (2, 0)
    """

    X: np.ndarray
    y: np.ndarray
    sensitive: np.ndarray
    feature_names: list = field(default_factory=list)
    path: str = ""
    categories: dict = field(default_factory=dict)
    n_dropped: int = 0

    def __len__(self) -> int:
        return len(self.y)


def _resolve(path) -> tuple[Path, list[Path]]:
    p = Path(os.fspath(path))
    if p.is_dir():
        parts = [p / "train.csv", p / "test.csv"]
        missing = [q.name for q in parts if not q.is_file()]
        if not missing:
            return p, parts
        if len(missing) == 2 and (p / "compas-scores-two-years.csv").is_file():
            return p / "compas-scores-two-years.csv", [p / "compas-scores-two-years.csv"]
        raise MissingDataError(f"COMPAS folder {str(p)!r} lacks {' and '.join(missing)}; get the data from "
                               f"{_SOURCE}, and pass a CSV file or a folder holding train.csv and test.csv")
    if not p.is_file():
        raise MissingDataError(f"COMPAS file not found at {str(p)!r}; run: onlinekit data fetch compas (source: "
                               f"{_SOURCE}), or pass a CSV file or a folder holding train.csv and test.csv")
    return p, [p]


def _read_rows(p: Path) -> list[tuple[int, list[str]]]:
    """``(line number, the 11 used fields)`` of every data row of one CSV file."""
    with open(p, encoding="utf-8", newline="") as fh:
        lines = [(i, [v.strip() for v in row]) for i, row in enumerate(csv.reader(fh), start=1)
                 if row and any(v.strip() for v in row)]
    if not lines:
        raise StreamError(f"{p}: no data rows")
    first = lines[0][1]
    known = [c for c in COMPAS_COLUMNS if c in first]
    if known:  # a header: pick the columns by name (e.g. ProPublica's 53-column file)
        missing = [c for c in COMPAS_COLUMNS if c not in first]
        if missing:
            raise StreamError(f"{p}: header lacks column(s) {missing}; COMPAS needs {list(COMPAS_COLUMNS)}")
        idx = [first.index(c) for c in COMPAS_COLUMNS]
        width = len(first)
        body = lines[1:]
    else:  # the authors' headerless files: exactly the 11 columns, in COMPAS_COLUMNS order
        if len(first) != len(COMPAS_COLUMNS):
            raise StreamError(f"{p}: line {lines[0][0]}: no header naming the COMPAS columns and "
                              f"{len(first)} fields instead of the {len(COMPAS_COLUMNS)} headerless "
                              f"columns {list(COMPAS_COLUMNS)}")
        idx = list(range(len(COMPAS_COLUMNS)))
        width = len(COMPAS_COLUMNS)
        body = lines
    out = []
    for lineno, row in body:
        if len(row) != width:
            raise StreamError(f"{p}: line {lineno}: expected {width} fields, got {len(row)}")
        out.append((lineno, [row[j] for j in idx]))
    return out


def _number(p, lineno, col, s) -> float:
    try:
        v = float(s)
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        raise StreamError(f"{p}: line {lineno}: column {col!r}: {s!r} is not a finite number")
    return v


SCALES = ("none", "online")


def load_compas(path=None, *, n_rows: int | None = None, scale: str = "none") -> CompasData:
    """Read COMPAS and apply the paper's preprocessing.

    ``path`` is a CSV file or a folder holding ``train.csv`` and ``test.csv`` (the authors' split,
    read in that order and concatenated; a folder with neither but a ``compas-scores-two-years.csv``
    reads that file). Each file either has a header naming (at least) the 11 ``COMPAS_COLUMNS``,
    which are picked by name (ProPublica's file), or has no header and exactly those 11 columns in
    that order (the authors' files, which the official code reads with ``header=None``). Fields
    are stripped of surrounding spaces; rows with an empty used field are dropped (the official
    ``dropna``) and counted in ``n_dropped``. Stream order = file order.

    Encoding, deterministic: the five count/age columns are parsed as numbers and kept unscaled;
    ``race`` becomes 1 for ``White`` (``Caucasian`` in ProPublica's file) and 0 for ``Black``,
    ``Other`` (and ProPublica's other values: African-American, Hispanic, Asian, Native American);
    ``c_charge_degree``, ``c_charge_desc``, ``age_cat`` and ``sex`` are label-encoded by the sorted
    order of their distinct strings over the kept rows (code ``i`` = ``i``-th smallest string, as
    scikit-learn's ``LabelEncoder``; the mapping is returned in ``categories``); ``is_recid`` must
    be 0 or 1. Race and sex stay model inputs. Float64 throughout (the official code casts to
    float32).

    Scaling: ``scale="none"`` (the official code's: no column is scaled, so ``age`` and
    ``priors_count`` reach tens and a sigmoid routing node with ``N(0, 1)`` weights saturates);
    ``scale="online"`` standardises each of the 10 encoded columns with the running statistics
    of the rows *before* it (no look-ahead), as
    :class:`onlinekit.streams.encode.FeatureEncoder` with ``scale="standard"`` does:
    ``x'_{t,j} = clip((x_{t,j} - m_{t-1,j}) / sd_{t-1,j}, -5, 5)`` with ``m`` and ``sd`` the mean
    and population standard deviation of ``x_{1..t-1,j}`` (``x' = 0`` while ``sd = 0``, e.g.
    on the first row). The label-encoded columns' codes are still the sorted order over the
    whole file (the official ``LabelEncoder``), so the *set* of categories is known up front;
    the counts, age and race use nothing after the row.

    Parameters
    ----------
    path
        A COMPAS CSV file, or a folder holding ``train.csv`` and ``test.csv``; ``None``: the
        ``compas`` data set from :func:`onlinekit.data.resolve` (``onlinekit data fetch compas``).
    n_rows
        Keep only the first ``n_rows`` kept rows (before encoding), or all when ``None``.
    scale
        ``"none"`` (default, the official code's) or ``"online"`` (see above).

    Raises
    ------
    MissingDataError
        When a file is absent (the message says where to get the data).
    StreamError
        On missing columns (named), a malformed row, a non-numeric count, an unknown race or a
        label other than 0 / 1 (file and line named).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from onlinekit.streams.compas import load_compas
    >>> tmp = tempfile.TemporaryDirectory()
    >>> d = pathlib.Path(tmp.name)
    >>> _ = (d / "train.csv").write_text("0,0,0,3,25,F,Battery,25 - 45,Male,Black,1\\n"
    ...                                  "0,1,0,0,52,M,Petit Theft,Greater than 45,Female,White,0\\n")
    >>> _ = (d / "test.csv").write_text("1,0,0,7,22,F,Burglary,Less than 25,Male,Other,1\\n")
    >>> data = load_compas(d)
    >>> data.X.shape, data.y.tolist(), data.sensitive.tolist()
    ((3, 10), [1, 0, 1], [0, 1, 0])
    >>> data.categories["age_cat"]
    ['25 - 45', 'Greater than 45', 'Less than 25']
    >>> try:
    ...     load_compas(d / "nowhere.csv")
    ... except FileNotFoundError as e:
    ...     print(type(e).__name__)
    MissingDataError
    >>> tmp.cleanup()
    """
    if n_rows is not None and (not isinstance(n_rows, int) or isinstance(n_rows, bool) or n_rows < 1):
        raise ValueError(f"n_rows must be None or an integer >= 1, got {n_rows!r}")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if path is None:
        from onlinekit.data import resolve

        path = resolve("compas")
    where, files = _resolve(path)
    rows: list[tuple[Path, int, list[str]]] = []
    dropped = 0
    for p in files:
        for lineno, vals in _read_rows(p):
            if any(v == "" for v in vals):
                dropped += 1
                continue
            rows.append((p, lineno, vals))
    if n_rows is not None:
        rows = rows[:n_rows]
    if not rows:
        raise StreamError(f"{where}: no complete data rows")
    col = {c: j for j, c in enumerate(COMPAS_COLUMNS)}
    n = len(rows)
    X = np.empty((n, len(COMPAS_FEATURES)))
    y = np.empty(n, dtype=np.int64)
    a = np.empty(n, dtype=np.int64)
    categories = {c: sorted({vals[col[c]] for _, _, vals in rows}) for c in COMPAS_CATEGORICAL}
    codes = {c: {v: i for i, v in enumerate(cats)} for c, cats in categories.items()}
    for i, (p, lineno, vals) in enumerate(rows):
        for j, c in enumerate(COMPAS_FEATURES):
            s = vals[col[c]]
            if c in codes:
                X[i, j] = codes[c][s]
            elif c == "race":
                if s in _WHITE:
                    a[i] = 1
                elif s in _NOT_WHITE:
                    a[i] = 0
                else:
                    raise StreamError(f"{p}: line {lineno}: column 'race': unexpected value {s!r} "
                                      f"(expected one of {sorted(_WHITE | _NOT_WHITE)})")
                X[i, j] = a[i]
            else:
                X[i, j] = _number(p, lineno, c, s)
        lab = _number(p, lineno, "is_recid", vals[col["is_recid"]])
        if lab not in (0.0, 1.0):
            raise StreamError(f"{p}: line {lineno}: column 'is_recid': {vals[col['is_recid']]!r} is not 0 or 1")
        y[i] = int(lab)
    if scale == "online":
        X = _online_standardise(X)
    return CompasData(np.ascontiguousarray(X), y, a, list(COMPAS_FEATURES), str(where), categories, dropped)


def _online_standardise(X: np.ndarray) -> np.ndarray:
    """Each row standardised with the statistics of the rows before it (FeatureEncoder's rule)."""
    from onlinekit.streams.encode import FeatureEncoder

    enc = FeatureEncoder(categorical="none", scale="standard")
    names = [f"c{j}" for j in range(X.shape[1])]
    enc.setup(names, {c: "float" for c in names})
    return enc.encode({c: X[:, j].copy() for j, c in enumerate(names)}, np.ones(len(X), dtype=bool))

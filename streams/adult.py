"""UCI Adult with the preprocessing of Aranyani's official code (``src/data.py``)."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from onlinekit.streams.errors import MissingDataError, StreamError

__all__ = ["ADULT_COLUMNS", "AdultData", "load_adult"]

ADULT_COLUMNS = (
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "gender", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "income",
)
_NUMERIC = {"age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"}
_MARRIED = {"Married-AF-spouse", "Married-civ-spouse", "Married-spouse-absent"}
_SOURCE = ("https://archive.ics.uci.edu/dataset/2/adult (file adult.data, e.g. "
           "https://archive.ics.uci.edu/ml/machine-learning-databases/adult/adult.data)")


@dataclass
class AdultData:
    """Preprocessed Adult stream in file order.

    Attributes
    ----------
    X : ndarray of shape (n, 14)
        Features (all columns but income), label-encoded and z-scored.
    y : ndarray of shape (n,)
        Income ``>50K`` = 1.
    sensitive : ndarray of shape (n,)
        Gender: Female = 0, Male = 1.
    feature_names : list of str
    path : str
    """

    X: np.ndarray
    y: np.ndarray
    sensitive: np.ndarray
    feature_names: list = field(default_factory=list)
    path: str = ""

    def __len__(self) -> int:
        return len(self.y)


def _resolve(path) -> Path:
    p = Path(os.fspath(path))
    if p.is_dir():
        p = p / "adult.data"
    if not p.is_file():
        raise MissingDataError(f"UCI Adult file not found at {str(p)!r}; run: onlinekit data fetch adult "
                               f"(source: {_SOURCE}), or pass the path of adult.data (or its folder)")
    return p


def load_adult(path=None, *, marital: str = "official", n_rows: int | None = None) -> AdultData:
    """Read ``adult.data`` and apply the paper's preprocessing.

    Rows with 15 comma-separated fields, leading spaces stripped; ``?`` stays a category.
    Marital status keeps its 7 values (``marital="official"``, the default: what the paper's
    runs used, because the official code's ``DataFrame.replace`` that was meant to collapse it
    never matches, pandas keeping the leading space of each value) or is collapsed to married /
    not married (``marital="collapsed"``: what that code intended; married = the three
    ``Married-*`` values). Every categorical column (and the
    label) is label-encoded in sorted order, as scikit-learn's ``LabelEncoder`` does, then
    all 14 feature columns are z-scored (sample std, ddof=1), ``gender`` included; the
    sensitive attribute is the raw gender (Female = 0, Male = 1). Float64 throughout (the
    official code casts to float32).

    Parameters
    ----------
    path
        ``adult.data`` or the folder holding it; ``None``: the ``adult`` data set from
        :func:`onlinekit.data.resolve` (``onlinekit data fetch adult``).
    marital
        ``"official"`` (7 categories, default) or ``"collapsed"`` (2; see above).
    n_rows
        Keep only the first ``n_rows`` rows (before standardising), or all when ``None``.

    Raises
    ------
    MissingDataError
        When the file is absent (the message says where to get it).
    StreamError
        On a malformed row (file and line named).

    Examples
    --------
    >>> from onlinekit.streams.adult import load_adult
    >>> try:
    ...     load_adult("/nonexistent/adult")
    ... except FileNotFoundError as e:
    ...     print(type(e).__name__)
    MissingDataError
    """
    if marital not in ("collapsed", "official"):
        raise ValueError(f"marital must be 'collapsed' or 'official', got {marital!r}")
    if n_rows is not None and (not isinstance(n_rows, int) or n_rows < 1):
        raise ValueError(f"n_rows must be None or an integer >= 1, got {n_rows!r}")
    if path is None:
        from onlinekit.data import resolve

        path = resolve("adult")
    p = _resolve(path)
    rows: list[list[str]] = []
    with open(p, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.strip()
            if not line or line.startswith("|"):
                continue
            parts = [v.strip() for v in line.split(",")]
            if len(parts) != len(ADULT_COLUMNS):
                raise StreamError(f"{p}: line {lineno}: expected {len(ADULT_COLUMNS)} fields, got {len(parts)}")
            parts[-1] = parts[-1].rstrip(".")  # adult.test writes '>50K.'
            rows.append(parts)
            if n_rows is not None and len(rows) >= n_rows:
                break
    if not rows:
        raise StreamError(f"{p}: no data rows")
    cols = list(zip(*rows, strict=True))
    feats = []
    names = []
    for j, name in enumerate(ADULT_COLUMNS[:-1]):
        raw = cols[j]
        if name in _NUMERIC:
            try:
                v = np.array([float(s) for s in raw])
            except ValueError as exc:
                bad = next(i for i, s in enumerate(raw) if not _is_float(s))
                raise StreamError(f"{p}: data row {bad + 1}: column {name!r}: {raw[bad]!r} is not a number") from exc
        else:
            if name == "marital-status" and marital == "collapsed":
                raw = tuple("married" if s in _MARRIED else "not married" for s in raw)
            cats = sorted(set(raw))
            code = {c: i for i, c in enumerate(cats)}
            v = np.array([code[s] for s in raw], dtype=np.float64)
        feats.append(v)
        names.append(name)
    income = cols[-1]
    if not set(income) <= {">50K", "<=50K"}:
        bad = next(i for i, s in enumerate(income) if s not in (">50K", "<=50K"))
        raise StreamError(f"{p}: data row {bad + 1}: column 'income': unexpected value {income[bad]!r}")
    gender = cols[ADULT_COLUMNS.index("gender")]
    if not set(gender) <= {"Female", "Male"}:
        bad = next(i for i, s in enumerate(gender) if s not in ("Female", "Male"))
        raise StreamError(f"{p}: data row {bad + 1}: column 'gender': unexpected value {gender[bad]!r}")
    X = np.stack(feats, axis=1)
    mu = X.mean(axis=0)
    sd = X.std(axis=0, ddof=1) if len(X) > 1 else np.ones(X.shape[1])
    sd = np.where(sd > 0, sd, 1.0)
    X = np.ascontiguousarray((X - mu) / sd)
    y = np.array([1 if s == ">50K" else 0 for s in income], dtype=np.int64)
    a = np.array([1 if s == "Male" else 0 for s in gender], dtype=np.int64)
    return AdultData(X, y, a, names, str(p))


def _is_float(s: str) -> bool:
    try:
        return math.isfinite(float(s)) or True
    except ValueError:
        return False

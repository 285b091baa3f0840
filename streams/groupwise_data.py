"""Data of the groupwise-regret experiments (Acharya et al. 2024).

* :func:`load_insurance` -- the Medical Cost table (``insurance.csv``);
* :func:`load_adult` -- UCI Adult (``adult.data`` + ``adult.test``), the documented
  substitute for the paper's continuous-income reconstruction;
* :func:`make_groupwise_synthetic` -- the paper's synthetic generator (shape and colour
  groups, four label rules), bit-compatible with the official code when asked.

Loaders take a path and raise :class:`~onlinekit.streams.errors.MissingDataError` saying
where to get a missing file. They return plain column dicts of numpy arrays.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np

from onlinekit.streams.errors import MissingDataError, StreamError

__all__ = ["load_insurance", "load_adult", "make_groupwise_synthetic"]

_INSURANCE_URL = (
    "https://github.com/stedy/Machine-Learning-with-R-datasets/blob/master/insurance.csv "
    "(run: onlinekit data fetch insurance)"
)
_ADULT_URL = (
    "https://archive.ics.uci.edu/dataset/2/adult (files adult.data and adult.test; "
    "run: onlinekit data fetch adult)"
)

ADULT_COLUMNS = (
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
    "native-country", "income",
)
_ADULT_NUMERIC = {"age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"}


def load_insurance(path=None) -> dict:
    """Read the Medical Cost table (1,338 rows).

    Parameters
    ----------
    path
        The ``insurance.csv`` file (header ``age,sex,bmi,children,smoker,region,charges``);
        ``None``: the ``insurance`` data set from :func:`onlinekit.data.resolve`.

    Returns
    -------
    dict
        Column name to array: ``age``, ``bmi``, ``children``, ``charges`` as float64;
        ``sex``, ``smoker``, ``region`` as str arrays.

    Raises
    ------
    MissingDataError
        If the file does not exist (the message says where to get it).
    StreamError
        If a row is malformed (file, line and column named).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "insurance.csv"
    >>> _ = p.write_text("age,sex,bmi,children,smoker,region,charges\\n19,female,27.9,0,yes,southwest,16884.924\\n")
    >>> t = load_insurance(p)
    >>> t["age"], t["smoker"]
    (array([19.]), array(['yes'], dtype='<U3'))
    >>> load_insurance(p.parent / "nope.csv")
    Traceback (most recent call last):
    ...
    onlinekit.streams.errors.MissingDataError: ...nope.csv not found; get insurance.csv from ...
    """
    if path is None:
        from onlinekit.data import resolve

        path = resolve("insurance")
    p = Path(path)
    if not p.is_file():
        raise MissingDataError(f"{p} not found; get insurance.csv from {_INSURANCE_URL}")
    expected = ["age", "sex", "bmi", "children", "smoker", "region", "charges"]
    cols: dict[str, list] = {k: [] for k in expected}
    with open(p, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None or [h.strip() for h in header] != expected:
            raise StreamError(f"{p}: line 1: expected header {','.join(expected)}, got {header}")
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            if len(row) != len(expected):
                raise StreamError(f"{p}: line {line}: expected {len(expected)} fields, got {len(row)}")
            for k, v in zip(expected, row, strict=True):
                cols[k].append(v.strip())
    out = {}
    for k in expected:
        if k in ("sex", "smoker", "region"):
            out[k] = np.array(cols[k])
        else:
            try:
                out[k] = np.array([float(v) for v in cols[k]])
            except ValueError as exc:
                raise StreamError(f"{p}: column {k!r}: {exc}") from None
            if not np.all(np.isfinite(out[k])):
                raise StreamError(f"{p}: column {k!r}: non-finite value")
    return out


def _read_adult_file(p: Path, skip_junk: bool) -> list[list[str]]:
    rows = []
    with open(p, newline="") as fh:
        for line_no, line in enumerate(fh, start=1):
            s = line.strip()
            if not s or (skip_junk and s.startswith("|")):
                continue
            fields = [f.strip() for f in s.split(",")]
            if len(fields) != len(ADULT_COLUMNS):
                raise StreamError(f"{p}: line {line_no}: expected {len(ADULT_COLUMNS)} fields, got {len(fields)}")
            rows.append(fields)
    return rows


def load_adult(path=None) -> dict:
    """Read UCI Adult (``adult.data`` then ``adult.test``: 48,842 rows).

    Parameters
    ----------
    path
        A directory holding ``adult.data`` and ``adult.test`` (both are read, train first),
        or one of those files; ``None``: the ``adult`` data set from
        :func:`onlinekit.data.resolve`.

    Returns
    -------
    dict
        Column name (UCI names, e.g. ``education-num``) to array: numeric columns as
        float64, categorical ones as str (``"?"`` kept as its own category), and
        ``income`` as a boolean (``>50K``; the test file's trailing ``.`` is removed).

    Raises
    ------
    MissingDataError
        If a file is missing (the message says where to get it).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> row = "39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States, "
    >>> _ = (d / "adult.data").write_text(row + "<=50K\\n")
    >>> _ = (d / "adult.test").write_text("|1x3 Cross validator\\n" + row + ">50K.\\n")
    >>> t = load_adult(d)
    >>> t["age"], t["income"], t["sex"]
    (array([39., 39.]), array([False,  True]), array(['Male', 'Male'], dtype='<U4'))
    """
    if path is None:
        from onlinekit.data import resolve

        path = resolve("adult")
    p = Path(path)
    if p.is_dir():
        files = [p / "adult.data", p / "adult.test"]
    else:
        files = [p]
    for f in files:
        if not f.is_file():
            raise MissingDataError(f"{f} not found; get adult.data and adult.test from {_ADULT_URL}")
    rows: list[list[str]] = []
    for f in files:
        rows += _read_adult_file(f, skip_junk=f.name.endswith(".test"))
    out = {}
    for j, name in enumerate(ADULT_COLUMNS):
        vals = [r[j] for r in rows]
        if name in _ADULT_NUMERIC:
            try:
                out[name] = np.array([float(v) for v in vals])
            except ValueError as exc:
                raise StreamError(f"{p}: column {name!r}: {exc}") from None
        elif name == "income":
            lab = [v.rstrip(".") for v in vals]
            bad = sorted(set(lab) - {">50K", "<=50K"})
            if bad:
                raise StreamError(f"{p}: column 'income': unexpected label {bad[0]!r}")
            out[name] = np.array([v == ">50K" for v in lab])
        else:
            out[name] = np.array(vals)
    return out


SHAPES = ("circle", "square", "triangle")
COLOURS = ("green", "red")


def make_groupwise_synthetic(
    n: int = 100_000,
    d: int = 20,
    *,
    seed: int = 21,
    shape_probs=(0.5, 0.3, 0.2),
    colour_probs=(0.6, 0.4),
    noise: float = 0.16,
    paper_compat: bool = True,
) -> dict:
    """The synthetic data of Acharya et al. (2024): shapes and colours, four label rules.

    Every point ``x ~ U[0, 1]^d`` gets one shape (circle/square/triangle) and one colour
    (green/red), so 5 intersecting groups. Group ``g`` has weights ``w_g ~ U[0, 1]^d`` and
    label ``y_g = x . w_g + N(0, noise^2)``. The observed label combines the labels of the
    point's two groups by one of four rules -- ``mean``, ``min``, ``max``, or ``dperm``
    (the label of the first of its groups in a fixed random order) -- and each rule's
    labels are min-max scaled to ``[0, 1]``.

    Parameters
    ----------
    n, d
        Number of points and of features (the paper: 100,000 and 20).
    seed
        Generator seed (the paper's is 21).
    shape_probs, colour_probs
        Group probabilities (the paper's defaults).
    noise
        Standard deviation of the label noise (the paper: 0.16).
    paper_compat
        ``True``: draw with a local legacy ``numpy.random.RandomState(seed)`` and Python
        ``random.Random(seed)`` in the official code's order, which reproduces its data
        exactly (``seed=21`` gives its group sizes 49,857 / 30,044 / 20,099 / 59,985 /
        40,015). ``False``: one ``numpy.random.default_rng(seed)``.

    Returns
    -------
    dict
        ``X`` (n, d); ``groups`` (n, 5) bool; ``group_names``; ``labels``: rule name to
        (n,) array in ``[0, 1]``; ``order``: the ``dperm`` group order (names).

    Examples
    --------
    >>> data = make_groupwise_synthetic(n=1000, d=3, seed=0)
    >>> data["X"].shape, int(data["groups"].sum(axis=1).max()), sorted(data["labels"])
    ((1000, 3), 2, ['dperm', 'max', 'mean', 'min'])
    >>> float(data["labels"]["mean"].min()), float(data["labels"]["mean"].max())
    (0.0, 1.0)
    """
    names = list(SHAPES) + list(COLOURS)
    Ng = len(names)
    if paper_compat:
        rs = np.random.RandomState(seed)
        pr = random.Random(seed)
        X = rs.uniform(low=0.0, high=1.0, size=(n, d))
        blocks = []
        for probs in (shape_probs, colour_probs):
            k = len(probs)
            pick = pr.choices(population=range(k), weights=list(probs), k=n)
            blocks.append(np.eye(k)[np.array(pick, dtype=np.int64)])
        A = np.hstack(blocks)
        W = rs.uniform(low=0.0, high=1.0, size=(d, Ng))
        Y = X @ W
        Y += rs.normal(scale=noise, size=(n, Ng))
        order = rs.permutation(Ng)
    else:
        rng = np.random.default_rng(seed)
        X = rng.uniform(0.0, 1.0, size=(n, d))
        s = rng.choice(len(shape_probs), size=n, p=np.asarray(shape_probs) / np.sum(shape_probs))
        c = rng.choice(len(colour_probs), size=n, p=np.asarray(colour_probs) / np.sum(colour_probs))
        A = np.hstack([np.eye(len(shape_probs))[s], np.eye(len(colour_probs))[c]])
        W = rng.uniform(0.0, 1.0, size=(d, Ng))
        Y = X @ W + rng.normal(scale=noise, size=(n, Ng))
        order = rng.permutation(Ng)
    G = A.astype(bool)
    masked = np.where(G, Y, np.nan)
    raw = {
        "mean": np.nanmean(masked, axis=1),
        "min": np.nanmin(masked, axis=1),
        "max": np.nanmax(masked, axis=1),
    }
    perm_active = G[:, order]
    first = perm_active.argmax(axis=1)
    raw["dperm"] = Y[np.arange(n), order[first]]
    labels = {}
    for k, v in raw.items():
        lo, hi = v.min(), v.max()
        labels[k] = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    return {"X": X, "groups": G, "group_names": names, "labels": labels, "order": [names[i] for i in order]}

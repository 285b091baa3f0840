"""The source protocol and in-memory sources.

A source produces :class:`~onlinekit.streams.block.Chunk` objects (raw columns) in order.
``chunks(start=k)`` skips the first ``k`` data rows, which is how replay resumes.
Text-file sources take ``errors="raise"|"skip"``: malformed rows either raise
:class:`~onlinekit.streams.errors.StreamError` naming file, line and column, or are counted
in :attr:`Source.skipped` and described in :attr:`Source.bad_rows`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Literal

import numpy as np

from onlinekit.streams.block import Chunk
from onlinekit.streams.errors import StreamError

__all__ = ["Source", "ArraySource", "BadRow", "check_errors_mode", "requested_kinds", "KINDS"]

#: Column kinds a caller may request from a source. ``"cat"`` / ``"cat_or_float"``: text as
#: categorical codes (64-bit FNV-1a hashes, ``int64``) with the texts in the source's
#: ``level_texts``; only sources with ``categorical_codes = True`` (CSV) accept them.
KINDS = ("float", "str", "str_or_float", "cat", "cat_or_float")

ColumnKinds = Mapping[str, Literal["float", "str"]]


class BadRow(tuple):
    """``(location, column, reason)`` for a skipped row."""

    __slots__ = ()

    def __new__(cls, location: str, column: str | None, reason: str):
        return super().__new__(cls, (location, column, reason))

    def __str__(self) -> str:
        loc, col, reason = self
        return f"{loc}, column {col!r}: {reason}" if col else f"{loc}: {reason}"


def check_errors_mode(errors: str) -> str:
    """Validate an ``errors=`` argument (``"raise"`` or ``"skip"``).

    >>> check_errors_mode("skip")
    'skip'
    """
    if errors not in ("raise", "skip"):
        raise ValueError(f"errors must be 'raise' or 'skip', got {errors!r}")
    return errors


def requested_kinds(source: str, names: list[str], kinds) -> dict[str, str]:
    """Validate a ``kinds`` request against a source's column ``names``.

    ``None`` asks for every column as ``"str_or_float"``.

    >>> requested_kinds("f.csv", ["a", "b"], {"b": "float"})
    {'b': 'float'}
    """
    if kinds is None:
        return dict.fromkeys(names, "str_or_float")
    want = dict(kinds)
    missing = [c for c in want if c not in names]
    if missing:
        raise StreamError(f"{source}: no column(s) {missing}; have {names}")
    for c, k in want.items():
        if k not in KINDS:
            raise ValueError(f"column {c!r}: kind must be one of {KINDS}, got {k!r}")
    return want


class Source:
    """Base class for sources.

    Subclasses set :attr:`name` and implement :meth:`column_names` and :meth:`chunks`.
    ``kinds`` maps each column the caller needs to ``"float"`` or ``"str"``; sources parse
    only those columns (``None`` means: every column, numeric where possible).
    """

    name: str = "<source>"
    #: Does :meth:`chunks` accept the kinds ``"cat"`` / ``"cat_or_float"``?
    categorical_codes: bool = False

    def __init__(self) -> None:
        self.skipped = 0
        self.bad_rows: list[BadRow] = []

    def column_names(self) -> list[str]:
        raise NotImplementedError  # abstract

    def chunks(
        self, start: int = 0, chunk_size: int = 65536, kinds: ColumnKinds | None = None
    ) -> Iterator[Chunk]:
        raise NotImplementedError  # abstract

    def _record_bad(self, row: BadRow, limit: int = 10_000) -> None:
        self.skipped += 1
        if len(self.bad_rows) < limit:
            self.bad_rows.append(row)


class ArraySource(Source):
    """Columns held in memory (numpy arrays or sequences).

    Parameters
    ----------
    columns
        Mapping of column name to a 1-d array; a 2-d ``X`` may be given as ``X=`` instead,
        which yields columns ``x0, x1, ...``.
    X, y
        Convenience: feature matrix and target.
    name
        Name used in messages.

    Examples
    --------
    >>> import numpy as np
    >>> src = ArraySource(X=np.arange(6.0).reshape(3, 2), y=np.array([0.0, 1.0, 0.0]))
    >>> src.column_names()
    ['x0', 'x1', 'y']
    >>> [len(c) for c in src.chunks(start=1, chunk_size=1)]
    [1, 1]
    """

    def __init__(
        self,
        columns: Mapping[str, Sequence | np.ndarray] | None = None,
        *,
        X: np.ndarray | None = None,
        y: np.ndarray | None = None,
        name: str = "<arrays>",
    ) -> None:
        super().__init__()
        cols: dict[str, np.ndarray] = {}
        self._matrix = None
        if X is not None:
            X = np.asarray(X)
            if X.ndim != 2:
                raise StreamError(f"{name}: X must be 2-d, got shape {X.shape}")
            for j in range(X.shape[1]):
                cols[f"x{j}"] = X[:, j]
            if X.dtype == np.float64:
                self._matrix = (tuple(f"x{j}" for j in range(X.shape[1])), np.ascontiguousarray(X))
        if y is not None:
            cols["y"] = np.asarray(y)
        for k, v in (columns or {}).items():
            cols[k] = np.asarray(v)
        lengths = {k: len(v) for k, v in cols.items()}
        if len(set(lengths.values())) > 1:
            raise StreamError(f"{name}: columns have different lengths {lengths}")
        for k, v in cols.items():
            if v.ndim != 1:
                raise StreamError(f"{name}: column {k!r} must be 1-d, got shape {v.shape}")
        self.name = name
        self._cols = cols
        self._n = next(iter(lengths.values()), 0)

    def __len__(self) -> int:
        return self._n

    def column_names(self) -> list[str]:
        return list(self._cols)

    def chunks(self, start=0, chunk_size=65536, kinds=None):
        names = list(kinds) if kinds is not None else list(self._cols)
        missing = [c for c in names if c not in self._cols]
        if missing:
            raise StreamError(f"{self.name}: no column(s) {missing}; have {list(self._cols)}")
        conv = {}
        for c in names:
            v = self._cols[c]
            kind = (kinds or {}).get(c)
            if kind == "str" or (kind in (None, "str_or_float") and v.dtype.kind in "OUS"):
                conv[c] = v.astype(object) if v.dtype != object else v
            else:
                try:
                    conv[c] = np.asarray(v, dtype=np.float64)
                except (TypeError, ValueError) as exc:
                    raise StreamError(f"{self.name}: column {c!r} is not numeric ({exc})") from None
        for lo in range(start, self._n, chunk_size):
            hi = min(lo + chunk_size, self._n)
            matrix = None if self._matrix is None else (self._matrix[0], self._matrix[1][lo:hi])
            yield Chunk(lo, {c: conv[c][lo:hi] for c in names}, None, self.name, None, matrix)

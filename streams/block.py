"""Blocks: column arrays for ``n`` consecutive events, and raw source chunks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Block", "Chunk", "ROLES", "onehot_dense"]

#: Column roles a :class:`~onlinekit.streams.Schema` can assign.
ROLES = ("features", "target", "groups", "sensitive", "action", "reward", "propensity", "position", "weight")


@dataclass(frozen=True, eq=False)
class Chunk:
    """Raw rows from a source, before a schema gives them roles.

    Attributes
    ----------
    offset
        Index (zero-based, counting every data row the source produced, bad ones included)
        of the first row.
    columns
        Column name to array. Numeric columns are ``float64``; text columns are ``object``
        arrays of ``str``.
    lines
        For file sources, the 1-based physical line number of each row (for error messages);
        ``None`` otherwise.
    source
        A name for messages (file path, ``river:Phishing``, ...).
    stop
        Source row index just after this chunk (rows the source skipped as malformed
        included); ``None`` means ``offset + len(chunk)``. Resuming passes it as ``start``.
    matrix
        Optional ``(names, X)``: the same numbers as the named columns, already as one
        C-contiguous ``float64`` matrix, which a schema whose features are exactly ``names``
        uses without copying.
    """

    offset: int
    columns: dict[str, np.ndarray]
    lines: np.ndarray | None = None
    source: str = "<memory>"
    stop: int | None = None
    matrix: tuple[tuple[str, ...], np.ndarray] | None = None

    @property
    def end(self) -> int:
        """Source row index just after this chunk."""
        return self.offset + len(self) if self.stop is None else self.stop

    def __len__(self) -> int:
        for v in self.columns.values():
            return len(v)
        return 0

    def where(self, i: int) -> str:
        """Human-readable location of row ``i`` of this chunk."""
        if self.lines is not None:
            return f"{self.source}, line {int(self.lines[i])}"
        return f"{self.source}, row {self.offset + i}"

    def take(self, keep: np.ndarray) -> Chunk:
        """Rows where boolean mask ``keep`` holds (offset kept: rows are no longer contiguous)."""
        lines = None if self.lines is None else self.lines[keep]
        matrix = None if self.matrix is None else (self.matrix[0], np.ascontiguousarray(self.matrix[1][keep]))
        return Chunk(
            self.offset, {k: v[keep] for k, v in self.columns.items()}, lines, self.source, self.end, matrix
        )


def onehot_dense(numeric: np.ndarray, onehot: np.ndarray, width: int) -> np.ndarray:
    """The dense ``(n, width)`` matrix of a block given as numeric columns plus one-hot indices.

    Columns ``0 .. p - 1`` are ``numeric`` (``(n, p)``); every other column is 0 except
    ``X[i, onehot[i, k]] = 1.0`` for each ``onehot[i, k] >= 0`` (``-1``: no level).

    >>> import numpy as np
    >>> onehot_dense(np.array([[0.5], [2.0]]), np.array([[2, -1], [1, 3]]), 4).tolist()
    [[0.5, 0.0, 1.0, 0.0], [2.0, 1.0, 0.0, 1.0]]
    """
    n, p = numeric.shape
    X = np.zeros((n, width), dtype=np.float64)
    X[:, :p] = numeric
    rows, ks = np.nonzero(onehot >= 0)
    X[rows, onehot[rows, ks]] = 1.0
    return X


class Block:
    """``n`` consecutive events with schema roles applied.

    Attributes
    ----------
    offset
        Stream offset (zero-based event index) of the first event.
    X
        ``(n, d)`` C-contiguous ``float64`` features, or ``None``. A block built with
        ``numeric`` and ``onehot`` computes it on first access (and keeps it).
    y
        ``(n,)`` targets (``float64``), or ``None``.
    groups
        ``(n, G)`` boolean memberships (groups may intersect), or ``None``.
    extra
        Other roles (``sensitive``, ``action``, ``reward``, ``propensity``, ``position``,
        ``weight``) as ``(n,)`` arrays.
    feature_names, group_names
        Column names of ``X`` and ``groups``.
    numeric, onehot
        The features in sparse form (both or neither, and then no ``X`` argument):
        ``numeric`` ``(n, p)`` ``float64`` are the first ``p`` columns of ``X``; ``onehot``
        ``(n, k)`` ``int64`` holds, per event and categorical column, the column of ``X``
        that is 1 (``-1``: none); every other entry of ``X`` is 0. ``X`` has
        ``len(feature_names)`` columns. Learners with a ``predict_learn_onehot`` method read
        this form without building ``X``.
    labels
        For class-label targets: the class names so far (``y`` holds codes into it), from
        the stream's encoder; ``None`` otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> b = Block(offset=10, X=np.zeros((2, 3)), y=np.ones(2))
    >>> len(b), b.offset
    (2, 10)
    >>> s = Block(0, numeric=np.array([[0.5], [2.0]]), onehot=np.array([[1], [-1]]),
    ...           feature_names=("x", "c=a"))
    >>> s.width, s.X.tolist()
    (2, [[0.5, 1.0], [2.0, 0.0]])
    """

    __slots__ = ("offset", "_X", "y", "groups", "extra", "feature_names", "group_names", "numeric", "onehot", "labels")

    def __init__(
        self,
        offset: int,
        X: np.ndarray | None = None,
        y: np.ndarray | None = None,
        groups: np.ndarray | None = None,
        extra: dict[str, np.ndarray] | None = None,
        feature_names: tuple[str, ...] = (),
        group_names: tuple[str, ...] = (),
        *,
        numeric: np.ndarray | None = None,
        onehot: np.ndarray | None = None,
        labels: tuple | None = None,
    ) -> None:
        if (numeric is None) != (onehot is None):
            raise ValueError("a sparse block needs both numeric and onehot")
        if onehot is not None:
            if X is not None:
                raise ValueError("give X or numeric + onehot, not both")
            if numeric.ndim != 2 or onehot.ndim != 2 or len(numeric) != len(onehot):
                raise ValueError(f"numeric {numeric.shape} and onehot {onehot.shape} must be 2-d with equal rows")
        self.offset = offset
        self._X = X
        self.y = y
        self.groups = groups
        self.extra = {} if extra is None else extra
        self.feature_names = feature_names
        self.group_names = group_names
        self.numeric = numeric
        self.onehot = onehot
        self.labels = labels

    @property
    def X(self) -> np.ndarray | None:
        if self._X is None and self.onehot is not None:
            self._X = onehot_dense(self.numeric, self.onehot, len(self.feature_names))
        return self._X

    @property
    def width(self) -> int:
        """Number of feature columns (without building ``X``)."""
        if self.onehot is not None:
            return len(self.feature_names)
        return 0 if self._X is None else self._X.shape[1]

    def __repr__(self) -> str:
        return f"Block(offset={self.offset}, n={len(self)}, width={self.width}, sparse={self.onehot is not None})"

    def __len__(self) -> int:
        for a in (self._X, self.numeric, self.y, self.groups, *self.extra.values()):
            if a is not None:
                return len(a)
        return 0

    def learn_kwargs(self) -> dict[str, Any]:
        """Per-event keyword columns for ``learn_many`` (``groups=``, ``sensitive=``, ...)."""
        kw: dict[str, Any] = {}
        if self.groups is not None:
            kw["groups"] = self.groups
        kw.update(self.extra)
        return kw

    def slice(self, start: int, stop: int) -> Block:
        """Events ``start:stop`` of this block, as a block."""
        sparse = self.onehot is not None
        out = Block(
            offset=self.offset + start,
            X=None if self._X is None or sparse else self._X[start:stop],
            y=None if self.y is None else self.y[start:stop],
            groups=None if self.groups is None else self.groups[start:stop],
            extra={k: v[start:stop] for k, v in self.extra.items()},
            feature_names=self.feature_names,
            group_names=self.group_names,
            numeric=self.numeric[start:stop] if sparse else None,
            onehot=self.onehot[start:stop] if sparse else None,
            labels=self.labels,
        )
        if sparse and self._X is not None:
            out._X = self._X[start:stop]
        return out

"""Blocks: column arrays for ``n`` consecutive events, and raw source chunks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Block", "Chunk", "ROLES"]

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


@dataclass(frozen=True, eq=False)
class Block:
    """``n`` consecutive events with schema roles applied.

    Attributes
    ----------
    offset
        Stream offset (zero-based event index) of the first event.
    X
        ``(n, d)`` C-contiguous ``float64`` features, or ``None``.
    y
        ``(n,)`` targets (``float64``), or ``None``.
    groups
        ``(n, G)`` boolean memberships (groups may intersect), or ``None``.
    extra
        Other roles (``sensitive``, ``action``, ``reward``, ``propensity``, ``position``,
        ``weight``) as ``(n,)`` arrays.
    feature_names, group_names
        Column names of ``X`` and ``groups``.

    Examples
    --------
    >>> import numpy as np
    >>> b = Block(offset=10, X=np.zeros((2, 3)), y=np.ones(2))
    >>> len(b), b.offset
    (2, 10)
    """

    offset: int
    X: np.ndarray | None = None
    y: np.ndarray | None = None
    groups: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    feature_names: tuple[str, ...] = ()
    group_names: tuple[str, ...] = ()

    def __len__(self) -> int:
        for a in (self.X, self.y, self.groups, *self.extra.values()):
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
        return Block(
            offset=self.offset + start,
            X=None if self.X is None else self.X[start:stop],
            y=None if self.y is None else self.y[start:stop],
            groups=None if self.groups is None else self.groups[start:stop],
            extra={k: v[start:stop] for k, v in self.extra.items()},
            feature_names=self.feature_names,
            group_names=self.group_names,
        )

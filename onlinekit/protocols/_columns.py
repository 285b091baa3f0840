"""Row checks shared by the log protocols: integer and bounded real columns of a chunk.

Each check returns the column as an array of the right type, or raises
:class:`~onlinekit.InvalidEvent` naming the file line (``chunk.where(i)``) and the column of
the first bad row, before any learner sees the chunk.
"""

from __future__ import annotations

import numpy as np

from onlinekit.base import InvalidEvent

__all__ = ["int_column", "real_column"]


def _fail(chunk, col: str, i: int, what: str, value) -> InvalidEvent:
    return InvalidEvent(f"{chunk.where(i)}: column {col!r}: {what}, got {value!r}", field=col,
                        offset=chunk.offset + i)


def int_column(chunk, col: str, lo: int, hi: int | None = None, what: str = "") -> np.ndarray:
    """Column ``col`` as ``int64``; every value a whole number in ``[lo, hi)`` (``hi=None``: no cap).

    Examples
    --------
    >>> from onlinekit.streams.block import Chunk
    >>> int_column(Chunk(0, {"k": np.array([1.0, 3.0])}), "k", 1).tolist()
    [1, 3]
    >>> int_column(Chunk(0, {"k": np.array([1.0, 2.5])}), "k", 1)
    Traceback (most recent call last):
    ...
    onlinekit.base.InvalidEvent: event 1: field 'k': <memory>, row 1: column 'k': expected a whole number >= 1, got 2.5
    """
    a = np.asarray(chunk.columns[col], dtype=np.float64)
    ok = np.isfinite(a) & (a == np.floor(a)) & (a >= lo)
    if hi is not None:
        ok &= a < hi
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        rng = f">= {lo}" if hi is None else f"in [{lo}, {hi})"
        raise _fail(chunk, col, i, what or f"expected a whole number {rng}", float(a[i]))
    return a.astype(np.int64)


def real_column(chunk, col: str, lo: float = 0.0, hi: float = np.inf, *, open_lo: bool = False,
                what: str = "") -> np.ndarray:
    """Column ``col`` as ``float64``; every value finite, ``>= lo`` (``> lo`` with ``open_lo``)
    and ``<= hi``.

    Examples
    --------
    >>> from onlinekit.streams.block import Chunk
    >>> real_column(Chunk(0, {"p": np.array([0.5, 0.0])}), "p", 0.0, 1.0, open_lo=True)
    Traceback (most recent call last):
    ...
    onlinekit.base.InvalidEvent: event 1: field 'p': <memory>, row 1: column 'p': expected a number in (0.0, 1.0], got 0.0
    """
    a = np.asarray(chunk.columns[col], dtype=np.float64)
    ok = np.isfinite(a) & ((a > lo) if open_lo else (a >= lo)) & (a <= hi)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        left = "(" if open_lo else "["
        rng = f"in {left}{lo}, {hi}]" if np.isfinite(hi) else f"{'>' if open_lo else '>='} {lo}"
        raise _fail(chunk, col, i, what or f"expected a number {rng}", float(a[i]))
    return a

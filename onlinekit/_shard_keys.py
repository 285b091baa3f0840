"""Shard keys as text, the same way from every source.

The rule (documented in :func:`onlinekit.sharded.split_by_key`):

* text (CSV cells, JSON strings, string arrays) is compared as written: ``"3"``, ``"3.0"``
  and ``"03"`` are three keys, ``" a"`` is not ``"a"``;
* numbers (float or integer arrays, Parquet numeric columns, JSON numbers) are written
  canonically: a whole number without a decimal point (``3.0`` -> ``"3"``, ``-0.0`` ->
  ``"0"``), any other as Python's shortest round-trip ``repr`` (``0.5`` -> ``"0.5"``);
  booleans as ``"True"`` / ``"False"``;
* an empty string, ``None``, NaN or an infinite number is a *missing* key.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["key_texts"]

_INT_LIMIT = 2.0**63


def _number_text(v: float) -> str | None:
    if not math.isfinite(v):
        return None
    if v.is_integer():
        return str(int(v))
    return repr(v)


def _one(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v or None
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return _number_text(float(v))
    raise TypeError(f"a shard key must be text or a number, got {type(v).__name__} {v!r}")


def key_texts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(keys, missing)``: each value's key text (a numpy string array; ``""`` where
    missing) and a boolean mask of the missing ones.

    Examples
    --------
    >>> keys, missing = key_texts(np.array([3.0, 0.5, np.nan, -2.0]))
    >>> keys.tolist(), missing.tolist()
    (['3', '0.5', '', '-2'], [False, False, True, False])
    >>> key_texts(np.array(["3", "3.0", "03", ""], dtype=object))[0].tolist()
    ['3', '3.0', '03', '']
    """
    a = np.asarray(values)
    n = len(a)
    if a.dtype.kind == "U":
        return a, a == ""
    if a.dtype.kind == "b":
        keys = np.where(a, "True", "False")
        return keys, np.zeros(n, dtype=bool)
    if a.dtype.kind in "iu":
        return a.astype(str), np.zeros(n, dtype=bool)
    if a.dtype.kind == "f":
        v = a.astype(np.float64, copy=False)
        finite = np.isfinite(v)
        whole = finite & (np.trunc(v) == v) & (np.abs(v) < _INT_LIMIT)
        out = np.empty(n, dtype=object)
        out[whole] = v[whole].astype(np.int64).astype(str)
        for i in np.flatnonzero(finite & ~whole):
            out[i] = _number_text(float(v[i]))
        out[~finite] = ""
        return out.astype(str), ~finite
    if a.dtype.kind == "O":
        texts = [_one(v) for v in a]
        missing = np.fromiter((t is None for t in texts), dtype=bool, count=n)
        return np.array([t or "" for t in texts], dtype=str) if n else np.empty(0, dtype=str), missing
    raise TypeError(f"a shard key column must hold text or numbers, got dtype {a.dtype}")

"""Turning River-style dict events (or 1-d arrays) into float vectors, with validation."""

from __future__ import annotations

import math
import numbers

import numpy as np

from onlinekit.base import InvalidEvent

__all__ = ["FeatureIndex", "check_value", "check_target", "check_matrix"]


class FeatureIndex:
    """Maps feature names to columns; new names are appended (River's emerging features).

    Array inputs are positional; dict inputs are matched by name, absent names count as 0.
    :attr:`names` is only ever appended to in place (never shortened, reordered or assigned
    into): the serving layer copies a prefix of it outside its lock (``_append_only_state``).
    """

    def __init__(self, names=()):
        self.names: list = list(names)
        self._pos = {k: i for i, k in enumerate(self.names)}

    def vector(self, x, *, grow: bool) -> tuple[np.ndarray, list]:
        """Return ``(vector, new_names)``; ``new_names`` are the keys not yet indexed.

        The index is not changed here (so a rejected event changes nothing); call
        :meth:`add` once the event is accepted.
        """
        if isinstance(x, dict):
            pos = self._pos
            d = len(self.names)
            vals = list(x.values())
            # every value a finite float and every name known (the common event): checked at once
            if vals and set(map(type, vals)) == _FLOAT_ONLY and math.isfinite(sum(vals)):
                try:
                    slots = [pos[k] for k in x]
                except KeyError:
                    slots = None
                if slots is not None:
                    v = np.zeros(d)
                    v[slots] = vals
                    return v, []
            new: list = []
            vals: list = []
            slots: list = []
            for k, val in x.items():
                fv = check_value(k, val)
                j = pos.get(k)
                if j is None:
                    if not grow:
                        continue
                    j = d + len(new)
                    new.append(k)
                slots.append(j)
                vals.append(fv)
            v = np.zeros(d + len(new))
            if slots:
                v[slots] = vals
            return v, new
        arr = np.asarray(x)
        if arr.ndim != 1:
            raise InvalidEvent(f"expected a dict or a 1-d array, got shape {arr.shape}", field="x")
        if arr.dtype.kind not in "fiub":
            raise InvalidEvent(f"expected numbers, got dtype {arr.dtype}", field="x")
        arr = arr.astype(np.float64)
        bad = ~np.isfinite(arr)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise InvalidEvent(f"non-finite value {arr[j]!r}", field=f"x[{j}]")
        d = len(self.names)
        if d and len(arr) != d:
            raise InvalidEvent(f"expected {d} features, got {len(arr)}", field="x")
        new = [f"x{j}" for j in range(d, len(arr))] if grow else []
        if not grow and not d:
            return np.zeros(0), []
        return arr, new

    def known(self, x: dict) -> list[tuple[int, float]]:
        """``(column, value)`` of the keys of dict event ``x`` already indexed, in column
        order (unknown keys are skipped; every value is validated)."""
        pos = self._pos
        out = []
        for k, val in x.items():
            fv = check_value(k, val)
            j = pos.get(k)
            if j is not None:
                out.append((j, fv))
        out.sort()
        return out

    def add(self, new) -> None:
        for k in new:
            self._pos[k] = len(self.names)
            self.names.append(k)


_FLOAT_ONLY = {float}


def check_value(key, val) -> float:
    """A feature value of dict key ``key`` as a finite float, or :class:`InvalidEvent`."""
    t = type(val)
    if t is not float and t is not int and not isinstance(val, numbers.Real):
        raise InvalidEvent(f"expected a number, got {t.__name__}", field=f"x[{key!r}]")
    fv = float(val)
    if not math.isfinite(fv):
        raise InvalidEvent(f"non-finite value {fv!r}", field=f"x[{key!r}]")
    return fv


def check_target(y, field: str = "y") -> float:
    """A finite float target, or :class:`InvalidEvent`."""
    if isinstance(y, (bool, np.bool_)):
        return float(y)
    if not isinstance(y, numbers.Real):
        raise InvalidEvent(f"expected a number, got {type(y).__name__}", field=field)
    v = float(y)
    if not math.isfinite(v):
        raise InvalidEvent(f"non-finite value {v!r}", field=field)
    return v


def check_matrix(X, y=None, n_features: int | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Validate a block: 2-d finite float64 ``X`` (C order) and matching finite ``y``."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise InvalidEvent(f"expected a 2-d array, got shape {X.shape}", field="X")
    if X.dtype.kind not in "fiub":
        raise InvalidEvent(f"expected numbers, got dtype {X.dtype}", field="X")
    X = np.ascontiguousarray(X, dtype=np.float64)
    if n_features is not None and n_features and X.shape[1] != n_features:
        raise InvalidEvent(f"expected {n_features} features, got {X.shape[1]}", field="X")
    fin = np.isfinite(X)
    if not fin.all():
        i, j = map(int, np.argwhere(~fin)[0])
        raise InvalidEvent(f"non-finite value {X[i, j]!r}", field=f"X[{i}, {j}]", offset=i)
    if y is not None:
        y = np.asarray(y)
        if y.shape != (X.shape[0],):
            raise InvalidEvent(f"expected shape ({X.shape[0]},), got {y.shape}", field="y")
        if y.dtype.kind not in "fiub":
            raise InvalidEvent(f"expected numbers, got dtype {y.dtype}", field="y")
        y = np.ascontiguousarray(y, dtype=np.float64)
        fy = np.isfinite(y)
        if not fy.all():
            i = int(np.flatnonzero(~fy)[0])
            raise InvalidEvent(f"non-finite value {y[i]!r}", field=f"y[{i}]", offset=i)
    return X, y

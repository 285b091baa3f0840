"""Exact comparison of outputs and states (bit for bit, NaN equal to NaN)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["assert_same", "same"]


def same(a: Any, b: Any) -> bool:
    """True when ``a`` and ``b`` are equal exactly (arrays by value and dtype kind)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape:
            return False
        if a.dtype.kind in "fc" or b.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if hasattr(a, "get_params") and hasattr(a, "state_dict") and type(a) is type(b):
        # learners (e.g. a base learner given as a parameter): same params and same state
        return same(a.get_params(), b.get_params()) and same(a.state_dict(), b.state_dict())
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - exotic objects: fall back to identity
        return a is b


def assert_same(a: Any, b: Any, what: str) -> None:
    if not same(a, b):
        raise AssertionError(f"{what}: values differ\n  {a!r}\n  {b!r}")

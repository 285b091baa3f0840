"""Numba kernels of the stream layer (private)."""

import math

from onlinekit._numba import njit


@njit
def _all_finite_1d(a):
    """True when every entry of the 1-d float array ``a`` is finite."""
    for i in range(a.shape[0]):
        if not math.isfinite(a[i]):
            return False
    return True

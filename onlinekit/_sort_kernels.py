"""Sorting for numba kernels (private): a stable merge sort written with plain loops.

numba's own ``np.sort`` / ``np.argsort`` are generic templates that take 1.5 to 2 s to compile
into every kernel that calls them (and kernels are compiled once per cache folder, in every
process that meets them first); these loops compile in a fraction of that. Both functions
order as numpy does for floats: ascending, NaN last, equal keys in input order (numpy's
``kind="stable"``), so they return what ``np.argsort(a, kind="stable")`` and ``np.sort(a)``
return.
"""

from __future__ import annotations

import numpy as np

from onlinekit._numba import njit

_RUN = 16  # insertion-sorted runs, then merged pairwise


@njit
def argsort_stable(a):
    """Indices that sort the 1-D float array ``a`` (``np.argsort(a, kind="stable")``).

    Examples
    --------
    >>> import numpy as np
    >>> argsort_stable(np.array([2.0, np.nan, -1.0, 2.0, 0.5])).tolist()
    [2, 4, 0, 3, 1]
    """
    n = a.shape[0]
    src = np.empty(n, dtype=np.int64)
    for i in range(n):
        src[i] = i
    # one function, no helper calls: each numba call target is a compile of its own
    # "x before y" is  x < y or (y is NaN and x is not): NaN sorts last, as in numpy
    for lo in range(0, n, _RUN):  # insertion-sorted runs (stable: only strictly-before moves)
        hi = min(lo + _RUN, n)
        for i in range(lo + 1, hi):
            t = src[i]
            v = a[t]
            j = i - 1
            while j >= lo:
                w = a[src[j]]
                if not (v < w or (w != w and v == v)):
                    break
                src[j + 1] = src[j]
                j -= 1
            src[j + 1] = t
    dst = np.empty(n, dtype=np.int64)
    width = _RUN
    while width < n:  # merge pairs of sorted runs
        for lo in range(0, n, 2 * width):
            mid = min(lo + width, n)
            hi = min(lo + 2 * width, n)
            i = lo
            j = mid
            k = lo
            while i < mid and j < hi:
                x = a[src[j]]
                y = a[src[i]]
                if x < y or (y != y and x == x):  # the right run goes first only when strictly before
                    dst[k] = src[j]
                    j += 1
                else:
                    dst[k] = src[i]
                    i += 1
                k += 1
            while i < mid:
                dst[k] = src[i]
                i += 1
                k += 1
            while j < hi:
                dst[k] = src[j]
                j += 1
                k += 1
        src, dst = dst, src
        width *= 2
    return src


@njit
def sorted_copy(a):
    """``a`` sorted ascending, NaN last (``np.sort(a)``), as a new array.

    Examples
    --------
    >>> import numpy as np
    >>> sorted_copy(np.array([3.0, -1.0, np.nan, 0.5])).tolist()
    [-1.0, 0.5, 3.0, nan]
    """
    order = argsort_stable(a)
    out = np.empty(a.shape[0])
    for i in range(a.shape[0]):
        out[i] = a[order[i]]
    return out

"""Numba kernels for the closed-form projections (private).

Plain ``@njit`` functions over arrays and scalars, so kernels in other modules can call
them. ``_proj_*`` return a new array; ``_proj_*_inplace`` overwrite their first argument
(for hot loops). No input validation happens here: the public wrappers in
:mod:`onlinekit.solvers.projections` validate. Slow references live in
``tests/reference/projections_reference.py``.
"""

from __future__ import annotations

import numpy as np

from onlinekit._numba import njit
from onlinekit._sort_kernels import argsort_stable, sorted_copy


@njit
def _simplex_threshold(v, z):
    """Threshold ``theta`` with ``sum(max(v - theta, 0)) == z`` (sort-based, O(n log n))."""
    u = sorted_copy(v)
    n = u.shape[0]
    s = 0.0
    theta = u[n - 1] - z
    for k in range(n):
        j = n - 1 - k  # walk the sorted values from the largest down
        s += u[j]
        t = (s - z) / (k + 1)
        if u[j] > t:
            theta = t
        else:
            break
    return theta


@njit
def _proj_simplex_inplace(x, z):
    """Euclidean projection of ``x`` onto ``{w >= 0, sum(w) = z}``, in place."""
    theta = _simplex_threshold(x, z)
    for i in range(x.shape[0]):
        d = x[i] - theta
        x[i] = d if d > 0.0 else 0.0


@njit
def _proj_simplex(v, z):
    """Euclidean projection of ``v`` onto ``{w >= 0, sum(w) = z}``."""
    x = v.copy()
    _proj_simplex_inplace(x, z)
    return x


@njit
def _proj_l1_ball_inplace(x, r):
    """Euclidean projection of ``x`` onto ``{w : ||w||_1 <= r}``, in place."""
    n = x.shape[0]
    a = np.empty(n)
    total = 0.0
    for i in range(n):
        a[i] = abs(x[i])
        total += a[i]
    if total <= r:
        return
    theta = _simplex_threshold(a, r)
    for i in range(n):
        d = a[i] - theta
        if d <= 0.0:
            x[i] = 0.0
        elif x[i] < 0.0:
            x[i] = -d
        else:
            x[i] = d


@njit
def _proj_l1_ball(v, r):
    """Euclidean projection of ``v`` onto ``{w : ||w||_1 <= r}``."""
    x = v.copy()
    _proj_l1_ball_inplace(x, r)
    return x


@njit
def _proj_l2_ball_inplace(x, r):
    """Euclidean projection of ``x`` onto ``{w : ||w||_2 <= r}``, in place."""
    nrm = np.sqrt(np.sum(x * x))
    if nrm > r:
        x *= r / nrm


@njit
def _proj_l2_ball(v, r):
    """Euclidean projection of ``v`` onto ``{w : ||w||_2 <= r}``."""
    x = v.copy()
    _proj_l2_ball_inplace(x, r)
    return x


@njit
def _proj_box_inplace(x, lo, hi):
    """Clip ``x`` to ``[lo, hi]`` in place (``lo``, ``hi``: arrays shaped like ``x``)."""
    for i in range(x.shape[0]):
        if x[i] < lo[i]:
            x[i] = lo[i]
        elif x[i] > hi[i]:
            x[i] = hi[i]


@njit
def _proj_box(v, lo, hi):
    """Euclidean projection of ``v`` onto the box ``[lo, hi]`` (arrays shaped like ``v``)."""
    x = v.copy()
    _proj_box_inplace(x, lo, hi)
    return x


@njit
def _proj_box_scalar_inplace(x, lo, hi):
    """Clip ``x`` to the scalar interval ``[lo, hi]`` in place."""
    for i in range(x.shape[0]):
        if x[i] < lo:
            x[i] = lo
        elif x[i] > hi:
            x[i] = hi


@njit
def _proj_simplex_kl_inplace(x, z):
    """KL (entropic) projection of ``x >= 0`` onto ``{w >= 0, sum(w) = z}``: rescaling."""
    x *= z / np.sum(x)


@njit
def _proj_simplex_kl(v, z):
    """KL (entropic) projection of ``v >= 0`` onto ``{w >= 0, sum(w) = z}``."""
    x = v.copy()
    _proj_simplex_kl_inplace(x, z)
    return x


@njit
def _proj_capped_simplex_kl_inplace(x, cap):
    """KL projection of ``x >= 0`` onto ``{0 <= w <= cap, sum(w) = 1}``, in place.

    The minimiser is ``w_i = min(cap, s * x_i)`` for the scale ``s`` making the sum one;
    the capped coordinates are the largest ones, found after one sort. Requires
    ``cap * count(x > 0) >= 1`` (feasibility).
    """
    n = x.shape[0]
    order = argsort_stable(-x)  # ties: any order gives the same x
    rest = np.sum(x)
    k = 0  # number of capped coordinates
    s = 1.0 / rest
    while k < n:
        if rest <= 0.0:
            s = 0.0
            break
        s = (1.0 - k * cap) / rest
        if x[order[k]] * s <= cap:
            break
        rest -= x[order[k]]
        k += 1
    for j in range(n):
        i = order[j]
        if j < k:
            x[i] = cap
        else:
            x[i] = x[i] * s


@njit
def _proj_capped_simplex_kl(v, cap):
    """KL projection of ``v >= 0`` onto ``{0 <= w <= cap, sum(w) = 1}``."""
    x = v.copy()
    _proj_capped_simplex_kl_inplace(x, cap)
    return x

"""Slow, obviously-correct references for ``onlinekit.solvers._kernels`` (pure NumPy).

Each function states the optimality conditions it implements and solves them by bisection
or brute force, so it shares no code or algorithm with the sort-based kernels.
"""

from __future__ import annotations

import numpy as np


def _bisect(f, lo, hi, iters=200):
    """Root of a decreasing function ``f`` on ``[lo, hi]`` by plain bisection."""
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if f(mid) > 0:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def proj_simplex(v, z=1.0):
    """``max(v - theta, 0)`` with ``theta`` found by bisection on ``sum(...) = z``."""
    v = np.asarray(v, dtype=float)
    lo, hi = v.min() - z, v.max()
    theta = _bisect(lambda t: np.maximum(v - t, 0.0).sum() - z, lo, hi)
    return np.maximum(v - theta, 0.0)


def proj_l1_ball(v, r=1.0):
    """Identity inside the ball, else ``sign(v) * proj_simplex(|v|, r)``."""
    v = np.asarray(v, dtype=float)
    if np.abs(v).sum() <= r:
        return v.copy()
    return np.sign(v) * proj_simplex(np.abs(v), r)


def proj_l2_ball(v, r=1.0):
    """Identity inside the ball, else the radial rescaling."""
    v = np.asarray(v, dtype=float)
    nrm = np.linalg.norm(v)
    return v.copy() if nrm <= r else v * (r / nrm)


def proj_box(v, lo, hi):
    """Coordinatewise clipping."""
    return np.minimum(np.maximum(np.asarray(v, dtype=float), lo), hi)


def proj_simplex_kl(v, z=1.0):
    """``argmin_w sum w log(w / v)`` over ``sum w = z``: ``w = z v / sum(v)``."""
    v = np.asarray(v, dtype=float)
    return z * v / v.sum()


def proj_capped_simplex_kl(v, cap):
    """``w_i = min(cap, s v_i)`` with the scale ``s`` found by bisection on ``sum w = 1``."""
    v = np.asarray(v, dtype=float)
    pos = v[v > 0]
    hi = 1.0 / pos.min() * max(cap, 1.0) * 2.0
    s = _bisect(lambda t: 1.0 - np.minimum(cap, t * v).sum(), 0.0, hi)
    # bisection approaches from both sides; finish the uncapped part exactly
    w = np.minimum(cap, s * v)
    capped = s * v >= cap
    free = ~capped
    if free.any() and v[free].sum() > 0:
        w[free] = v[free] * (1.0 - cap * capped.sum()) / v[free].sum()
    return w

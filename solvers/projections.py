"""Closed-form projections: simplex, L1 ball, L2 ball, box, and KL projections.

These wrap the numba kernels in :mod:`onlinekit.solvers._kernels`; each is tested against
the CVXPY formulation of the same projection (:class:`onlinekit.solvers.ProjectionProblem`).
The wrappers validate their input and never modify it; learner kernels call the private
``_proj_*`` / ``_proj_*_inplace`` kernels directly.
"""

from __future__ import annotations

import math

import numpy as np

from onlinekit.solvers import _kernels as _k

__all__ = [
    "project_box",
    "project_capped_simplex_kl",
    "project_l1_ball",
    "project_l2_ball",
    "project_simplex",
    "project_simplex_kl",
]


def _vector(v, name="v", *, nonneg=False):
    arr = np.asarray(v, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values")
    if nonneg and np.any(arr < 0):
        raise ValueError(f"{name} must be nonnegative")
    return np.ascontiguousarray(arr)


def _positive(r, name):
    try:
        r = float(r)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive finite number, got {r!r}") from None
    if not (math.isfinite(r) and r > 0):
        raise ValueError(f"{name} must be a positive finite number, got {r!r}")
    return r


def project_simplex(v, z=1.0):
    """Euclidean projection onto the simplex ``{w : w >= 0, sum(w) = z}``.

    Sort-based, O(n log n) (Held, Wolfe and Crowder 1974; Duchi et al. 2008).

    Parameters
    ----------
    v : array_like, shape (n,)
        Point to project (finite).
    z : float, default 1.0
        Total mass of the simplex (``z > 0``).

    Returns
    -------
    numpy.ndarray, shape (n,)
        ``argmin_w ||w - v||_2`` over the simplex (a new array).

    Raises
    ------
    ValueError
        If ``v`` is not a finite, non-empty 1-d array or ``z`` is not positive.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.solvers import project_simplex
    >>> print(project_simplex(np.array([0.5, 1.5, -1.0])))
    [0. 1. 0.]
    >>> print(project_simplex([0.2, 0.3], z=2.0))
    [0.95 1.05]
    """
    x = _vector(v)
    return _k._proj_simplex(x, _positive(z, "z"))


def project_l1_ball(v, r=1.0):
    """Euclidean projection onto the L1 ball ``{w : ||w||_1 <= r}``.

    Points inside the ball are returned unchanged; others map to
    ``sign(v) * project_simplex(|v|, r)``.

    Parameters
    ----------
    v : array_like, shape (n,)
        Point to project (finite).
    r : float, default 1.0
        Radius (``r > 0``).

    Returns
    -------
    numpy.ndarray, shape (n,)
        The projection (a new array).

    Raises
    ------
    ValueError
        If ``v`` is not a finite, non-empty 1-d array or ``r`` is not positive.

    Examples
    --------
    >>> from onlinekit.solvers import project_l1_ball
    >>> print(project_l1_ball([2.0, -1.0, 0.1]))
    [1. 0. 0.]
    >>> print(project_l1_ball([0.25, -0.25]))
    [ 0.25 -0.25]
    """
    x = _vector(v)
    return _k._proj_l1_ball(x, _positive(r, "r"))


def project_l2_ball(v, r=1.0):
    """Euclidean projection onto the L2 ball ``{w : ||w||_2 <= r}``.

    Parameters
    ----------
    v : array_like, shape (n,)
        Point to project (finite).
    r : float, default 1.0
        Radius (``r > 0``).

    Returns
    -------
    numpy.ndarray, shape (n,)
        ``v`` if inside the ball, else ``v * r / ||v||_2`` (a new array).

    Raises
    ------
    ValueError
        If ``v`` is not a finite, non-empty 1-d array or ``r`` is not positive.

    Examples
    --------
    >>> from onlinekit.solvers import project_l2_ball
    >>> print(project_l2_ball([3.0, 4.0], r=2.5))
    [1.5 2. ]
    """
    x = _vector(v)
    return _k._proj_l2_ball(x, _positive(r, "r"))


def project_box(v, lo, hi):
    """Euclidean projection onto the box ``{w : lo <= w <= hi}`` (clipping).

    Parameters
    ----------
    v : array_like, shape (n,)
        Point to project (finite).
    lo, hi : float or array_like, shape (n,)
        Bounds, broadcast against ``v``; infinite bounds are allowed, NaN is not, and
        ``lo <= hi`` must hold everywhere.

    Returns
    -------
    numpy.ndarray, shape (n,)
        The projection (a new array).

    Raises
    ------
    ValueError
        If ``v`` is not a finite, non-empty 1-d array, a bound is NaN or has the wrong
        shape, or ``lo > hi`` somewhere.

    Examples
    --------
    >>> from onlinekit.solvers import project_box
    >>> print(project_box([-2.0, 0.5, 3.0], 0.0, 1.0))
    [0.  0.5 1. ]
    >>> print(project_box([-2.0, 0.5], [-1.0, 0.0], [0.0, 0.25]))
    [-1.    0.25]
    """
    x = _vector(v)
    bounds = []
    for name, b in (("lo", lo), ("hi", hi)):
        arr = np.asarray(b, dtype=np.float64)
        if arr.ndim > 1 or (arr.ndim == 1 and arr.shape != x.shape):
            raise ValueError(f"{name} must be a scalar or have shape {x.shape}, got shape {arr.shape}")
        if np.any(np.isnan(arr)):
            raise ValueError(f"{name} must not contain NaN")
        bounds.append(np.ascontiguousarray(np.broadcast_to(arr, x.shape)))
    if np.any(bounds[0] > bounds[1]):
        raise ValueError("lo must be <= hi everywhere")
    return _k._proj_box(x, bounds[0], bounds[1])


def project_simplex_kl(v, z=1.0):
    """KL (entropic) projection onto the simplex: ``z * v / sum(v)``.

    Solves ``argmin_w sum_i w_i log(w_i / v_i)`` over ``{w >= 0, sum(w) = z}``; this is
    the normalisation step of exponentiated-gradient / Hedge updates.

    Parameters
    ----------
    v : array_like, shape (n,)
        Nonnegative point with a positive sum.
    z : float, default 1.0
        Total mass (``z > 0``).

    Returns
    -------
    numpy.ndarray, shape (n,)
        The projection (a new array).

    Raises
    ------
    ValueError
        If ``v`` is not finite, 1-d and nonnegative with a positive sum, or ``z <= 0``.

    Examples
    --------
    >>> from onlinekit.solvers import project_simplex_kl
    >>> print(project_simplex_kl([1.0, 3.0]))
    [0.25 0.75]
    """
    x = _vector(v, nonneg=True)
    z = _positive(z, "z")
    if not x.sum() > 0:
        raise ValueError("v must have a positive sum")
    return _k._proj_simplex_kl(x, z)


def project_capped_simplex_kl(v, cap):
    """KL (entropic) projection onto the capped simplex ``{0 <= w <= cap, sum(w) = 1}``.

    The minimiser of ``sum_i w_i log(w_i / v_i)`` is ``w_i = min(cap, s * v_i)`` with the
    scale ``s`` making the weights sum to one (Herbster and Warmuth 2001; used by
    fixed-share / sleeping-experts style updates that cap any expert's weight).
    Coordinates with ``v_i = 0`` stay zero.

    Parameters
    ----------
    v : array_like, shape (n,)
        Nonnegative point.
    cap : float
        Upper bound per coordinate, ``0 < cap``; feasibility needs
        ``cap * count(v > 0) >= 1``.

    Returns
    -------
    numpy.ndarray, shape (n,)
        The projection (a new array).

    Raises
    ------
    ValueError
        If ``v`` is not finite, 1-d and nonnegative, ``cap`` is not positive, or the
        capped simplex restricted to the support of ``v`` is empty.

    Examples
    --------
    >>> from onlinekit.solvers import project_capped_simplex_kl
    >>> print(project_capped_simplex_kl([8.0, 1.0, 1.0], cap=0.5))
    [0.5  0.25 0.25]
    """
    x = _vector(v, nonneg=True)
    cap = _positive(cap, "cap")
    n_pos = int(np.count_nonzero(x))
    if cap * n_pos < 1.0:
        raise ValueError(
            f"cap={cap!r} is infeasible: cap * count(v > 0) = {cap * n_pos!r} < 1"
        )
    return _k._proj_capped_simplex_kl(x, min(cap, 1.0))

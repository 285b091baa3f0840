"""Groupwise regret: per-group cumulative loss against the best linear fit in hindsight.

For each group ``g`` the events of ``g`` form a subsequence of length ``T_g``. At ``K``
checkpoints ``p`` along it, a method's groupwise regret is its cumulative squared loss on
the first group events minus the sum of squared errors of the best (unregularised,
unclipped) linear predictor fitted in hindsight to those events. Comparators are solved
from sufficient statistics with :func:`onlinekit.solvers.least_squares`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["checkpoints", "hindsight_sse", "groupwise_regret"]


def checkpoints(n: int, k: int = 100) -> np.ndarray:
    """``min(k, n)`` evenly spaced 0-based positions along a subsequence of length ``n``.

    The official code's grid: ``linspace(n // k', n - 1, k')`` truncated to integers, so the
    last checkpoint is the end of the subsequence (with a single checkpoint, just the end).

    Examples
    --------
    >>> checkpoints(10, k=4)
    array([2, 4, 6, 9])
    >>> checkpoints(3, k=100)
    array([1, 1, 2])
    """
    if n < 1:
        return np.zeros(0, dtype=np.int64)
    kk = min(int(k), int(n))
    if kk == 1:  # the official grid would start past the end here
        return np.array([n - 1], dtype=np.int64)
    return np.linspace(n // kk, n - 1, num=kk, dtype=np.int64)


def _sse_from_stats(XtX, Xty, yty, m):
    try:
        from onlinekit.solvers import least_squares
    except ImportError:  # pragma: no cover - solvers is part of the package
        least_squares = None
    if least_squares is not None:
        return max(float(least_squares(XtX, Xty, yty, int(m)).value), 0.0)
    w = np.linalg.lstsq(XtX, Xty, rcond=None)[0]  # pragma: no cover
    return max(float(yty - Xty @ w), 0.0)  # pragma: no cover


def hindsight_sse(X, y, positions, *, paper_compat: bool = False) -> np.ndarray:
    """SSE of the best linear fit in hindsight on each prefix of ``(X, y)``.

    Parameters
    ----------
    X, y
        The group's events, in order: shape ``(T_g, d)`` and ``(T_g,)``.
    positions
        Increasing 0-based checkpoints (see :func:`checkpoints`).
    paper_compat
        ``False`` (default): the prefix at checkpoint ``p`` is rows ``0..p`` -- the same
        ``p + 1`` events the learner's cumulative loss covers. ``True``: rows ``0..p-1``
        (``p`` rows), the official code's off-by-one.

    Returns
    -------
    ndarray
        ``min_w sum_{s in prefix} (x_s . w - y_s)^2`` at each checkpoint (least squares
        without intercept or penalty; minimum-norm solution when rank deficient).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0], [1.0], [1.0], [1.0]]); y = np.array([0.0, 2.0, 0.0, 2.0])
    >>> hindsight_sse(X, y, [0, 1, 3])
    array([0., 2., 4.])
    >>> hindsight_sse(X, y, [0, 1, 3], paper_compat=True).round(3)
    array([0.   , 0.   , 2.667])
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    pos = np.asarray(positions, dtype=np.int64)
    ends = pos if paper_compat else pos + 1
    d = X.shape[1]
    XtX = np.zeros((d, d))
    Xty = np.zeros(d)
    yty = 0.0
    lo = 0
    out = np.empty(len(pos))
    for j, e in enumerate(ends):
        e = int(e)
        if e > lo:
            Xb, yb = X[lo:e], y[lo:e]
            XtX += Xb.T @ Xb
            Xty += Xb.T @ yb
            yty += float(yb @ yb)
            lo = e
        out[j] = _sse_from_stats(0.5 * (XtX + XtX.T), Xty, yty, e) if e > 0 else 0.0
    return out


def groupwise_regret(losses, groups, X, y, *, group_names=None, k: int = 100, paper_compat: bool = False) -> dict:
    """Per-group cumulative losses and regrets of one or more methods at ``k`` checkpoints.

    Parameters
    ----------
    losses
        ``{method: per-event losses, shape (n,)}`` (e.g. squared errors, or the expected
        loss of a randomised learner).
    groups
        Boolean membership matrix ``(n, G)``.
    X, y
        Features and targets of the comparator class (linear in ``X``).
    group_names
        Names of the ``G`` columns (default ``g0, g1, ...``).
    k
        Number of checkpoints per group.
    paper_compat
        Use the official code's comparator prefix (see :func:`hindsight_sse`).

    Returns
    -------
    dict
        ``{group: {"n", "positions", "hindsight", "cumloss": {method: ...},
        "regret": {method: ...}}}``; arrays are evaluated at the checkpoints, whose last
        entry is the end of the subsequence.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = X @ np.array([1.0, -1.0])
    >>> G = np.column_stack([X[:, 0] > 0, np.ones(200, bool)])
    >>> res = groupwise_regret({"zero": y ** 2}, G, X, y, group_names=["pos", "all"], k=5)
    >>> res["all"]["positions"], round(float(res["all"]["hindsight"][-1]), 6)
    (array([ 40,  79, 119, 159, 199]), 0.0)
    >>> bool(np.allclose(res["pos"]["regret"]["zero"], res["pos"]["cumloss"]["zero"]))
    True
    """
    G = np.asarray(groups).astype(bool)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = X.shape[0]
    if G.ndim != 2 or G.shape[0] != n or y.shape != (n,):
        raise ValueError(f"shapes disagree: X {X.shape}, y {y.shape}, groups {G.shape}")
    names = list(group_names) if group_names is not None else [f"g{j}" for j in range(G.shape[1])]
    if len(names) != G.shape[1]:
        raise ValueError(f"{len(names)} names for {G.shape[1]} groups")
    L = {m: np.asarray(v, dtype=np.float64) for m, v in losses.items()}
    for m, v in L.items():
        if v.shape != (n,):
            raise ValueError(f"losses of {m!r} have shape {v.shape}, expected ({n},)")
    out = {}
    for j, name in enumerate(names):
        idx = np.flatnonzero(G[:, j])
        Tg = len(idx)
        pos = checkpoints(Tg, k)
        hind = hindsight_sse(X[idx], y[idx], pos, paper_compat=paper_compat)
        cum = {m: np.cumsum(v[idx])[pos] if Tg else np.zeros(0) for m, v in L.items()}
        out[name] = {
            "n": Tg,
            "positions": pos,
            "hindsight": hind,
            "cumloss": cum,
            "regret": {m: c - hind for m, c in cum.items()},
        }
    return out

"""BestPerm: the optimal ordered list of a cascade value in O(N m + N log N)."""

from __future__ import annotations

import numbers

import numpy as np

from onlinekit.base import InvalidEvent

__all__ = ["best_perm", "best_perm_batch", "exhaustive_best_perm", "list_value"]

#: absolute tolerance used to break ties between optimal lists (see :func:`best_perm`)
TIE_TOL = 1e-9


def _kernels():
    from onlinekit.cascade import _kernels

    return _kernels


def _check_m(m) -> int:
    if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1:
        raise InvalidEvent(f"must be an integer >= 1, got {m!r}", field="m")
    return int(m)


def _check_vectors(q, w, ndim: int):
    q = np.asarray(q, dtype=float)
    w = np.asarray(w, dtype=float)
    if q.ndim != ndim or q.shape != w.shape or q.shape[-1] == 0:
        raise InvalidEvent(f"q and w must be non-empty {ndim}-d arrays of one shape, got {q.shape} and {w.shape}",
                           field="q")
    if not np.all(np.isfinite(q)) or q.min() < 0.0 or q.max() > 1.0:
        raise InvalidEvent("attraction probabilities must lie in [0, 1]", field="q")
    if not np.all(np.isfinite(w)):
        raise InvalidEvent("weights must be finite", field="w")
    return np.ascontiguousarray(q), np.ascontiguousarray(w)


def _check_scalar(x, field: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or not np.isfinite(x):
        raise InvalidEvent(f"must be a finite number, got {x!r}", field=field)
    return float(x)


def best_perm(q, w, w_bot, m):
    """The best ordered list of at most ``m`` distinct items and its cascade value.

    The value of a list ``A`` is ``f(A) = sum_i prod_{j<i}(1 - q[A_j]) q[A_i] w[A_i] +
    prod_j (1 - q[A_j]) w_bot``: a user scans ``A`` top down, clicks the first attractive
    item (probability ``q``) and the platform collects its weight ``w`` (reward plus
    continuation value); if nothing is clicked it collects ``w_bot``.

    Parameters
    ----------
    q
        Attraction probabilities, shape ``(N,)``, in ``[0, 1]``.
    w
        Item weights, shape ``(N,)``.
    w_bot
        Weight of the no-click outcome.
    m
        Maximum list length (>= 1).

    Returns
    -------
    value : float
        ``max_A f(A)`` over lists of 1..m distinct items.
    items : ndarray of int64
        An optimal list (the canonical one, see Notes).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.cascade import best_perm
    >>> q = np.array([0.9, 0.5, 0.2, 0.6])
    >>> w = np.array([0.2, 1.0, 0.8, 0.1])
    >>> value, items = best_perm(q, w, 0.15, 2)
    >>> round(value, 4), items.tolist()
    (0.64, [1, 2])

    Notes
    -----
    Du, Srikant and Chen (2024), Lemma 1 and Algorithm 1: the items with ``w > w_bot``
    are the only useful ones, an optimal list is sorted by descending ``w``, and a
    knapsack-like recursion ``F[i, k] = max(F[i+1, k], q_i w_i + (1 - q_i) F[i+1, k-1])``
    over the sorted candidates gives the optimum in ``O(N m + N log N)``. Lists are never
    empty: when no item beats ``w_bot`` the best single item is returned.

    Speed (ours): before sorting, candidates that ``m`` items beat in both ``q`` and rank
    are dropped (they can never be in the canonical optimal list), so at ``N = 1000``,
    ``m = 10`` only about 130 items are sorted; one call then takes about 20 us.

    Ties are broken canonically (ours): weights are ranked by descending ``w`` then item
    index, and among optimal lists (within ``1e-9``) the one whose inclusion vector over that
    order is lexicographically largest wins. :func:`exhaustive_best_perm` uses the same rule,
    so both planners return identical lists.

    References
    ----------
    .. [1] Y. Du, R. Srikant, W. Chen. Cascading Reinforcement Learning. ICLR 2024.
    """
    q, w = _check_vectors(q, w, 1)
    w_bot = _check_scalar(w_bot, "w_bot")
    m = _check_m(m)
    out = np.full(m, -1, dtype=np.int64)
    value, length = _kernels().best_perm_one(q, w, w_bot, m, TIE_TOL, out)
    return float(value), out[:length].copy()


def best_perm_batch(Q, W, w_bot, m):
    """:func:`best_perm` for each row of ``Q`` and ``W`` (one kernel call).

    Parameters
    ----------
    Q, W
        Arrays of shape ``(S, N)``.
    w_bot
        Array of shape ``(S,)`` (or a scalar used for every row).
    m
        Maximum list length.

    Returns
    -------
    values : ndarray, shape (S,)
    lists : ndarray of int64, shape (S, m)
        Row ``s`` holds its list in the first ``lengths[s]`` entries, then ``-1``.
    lengths : ndarray of int64, shape (S,)

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.cascade import best_perm_batch
    >>> Q = np.array([[0.9, 0.5, 0.2], [0.1, 0.1, 0.1]])
    >>> W = np.array([[0.2, 1.0, 0.8], [1.0, 2.0, 3.0]])
    >>> values, lists, lengths = best_perm_batch(Q, W, np.array([0.15, 0.0]), 2)
    >>> np.round(values, 3).tolist(), lists.tolist(), lengths.tolist()
    ([0.64, 0.48], [[1, 2], [2, 1]], [2, 2])
    """
    Q, W = _check_vectors(Q, W, 2)
    wb = np.asarray(w_bot, dtype=float)
    if wb.ndim == 0:
        wb = np.full(Q.shape[0], float(wb))
    if wb.shape != (Q.shape[0],) or not np.all(np.isfinite(wb)):
        raise InvalidEvent(f"must be finite with shape ({Q.shape[0]},), got {wb.shape}", field="w_bot")
    m = _check_m(m)
    S = Q.shape[0]
    values = np.empty(S)
    lists = np.full((S, m), -1, dtype=np.int64)
    lengths = np.empty(S, dtype=np.int64)
    _kernels().best_perm_batch(Q, W, np.ascontiguousarray(wb), m, TIE_TOL, values, lists, lengths)
    return values, lists, lengths


def exhaustive_best_perm(q, w, w_bot, m):
    """Best list by enumerating all ``sum_k N!/(N-k)!`` ordered lists (the test oracle).

    Same inputs, outputs and tie rule as :func:`best_perm`; cost grows like ``N^m``. This
    is the planner of the ``CascadingVI-Oracle`` ablation.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.cascade import exhaustive_best_perm, best_perm
    >>> rng = np.random.default_rng(0)
    >>> q, w = rng.random(6), rng.random(6)
    >>> v1, a1 = exhaustive_best_perm(q, w, 0.2, 3)
    >>> v2, a2 = best_perm(q, w, 0.2, 3)
    >>> abs(v1 - v2) < 1e-12, a1.tolist() == a2.tolist()
    (True, True)
    """
    q, w = _check_vectors(q, w, 1)
    w_bot = _check_scalar(w_bot, "w_bot")
    m = _check_m(m)
    out = np.full(m, -1, dtype=np.int64)
    value, length = _kernels().exhaustive_one(q, w, w_bot, m, TIE_TOL, out)
    return float(value), out[:length].copy()


def list_value(items, q, w, w_bot):
    """Cascade value ``f(A, q, w)`` of the list ``items``.

    Examples
    --------
    >>> from onlinekit.cascade import list_value
    >>> round(list_value([1, 0], [0.5, 0.25], [1.0, 2.0], 0.5), 4)
    1.0625
    """
    q, w = _check_vectors(q, w, 1)
    w_bot = _check_scalar(w_bot, "w_bot")
    a = np.asarray(items)
    if a.ndim != 1 or a.dtype.kind not in "iu" or len(a) == 0:
        raise InvalidEvent("must be a non-empty 1-d sequence of item indices", field="items")
    if a.min() < 0 or a.max() >= len(q) or len(np.unique(a)) != len(a):
        raise InvalidEvent(f"items must be distinct and in [0, {len(q)})", field="items")
    a = a.astype(np.int64)
    return float(_kernels().list_value(q, w, w_bot, a, len(a)))

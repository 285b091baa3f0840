"""CPU numba kernels of the batch APIs: a loop over runs of the bodies in ``_bodies`` (private).

This is the reference path (always available); it follows the bodies' arithmetic exactly, so
editing ``_bodies.py`` needs a fresh numba cache (see :mod:`onlinekit._numba`). Each kernel takes arrays and scalars only and
writes its outputs in place; slow, obviously-correct versions live in
``tests/scale/scale_reference.py``.
"""

from __future__ import annotations

import numpy as np

from onlinekit._numba import njit
from onlinekit.cuda import _bodies

_ogd_run = njit(_bodies.ogd_run)
_entropic_run = njit(_bodies.entropic_run)
_tree_run = njit(_bodies.tree_run)
_best_perm_run = njit(_bodies.best_perm_run)


@njit
def ogd_many(X, y, lrs, schedule, loss, radius, l2, intercept, W, BT, total):
    """Run ``r`` uses step ``lrs[r]`` on the shared ``(X, y)``; state ``W[r]``, ``BT[r]``."""
    for r in range(lrs.shape[0]):
        total[r] = _ogd_run(X, y, lrs[r], schedule, loss, radius, l2, intercept, W[r], BT[r])


@njit
def entropic_many(G, lrs, schedule, z, Xs, U, use_u, expected, realized):
    """Run ``r``: entropic mirror descent with step ``lrs[r]`` (uniforms ``U[r]``), iterate ``Xs[r]``."""
    d = G.shape[1]
    tmp = _scratch(d)
    buf = _scratch(d)
    for r in range(lrs.shape[0]):
        e, s = _entropic_run(G, lrs[r], schedule, z, Xs[r], tmp, buf, U[r if use_u else 0], use_u)
        expected[r] = e
        realized[r] = s


@njit
def tree_many(X, noise, scale, w, honaker, L, out, write_out, max_err, sq_err):
    """Stream ``s``: ``X[s]`` with unit noise ``noise[s]``; releases into ``out[s]``."""
    last_exact = _scratch(L)
    last_est = _scratch(L)
    for s in range(X.shape[0]):
        for h in range(L):
            last_exact[h] = 0.0
            last_est[h] = 0.0
        a, b = _tree_run(X[s], noise[s], scale, w, honaker, last_exact, last_est,
                         out[s if write_out else 0], write_out)
        max_err[s] = a
        sq_err[s] = b


@njit
def best_perm_many(Q, W, w_bot, m, tol, values, lists, lengths):
    """BestPerm for each state ``s`` (row of ``Q``/``W``, ``w_bot[s]``)."""
    S, n = Q.shape
    F = _scratch2(n + 1, m + 1)
    order = _iscratch(n)
    for s in range(S):
        v, ln = _best_perm_run(Q[s], W[s], w_bot[s], m, tol, F, order, lists[s])
        values[s] = v
        lengths[s] = ln


@njit
def _scratch(n):
    return np.zeros(max(n, 1))


@njit
def _scratch2(a, b):
    return np.zeros((a, b))


@njit
def _iscratch(n):
    return np.zeros(max(n, 1), dtype=np.int64)

"""Numba kernels of :class:`onlinekit.oco.OGD` (private).

``hp`` packs the hyper-parameters ``[lr, schedule, loss, radius, l2, intercept]`` (radius
``<= 0`` = no projection) and ``bt = [intercept b, t]`` is the scalar state; both are arrays
so a per-event call passes five arguments. The per-event kernels and the block kernel share
:func:`_score` and :func:`_step`, so ``learn_one`` in a loop and ``learn_many`` agree bit for
bit. Each entry point validates its inputs before touching the state and reports the first
problem through its return code.
"""

from __future__ import annotations

import math

from onlinekit._numba import njit

LR, SCHEDULE, LOSS, RADIUS, L2, INTERCEPT = 0, 1, 2, 3, 4, 5
LOSS_LOGISTIC = 1.0
SCHEDULE_SQRT = 1.0

OK = -1
BAD_Y = -2
BAD_LABEL = -3


@njit
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@njit
def _score(x, w, b, hp):
    """Prediction at ``x``: ``<w, x> + b`` (sigmoid of it for the logistic loss).

    The dot product uses four partial sums combined as ``(s0 + s1) + (s2 + s3)``.
    """
    d = x.shape[0]
    d4 = d - d % 4
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    for j in range(0, d4, 4):
        s0 += w[j] * x[j]
        s1 += w[j + 1] * x[j + 1]
        s2 += w[j + 2] * x[j + 2]
        s3 += w[j + 3] * x[j + 3]
    for j in range(d4, d):
        s0 += w[j] * x[j]
    z = b + ((s0 + s1) + (s2 + s3))
    if hp[LOSS] == LOSS_LOGISTIC:
        return _sigmoid(z)
    return z


@njit
def _step(x, y, p, w, bt, hp):
    """One update after predicting ``p`` for ``(x, y)``:
    ``w <- Proj(w (1 - eta l2) - eta (p - y) x)``, ``b <- b - eta (p - y)``."""
    t = bt[1] + 1.0
    eta = hp[LR] / math.sqrt(t) if hp[SCHEDULE] == SCHEDULE_SQRT else hp[LR]
    a = eta * (p - y)
    s = 1.0 - eta * hp[L2]
    d = x.shape[0]
    for j in range(d):
        w[j] = w[j] * s - a * x[j]
    if hp[INTERCEPT] != 0.0:
        bt[0] -= a
    r = hp[RADIUS]
    if r > 0.0:
        nrm = 0.0
        for j in range(d):
            nrm += w[j] * w[j]
        if nrm > r * r:
            c = r / math.sqrt(nrm)
            for j in range(d):
                w[j] *= c
    bt[1] = t


@njit
def _check_row(x, y, hp):
    for j in range(x.shape[0]):
        if not math.isfinite(x[j]):
            return j
    if not math.isfinite(y):
        return BAD_Y
    if hp[LOSS] == LOSS_LOGISTIC and y != 0.0 and y != 1.0:
        return BAD_LABEL
    return OK


@njit
def _learn_one(x, y, w, bt, hp):
    """Validate, then learn one event. Returns ``OK`` or the problem (state untouched)."""
    code = _check_row(x, y, hp)
    if code != OK:
        return code
    p = _score(x, w, bt[0], hp)
    _step(x, y, p, w, bt, hp)
    return OK


@njit
def _predict_one(x, w, bt, hp):
    """Prediction at ``x``; NaN when ``x`` holds a non-finite value."""
    for j in range(x.shape[0]):
        if not math.isfinite(x[j]):
            return math.nan
    return _score(x, w, bt[0], hp)


@njit
def _predict_learn_block(X, y, w, bt, hp, learn, out):
    """Rows in order: ``out[i] = prediction``, then (if ``learn``) the update.

    Validates every row first; returns ``(-1, OK)`` or ``(row, code)`` of the first bad row,
    in which case nothing was changed.
    """
    n = X.shape[0]
    if learn:
        for i in range(n):
            code = _check_row(X[i], y[i], hp)
            if code != OK:
                return i, code
    else:
        for i in range(n):
            for j in range(X.shape[1]):
                if not math.isfinite(X[i, j]):
                    return i, j
    for i in range(n):
        p = _score(X[i], w, bt[0], hp)
        out[i] = p
        if learn:
            _step(X[i], y[i], p, w, bt, hp)
    return -1, OK

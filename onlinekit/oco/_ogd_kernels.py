"""Numba kernels of :class:`onlinekit.oco.OGD` (private).

``hp`` packs the hyper-parameters ``[lr, schedule, loss, radius, l2, intercept]`` (radius
``<= 0`` = no projection) and ``bt = [intercept b, t]`` is the scalar state; both are arrays
so a per-event call passes five arguments. The per-event kernels and the block kernel share
:func:`_dot`, :func:`_link` and :func:`_step` (scalars passed as values, so the block loop keeps
them in registers), hence ``learn_one`` in a loop and ``learn_many`` agree bit for bit, and
they use the same arithmetic in the same order as :class:`onlinekit.oco.OMD`'s Euclidean path. Each
entry point validates its inputs before touching the state and reports the first problem
through its return code.
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
DIVERGED = -4  # the update would make the weights or the intercept non-finite


@njit
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@njit
def _dot(x, w, b):
    """``b + <w, x>``, summed left to right from ``b`` (the order :class:`OMD` uses)."""
    z = b
    for j in range(x.shape[0]):
        z += w[j] * x[j]
    return z


@njit
def _link(z, logistic):
    return _sigmoid(z) if logistic else z


@njit
def _step(x, y, p, w, b, t, lr, sqrt_schedule, l2, intercept, radius):
    """One update after predicting ``p`` for ``(x, y)``; returns the new ``(b, t)``, or
    ``(b, -1.0)`` with ``w`` untouched when the update would leave a non-finite weight,
    intercept or squared norm (a diverging step is never applied).

    ``w <- Proj(w - eta ((p - y) x + l2 w))``, ``b <- b - eta (p - y)``: element by element
    the arithmetic of :class:`OMD` with the Euclidean map on the L2 ball (or the whole space),
    so OGD and that OMD give the same results bit for bit (for ``l2 = 0``).
    """
    t = t + 1.0
    eta = lr / math.sqrt(t) if sqrt_schedule else lr
    dz = p - y
    d = x.shape[0]
    s = 0.0
    for j in range(d):  # dry run: is every new weight (and their squared norm) finite?
        v = w[j] - eta * (dz * x[j] + l2 * w[j])
        s += v * v
    if not math.isfinite(s) or (intercept and not math.isfinite(b - eta * dz)):
        return b, -1.0
    s = 0.0
    for j in range(d):
        v = w[j] - eta * (dz * x[j] + l2 * w[j])
        w[j] = v
        s += v * v
    if radius > 0.0 and s > radius * radius:
        c = radius / math.sqrt(s)
        for j in range(d):
            w[j] *= c
    if intercept:
        b = b - eta * dz
    return b, t


@njit
def _bad_x(x):
    """Index of the first non-finite entry of ``x``, or ``OK``."""
    for j in range(x.shape[0]):
        if not math.isfinite(x[j]):
            return j
    return OK


@njit
def _bad_y(y, logistic):
    if not math.isfinite(y):
        return BAD_Y
    if logistic and y != 0.0 and y != 1.0:
        return BAD_LABEL
    return OK


@njit
def _learn_one(x, y, w, bt, hp):
    """Validate, then learn one event. Returns ``OK`` or the problem (state untouched)."""
    logistic = hp[LOSS] == LOSS_LOGISTIC
    code = _bad_x(x)
    if code == OK:
        code = _bad_y(y, logistic)
    if code != OK:
        return code
    p = _link(_dot(x, w, bt[0]), logistic)
    b, t = _step(x, y, p, w, bt[0], bt[1], hp[LR], hp[SCHEDULE] == SCHEDULE_SQRT, hp[L2],
                 hp[INTERCEPT] != 0.0, hp[RADIUS])
    if t < 0.0:
        return DIVERGED
    bt[0] = b
    bt[1] = t
    return OK


@njit
def _predict_one(x, w, bt, hp):
    """Prediction at ``x``; NaN when ``x`` holds a non-finite value."""
    if _bad_x(x) != OK:
        return math.nan
    return _link(_dot(x, w, bt[0]), hp[LOSS] == LOSS_LOGISTIC)


@njit
def _predict_learn_block(X, y, w, bt, hp, learn, out):
    """Rows in order: ``out[i] = prediction``, then (if ``learn``) the update.

    A non-finite feature makes the score non-finite (weights are finite), so features are
    scanned only when the score is not finite. On the first bad row the kernel stops and
    returns ``(row, code)`` (else ``(-1, OK)``); callers pass copies of ``w`` and ``bt`` and
    keep them only on success, so a rejected block changes nothing.
    """
    n = X.shape[0]
    logistic = hp[LOSS] == LOSS_LOGISTIC
    lr = hp[LR]
    sqrt_schedule = hp[SCHEDULE] == SCHEDULE_SQRT
    l2 = hp[L2]
    intercept = hp[INTERCEPT] != 0.0
    radius = hp[RADIUS]
    b = bt[0]
    t = bt[1]
    for i in range(n):
        x = X[i]
        z = _dot(x, w, b)
        if not math.isfinite(z):
            j = _bad_x(x)
            if j != OK:
                return i, j
        if learn:
            code = _bad_y(y[i], logistic)
            if code != OK:
                return i, code
        p = _link(z, logistic)
        out[i] = p
        if learn:
            b, t2 = _step(x, y[i], p, w, b, t, lr, sqrt_schedule, l2, intercept, radius)
            if t2 < 0.0:
                return i, DIVERGED
            t = t2
    bt[0] = b
    bt[1] = t
    return -1, OK

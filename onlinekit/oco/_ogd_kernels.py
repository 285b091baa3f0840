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

import numpy as np

from onlinekit._numba import njit
from onlinekit.oco._ogd_step import ogd_step

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
    # dry run: is every new weight (and their squared norm) finite?
    if not math.isfinite(ogd_step(x, dz, eta, l2, radius, w, False)) or (
            intercept and not math.isfinite(b - eta * dz)):
        return b, -1.0
    ogd_step(x, dz, eta, l2, radius, w, True)
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


# -- sparse one-hot blocks ------------------------------------------------------------------
BAD_INDEX = -6  # a one-hot column outside [p, d)
#: Weights within +-WMAX (and d <= MAX_D) keep every dense squared norm finite, so the dense
#: dry run cannot refuse an update that the sparse row step applies.
WMAX = 1e150
MAX_D = 1 << 24


@njit
def _sparse_ok(w):
    """May sparse row steps run on ``w``? Every weight in ``[-WMAX, WMAX]``, none ``-0.0``."""
    if w.shape[0] > MAX_D:
        return False
    for j in range(w.shape[0]):
        v = w[j]
        if not (abs(v) <= WMAX) or (v == 0.0 and math.copysign(1.0, v) < 0.0):
            return False
    return True


@njit
def _predict_learn_onehot(Xn, H, y, w, bt, hp, out):
    """:func:`_predict_learn_block` (learning) on the dense rows ``[Xn[i], one-hot of H[i]]``,
    bit for bit, mostly touching only the numeric columns and each row's one-hot columns.

    Row ``i``'s features are ``Xn[i]`` in columns ``0 .. p - 1``, 1.0 in the columns
    ``H[i, q] >= 0`` and 0.0 in the others. A row takes the *sparse step* when ``l2 = 0``,
    there is no projection (else every weight changes every step) and the conditions below
    hold; otherwise the *dense step*: the dense kernel's own functions on the row written
    out in full (O(d)). Why the sparse step is exact:

    * score: the dense sum adds ``w[j] * 0.0 = +-0`` for the zero columns; adding a signed
      zero leaves a non-zero running sum unchanged, so with the other terms added in the
      same (ascending column) order both sums agree except possibly for the sign of a zero
      result -- a zero score takes the dense step;
    * update: a zero column's weight becomes ``w - eta * (dz * 0.0 + 0.0 * w) = w`` exactly
      unless ``w`` is ``-0.0`` (its sign may flip): sparse steps need no ``-0.0`` weight,
      and none is created (``a - b`` is ``-0.0`` only for ``-0.0 - +0.0``);
    * refusal: the dense dry run refuses a step whose squared norm is not finite. With all
      weights in ``[-WMAX, WMAX]`` and ``d <= MAX_D`` it is finite, so a row whose new weights
      would leave that range (or with a non-finite score or step, or a bad target) takes the
      dense step, which decides.

    Returns ``(row, code)`` as :func:`_predict_learn_block`, or ``(row, BAD_INDEX)`` when
    ``H[row]`` holds a column outside ``[p, d)``.
    """
    n, p = Xn.shape
    k = H.shape[1]
    d = w.shape[0]
    logistic = hp[LOSS] == LOSS_LOGISTIC
    lr = hp[LR]
    sqrt_schedule = hp[SCHEDULE] == SCHEDULE_SQRT
    intercept = hp[INTERCEPT] != 0.0
    l2 = hp[L2]
    radius = hp[RADIUS]
    always_dense = l2 != 0.0 or radius > 0.0
    sparse = not always_dense and _sparse_ok(w)
    b = bt[0]
    t = bt[1]
    cols = np.empty(k, dtype=np.int64)
    vnum = np.empty(p, dtype=np.float64)
    vhot = np.empty(k, dtype=np.float64)
    xrow = np.zeros(d, dtype=np.float64)
    for i in range(n):
        # this row's one-hot columns, ascending, without repeats (the dense row holds 1.0 once)
        m = 0
        for q in range(k):
            c = H[i, q]
            if c < 0:
                continue
            if c < p or c >= d:
                return i, BAD_INDEX
            r = m
            while r > 0 and cols[r - 1] > c:
                r -= 1
            if r > 0 and cols[r - 1] == c:
                continue
            for s in range(m, r, -1):
                cols[s] = cols[s - 1]
            cols[r] = c
            m += 1
        yi = y[i]
        if sparse:
            z = b
            for j in range(p):
                z += w[j] * Xn[i, j]
            for r in range(m):
                z += w[cols[r]] * 1.0
            if math.isfinite(z) and z != 0.0 and _bad_y(yi, logistic) == OK:
                pr = _link(z, logistic)
                t2 = t + 1.0
                eta = lr / math.sqrt(t2) if sqrt_schedule else lr
                dz = pr - yi
                ok = math.isfinite(dz)
                for j in range(p):
                    v = w[j] - eta * (dz * Xn[i, j] + l2 * w[j])
                    vnum[j] = v
                    ok = ok and abs(v) <= WMAX
                for r in range(m):
                    c = cols[r]
                    v = w[c] - eta * (dz * 1.0 + l2 * w[c])
                    vhot[r] = v
                    ok = ok and abs(v) <= WMAX
                if ok:
                    out[i] = pr
                    if intercept and not math.isfinite(b - eta * dz):
                        return i, DIVERGED
                    for j in range(p):
                        w[j] = vnum[j]
                    for r in range(m):
                        w[cols[r]] = vhot[r]
                    if intercept:
                        b = b - eta * dz
                    t = t2
                    continue
        # dense step: the dense kernel's arithmetic on the full row
        for j in range(p):
            xrow[j] = Xn[i, j]
        for r in range(m):
            xrow[cols[r]] = 1.0
        z = _dot(xrow, w, b)
        if not math.isfinite(z):
            j = _bad_x(xrow)
            if j != OK:
                return i, j
        code = _bad_y(yi, logistic)
        if code != OK:
            return i, code
        pr = _link(z, logistic)
        out[i] = pr
        b, t2 = _step(xrow, yi, pr, w, b, t, lr, sqrt_schedule, l2, intercept, radius)
        if t2 < 0.0:
            return i, DIVERGED
        t = t2
        for r in range(m):
            xrow[cols[r]] = 0.0
        if not always_dense:
            sparse = _sparse_ok(w)
    bt[0] = b
    bt[1] = t
    return -1, OK

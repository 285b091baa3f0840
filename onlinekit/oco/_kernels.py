"""Numba kernels of the OCO family (private: arrays and scalars in, arrays out)."""

from __future__ import annotations

import math

from onlinekit._numba import njit

LOSS_SQUARED = 0
LOSS_LOGISTIC = 1

SCHEDULE_CONSTANT = 0
SCHEDULE_SQRT = 1


@njit
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@njit
def _ogd_predict_learn(X, y, w, bt, lr, schedule, loss, radius, l2, intercept, learn, out):
    """Progressive OGD over the rows of ``X``: predict row i, then (if ``learn``) update.

    ``bt = [intercept, t]`` is updated in place together with ``w``. ``out[i]`` receives the
    prediction made before learning row ``i`` (the probability for the logistic loss).
    ``radius <= 0`` means no projection; the intercept is never projected.
    """
    n, d = X.shape
    b = bt[0]
    t = bt[1]
    for i in range(n):
        z = b
        for j in range(d):
            z += w[j] * X[i, j]
        if loss == LOSS_LOGISTIC:
            p = _sigmoid(z)
        else:
            p = z
        out[i] = p
        if not learn:
            continue
        t += 1.0
        if schedule == SCHEDULE_SQRT:
            eta = lr / math.sqrt(t)
        else:
            eta = lr
        g = p - y[i]
        for j in range(d):
            w[j] -= eta * (g * X[i, j] + l2 * w[j])
        if intercept:
            b -= eta * g
        if radius > 0.0:
            s = 0.0
            for j in range(d):
                s += w[j] * w[j]
            if s > radius * radius:
                scale = radius / math.sqrt(s)
                for j in range(d):
                    w[j] *= scale
    bt[0] = b
    bt[1] = t
    return out

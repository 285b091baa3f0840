"""Numba kernels of :class:`onlinekit.oco.softmax.OGDMulticlass` (private).

State: weights ``W`` (capacity ``K`` classes x ``d`` features), intercepts ``b`` (``K``), and
``st = [updates, active classes]``. Hyper-parameters ``hp = [lr, schedule (0 constant,
1 sqrt), l2, intercept (0/1)]``. Class codes are given in order of first appearance, so an
unseen class always gets code ``st[1]`` and becomes active at that event.
"""

from __future__ import annotations

import math

import numpy as np

from onlinekit._numba import njit

#: return codes besides a feature column index: a label that is not the next new class or a
#: known one, and an update that would make the state non-finite (not applied)
BAD_LABEL = -2
DIVERGED = -3


@njit(inline="always")
def _logits(x, W, b, k, z):
    """Scores of the ``k`` active classes into ``z``; returns the argmax (first on ties)."""
    best = 0
    for c in range(k):
        s = b[c]
        for j in range(x.shape[0]):
            s += W[c, j] * x[j]
        z[c] = s
        if s > z[best]:
            best = c
    return best


@njit(inline="always")
def _softmax(z, k, p):
    m = z[0]
    for c in range(1, k):
        if z[c] > m:
            m = z[c]
    tot = 0.0
    for c in range(k):
        p[c] = math.exp(z[c] - m)
        tot += p[c]
    for c in range(k):
        p[c] /= tot


@njit
def predict_learn_block(X, y, W, b, st, hp, learn, out):
    """For each row in order: predicted class code into ``out`` (-1 with no class yet), then
    (``learn``) one softmax-regression gradient step on class code ``y[i]``.

    Returns ``(row, code)``: ``(-1, -1)`` when every row went through; otherwise the row that
    was refused and why (a feature column index for a non-finite value, :data:`BAD_LABEL`,
    :data:`DIVERGED`). Rows before it are applied; that row and the later ones are not.
    """
    n, d = X.shape
    K = W.shape[0]
    z = np.empty(max(K, 1))
    p = np.empty(max(K, 1))
    lr, sched, l2, icpt = hp[0], hp[1], hp[2], hp[3]
    for i in range(n):
        x = X[i]
        for j in range(d):
            if not math.isfinite(x[j]):
                return i, j
        k = int(st[1])
        out[i] = _logits(x, W, b, k, z) if k > 0 else -1.0
        if not learn:
            continue
        yc = y[i]
        if not (yc == math.floor(yc) and 0 <= yc <= k and yc < K):
            return i, BAD_LABEL
        c_y = int(yc)
        ka = k + 1 if c_y == k else k
        if ka > k:  # a new class: its weights are 0 until now
            z[k] = b[k]
            for j in range(d):
                z[k] += W[k, j] * x[j]
        _softmax(z, ka, p)
        eta = lr if sched == 0.0 else lr / math.sqrt(st[0] + 1.0)
        shrink = 1.0 - eta * l2
        ok = True
        for c in range(ka):  # first pass: would every new value be finite?
            g = p[c] - (1.0 if c == c_y else 0.0)
            if icpt != 0.0 and not math.isfinite(b[c] - eta * g):
                ok = False
            for j in range(d):
                if not math.isfinite(W[c, j] * shrink - eta * g * x[j]):
                    ok = False
        if not ok:
            return i, DIVERGED
        for c in range(ka):
            g = p[c] - (1.0 if c == c_y else 0.0)
            if icpt != 0.0:
                b[c] = b[c] - eta * g
            for j in range(d):
                W[c, j] = W[c, j] * shrink - eta * g * x[j]
        st[0] += 1.0
        st[1] = float(ka)
    return -1, -1

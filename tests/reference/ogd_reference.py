"""Slow, obviously correct projected OGD (pure Python floats), the oracle for the kernel."""

from __future__ import annotations

import math


def ogd_reference(X, y, *, lr, schedule="constant", loss="squared", radius=None, l2=0.0, intercept=True):
    """Return (predictions, w, b) of progressive OGD over rows of X (lists of floats)."""
    d = len(X[0]) if len(X) else 0
    w = [0.0] * d
    b = 0.0
    preds = []
    for t, (x, yt) in enumerate(zip(X, y), start=1):
        z = b
        for j in range(d):
            z += w[j] * x[j]
        if loss == "logistic":
            p = 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))
        else:
            p = z
        preds.append(p)
        eta = lr / math.sqrt(t) if schedule == "sqrt" else lr
        g = p - yt
        w = [w[j] - eta * (g * x[j] + l2 * w[j]) for j in range(d)]
        if intercept:
            b -= eta * g
        if radius is not None:
            norm = math.sqrt(sum(v * v for v in w))
            if norm > radius:
                w = [v * radius / norm for v in w]
    return preds, w, b

"""Slow, obviously-correct references for ``onlinekit.experts._kernels`` (plain Python/NumPy).

No log-space tricks, no Sherman-Morrison: weights are the textbook formulas evaluated
directly (fine for the moderate regrets used in tests) and ridge solves its normal
equations from scratch every round.
"""

from __future__ import annotations

import math

import numpy as np


def anh_weight(R: float, C: float) -> float:
    """AdaNormalHedge weight ``(Phi(R+1, C+1) - Phi(R-1, C+1)) / 2`` directly."""
    def phi(r):
        return math.exp(max(r, 0.0) ** 2 / (3.0 * (C + 1.0)))

    return 0.5 * (phi(R + 1.0) - phi(R - 1.0))


def meta_probs(R, C, awake, meta: str, eta: float) -> np.ndarray:
    """Probabilities over awake experts; ``meta`` is ``"anh"`` or ``"hedge"``."""
    E = len(R)
    if meta == "anh":
        w = np.array([anh_weight(R[e], C[e]) if awake[e] else 0.0 for e in range(E)])
    else:
        w = np.array([math.exp(eta * R[e]) if awake[e] else 0.0 for e in range(E)])
    if w.sum() == 0.0:
        return np.array([1.0 if awake[e] else 0.0 for e in range(E)]) / sum(bool(a) for a in awake)
    return w / w.sum()


def hedge_eta(lr, t, E):
    if lr is not None:
        return lr
    return 0.0 if E <= 1 else math.sqrt(8.0 * math.log(E) / max(t, 1))


def meta_run(L, A, meta: str, lr=None, M=None):
    """Rounds of the sleeping-experts meta learner; returns ``(P, R, C)``."""
    n, E = L.shape
    R, C = np.zeros(E), np.zeros(E)
    P = np.zeros((n, E))
    for i in range(n):
        p = meta_probs(R, C, A[i], meta, hedge_eta(lr, i, E))
        P[i] = p
        mix = M[i] if M is not None else sum(p[e] * L[i, e] for e in range(E) if A[i, e])
        for e in range(E):
            if A[i, e]:
                r = mix - L[i, e]
                R[e] += r
                C[e] += abs(r)
    return P, R, C


def ridge(X, y, l2: float, vaw: bool = False) -> np.ndarray:
    """Progressive ridge / VAW forecasts by solving the normal equations each round."""
    n, d = X.shape
    out = np.zeros(n)
    for t in range(n):
        A = l2 * np.eye(d) + X[:t].T @ X[:t]
        if vaw:
            A = A + np.outer(X[t], X[t])
        b = X[:t].T @ y[:t]
        out[t] = X[t] @ np.linalg.solve(A, b)
    return out


def groupwise(X, y, A, l2: float = 1.0, meta: str = "anh", lr=None, mode: str = "expected", vaw: bool = False):
    """Groupwise regression with one ridge per expert; returns ``(pred, loss, P)``.

    Expert ``e`` forecasts from the events it was awake for (normal equations); the meta
    learner is :func:`meta_run`'s, charged the expected loss or the loss of the average.
    """
    n, d = X.shape
    E = A.shape[1]
    R, C = np.zeros(E), np.zeros(E)
    pred, loss, P = np.zeros(n), np.zeros(n), np.zeros((n, E))
    for i in range(n):
        fc = np.zeros(E)
        for e in range(E):
            if A[i, e]:
                rows = np.flatnonzero(A[:i, e])
                Xe, ye = X[rows], y[rows]
                M = l2 * np.eye(d) + Xe.T @ Xe
                if vaw:
                    M = M + np.outer(X[i], X[i])
                fc[e] = X[i] @ np.linalg.solve(M, Xe.T @ ye)
        p = meta_probs(R, C, A[i], meta, hedge_eta(lr, i, E))
        P[i] = p
        pred[i] = sum(p[e] * fc[e] for e in range(E) if A[i, e])
        le = (fc - y[i]) ** 2
        mix = sum(p[e] * le[e] for e in range(E) if A[i, e])
        if mode == "average":
            mix = (pred[i] - y[i]) ** 2
        loss[i] = mix
        for e in range(E):
            if A[i, e]:
                r = mix - le[e]
                R[e] += r
                C[e] += abs(r)
    return pred, loss, P


def hindsight_sse(X, y, positions, paper_compat=False) -> np.ndarray:
    """``numpy.linalg.lstsq`` on each prefix (rows ``0..p`` or, compat, ``0..p-1``)."""
    out = []
    for p in positions:
        m = p if paper_compat else p + 1
        if m == 0:
            out.append(0.0)
            continue
        w = np.linalg.lstsq(X[:m], y[:m], rcond=None)[0]
        out.append(float(np.sum((X[:m] @ w - y[:m]) ** 2)))
    return np.array(out)

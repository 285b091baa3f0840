"""Slow, obviously-correct references for the OCO kernels (onlinekit/oco/_kernels.py).

Written from the definitions, in plain numpy, without looking at the kernels' loop order;
tests compare them with tolerances (or exactly where the arithmetic is the same).
"""

from __future__ import annotations

import math

import numpy as np

SCHEDULES = ("constant", "sqrt", "adagrad", "variation", "strongly-convex")


def project_euclidean(v, domain, param, lo=None, hi=None):
    """Euclidean projection by the textbook formulas (bisection for simplex / L1 ball)."""
    v = np.asarray(v, dtype=float)
    if domain == "free":
        return v.copy()
    if domain == "l2":
        n = np.linalg.norm(v)
        return v.copy() if n <= param else v * (param / n)
    if domain == "box":
        return np.minimum(np.maximum(v, lo), hi)
    if domain == "l1":
        if np.abs(v).sum() <= param:
            return v.copy()
        return np.sign(v) * project_euclidean(np.abs(v), "simplex", param)
    if domain == "simplex":
        # find tau with sum(max(v - tau, 0)) = z by bisection
        lo_t, hi_t = v.min() - param, v.max()
        for _ in range(200):
            mid = 0.5 * (lo_t + hi_t)
            if np.maximum(v - mid, 0.0).sum() > param:
                lo_t = mid
            else:
                hi_t = mid
        return np.maximum(v - 0.5 * (lo_t + hi_t), 0.0)
    raise ValueError(domain)


def pnorm_grad(x, p):
    nrm = np.linalg.norm(x, ord=p)
    if nrm == 0:
        return np.zeros_like(x)
    return np.sign(x) * np.abs(x) ** (p - 1) / nrm ** (p - 2)


def mirror_step(mirror, domain, src, g, eta, param=1.0, p=2.0, lo=None, hi=None):
    """argmin_{x in X} <eta g, x> + B_psi(x, src) for the closed-form pairs."""
    src = np.asarray(src, dtype=float)
    g = np.asarray(g, dtype=float)
    if mirror == "entropy":
        logw = np.log(src) - eta * g
        w = np.exp(logw - logw.max())
        return param * w / w.sum()
    if mirror == "pnorm":
        q = p / (p - 1)
        return pnorm_grad(pnorm_grad(src, p) - eta * g, q)
    return project_euclidean(src - eta * g, domain, param, lo, hi)


def dual_norm_sq(mirror, g, p=2.0):
    g = np.asarray(g, dtype=float)
    if mirror == "entropy":
        return float(np.max(np.abs(g)) ** 2)
    if mirror == "pnorm":
        q = p / (p - 1)
        return float(np.linalg.norm(g, ord=q) ** 2)
    return float(g @ g)


def eta(schedule, t, lr, sum_sq, sum_var, delta=1.0, lam=1.0):
    if schedule == "constant":
        return lr
    if schedule == "sqrt":
        return lr / math.sqrt(t)
    if schedule == "adagrad":
        return lr / math.sqrt(delta + sum_sq)
    if schedule == "variation":
        return lr / math.sqrt(delta + sum_var)
    return lr / (lam * t)


def loss_grad(loss, x, a, b, bias=0.0):
    """(value, prediction, dz, gradient) of one loss row at x."""
    x = np.asarray(x, dtype=float)
    if loss == "linear":
        v = float(a @ x)
        return v, v, 0.0, a.copy()
    if loss == "quadratic":
        v = 0.5 * float((x - a) @ (x - a))
        return v, v, 0.0, x - a
    z = bias + float(a @ x)
    if loss == "squared":
        return 0.5 * (z - b) ** 2, z, z - b, (z - b) * a
    if loss == "logistic":
        p = 1.0 / (1.0 + math.exp(-z))
        return float(np.logaddexp(0.0, z) - b * z), p, p - b, (p - b) * a
    if loss == "hinge":
        if b * z < 1:
            return 1 - b * z, z, -b, -b * a
        return 0.0, z, 0.0, 0.0 * a
    raise ValueError(loss)


def optimistic_omd(A, b, *, mirror="euclidean", domain="l2", param=1.0, p=2.0, lo=None, hi=None,
                   schedule="constant", lr=0.1, delta=1.0, lam=1.0, hint="none", loss="linear",
                   intercept=False, H=None, x0=None):
    """Run (optimistic) OMD over the rows; returns (losses, preds, plays, final mirror point, bias).

    Written as the paper's two-step form: play x_t = step(xhat_t, M_t, eta_t), observe g_t,
    xhat_{t+1} = step(xhat_t, g_t, eta_t), M_{t+1} = hint.
    """
    n, d = A.shape
    if x0 is None:
        if mirror == "entropy":
            x0 = np.full(d, param / d)
        elif mirror == "pnorm" or domain == "free":
            x0 = np.zeros(d)
        else:
            x0 = project_euclidean(np.zeros(d), domain, param, lo, hi)
    xhat = np.array(x0, dtype=float)
    M = np.zeros(d)
    g_prev = np.zeros(d)
    sum_sq = sum_var = 0.0
    bias = 0.0
    vals, preds, plays = [], [], []
    e = eta(schedule, 1, lr, 0.0, 0.0, delta, lam)
    x = xhat.copy()
    for t in range(1, n + 1):
        plays.append(x.copy())
        v, pr, dz, g = loss_grad(loss, x, A[t - 1], b[t - 1], bias)
        vals.append(v)
        preds.append(pr)
        xhat = mirror_step(mirror, domain, xhat, g, e, param, p, lo, hi)
        if intercept:
            bias -= e * dz
        sum_sq += dual_norm_sq(mirror, g, p)
        sum_var += dual_norm_sq(mirror, g - g_prev, p)
        g_prev = g
        e = eta(schedule, t + 1, lr, sum_sq, sum_var, delta, lam)
        if hint == "none":
            x = xhat.copy()
            continue
        if hint == "last":
            M = g
        elif hint == "extra-gradient":
            M = loss_grad(loss, xhat, A[t - 1], b[t - 1], bias)[3]
        else:
            M = H[t - 1]
        x = mirror_step(mirror, domain, xhat, M, e, param, p, lo, hi)
    return np.array(vals), np.array(preds), np.array(plays), xhat, bias


def optimistic_ftrl(G, radius, nu):
    """Optimistic FTRL on the ball with eta_t = D^2 / (nu + sum_{s<t} eta_s ||g_s - M_s||^2); linear losses G."""
    n, d = G.shape
    D2 = (2 * radius) ** 2
    S = np.zeros(d)
    M = np.zeros(d)
    acc = 0.0
    eta = D2 / nu
    plays = []
    for t in range(n):
        x = project_euclidean(-eta * (S + M), "l2", radius)
        plays.append(x)
        g = G[t]
        acc += eta * float((g - M) @ (g - M))
        S = S + g
        M = g
        eta = D2 / (nu + acc)
    return np.array(plays)


def dynamic_omd(A, loss, etas, radius, L, lam):
    """Two-layer learner (bases: optimistic OGD with hint g_{t-1}; meta: optimistic Hedge)."""
    n, d = A.shape
    N = len(etas)
    D2 = (2 * radius) ** 2
    xhat = np.zeros((N, d))
    prev = None
    g_prev = np.zeros(d)
    cum = np.zeros(N)
    var = 0.0
    plays = []
    for t in range(n):
        cur = np.array([project_euclidean(xhat[i] - etas[i] * g_prev, "l2", radius) for i in range(N)])
        if prev is None:
            prev = cur.copy()
        eps = 1.0 / (8 * D2 * L)
        if var > 0 and N > 1:
            eps = min(eps, math.sqrt(math.log(N) / (D2 * var)))
        switch = np.sum((cur - prev) ** 2, axis=1)
        score = cum + cur @ g_prev + lam * switch
        w = np.exp(-eps * (score - score.min()))
        p = w / w.sum()
        x = p @ cur
        plays.append(x)
        g = loss_grad(loss, x, A[t], 0.0)[3]
        cum = cum + cur @ g + lam * switch
        xhat = np.array([project_euclidean(xhat[i] - etas[i] * g, "l2", radius) for i in range(N)])
        var += float((g - g_prev) @ (g - g_prev))
        g_prev = g
        prev = cur
    return np.array(plays)


def ons(A, b, loss, gamma, eps, radius=None):
    """Online Newton step with an explicit solve and a bisection generalised projection on the ball."""
    n, d = A.shape
    M = eps * np.eye(d)
    x = np.zeros(d)
    plays = []
    for t in range(n):
        plays.append(x.copy())
        g = loss_grad(loss, x, A[t], b[t])[3]
        M = M + np.outer(g, g)
        y = x - np.linalg.solve(M, g) / gamma
        if radius is None or np.linalg.norm(y) <= radius:
            x = y
        else:
            # KKT of min (z - y)^T M (z - y) s.t. ||z|| <= r: (M + mu I) z = M y, ||z|| = r;
            # ||z(mu)|| decreases in mu, so bisect
            lo, hi = 0.0, 1.0
            while np.linalg.norm(np.linalg.solve(M + hi * np.eye(d), M @ y)) > radius:
                hi *= 2.0
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                if np.linalg.norm(np.linalg.solve(M + mid * np.eye(d), M @ y)) > radius:
                    lo = mid
                else:
                    hi = mid
            x = np.linalg.solve(M + hi * np.eye(d), M @ y)
    return np.array(plays)

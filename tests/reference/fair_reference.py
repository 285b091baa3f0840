"""Slow, obviously-correct references for onlinekit.fair._kernels (pure numpy / Python).

Independent of the kernels' tricks: leaf probabilities are explicit products over each
leaf's ancestors, and node gradients use ``d reach_l / d s_i`` written as the product of the
other ancestors' factors (the derivation in the research notes, section A3).
"""

from __future__ import annotations

import math

import numpy as np


def ancestors(leaf: int, depth: int) -> list[tuple[int, bool]]:
    """``[(node, goes_left)]`` from the root to leaf ``leaf`` (0-based heap, 0-based leaf)."""
    n_int = 2 ** depth - 1
    node = n_int + leaf
    path = []
    while node > 0:
        parent = (node - 1) // 2
        path.append((parent, node == 2 * parent + 1))
        node = parent
    return path[::-1]


def node_outputs(x, W, B):
    z = np.einsum("tij,j->ti", W, x) + B
    return 1.0 / (1.0 + np.exp(-z))


def leaf_probs(x, W, B):
    """``reach[t, l] = prod_{i in anc(l)} (s_i if l is left of i else 1 - s_i)``."""
    T, n_int = B.shape
    depth = int(round(math.log2(n_int + 1)))
    s = node_outputs(x, W, B)
    out = np.ones((T, n_int + 1))
    for t in range(T):
        for leaf in range(n_int + 1):
            for node, left in ancestors(leaf, depth):
                out[t, leaf] *= s[t, node] if left else 1.0 - s[t, node]
    return out


def softmax(v):
    e = np.exp(v - v.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def forest_proba(x, W, B, Th):
    pi = leaf_probs(x, W, B)
    q = softmax(Th)
    return np.einsum("tl,tlc->c", pi, q) / B.shape[0]


def loss(x, y, W, B, Th):
    return -math.log(forest_proba(x, W, B, Th)[y])


def grads(x, y, W, B, Th):
    """Cross-entropy gradients ``(gW, gB, gT)`` from the explicit-product formulas."""
    T, n_int = B.shape
    depth = int(round(math.log2(n_int + 1)))
    s = node_outputs(x, W, B)
    pi = leaf_probs(x, W, B)
    q = softmax(Th)
    p = forest_proba(x, W, B, Th)
    g = -1.0 / (T * p[y])
    gW = np.zeros_like(W)
    gB = np.zeros_like(B)
    gT = np.zeros_like(Th)
    for t in range(T):
        ds = np.zeros(n_int)
        for leaf in range(n_int + 1):
            path = ancestors(leaf, depth)
            for node, left in path:
                other = 1.0
                for n2, l2 in path:
                    if n2 != node:
                        other *= s[t, n2] if l2 else 1.0 - s[t, n2]
                ds[node] += (other if left else -other) * q[t, leaf, y]
            for c in range(Th.shape[2]):
                gT[t, leaf, c] = g * pi[t, leaf] * q[t, leaf, y] * ((c == y) - q[t, leaf, c])
        dz = g * ds * s[t] * (1.0 - s[t])
        gB[t] = dz
        gW[t] = dz[:, None] * x[None, :]
    return gW, gB, gT


def multiplier(F, penalty, delta):
    if penalty == "official":
        return F if abs(F) < delta else float(np.sign(F - delta / 2))
    if penalty == "huber":
        return F if abs(F) <= delta else delta * float(np.sign(F))
    return float(np.sign(F))


def adam(p, m, v, g, step, lr, b1, b2, eps):
    m[...] = b1 * m + (1 - b1) * g
    v[...] = b2 * v + (1 - b2) * g * g
    lr_t = lr * math.sqrt(1 - b2 ** step) / (1 - b1 ** step)
    p -= lr_t * m / (np.sqrt(v) + eps)


def fairness_grad(stats, lam, penalty, delta):
    """``lam * sum H'(F) grad F`` from per-group stats ``(n, Ssum, GW, GB)`` lists."""
    n, S, GWs, GBs = stats
    G = len(n)
    gW = np.zeros_like(GWs[0])
    gB = np.zeros_like(GBs[0])
    seen = [a for a in range(G) if n[a] > 0]
    if len(seen) < 2:
        return gW, gB
    if G == 2:
        F = S[1] / n[1] - S[0] / n[0]
        for t in range(F.shape[0]):
            for i in range(F.shape[1]):
                c = lam * multiplier(F[t, i], penalty, delta)
                gW[t, i] += c * (GWs[1][t, i] - GWs[0][t, i])
                gB[t, i] += c * (GBs[1][t, i] - GBs[0][t, i])
        return gW, gB
    N = sum(n[a] for a in seen)
    mu = sum(S[a] for a in seen) / N
    mW = sum(n[a] / N * GWs[a] for a in seen)
    mB = sum(n[a] / N * GBs[a] for a in seen)
    for a in seen:
        F = S[a] / n[a] - mu
        for t in range(F.shape[0]):
            for i in range(F.shape[1]):
                c = lam * multiplier(F[t, i], penalty, delta)
                gW[t, i] += c * (GWs[a][t, i] - mW[t, i])
                gB[t, i] += c * (GBs[a][t, i] - mB[t, i])
    return gW, gB


def aranyani_run(X, y, a, W, B, Th, *, lam, penalty="official", delta=0.01, n_groups=2,
                 lr=2e-3, b1=0.9, b2=0.999, eps=1e-7, fair=True):
    """Predict-then-learn over the rows; returns ``(P(y=1) per row, W, B, Th, stats)``."""
    W, B, Th = W.copy(), B.copy(), Th.copy()
    moments = [np.zeros_like(W), np.zeros_like(W), np.zeros_like(B), np.zeros_like(B),
               np.zeros_like(Th), np.zeros_like(Th)]
    n = [0] * n_groups
    S = [np.zeros_like(B) for _ in range(n_groups)]
    GWs = [np.zeros_like(W) for _ in range(n_groups)]
    GBs = [np.zeros_like(B) for _ in range(n_groups)]
    out = np.empty(len(y))
    for k in range(len(y)):
        x = X[k]
        out[k] = forest_proba(x, W, B, Th)[1]
        gW, gB, gT = grads(x, int(y[k]), W, B, Th)
        if fair and a[k] >= 0:
            s = node_outputs(x, W, B)
            g = a[k]
            n[g] += 1
            S[g] = S[g] + s
            ds = s * (1 - s)
            GWs[g] = (1 - 1 / n[g]) * GWs[g] + (1 / n[g]) * ds[:, :, None] * x[None, None, :]
            GBs[g] = (1 - 1 / n[g]) * GBs[g] + (1 / n[g]) * ds
        if fair and lam:
            fW, fB = fairness_grad((n, S, GWs, GBs), lam, penalty, delta)
            gW, gB = gW + fW, gB + fB
        step = k + 1
        adam(W, moments[0], moments[1], gW, step, lr, b1, b2, eps)
        adam(B, moments[2], moments[3], gB, step, lr, b1, b2, eps)
        adam(Th, moments[4], moments[5], gT, step, lr, b1, b2, eps)
    return out, W, B, Th, (n, S, GWs, GBs)


def reservoir_run(X, y, a, u, W, B, Th, *, lam, K, lr=2e-3, b1=0.9, b2=0.999, eps=1e-7):
    """The per-group reservoir baseline; returns ``(P(y=1) per row, W, reservoirs)``."""
    W, B, Th = W.copy(), B.copy(), Th.copy()
    moments = [np.zeros_like(W), np.zeros_like(W), np.zeros_like(B), np.zeros_like(B),
               np.zeros_like(Th), np.zeros_like(Th)]
    res: list[list] = [[], []]
    seen = [0, 0]
    out = np.empty(len(y))
    for k in range(len(y)):
        x = X[k]
        out[k] = forest_proba(x, W, B, Th)[1]
        gW, gB, gT = grads(x, int(y[k]), W, B, Th)
        g = a[k]
        seen[g] += 1
        if seen[g] <= K:
            res[g].append(x.copy())
        else:
            j = int(u[k] * seen[g])
            if j < K:
                res[g][j] = x.copy()
        if lam and seen[0] and seen[1]:
            means, mW, mB = [], [], []
            for grp in range(2):
                R = np.array(res[grp])
                s = np.array([node_outputs(r, W, B) for r in R])  # (m, T, n_int)
                ds = s * (1 - s)
                means.append(s.mean(axis=0))
                mB.append(ds.mean(axis=0))
                mW.append(np.einsum("mti,mj->tij", ds, R) / len(R))
            F = means[1] - means[0]
            c = lam * np.sign(F)
            gW = gW + c[:, :, None] * (mW[1] - mW[0])
            gB = gB + c * (mB[1] - mB[0])
        step = k + 1
        adam(W, moments[0], moments[1], gW, step, lr, b1, b2, eps)
        adam(B, moments[2], moments[3], gB, step, lr, b1, b2, eps)
        adam(Th, moments[4], moments[5], gT, step, lr, b1, b2, eps)
    return out, W, res

"""Numba kernels of the fair family (private: arrays and scalars in, arrays out).

Layout of one soft oblique tree of depth ``h`` (heap order, 0-based): internal nodes
``0 .. n_int - 1`` with ``n_int = 2**h - 1``, children of node ``i`` are ``2i + 1`` (left) and
``2i + 2`` (right); leaf ``l`` is heap node ``n_int + l``. Node ``i`` of tree ``t`` routes left
with probability ``s = sigmoid(W[t, i] . x + B[t, i])``; leaf ``l`` holds logits
``Th[t, l, :]``. Forest output: mean over trees of ``sum_l reach_l * softmax(Th[t, l])``.
"""

from __future__ import annotations

import math

import numpy as np

from onlinekit._numba import njit

PENALTY_OFFICIAL = 0  # multiplier F if |F| < delta else sign(F - delta / 2) (official code)
PENALTY_HUBER = 1  # textbook Huber gradient: F if |F| <= delta else delta * sign(F)
PENALTY_ABS = 2  # gradient of |F|: sign(F) (reservoir baseline)


@njit
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@njit
def _multiplier(F, penalty, delta):
    """d penalty / d F for the node gap ``F``."""
    if penalty == PENALTY_OFFICIAL:
        if abs(F) < delta:
            return F
        v = F - 0.5 * delta
        if v > 0.0:
            return 1.0
        if v < 0.0:
            return -1.0
        return 0.0
    if penalty == PENALTY_HUBER:
        if abs(F) <= delta:
            return F
        return delta if F > 0.0 else -delta
    if F > 0.0:
        return 1.0
    if F < 0.0:
        return -1.0
    return 0.0


@njit
def _tree_forward(x, W, B, Th, t, s, reach, q, f):
    """Forward pass of tree ``t`` on ``x``.

    Fills ``s[t, :]`` (node outputs), ``reach[t, :]`` (probability of reaching each heap node;
    leaves at ``n_int + l``), ``q[t, l, :]`` (leaf softmax) and ``f[t, :]`` (tree class
    probabilities).
    """
    n_int = B.shape[1]
    n_leaf = Th.shape[1]
    C = Th.shape[2]
    d = x.shape[0]
    for i in range(n_int):
        z = B[t, i]
        for j in range(d):
            z += W[t, i, j] * x[j]
        s[t, i] = _sigmoid(z)
    reach[t, 0] = 1.0
    for i in range(n_int):
        reach[t, 2 * i + 1] = reach[t, i] * s[t, i]
        reach[t, 2 * i + 2] = reach[t, i] * (1.0 - s[t, i])
    for c in range(C):
        f[t, c] = 0.0
    for leaf in range(n_leaf):
        mx = Th[t, leaf, 0]
        for c in range(1, C):
            if Th[t, leaf, c] > mx:
                mx = Th[t, leaf, c]
        tot = 0.0
        for c in range(C):
            e = math.exp(Th[t, leaf, c] - mx)
            q[t, leaf, c] = e
            tot += e
        pl = reach[t, n_int + leaf]
        for c in range(C):
            q[t, leaf, c] /= tot
            f[t, c] += pl * q[t, leaf, c]


@njit
def _tree_backward(x, yi, g, t, s, reach, q, acc, gW, gB, gT):
    """Cross-entropy gradient of tree ``t``; ``g = dL/df[t, yi] = -1 / (T p_y)``.

    Writes ``gW[t]``, ``gB[t]``, ``gT[t]``. ``acc`` is a scratch vector over heap nodes:
    ``acc[node] = sum over leaves l below node of (reach_l / reach_node) dL/dreach_l``, so
    ``dL/ds_i = reach_i (acc[left] - acc[right])`` needs no division.
    """
    n_int = s.shape[1]
    n_leaf = q.shape[1]
    C = q.shape[2]
    d = x.shape[0]
    for leaf in range(n_leaf):
        qy = q[t, leaf, yi]
        acc[n_int + leaf] = g * qy
        base = g * reach[t, n_int + leaf] * qy
        for c in range(C):
            ind = 1.0 if c == yi else 0.0
            gT[t, leaf, c] = base * (ind - q[t, leaf, c])
    for i in range(n_int - 1, -1, -1):
        si = s[t, i]
        left = acc[2 * i + 1]
        right = acc[2 * i + 2]
        acc[i] = si * left + (1.0 - si) * right
        dz = reach[t, i] * (left - right) * si * (1.0 - si)
        gB[t, i] = dz
        for j in range(d):
            gW[t, i, j] = dz * x[j]


@njit
def _adam(p, m, v, g, lr_t, beta1, beta2, eps):
    """One Adam step on flat views (Keras form: ``p -= lr_t m / (sqrt(v) + eps)``)."""
    for k in range(p.shape[0]):
        gk = g[k]
        mk = beta1 * m[k] + (1.0 - beta1) * gk
        vk = beta2 * v[k] + (1.0 - beta2) * gk * gk
        m[k] = mk
        v[k] = vk
        p[k] -= lr_t * mk / (math.sqrt(vk) + eps)


@njit
def _update_group_stats(x, ai, s, cnt, Ssum, GW, GB):
    """Add the current example (group ``ai``) to the running per-group statistics."""
    T = s.shape[0]
    n_int = s.shape[1]
    d = x.shape[0]
    cnt[ai] += 1
    r = 1.0 / cnt[ai]
    keep = 1.0 - r
    for t in range(T):
        for i in range(n_int):
            si = s[t, i]
            Ssum[ai, t, i] += si
            ds = si * (1.0 - si)
            GB[ai, t, i] = keep * GB[ai, t, i] + r * ds
            for j in range(d):
                GW[ai, t, i, j] = keep * GW[ai, t, i, j] + r * (ds * x[j])


@njit
def _add_fairness_grad(cnt, Ssum, GW, GB, lam, penalty, delta, gW, gB):
    """Add ``lam * sum_nodes dH(F)/dF * grad F`` from the running statistics to ``gW, gB``.

    Two groups: ``F = mean_1 s - mean_0 s`` per node (the paper). More groups (ours): each
    seen group's gap to the pooled mean, ``F_a = mean_a s - mean s``. Nothing is added
    until two groups have been seen.
    """
    G = cnt.shape[0]
    T = Ssum.shape[1]
    n_int = Ssum.shape[2]
    d = GW.shape[3]
    if G == 2:
        if cnt[0] == 0 or cnt[1] == 0:
            return
        n0 = float(cnt[0])
        n1 = float(cnt[1])
        for t in range(T):
            for i in range(n_int):
                F = Ssum[1, t, i] / n1 - Ssum[0, t, i] / n0
                c = lam * _multiplier(F, penalty, delta)
                if c == 0.0:
                    continue
                gB[t, i] += c * (GB[1, t, i] - GB[0, t, i])
                for j in range(d):
                    gW[t, i, j] += c * (GW[1, t, i, j] - GW[0, t, i, j])
        return
    n_seen = 0
    N = 0.0
    for a in range(G):
        if cnt[a] > 0:
            n_seen += 1
            N += float(cnt[a])
    if n_seen < 2:
        return
    for t in range(T):
        for i in range(n_int):
            mu = 0.0
            mb = 0.0
            for a in range(G):
                if cnt[a] > 0:
                    mu += Ssum[a, t, i]
                    mb += (cnt[a] / N) * GB[a, t, i]
            mu /= N
            for a in range(G):
                if cnt[a] == 0:
                    continue
                F = Ssum[a, t, i] / cnt[a] - mu
                c = lam * _multiplier(F, penalty, delta)
                if c == 0.0:
                    continue
                gB[t, i] += c * (GB[a, t, i] - mb)
                for j in range(d):
                    mw = 0.0
                    for b in range(G):
                        if cnt[b] > 0:
                            mw += (cnt[b] / N) * GW[b, t, i, j]
                    gW[t, i, j] += c * (GW[a, t, i, j] - mw)


@njit
def _forest_proba(x, W, B, Th, s, reach, q, f, out):
    """Forward every tree at ``x``; ``out[c]`` = mean over trees of class ``c``'s probability."""
    T = B.shape[0]
    for t in range(T):
        _tree_forward(x, W, B, Th, t, s, reach, q, f)
    for c in range(Th.shape[2]):
        tot = 0.0
        for t in range(T):
            tot += f[t, c]
        out[c] = tot / T


@njit
def _ce_backward(x, yi, py, s, reach, q, acc, gW, gB, gT):
    """Gradients of ``-log P(y = yi)`` (``py`` = forest probability, floored at 1e-300)."""
    T = gB.shape[0]
    if py < 1e-300:
        py = 1e-300
    g = -1.0 / (T * py)
    for t in range(T):
        _tree_backward(x, yi, g, t, s, reach, q, acc, gW, gB, gT)


@njit
def _adam_step(W, B, Th, mW, vW, mB, vB, mT, vT, gW, gB, gT, step, lr, beta1, beta2, eps):
    """One bias-corrected Adam step on every parameter array; ``step[0]`` counts steps."""
    step[0] += 1
    tk = float(step[0])
    lr_t = lr * math.sqrt(1.0 - beta2 ** tk) / (1.0 - beta1 ** tk)
    _adam(W.reshape(-1), mW.reshape(-1), vW.reshape(-1), gW.reshape(-1), lr_t, beta1, beta2, eps)
    _adam(B.reshape(-1), mB.reshape(-1), vB.reshape(-1), gB.reshape(-1), lr_t, beta1, beta2, eps)
    _adam(Th.reshape(-1), mT.reshape(-1), vT.reshape(-1), gT.reshape(-1), lr_t, beta1, beta2, eps)


@njit
def _forest_run(X, y, a, W, B, Th, mW, vW, mB, vB, mT, vT, step, cnt, Ssum, GW, GB,
                lam, penalty, delta, lr, beta1, beta2, eps, learn, fair, proba):
    """Progressive pass over the rows of ``X``: predict row k, then (if ``learn``) update.

    ``proba[k, :]`` receives the forest's class probabilities before learning row ``k``.
    Parameters, Adam moments (``m*``, ``v*``), the step counter ``step[0]`` and, when
    ``fair``, the per-group statistics (``cnt``, ``Ssum``, ``GW``, ``GB``) are updated in
    place. ``a[k] < 0`` means the group of row ``k`` is unknown: it adds nothing to the
    statistics but the fairness term from the statistics so far still applies.
    """
    n = X.shape[0]
    T = B.shape[0]
    n_int = B.shape[1]
    n_leaf = Th.shape[1]
    C = Th.shape[2]
    d = W.shape[2]
    s = np.empty((T, n_int))
    reach = np.empty((T, 2 * n_int + 1))
    q = np.empty((T, n_leaf, C))
    f = np.empty((T, C))
    acc = np.empty(2 * n_int + 1)
    gW = np.empty((T, n_int, d))
    gB = np.empty((T, n_int))
    gT = np.empty((T, n_leaf, C))
    for k in range(n):
        x = X[k]
        _forest_proba(x, W, B, Th, s, reach, q, f, proba[k])
        if not learn:
            continue
        yi = y[k]
        _ce_backward(x, yi, proba[k, yi], s, reach, q, acc, gW, gB, gT)
        if fair:
            if a[k] >= 0:
                _update_group_stats(x, a[k], s, cnt, Ssum, GW, GB)
            if lam != 0.0:
                _add_fairness_grad(cnt, Ssum, GW, GB, lam, penalty, delta, gW, gB)
        _adam_step(W, B, Th, mW, vW, mB, vB, mT, vT, gW, gB, gT, step, lr, beta1, beta2, eps)
    return proba


@njit
def _forest_grads(x, yi, W, B, Th):
    """Cross-entropy loss and its gradients at one example (for tests and tools)."""
    T = B.shape[0]
    n_int = B.shape[1]
    n_leaf = Th.shape[1]
    C = Th.shape[2]
    d = W.shape[2]
    s = np.empty((T, n_int))
    reach = np.empty((T, 2 * n_int + 1))
    q = np.empty((T, n_leaf, C))
    f = np.empty((T, C))
    acc = np.empty(2 * n_int + 1)
    gW = np.empty((T, n_int, d))
    gB = np.empty((T, n_int))
    gT = np.empty((T, n_leaf, C))
    proba = np.empty(C)
    _forest_proba(x, W, B, Th, s, reach, q, f, proba)
    py = proba[yi]
    g = -1.0 / (T * py)
    for t in range(T):
        _tree_backward(x, yi, g, t, s, reach, q, acc, gW, gB, gT)
    return -math.log(py), gW, gB, gT, s, reach


@njit
def _reservoir_run(X, y, a, u, W, B, Th, mW, vW, mB, vB, mT, vT, step, seen, R,
                   lam, lr, beta1, beta2, eps, learn, proba):
    """Progressive pass of the per-group reservoir baseline.

    Like :func:`_forest_run`, but the fairness term is ``lam * sum_nodes |F|`` with ``F``
    recomputed at the current parameters over two per-group reservoirs of raw inputs
    ``R[a, :min(seen[a], K), :]`` (Algorithm R; ``u[k]`` is the pre-drawn uniform of row k).
    ``a[k] < 0`` (group unknown): the row joins no reservoir.
    """
    n = X.shape[0]
    T = B.shape[0]
    n_int = B.shape[1]
    n_leaf = Th.shape[1]
    C = Th.shape[2]
    d = W.shape[2]
    K = R.shape[1]
    s = np.empty((T, n_int))
    reach = np.empty((T, 2 * n_int + 1))
    q = np.empty((T, n_leaf, C))
    f = np.empty((T, C))
    acc = np.empty(2 * n_int + 1)
    gW = np.empty((T, n_int, d))
    gB = np.empty((T, n_int))
    gT = np.empty((T, n_leaf, C))
    Ssum = np.empty((2, T, n_int))
    GW = np.empty((2, T, n_int, d))
    GB = np.empty((2, T, n_int))
    for k in range(n):
        x = X[k]
        _forest_proba(x, W, B, Th, s, reach, q, f, proba[k])
        if not learn:
            continue
        yi = y[k]
        _ce_backward(x, yi, proba[k, yi], s, reach, q, acc, gW, gB, gT)
        ai = a[k]
        if ai >= 0:
            seen[ai] += 1
            if seen[ai] <= K:
                for j in range(d):
                    R[ai, seen[ai] - 1, j] = x[j]
            else:
                slot = int(u[k] * seen[ai])
                if slot < K:
                    for j in range(d):
                        R[ai, slot, j] = x[j]
        if lam != 0.0 and seen[0] > 0 and seen[1] > 0:
            for grp in range(2):
                m = min(seen[grp], K)
                for t in range(T):
                    for i in range(n_int):
                        Ssum[grp, t, i] = 0.0
                        GB[grp, t, i] = 0.0
                        for j in range(d):
                            GW[grp, t, i, j] = 0.0
                for r in range(m):
                    xr = R[grp, r]
                    for t in range(T):
                        for i in range(n_int):
                            z = B[t, i]
                            for j in range(d):
                                z += W[t, i, j] * xr[j]
                            sv = _sigmoid(z)
                            ds = sv * (1.0 - sv) / m
                            Ssum[grp, t, i] += sv / m
                            GB[grp, t, i] += ds
                            for j in range(d):
                                GW[grp, t, i, j] += ds * xr[j]
            for t in range(T):
                for i in range(n_int):
                    F = Ssum[1, t, i] - Ssum[0, t, i]
                    c = lam * _multiplier(F, PENALTY_ABS, 0.0)
                    if c == 0.0:
                        continue
                    gB[t, i] += c * (GB[1, t, i] - GB[0, t, i])
                    for j in range(d):
                        gW[t, i, j] += c * (GW[1, t, i, j] - GW[0, t, i, j])
        _adam_step(W, B, Th, mW, vW, mB, vB, mT, vT, gW, gB, gT, step, lr, beta1, beta2, eps)
    return proba


@njit
def _mlp_forward(x, P, H, hid, pr):
    """Forward pass of the one-hidden-layer network on ``x``; fills ``hid`` and ``pr``.

    Flat layout of ``P`` (``d`` inputs, ``H`` hidden units, 2 classes): ``W1`` (``H x d``,
    row-major) at 0, ``b1`` at ``H d``, ``W2`` (``H x 2``) at ``H d + H``, ``b2`` at
    ``H d + 3 H``. ``hid_k = sigmoid(W1_k . x + b1_k)``, ``z_c = sum_k W2_{k,c} hid_k + b2_c``,
    ``pr = softmax(z)``.
    """
    d = x.shape[0]
    ob1 = H * d
    oW2 = ob1 + H
    ob2 = oW2 + 2 * H
    z0 = P[ob2]
    z1 = P[ob2 + 1]
    for k in range(H):
        z = P[ob1 + k]
        for j in range(d):
            z += P[k * d + j] * x[j]
        hk = _sigmoid(z)
        hid[k] = hk
        z0 += P[oW2 + 2 * k] * hk
        z1 += P[oW2 + 2 * k + 1] * hk
    p1 = _sigmoid(z1 - z0)
    pr[0] = 1.0 - p1
    pr[1] = p1


@njit
def _mlp_backward(x, H, P, hid, dz0, dz1, g):
    """Gradient into ``g`` (flat, as ``P``) of a function of the logits with ``dF/dz = (dz0, dz1)``.

    ``dF/dW2_{k,c} = dz_c hid_k``, ``dF/db2_c = dz_c``; ``dF/dhid_k = sum_c W2_{k,c} dz_c``;
    ``dF/dW1_{k,j} = dF/dhid_k hid_k (1 - hid_k) x_j``, ``dF/db1_k = dF/dhid_k hid_k (1 - hid_k)``.
    """
    d = x.shape[0]
    ob1 = H * d
    oW2 = ob1 + H
    ob2 = oW2 + 2 * H
    g[ob2] = dz0
    g[ob2 + 1] = dz1
    for k in range(H):
        hk = hid[k]
        g[oW2 + 2 * k] = dz0 * hk
        g[oW2 + 2 * k + 1] = dz1 * hk
        dh = (P[oW2 + 2 * k] * dz0 + P[oW2 + 2 * k + 1] * dz1) * hk * (1.0 - hk)
        g[ob1 + k] = dh
        for j in range(d):
            g[k * d + j] = dh * x[j]


@njit
def _mlp_run(X, y, a, H, P, m, v, step, cnt, yhat_sum, G, lam, lr, beta1, beta2, eps, learn, proba):
    """Progressive pass of the fair MLP: predict row k, then (if ``learn``) one Adam step.

    Loss of row k: ``CE(p(x_k), y_k)`` plus the DP regulariser of the official baseline,
    corrected to differentiate ``p_1(x) = P(y = 1 | x)``: with the prequential hard-prediction
    gap ``D = mean(yhat | a = 1) - mean(yhat | a = 0)`` over the rows so far (this one
    included) and ``G[a]`` the running mean over group ``a``'s rows of ``grad p_1`` (each
    evaluated at the parameters in force when the row arrived), the step adds
    ``lam * sign(D) * (G[1] - G[0])`` to the cross-entropy gradient
    (``dCE/dz_c = p_c - 1[c = y]``), once both groups have been seen. ``a[k] < 0``: no group
    (no statistics update).
    """
    n = X.shape[0]
    nP = P.shape[0]
    hid = np.empty(H)
    g = np.empty(nP)
    gp = np.empty(nP)
    for k in range(n):
        x = X[k]
        _mlp_forward(x, P, H, hid, proba[k])
        if not learn:
            continue
        p1 = proba[k, 1]
        yi = y[k]
        _mlp_backward(x, H, P, hid, proba[k, 0] - (1.0 if yi == 0 else 0.0),
                      p1 - (1.0 if yi == 1 else 0.0), g)
        ak = a[k]
        if ak >= 0:
            r = p1 * (1.0 - p1)  # dp1/dz1 = p1 p0 = -dp1/dz0
            _mlp_backward(x, H, P, hid, -r, r, gp)
            cnt[ak] += 1
            yhat_sum[ak] += 1.0 if p1 > 0.5 else 0.0
            w = 1.0 / cnt[ak]
            for q in range(nP):
                G[ak, q] += w * (gp[q] - G[ak, q])
        if lam != 0.0 and cnt[0] > 0 and cnt[1] > 0:
            D = yhat_sum[1] / cnt[1] - yhat_sum[0] / cnt[0]
            sgn = 1.0 if D > 0.0 else (-1.0 if D < 0.0 else 0.0)
            if sgn != 0.0:
                for q in range(nP):
                    g[q] += lam * sgn * (G[1, q] - G[0, q])
        step[0] += 1
        t = float(step[0])
        lr_t = lr * math.sqrt(1.0 - beta2 ** t) / (1.0 - beta1 ** t)
        _adam(P, m, v, g, lr_t, beta1, beta2, eps)
    return proba

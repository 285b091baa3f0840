"""Numba kernels of the experts family (private: arrays and scalars in, arrays out).

* ``_meta_probs`` -- sleeping-experts weights of Hedge / AdaNormalHedge, in log space.
* ``_meta_run`` -- a block of meta rounds (losses + awake masks) for :class:`Hedge` /
  :class:`AdaNormalHedge`.
* ``_ridge_predict_learn`` -- progressive online ridge (Sherman-Morrison), optional
  Vovk-Azoury-Warmuth forecast.
* ``_groupwise_ridge`` -- the groupwise learner's hot loop: one online ridge per group,
  sleeping-experts meta over the awake ones.

Every kernel has a slow reference in ``tests/reference/experts_reference.py``.
"""

from __future__ import annotations

import math

import numpy as np

from onlinekit._numba import njit

META_ANH = 0
META_HEDGE = 1

MODE_EXPECTED = 0
MODE_AVERAGE = 1

_LOG_HALF = math.log(0.5)


@njit
def _anh_logw(R, C):
    """log of AdaNormalHedge's weight ``(Phi(R+1, C+1) - Phi(R-1, C+1)) / 2``.

    ``Phi(R, C) = exp([R]_+^2 / (3 C))``; ``-inf`` when ``R <= -1`` (weight zero).
    """
    a = R + 1.0
    if a <= 0.0:
        return -np.inf
    dr = 3.0 * (C + 1.0)
    a2 = a * a / dr
    bm = R - 1.0
    b2 = bm * bm / dr if bm > 0.0 else 0.0
    # log(0.5 (e^a2 - e^b2)) = log 0.5 + a2 + log(1 - e^(b2 - a2)),  b2 < a2 here
    return _LOG_HALF + a2 + math.log(-math.expm1(b2 - a2))


@njit
def _hedge_eta(lr, t, n_experts):
    """Hedge learning rate: ``lr`` if positive, else the anytime ``sqrt(8 ln N / t)``."""
    if lr > 0.0:
        return lr
    if n_experts <= 1:
        return 0.0
    return math.sqrt(8.0 * math.log(n_experts) / max(t, 1.0))


@njit
def _meta_probs(R, C, awake, meta, eta, logw, p):
    """Probabilities over the awake experts (zero on sleeping ones), computed in log space.

    All awake weights zero (AdaNormalHedge with every awake ``R <= -1``): uniform over the
    awake experts. No awake expert: ``p`` is all zero and 0 is returned, else 1.
    """
    E = R.shape[0]
    m = -np.inf
    n_awake = 0
    for e in range(E):
        if awake[e]:
            n_awake += 1
            if meta == META_ANH:
                lw = _anh_logw(R[e], C[e])
            else:
                lw = eta * R[e]
            logw[e] = lw
            if lw > m:
                m = lw
    if n_awake == 0:
        for e in range(E):
            p[e] = 0.0
        return 0
    if m == -np.inf:
        for e in range(E):
            p[e] = 1.0 / n_awake if awake[e] else 0.0
        return 1
    s = 0.0
    for e in range(E):
        if awake[e]:
            v = math.exp(logw[e] - m)
            p[e] = v
            s += v
        else:
            p[e] = 0.0
    for e in range(E):
        p[e] /= s
    return 1


@njit
def _meta_update(R, C, awake, losses, mix_loss):
    """Sleeping-experts regret update: awake ``e`` gets ``r = mix_loss - losses[e]``."""
    for e in range(R.shape[0]):
        if awake[e]:
            r = mix_loss - losses[e]
            R[e] += r
            C[e] += abs(r)


@njit
def _meta_run(L, A, M, use_mix, R, C, tcount, meta, lr, P):
    """Rounds of the meta learner over the rows of ``L`` (losses) and ``A`` (awake mask).

    Row ``i``: ``P[i]`` = weights from the state, then the regret update with the mixture
    loss ``M[i]`` (if ``use_mix``) or the expected loss ``P[i] . L[i]``. ``tcount[0]``
    counts rounds (Hedge's anytime rate). Returns the mixture losses used.
    """
    n, E = L.shape
    logw = np.empty(E)
    used = np.empty(n)
    for i in range(n):
        eta = _hedge_eta(lr, tcount[0], E)
        _meta_probs(R, C, A[i], meta, eta, logw, P[i])
        if use_mix:
            mix = M[i]
        else:
            mix = 0.0
            for e in range(E):
                if A[i, e]:
                    mix += P[i, e] * L[i, e]
        used[i] = mix
        _meta_update(R, C, A[i], L[i], mix)
        tcount[0] += 1.0
    return used


@njit
def _sm_forecast(Ainv, w, x, u):
    """Ridge forecast: returns ``(x . w, x . Ainv x)`` and writes ``u = Ainv x``.

    ``Ainv`` is exactly symmetric, so ``u`` is accumulated row by row (``u += x_b Ainv[b]``),
    which vectorises and sums each ``u_a`` in the same order as a row-times-vector product.
    """
    d = x.shape[0]
    for a in range(d):
        u[a] = 0.0
    for b in range(d):
        xb = x[b]
        if xb != 0.0:
            row = Ainv[b]
            for a in range(d):
                u[a] += xb * row[a]
    q = 0.0
    p = 0.0
    for a in range(d):
        q += x[a] * u[a]
        p += x[a] * w[a]
    return p, q


@njit
def _sm_update(Ainv, w, u, q, p, y):
    """One Sherman-Morrison / recursive-least-squares step from ``_sm_forecast``'s output.

    ``Ainv <- Ainv - c c^T`` with ``c = u / sqrt(1 + q)`` (so it stays exactly symmetric:
    ``c_a c_b == c_b c_a``) and ``w <- w + u (y - p) / (1 + q)``, i.e.
    ``w = Ainv_new (sum_s y_s x_s)``.
    """
    d = u.shape[0]
    inv = 1.0 / (1.0 + q)
    r = (y - p) * inv
    s = math.sqrt(inv)
    for a in range(d):
        w[a] += u[a] * r
        u[a] *= s
    for a in range(d):
        ca = u[a]
        if ca != 0.0:
            row = Ainv[a]
            for b in range(d):
                row[b] -= ca * u[b]


@njit
def _ridge_predict_learn(X, y, Ainv, w, vaw, learn, out):
    """Progressive online ridge over the rows of ``X`` (``Ainv``, ``w`` updated in place).

    ``out[i]`` is the forecast before learning row ``i``: ``x . w`` (ridge) or
    ``x . w / (1 + x . Ainv x)`` (Vovk-Azoury-Warmuth).
    """
    n, d = X.shape
    u = np.empty(d)
    for i in range(n):
        p, q = _sm_forecast(Ainv, w, X[i], u)
        out[i] = p / (1.0 + q) if vaw else p
        if learn:
            _sm_update(Ainv, w, u, q, p, y[i])
    return out


@njit
def _groupwise_ridge(X, y, A, Ainv, W, R, C, tcount, meta, lr, mode, vaw, learn, pred, loss, P):
    """Groupwise regression, one online ridge per expert, over the rows of ``X``.

    Row ``i``: each awake expert ``e`` (``A[i, e]``) forecasts; the meta weights ``P[i]``
    come from ``R, C``; ``pred[i]`` is the weighted average forecast. If ``learn``: the
    learner's loss ``loss[i]`` is the expected squared loss ``sum_e P[i, e] l_e``
    (``mode`` expected) or the loss of ``pred[i]`` (``mode`` average); awake experts get the
    regret update and a ridge step. Sleeping experts are untouched. Rows must have at
    least one awake expert (checked by the caller).
    """
    n, d = X.shape
    E = A.shape[1]
    U = np.empty((E, d))
    fc = np.empty(E)
    rp = np.empty(E)
    qq = np.empty(E)
    lo = np.empty(E)
    logw = np.empty(E)
    for i in range(n):
        x = X[i]
        for e in range(E):
            if A[i, e]:
                p, q = _sm_forecast(Ainv[e], W[e], x, U[e])
                rp[e] = p
                qq[e] = q
                fc[e] = p / (1.0 + q) if vaw else p
        eta = _hedge_eta(lr, tcount[0], E)
        _meta_probs(R, C, A[i], meta, eta, logw, P[i])
        yhat = 0.0
        for e in range(E):
            if A[i, e]:
                yhat += P[i, e] * fc[e]
        pred[i] = yhat
        if not learn:
            continue
        yi = y[i]
        mix = 0.0
        for e in range(E):
            if A[i, e]:
                lo[e] = (fc[e] - yi) * (fc[e] - yi)
                mix += P[i, e] * lo[e]
        if mode == MODE_AVERAGE:
            mix = (yhat - yi) * (yhat - yi)
        loss[i] = mix
        _meta_update(R, C, A[i], lo, mix)
        tcount[0] += 1.0
        for e in range(E):
            if A[i, e]:
                _sm_update(Ainv[e], W[e], U[e], qq[e], rp[e], yi)
    return pred

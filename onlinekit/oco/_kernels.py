"""Numba kernels of the OCO family (private: arrays and scalars in, arrays out).

OMD / optimistic OMD (``_omd_block`` and its fast paths), optimistic FTRL (``_oftrl_block``)
and the two-layer dynamic-regret learner (``_dyn_block``). OGD's kernels are in
``_ogd_kernels``. Slow references: ``tests/reference/oco_reference.py``.
"""

from __future__ import annotations

import math

import numpy as np

from onlinekit._numba import njit
from onlinekit.oco._codes import (
    DOMAIN_BOX,
    DOMAIN_FREE,
    DOMAIN_L1,
    DOMAIN_L2,
    DOMAIN_SIMPLEX,
    HINT_EXTRA,
    HINT_LAST,
    HINT_NONE,
    LOSS_HINGE,
    LOSS_LINEAR,
    LOSS_LOG,
    LOSS_QUADRATIC,
    LOSS_SQ,
    MIRROR_ENTROPY,
    MIRROR_EUCLIDEAN,
    MIRROR_PNORM,
    SCHED_ADAGRAD,
    SCHED_SQRT,
    SCHED_STRONG,
    SCHED_VARIATION,
)
from onlinekit.oco._ogd_step import ogd_step
from onlinekit.solvers._kernels import _proj_box_inplace, _proj_l1_ball_inplace, _proj_simplex_inplace


@njit
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


# ============================================================================================
# Online mirror descent (OMD / optimistic OMD), shared by the OCO learners and the wrappers.
# Codes from onlinekit.oco._codes.
# ============================================================================================



# layout of the float config array ``cfg`` and of the state array ``st``
CFG_LR, CFG_P, CFG_Q, CFG_R, CFG_LAM, CFG_DELTA = 0, 1, 2, 3, 4, 5
ST_T, ST_ETA, ST_SUMSQ, ST_SUMVAR, ST_BIAS = 0, 1, 2, 3, 4
# layout of the int config array ``icfg``
IC_MIRROR, IC_DOMAIN, IC_SCHED, IC_HINT, IC_LOSS, IC_INTERCEPT = 0, 1, 2, 3, 4, 5


@njit
def _eta(sched, t, sumsq, sumvar, cfg):
    """Step size ``eta_t`` of round ``t`` (1-based) from statistics of rounds ``< t``."""
    lr = cfg[CFG_LR]
    if sched == SCHED_SQRT:
        return lr / math.sqrt(t)
    if sched == SCHED_ADAGRAD:
        return lr / math.sqrt(cfg[CFG_DELTA] + sumsq)
    if sched == SCHED_VARIATION:
        return lr / math.sqrt(cfg[CFG_DELTA] + sumvar)
    if sched == SCHED_STRONG:
        return lr / (cfg[CFG_LAM] * t)
    return lr


@njit
def _dual_norm_sq(mirror, g, cfg):
    d = g.shape[0]
    if mirror == MIRROR_ENTROPY:
        m = 0.0
        for j in range(d):
            a = abs(g[j])
            if a > m:
                m = a
        return m * m
    if mirror == MIRROR_PNORM:
        q = cfg[CFG_Q]
        s = 0.0
        for j in range(d):
            s += abs(g[j]) ** q
        return s ** (2.0 / q)
    s = 0.0
    for j in range(d):
        s += g[j] * g[j]
    return s


@njit
def _pnorm_link(src, r, dst):
    """``dst = grad (||.||_r^2 / 2)(src)``: ``sign(v) |v|^(r-1) / ||v||_r^(r-2)``."""
    d = src.shape[0]
    s = 0.0
    for j in range(d):
        s += abs(src[j]) ** r
    if s == 0.0:
        for j in range(d):
            dst[j] = 0.0
        return
    nrm = s ** (1.0 / r)
    scale = nrm ** (r - 2.0)
    for j in range(d):
        v = src[j]
        a = abs(v) ** (r - 1.0) / scale
        dst[j] = a if v >= 0.0 else -a


@njit
def _mirror_step(mirror, domain, src, g, eta, dst, cfg, lo, hi, buf):
    """``dst = argmin_{x in X} <eta g, x> + B_psi(x, src)`` for the closed-form pairs.

    ``buf`` is scratch of length d. ``dst`` may not alias ``src``.
    """
    d = src.shape[0]
    if mirror == MIRROR_ENTROPY:
        # simplex of mass cfg[CFG_R]: dst ~ src * exp(-eta (g - min g))
        gmin = g[0]
        for j in range(1, d):
            if g[j] < gmin:
                gmin = g[j]
        s = 0.0
        for j in range(d):
            w = src[j] * math.exp(-eta * (g[j] - gmin))
            dst[j] = w
            s += w
        if not (s > 0.0) or not math.isfinite(s):
            # log-space fallback (tiny weights underflowed)
            mx = -math.inf
            for j in range(d):
                lw = math.log(src[j]) - eta * g[j] if src[j] > 0.0 else -math.inf
                buf[j] = lw
                if lw > mx:
                    mx = lw
            s = 0.0
            for j in range(d):
                w = math.exp(buf[j] - mx)
                dst[j] = w
                s += w
        z = cfg[CFG_R] / s
        for j in range(d):
            dst[j] *= z
        return
    if mirror == MIRROR_PNORM:
        _pnorm_link(src, cfg[CFG_P], buf)
        for j in range(d):
            buf[j] -= eta * g[j]
        _pnorm_link(buf, cfg[CFG_Q], dst)
        return
    # Euclidean: project src - eta g
    for j in range(d):
        dst[j] = src[j] - eta * g[j]
    if domain == DOMAIN_L2:
        r = cfg[CFG_R]
        s = 0.0
        for j in range(d):
            s += dst[j] * dst[j]
        if s > r * r:
            scale = r / math.sqrt(s)
            for j in range(d):
                dst[j] *= scale
    elif domain == DOMAIN_SIMPLEX:
        _proj_simplex_inplace(dst, cfg[CFG_R])
    elif domain == DOMAIN_L1:
        _proj_l1_ball_inplace(dst, cfg[CFG_R])
    elif domain == DOMAIN_BOX:
        _proj_box_inplace(dst, lo, hi)


@njit
def _loss_eval(loss, x, a, b, bias, g):
    """Value of loss ``(loss, a, b)`` at ``x`` (+ ``bias``); gradient into ``g``.

    Returns ``(value, prediction, dz)``; ``dz`` is the derivative in the linear score (used
    for the intercept). For the OCO losses the prediction is the value.
    """
    d = x.shape[0]
    if loss == LOSS_LINEAR:
        v = 0.0
        for j in range(d):
            g[j] = a[j]
            v += a[j] * x[j]
        return v, v, 0.0
    if loss == LOSS_QUADRATIC:
        v = 0.0
        for j in range(d):
            r = x[j] - a[j]
            g[j] = r
            v += r * r
        return 0.5 * v, 0.5 * v, 0.0
    z = bias
    for j in range(d):
        z += x[j] * a[j]
    if loss == LOSS_SQ:
        dz = z - b
        val = 0.5 * dz * dz
        pred = z
    elif loss == LOSS_LOG:
        p = _sigmoid(z)
        pred = p
        dz = p - b
        # log-loss, computed stably from the score
        if z >= 0.0:
            sp = z + math.log1p(math.exp(-z))
        else:
            sp = math.log1p(math.exp(z))
        val = sp - b * z
    else:  # hinge, labels in {-1, +1}
        pred = z
        m = b * z
        if m < 1.0:
            val = 1.0 - m
            dz = -b
        else:
            val = 0.0
            dz = 0.0
    for j in range(d):
        g[j] = dz * a[j]
    return val, pred, dz


@njit
def _euclid_ball_step(g, dz, V, st, cfg, sched, hint, intercept, ball):
    """The learning part of one round of ``_omd_block`` for the Euclidean map on the L2 ball
    (``ball``) or the whole space, hint none or last gradient, given the gradient ``g``.

    The step is OGD's (:func:`onlinekit.oco._ogd_step.ogd_step` with ``dz = 1``, no ``l2``):
    the same values as the general path, in fewer passes and without allocations.
    """
    d = g.shape[0]
    xhat = V[0]
    x = V[1]
    m = V[2]
    gprev = V[3]
    radius = cfg[CFG_R] if ball else 0.0
    eta = st[ST_ETA]
    ogd_step(g, 1.0, eta, 0.0, radius, xhat, True)  # OGD's step on the gradient g
    sq = 0.0
    sv = 0.0
    for j in range(d):
        gj = g[j]
        sq += gj * gj
        e = gj - gprev[j]
        sv += e * e
        gprev[j] = gj
    if intercept:
        st[ST_BIAS] -= eta * dz
    t = st[ST_T] + 1.0
    st[ST_T] = t
    st[ST_SUMSQ] += sq
    st[ST_SUMVAR] += sv
    eta_next = _eta(sched, t + 1.0, st[ST_SUMSQ], st[ST_SUMVAR], cfg)
    st[ST_ETA] = eta_next
    if hint == HINT_NONE:
        for j in range(d):
            x[j] = xhat[j]
        return
    for j in range(d):
        m[j] = g[j]
        x[j] = xhat[j]
    ogd_step(g, 1.0, eta_next, 0.0, radius, x, True)


@njit
def _euclid_ball_rounds(A, b, V, st, cfg, sched, hint, loss, intercept, ball, vals, preds, g):
    """Rounds of ``_omd_block`` on the fast path of :func:`_euclid_ball_step`."""
    n = A.shape[0]
    x = V[1]
    for i in range(n):
        val, pred, dz = _loss_eval(loss, x, A[i], b[i], st[ST_BIAS], g)
        vals[i] = val
        preds[i] = pred
        _euclid_ball_step(g, dz, V, st, cfg, sched, hint, intercept, ball)


@njit
def _first_bad_row(A, b):
    """Index of the first row of ``A`` / entry of ``b`` that is not finite, else -1."""
    n, d = A.shape
    for i in range(n):
        if not math.isfinite(b[i]):
            return i
        for j in range(d):
            if not math.isfinite(A[i, j]):
                return i
    return -1


@njit
def _omd_block(A, b, H, V, bounds, st, cfg, icfg, learn, vals, preds):
    """Progressive (optimistic) OMD over the rows of ``A`` (one round per row).

    ``V`` (4, d) holds the iterates: the mirror point ``xhat``, the play point ``x``, the
    hint ``m`` and the last gradient; ``bounds`` (2, d) the box bounds; ``st`` the
    statistics ``[t, eta, sum ||g||_*^2, sum ||g - g_prev||_*^2, intercept]``.

    Returns the index of the first non-finite row of ``A``/``b`` (nothing is changed then),
    or -1. Round t: play ``x``, evaluate loss row i at it (value -> ``vals[i]``,
    prediction -> ``preds[i]``), then (if ``learn``) the mirror step
    ``xhat <- step(xhat, g_t, eta_t)``, the statistics, ``eta_{t+1}``, the hint ``m`` and the
    next play point ``x <- step(xhat, m, eta_{t+1})`` (``x = xhat`` without hints).
    """
    bad = _first_bad_row(A, b)
    if bad >= 0:
        return bad
    n, d = A.shape
    xhat = V[0]
    x = V[1]
    m = V[2]
    gprev = V[3]
    lo = bounds[0]
    hi = bounds[1]
    mirror = icfg[IC_MIRROR]
    domain = icfg[IC_DOMAIN]
    sched = icfg[IC_SCHED]
    hint = icfg[IC_HINT]
    loss = icfg[IC_LOSS]
    intercept = icfg[IC_INTERCEPT] != 0
    g = np.empty(d)
    buf = np.empty(d)
    tmp = np.empty(d)
    if (mirror == MIRROR_EUCLIDEAN and (domain == DOMAIN_L2 or domain == DOMAIN_FREE)
            and hint <= HINT_LAST and learn):
        _euclid_ball_rounds(A, b, V, st, cfg, sched, hint, loss, intercept, domain == DOMAIN_L2, vals, preds, g)
        return -1
    for i in range(n):
        val, pred, dz = _loss_eval(loss, x, A[i], b[i], st[ST_BIAS], g)
        vals[i] = val
        preds[i] = pred
        if not learn:
            continue
        eta = st[ST_ETA]
        _mirror_step(mirror, domain, xhat, g, eta, tmp, cfg, lo, hi, buf)
        for j in range(d):
            xhat[j] = tmp[j]
        if intercept:
            st[ST_BIAS] -= eta * dz
        t = st[ST_T] + 1.0
        st[ST_T] = t
        st[ST_SUMSQ] += _dual_norm_sq(mirror, g, cfg)
        for j in range(d):
            buf[j] = g[j] - gprev[j]
            gprev[j] = g[j]
        st[ST_SUMVAR] += _dual_norm_sq(mirror, buf, cfg)
        eta_next = _eta(sched, t + 1.0, st[ST_SUMSQ], st[ST_SUMVAR], cfg)
        st[ST_ETA] = eta_next
        if hint == HINT_NONE:
            for j in range(d):
                x[j] = xhat[j]
            continue
        if hint == HINT_LAST:
            for j in range(d):
                m[j] = g[j]
        elif hint == HINT_EXTRA:
            _loss_eval(loss, xhat, A[i], b[i], st[ST_BIAS], m)
        else:
            for j in range(d):
                m[j] = H[i, j]
        _mirror_step(mirror, domain, xhat, m, eta_next, x, cfg, lo, hi, buf)
    return -1


@njit
def _proj_ball_scaled(src, scale, r, dst):
    """``dst = Proj_{||x|| <= r}(scale * src)``."""
    d = src.shape[0]
    s = 0.0
    for j in range(d):
        v = scale * src[j]
        dst[j] = v
        s += v * v
    if s > r * r:
        f = r / math.sqrt(s)
        for j in range(d):
            dst[j] *= f


@njit
def _oftrl_block(A, b, V, st, cfg, loss, vals):
    """Optimistic FTRL on the Euclidean ball (Sachs et al. 2022), one round per row of ``A``.

    ``V`` rows: cumulative gradient ``S``, play point ``x``, hint ``M``; scratch row 3.
    ``st = [t, eta_t, sum_s eta_s ||g_s - M_s||^2]``; ``cfg = [radius, D^2, nu]``.
    ``x_t = Proj(-eta_t (S_{t-1} + M_t))``, ``eta_t = D^2 / (nu + sum_{s<t} eta_s ||g_s - M_s||^2)``.
    """
    bad = _first_bad_row(A, b)
    if bad >= 0:
        return bad
    n, d = A.shape
    S = V[0]
    x = V[1]
    M = V[2]
    g = np.empty(d)
    for i in range(n):
        vals[i] = _loss_eval(loss, x, A[i], b[i], 0.0, g)[0]
        eta = st[1]
        q = 0.0
        for j in range(d):
            e = g[j] - M[j]
            q += e * e
            S[j] += g[j]
            M[j] = g[j]
        st[2] += eta * q
        st[0] += 1.0
        eta = cfg[1] / (cfg[2] + st[2])
        st[1] = eta
        for j in range(d):
            V[3, j] = S[j] + M[j]
        _proj_ball_scaled(V[3], -eta, cfg[0], x)
    return -1


@njit
def _dyn_prepare(XH, XC, XP, Lc, p, x, gprev, etas, st, cfg):
    """Next round of the two-layer dynamic-regret learner: base plays, meta weights, play.

    Bases: ``XC[i] = Proj(XH[i] - eta_i g_{t-1})`` (the previous current plays move to
    ``XP``). Meta: ``p_i ~ exp(-eps_t (Lc_i + <g_{t-1}, XC[i]> + lam ||XC[i] - XP[i]||^2))``.
    ``st = [t, sum ||g_s - g_{s-1}||^2]``, ``cfg = [radius, D^2, L, lam, ln N]``.
    """
    N, d = XH.shape
    r = cfg[0]
    lam = cfg[3]
    for i in range(N):
        s = 0.0
        for j in range(d):
            XP[i, j] = XC[i, j]
            v = XH[i, j] - etas[i] * gprev[j]
            XC[i, j] = v
            s += v * v
        if s > r * r:
            f = r / math.sqrt(s)
            for j in range(d):
                XC[i, j] *= f
    eps = 1.0 / (8.0 * cfg[1] * cfg[2])
    if st[1] > 0.0 and cfg[4] > 0.0:
        e2 = math.sqrt(cfg[4] / (cfg[1] * st[1]))
        if e2 < eps:
            eps = e2
    mn = math.inf
    for i in range(N):
        h = 0.0
        sw = 0.0
        for j in range(d):
            h += gprev[j] * XC[i, j]
            dd = XC[i, j] - XP[i, j]
            sw += dd * dd
        z = Lc[i] + h + lam * sw
        p[i] = z
        if z < mn:
            mn = z
    tot = 0.0
    for i in range(N):
        w = math.exp(-eps * (p[i] - mn))
        p[i] = w
        tot += w
    for j in range(d):
        x[j] = 0.0
    for i in range(N):
        p[i] /= tot
        for j in range(d):
            x[j] += p[i] * XC[i, j]


@njit
def _dyn_block(A, b, loss, XH, XC, XP, Lc, p, x, gprev, etas, st, cfg, vals):
    """Rounds of the two-layer dynamic-regret learner (one gradient query per round)."""
    bad = _first_bad_row(A, b)
    if bad >= 0:
        return bad
    n, d = A.shape
    N = XH.shape[0]
    r = cfg[0]
    lam = cfg[3]
    g = np.empty(d)
    for i in range(n):
        vals[i] = _loss_eval(loss, x, A[i], b[i], 0.0, g)[0]
        for k in range(N):
            lin = 0.0
            sw = 0.0
            s = 0.0
            for j in range(d):
                lin += g[j] * XC[k, j]
                dd = XC[k, j] - XP[k, j]
                sw += dd * dd
                v = XH[k, j] - etas[k] * g[j]
                XH[k, j] = v
                s += v * v
            Lc[k] += lin + lam * sw
            if s > r * r:
                f = r / math.sqrt(s)
                for j in range(d):
                    XH[k, j] *= f
        sv = 0.0
        for j in range(d):
            e = g[j] - gprev[j]
            sv += e * e
            gprev[j] = g[j]
        st[1] += sv
        st[0] += 1.0
        _dyn_prepare(XH, XC, XP, Lc, p, x, gprev, etas, st, cfg)
    return -1


@njit
def _omd_grad_round(g, V, bounds, st, cfg, icfg):
    """One round of ``_omd_block`` with a raw gradient ``g`` (linear loss), fewer arguments.

    For the per-round Python API (``update(grad)``). Returns -1, or 0 if ``g`` is not finite
    (nothing changed).
    """
    d = g.shape[0]
    for j in range(d):
        if not math.isfinite(g[j]):
            return 0
    mirror = icfg[IC_MIRROR]
    domain = icfg[IC_DOMAIN]
    hint = icfg[IC_HINT]
    if mirror == MIRROR_EUCLIDEAN and (domain == DOMAIN_L2 or domain == DOMAIN_FREE) and hint <= HINT_LAST:
        _euclid_ball_step(g, 0.0, V, st, cfg, icfg[IC_SCHED], hint, icfg[IC_INTERCEPT] != 0, domain == DOMAIN_L2)
        return -1
    A = g.reshape((1, d))
    b = np.zeros(1)
    vals = np.empty(1)
    preds = np.empty(1)
    return _omd_block(A, b, A, V, bounds, st, cfg, icfg, np.bool_(True), vals, preds)  # not a literal: one compile

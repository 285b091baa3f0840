"""Numba kernels of the OCO family (private: arrays and scalars in, arrays out)."""

from __future__ import annotations

import math

import numpy as np

from onlinekit._numba import njit
from onlinekit.solvers._kernels import _proj_box_inplace, _proj_l1_ball_inplace, _proj_simplex_inplace

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


# ============================================================================================
# Online mirror descent (OMD / optimistic OMD), shared by the OCO learners and the wrappers.
# Codes mirror onlinekit.oco.geometry and onlinekit.oco.omd.
# ============================================================================================

MIRROR_EUCLIDEAN = 0
MIRROR_ENTROPY = 1
MIRROR_PNORM = 2

DOMAIN_FREE = 0
DOMAIN_SIMPLEX = 1
DOMAIN_L1 = 2
DOMAIN_L2 = 3
DOMAIN_BOX = 4

SCHED_CONSTANT = 0
SCHED_SQRT = 1
SCHED_ADAGRAD = 2
SCHED_VARIATION = 3
SCHED_STRONG = 4

HINT_NONE = 0
HINT_LAST = 1
HINT_EXTRA = 2
HINT_GIVEN = 3

LOSS_LINEAR = 0
LOSS_QUADRATIC = 1
LOSS_SQ = 2
LOSS_LOG = 3
LOSS_HINGE = 4

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
def _omd_block(A, b, H, xhat, x, m, gprev, lo, hi, st, cfg, icfg, learn, vals, preds):
    """Progressive (optimistic) OMD over the rows of ``A`` (one round per row).

    Round t: play ``x`` (the hinted point), evaluate loss row i at it (value -> ``vals[i]``,
    prediction -> ``preds[i]``), then (if ``learn``) the mirror step
    ``xhat <- step(xhat, g_t, eta_t)``, the statistics, ``eta_{t+1}``, the hint ``m`` and the
    next play point ``x <- step(xhat, m, eta_{t+1})`` (``x = xhat`` without hints).
    Everything (``xhat, x, m, gprev, st``) is updated in place.
    """
    n, d = A.shape
    mirror = icfg[IC_MIRROR]
    domain = icfg[IC_DOMAIN]
    sched = icfg[IC_SCHED]
    hint = icfg[IC_HINT]
    loss = icfg[IC_LOSS]
    intercept = icfg[IC_INTERCEPT] != 0
    g = np.empty(d)
    buf = np.empty(d)
    tmp = np.empty(d)
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
    return vals

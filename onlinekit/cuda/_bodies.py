"""One run of each batched algorithm, as plain Python compiled twice (private).

Each function here is the body of ONE independent run (one step size, one seed, one stream,
one state). :mod:`onlinekit.cuda._kernels_cpu` compiles them with ``numba.njit`` and loops
over runs; :mod:`onlinekit.cuda._kernels_cuda` compiles the very same source with
``numba.cuda.jit(device=True)`` and gives each run one GPU thread. So the two devices run the
same arithmetic in the same order; they can still differ in the last bits where the GPU
contracts ``a * b + c`` into a fused multiply-add or uses its own ``exp``/``log``.

Rules that keep a body compilable by both: arrays and scalars only, no allocation (scratch
arrays are passed in), no calls to other Python functions except ``register_jitable`` ones
(compiled for either target: OGD's step, :func:`onlinekit.oco._ogd_step.ogd_step`), only
``math`` functions, and scalar (or tuple of scalars) return values.
"""

from __future__ import annotations

import math

from onlinekit.oco._ogd_step import ogd_step


def ogd_run(X, y, lr, schedule, loss, radius, l2, intercept, w, bt):
    """Progressive projected OGD on a linear model over the rows of ``X`` (one run).

    Same arithmetic as :class:`onlinekit.oco.OGD`'s kernel (and :class:`OMD`'s Euclidean
    path): the score is summed left to right from the intercept; the update is
    ``w <- Proj(w - eta ((p - y) x + l2 w))``, ``b <- b - eta (p - y)``.
    ``schedule`` 1 = ``lr / sqrt(t)``; ``loss`` 1 = logistic; ``radius <= 0`` = no
    projection. ``w`` (d,) and ``bt = [b, t]`` are updated in place. Returns the cumulative
    loss paid at the predictions: ``0.5 (p - y)^2`` (squared) or the log-loss with ``p``
    clipped to ``[1e-15, 1 - 1e-15]`` (logistic).
    """
    n = X.shape[0]
    d = X.shape[1]
    total = 0.0
    for i in range(n):
        z = bt[0]
        for j in range(d):
            z += w[j] * X[i, j]
        yi = y[i]
        if loss == 1:
            if z >= 0.0:
                p = 1.0 / (1.0 + math.exp(-z))
            else:
                e = math.exp(z)
                p = e / (1.0 + e)
            pc = min(max(p, 1e-15), 1.0 - 1e-15)
            total += -(yi * math.log(pc) + (1.0 - yi) * math.log(1.0 - pc))
        else:
            p = z
            total += 0.5 * (p - yi) * (p - yi)
        t = bt[1] + 1.0
        eta = lr / math.sqrt(t) if schedule == 1 else lr
        dz = p - yi
        ogd_step(X[i], dz, eta, l2, radius, w, True)
        if intercept:
            bt[0] -= eta * dz
        bt[1] = t
    return total


def entropic_run(G, lr, schedule, z, x, tmp, buf, U, use_u):
    """Entropic mirror descent (Hedge / exponentiated gradient) on the simplex of mass ``z``.

    Same arithmetic as :class:`onlinekit.oco.OMD` with ``NegativeEntropy`` on ``Simplex(z)``
    and raw linear losses: round t plays ``x``, pays ``<g_t, x>``, then
    ``x <- z x exp(-eta_t (g_t - min g_t)) / sum(...)`` (log-space fallback when the sum
    underflows); ``eta_t = lr`` or ``lr / sqrt(t)`` (``schedule`` 1). ``x`` (d,) is updated in
    place; ``tmp``, ``buf`` are scratch of length d. With ``use_u``, round t also samples an
    expert ``a_t = min{j : sum_{k<=j} x_k > U[t] z}`` and pays ``g_t[a_t]``.
    Returns ``(expected cumulative loss, sampled cumulative loss)``.
    """
    T = G.shape[0]
    d = G.shape[1]
    expected = 0.0
    realized = 0.0
    for t in range(T):
        v = 0.0
        for j in range(d):
            v += G[t, j] * x[j]
        expected += v
        if use_u:
            target = U[t] * z
            c = 0.0
            a = d - 1
            for j in range(d):
                c += x[j]
                if target < c:
                    a = j
                    break
            realized += G[t, a]
        eta = lr / math.sqrt(t + 1.0) if schedule == 1 else lr
        gmin = G[t, 0]
        for j in range(1, d):
            if G[t, j] < gmin:
                gmin = G[t, j]
        s = 0.0
        for j in range(d):
            wj = x[j] * math.exp(-eta * (G[t, j] - gmin))
            tmp[j] = wj
            s += wj
        if not (s > 0.0) or not math.isfinite(s):
            mx = -math.inf
            for j in range(d):
                lw = math.log(x[j]) - eta * G[t, j] if x[j] > 0.0 else -math.inf
                buf[j] = lw
                if lw > mx:
                    mx = lw
            s = 0.0
            for j in range(d):
                wj = math.exp(buf[j] - mx)
                tmp[j] = wj
                s += wj
        scale = z / s
        for j in range(d):
            x[j] = tmp[j] * scale
    return expected, realized


def tree_run(X, noise, scale, w, honaker, last_exact, last_est, out, write_out):
    """Binary-tree continual counter over one scalar stream ``X`` (T,).

    Same arithmetic as :class:`onlinekit.privacy.TreeCounter`'s float path: step t completes
    the nodes at heights ``0..tz(t)`` (``tz`` = trailing zeros), each gets
    ``scale * noise[p]`` in completion order (Honaker: blended with its children's estimates
    with weight ``w[h]``), and the release is the sum of the estimates of the nodes tiling
    ``[1, t]``. ``last_exact``/``last_est`` (L,) are zeroed scratch. Writes the releases
    into ``out`` when ``write_out``. Returns ``(max_t |y_t - S_t|, sum_t (y_t - S_t)^2)``
    against the exact prefix sums ``S_t``.
    """
    T = X.shape[0]
    p = 0
    exact = 0.0
    max_err = 0.0
    sq_err = 0.0
    for i in range(T):
        t = i + 1
        H = 0
        tt = t
        while (tt & 1) == 0:
            tt >>= 1
            H += 1
        cur_ex = X[i]
        cur_est = cur_ex + scale * noise[p]
        for h in range(1, H + 1):
            left_ex = last_exact[h - 1]
            left_est = last_est[h - 1]
            last_exact[h - 1] = cur_ex
            last_est[h - 1] = cur_est
            cur_ex = left_ex + cur_ex
            v = cur_ex + scale * noise[p + h]
            if honaker:
                cur_est = w[h] * v + (1.0 - w[h]) * (left_est + cur_est)
            else:
                cur_est = v
        last_exact[H] = cur_ex
        last_est[H] = cur_est
        acc = 0.0
        tt = t
        h = 0
        while tt > 0:
            if tt & 1:
                acc += last_est[h]
            tt >>= 1
            h += 1
        if write_out:
            out[i] = acc
        p += H + 1
        exact += X[i]
        e = acc - exact
        if abs(e) > max_err:
            max_err = abs(e)
        sq_err += e * e
    return max_err, sq_err


def best_perm_run(q, w, w_bot, m, tol, F, order, out):
    """BestPerm (Du, Srikant, Chen 2024, Alg. 1) for one state; list into ``out`` (m,).

    Candidates: items with ``w > w_bot`` in descending ``w`` (ties: smaller index first),
    ``F[i, k] = max(F[i+1, k], q_i w_i + (1 - q_i) F[i+1, k-1])`` with
    ``F[J, k] = F[i, 0] = w_bot``; the backtrack takes a candidate whenever that keeps the
    list optimal up to ``tol`` (scaled by the survival probability so far), which is
    :func:`onlinekit.cascade.best_perm`'s canonical tie rule. With no candidate: the single
    item maximising ``q w + (1 - q) w_bot`` (first in rank order up to ``tol``).
    ``F`` (N+1, m+1) and ``order`` (N,) are scratch. Returns ``(value, length)``.
    """
    n = q.shape[0]
    for k in range(out.shape[0]):
        out[k] = -1
    J = 0
    for a in range(n):
        if w[a] > w_bot:
            # insertion into the descending-w order; equal w keeps increasing index
            k = J
            while k > 0 and w[order[k - 1]] < w[a]:
                order[k] = order[k - 1]
                k -= 1
            order[k] = a
            J += 1
    if J == 0:
        for a in range(n):
            k = a
            while k > 0 and w[order[k - 1]] < w[a]:
                order[k] = order[k - 1]
                k -= 1
            order[k] = a
        best = -1
        best_v = 0.0
        for r in range(n):
            a = order[r]
            v = q[a] * w[a] + (1.0 - q[a]) * w_bot
            if best < 0 or v > best_v + tol:
                best = a
                best_v = v
        out[0] = best
        return best_v, 1
    for k in range(m + 1):
        F[J, k] = w_bot
    for i in range(J - 1, -1, -1):
        a = order[i]
        qa = q[a]
        wa = w[a]
        F[i, 0] = w_bot
        for k in range(1, m + 1):
            skip = F[i + 1, k]
            take = qa * wa + (1.0 - qa) * F[i + 1, k - 1]
            F[i, k] = take if take > skip else skip
    length = 0
    k = m
    survive = 1.0
    for i in range(J):
        if k == 0:
            break
        a = order[i]
        take = q[a] * w[a] + (1.0 - q[a]) * F[i + 1, k - 1]
        if survive * (take - F[i + 1, k]) >= -tol:
            out[length] = a
            length += 1
            k -= 1
            survive *= 1.0 - q[a]
    return F[0, m], length

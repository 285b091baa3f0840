"""Numba kernels of the cascade family (private: arrays and scalars in, arrays out).

Conventions shared by every kernel:

* items are ``0..N-1``; the no-click "virtual item" ``a_bot`` has index ``N`` in arrays that
  carry it (transition counts, weights of length ``N + 1``);
* a list is an ``int64`` array whose first ``length`` entries are distinct items; unused
  slots hold ``-1``;
* the cascade value of a list ``A`` (Du et al. 2024, Eq. 1-2) is
  ``f(A) = sum_i prod_{j<i}(1 - q[A_j]) q[A_i] w[A_i] + prod_j (1 - q[A_j]) w_bot``;
* ties between optimal lists are broken by one canonical rule (see :func:`_best_perm_into`),
  which the exhaustive planner reproduces, so the two planners return the same list.
"""

from __future__ import annotations

import math

import numpy as np

from onlinekit._numba import njit
from onlinekit._sort_kernels import argsort_stable

BONUS_BERNSTEIN = 0
BONUS_HOEFFDING = 1

PLANNER_BESTPERM = 0
PLANNER_EXHAUSTIVE = 1


# --------------------------------------------------------------------------------------------
# BestPerm
# --------------------------------------------------------------------------------------------


@njit
def _rank_order(w):
    """Items sorted by descending ``w``; equal weights keep increasing item index."""
    return argsort_stable(-w)


@njit
def _prune_dominated(q, w, w_bot, m, keep):
    """Mark in ``keep`` the candidates (``w > w_bot``) that may appear in the canonical list.

    A candidate ``i`` is dropped when ``m`` other items have ``q >= q_i`` and a smaller rank
    (larger ``w``, or equal ``w`` and smaller index): swapping ``i`` for one of them that is
    not in the list cannot lower the value (the tail below ``i`` is worth at most ``w_i``)
    and makes the list come earlier in the canonical order, so the canonical optimal list
    never holds ``i``. The dominating sets tried are the top ``m`` candidates for the scores
    ``q``, ``q sqrt(w - w_bot)``, ``q (w - w_bot)``, ``q (w - w_bot)^2`` and ``w``: every
    candidate below (``q <= min q``, ``w < min w``) one of those sets is dropped.
    Returns the number of candidates kept.
    """
    n = q.shape[0]
    n_cand = 0
    for a in range(n):
        keep[a] = w[a] > w_bot
        if keep[a]:
            n_cand += 1
    if n_cand <= 4 * m:
        return n_cand
    C = 5
    top_s = np.empty((C, m))
    top_i = np.empty((C, m), dtype=np.int64)
    lo = np.zeros(C, dtype=np.int64)
    sc = np.empty(C)
    cnt = 0
    for a in range(n):
        if not w[a] > w_bot:
            continue
        d = w[a] - w_bot
        sc[0] = q[a]
        sc[1] = q[a] * math.sqrt(d)
        sc[2] = q[a] * d
        sc[3] = sc[2] * d
        sc[4] = w[a]
        if cnt < m:
            for c in range(C):
                top_s[c, cnt] = sc[c]
                top_i[c, cnt] = a
            cnt += 1
            if cnt == m:
                for c in range(C):
                    b = 0
                    for j in range(1, m):
                        if top_s[c, j] < top_s[c, b]:
                            b = j
                    lo[c] = b
            continue
        for c in range(C):
            if sc[c] > top_s[c, lo[c]]:
                top_s[c, lo[c]] = sc[c]
                top_i[c, lo[c]] = a
                b = 0
                for j in range(1, m):
                    if top_s[c, j] < top_s[c, b]:
                        b = j
                lo[c] = b
    q_d = np.full(C, 2.0)
    w_d = np.full(C, np.inf)
    for c in range(C):
        for j in range(m):
            b = top_i[c, j]
            if q[b] < q_d[c]:
                q_d[c] = q[b]
            if w[b] < w_d[c]:
                w_d[c] = w[b]
    for a in range(n):
        if keep[a]:
            for c in range(C):
                if q[a] <= q_d[c] and w[a] < w_d[c]:
                    keep[a] = False
                    n_cand -= 1
                    break
    return n_cand


@njit
def _candidate_order(q, w, w_bot, m, keep):
    """Kept candidates sorted by descending ``w`` (ties: item index)."""
    J = _prune_dominated(q, w, w_bot, m, keep)
    idx = np.empty(J, dtype=np.int64)
    neg = np.empty(J)
    k = 0
    for a in range(q.shape[0]):
        if keep[a]:
            idx[k] = a
            neg[k] = -w[a]
            k += 1
    o = argsort_stable(neg)
    return idx[o]


@njit
def _best_perm_into(q, w, w_bot, m, tol, F, out):
    """BestPerm (Du et al. 2024, Alg. 1) on one state; writes the list into ``out``.

    Candidates are the items with ``w > w_bot`` in descending-``w`` order (ties: item index),
    less those :func:`_prune_dominated` proves useless (this only shortens the sort).
    ``F[i, k]`` is the best value using candidates ``i..J-1`` and at most ``k`` slots:
    ``F[i, k] = max(F[i+1, k], q_i w_i + (1 - q_i) F[i+1, k-1])``, ``F[J, k] = F[i, 0] = w_bot``.
    The backtrack takes candidate ``i`` whenever that keeps the whole list optimal up to
    ``tol``, so among optimal lists it returns the one whose inclusion vector over the
    candidate order is lexicographically largest. With no candidate it returns the single item
    maximising ``q w + (1 - q) w_bot`` (first in rank order up to ``tol``). ``F`` is a
    workspace of shape at least ``(N + 1, m + 1)``. Returns ``(value, length)``.
    """
    n = q.shape[0]
    keep = np.empty(n, dtype=np.bool_)
    order = _candidate_order(q, w, w_bot, m, keep)
    J = order.shape[0]
    for k in range(out.shape[0]):
        out[k] = -1
    if J == 0:
        order = _rank_order(w)
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
        # compare on the scale of the whole list's value: below an item with q = 1 every
        # completion is optimal, so the canonical rule keeps taking candidates
        if survive * (take - F[i + 1, k]) >= -tol:
            out[length] = a
            length += 1
            k -= 1
            survive *= 1.0 - q[a]
    return F[0, m], length


@njit
def best_perm_one(q, w, w_bot, m, tol, out):
    """:func:`_best_perm_into` with its own workspace."""
    F = np.empty((q.shape[0] + 1, m + 1))
    return _best_perm_into(q, w, w_bot, m, tol, F, out)


@njit
def best_perm_batch(Q, W, w_bot, m, tol, values, lists, lengths):
    """BestPerm for each row ``s`` of ``Q``/``W`` (``w_bot[s]``); fills the three outputs."""
    S, n = Q.shape
    F = np.empty((n + 1, m + 1))
    for s in range(S):
        v, ln = _best_perm_into(Q[s], W[s], w_bot[s], m, tol, F, lists[s])
        values[s] = v
        lengths[s] = ln


@njit
def list_value(q, w, w_bot, items, length):
    """Cascade value ``f(A, q, w)`` of the first ``length`` entries of ``items``."""
    v = w_bot
    for i in range(length - 1, -1, -1):
        a = items[i]
        v = q[a] * w[a] + (1.0 - q[a]) * v
    return v


@njit
def box_value(q_lo, q_hi, w, w_bot, items, length, upper):
    """Min (``upper=False``) or max of ``f(A, q, w)`` over ``q`` in the box ``[q_lo, q_hi]``.

    ``f`` is affine in each ``q_i`` and the tail value does not depend on ``q_i``, so the
    backward recursion picking the better end point at each position is exact.
    """
    v = w_bot
    for i in range(length - 1, -1, -1):
        a = items[i]
        lo = q_lo[a] * w[a] + (1.0 - q_lo[a]) * v
        hi = q_hi[a] * w[a] + (1.0 - q_hi[a]) * v
        if upper:
            v = hi if hi > lo else lo
        else:
            v = lo if lo < hi else hi
    return v


# --------------------------------------------------------------------------------------------
# Exhaustive planner (the "-Oracle" ablation and the test oracle)
# --------------------------------------------------------------------------------------------


@njit
def _next_list(cur, length, n):
    """Advance ``cur[:length]`` to the next list of distinct items in odometer order.

    Returns False after the last one. Positions are incremented from the right; a value is
    skipped when it already appears to its left.
    """
    pos = length - 1
    while pos >= 0:
        v = cur[pos] + 1
        while v < n:
            dup = False
            for j in range(pos):
                if cur[j] == v:
                    dup = True
                    break
            if not dup:
                break
            v += 1
        if v < n:
            cur[pos] = v
            # refill the positions to the right with the smallest unused items
            for p in range(pos + 1, length):
                u = 0
                while True:
                    dup = False
                    for j in range(p):
                        if cur[j] == u:
                            dup = True
                            break
                    if not dup:
                        break
                    u += 1
                cur[p] = u
            return True
        pos -= 1
    return False


@njit
def _first_list(cur, length):
    for i in range(length):
        cur[i] = i


@njit
def exhaustive_one(q, w, w_bot, m, tol, out):
    """Enumerate every ordered list of 1..m distinct items; return the best ``(value, length)``.

    Ties (values within ``tol`` of the maximum) are broken as :func:`_best_perm_into` does:
    among optimal lists ordered by descending ``w`` whose items all have ``w > w_bot``,
    compare the rank sequences lexicographically (smaller first rank wins; a list that extends
    another wins). When no item has ``w > w_bot`` the best single item of smallest rank wins.
    """
    n = q.shape[0]
    mm = m if m < n else n
    cur = np.empty(mm, dtype=np.int64)
    best_v = -np.inf
    for length in range(1, mm + 1):
        _first_list(cur, length)
        while True:
            v = list_value(q, w, w_bot, cur, length)
            if v > best_v:
                best_v = v
            if not _next_list(cur, length, n):
                break
    order = _rank_order(w)
    rank = np.empty(n, dtype=np.int64)
    for r in range(n):
        rank[order[r]] = r
    n_cand = 0
    for a in range(n):
        if w[a] > w_bot:
            n_cand += 1
    for k in range(out.shape[0]):
        out[k] = -1
    best_len = 0
    if n_cand == 0:
        best_rank = n
        for a in range(n):
            v = q[a] * w[a] + (1.0 - q[a]) * w_bot
            if v >= best_v - tol and rank[a] < best_rank:
                best_rank = rank[a]
                out[0] = a
        return best_v, 1
    for length in range(1, mm + 1):
        _first_list(cur, length)
        while True:
            ok = True
            for i in range(length):
                if not w[cur[i]] > w_bot:
                    ok = False
                    break
                if i > 0 and rank[cur[i]] < rank[cur[i - 1]]:
                    ok = False
                    break
            if ok and list_value(q, w, w_bot, cur, length) >= best_v - tol:
                better = best_len == 0
                if not better:
                    decided = False
                    for i in range(min(length, best_len)):
                        if rank[cur[i]] != rank[out[i]]:
                            better = rank[cur[i]] < rank[out[i]]
                            decided = True
                            break
                    if not decided:
                        better = length > best_len
                if better:
                    for i in range(length):
                        out[i] = cur[i]
                    best_len = length
            if not _next_list(cur, length, n):
                break
    return best_v, best_len


# --------------------------------------------------------------------------------------------
# Policy evaluation on a known model
# --------------------------------------------------------------------------------------------


@njit
def policy_value(q, r, P, lists, lengths):
    """Exact value ``V[h, s]`` (shape ``(H + 1, S)``) of a list policy on a known model.

    ``q``/``r``: ``(S, N)``; ``P``: ``(S, N + 1, S)`` (row ``N`` = no click); ``lists``:
    ``(H, S, m)``; ``lengths``: ``(H, S)``.
    """
    H, S = lengths.shape
    N = q.shape[1]
    V = np.zeros((H + 1, S))
    w = np.empty(N)
    for h in range(H - 1, -1, -1):
        for s in range(S):
            for a in range(N):
                acc = 0.0
                for t in range(S):
                    acc += P[s, a, t] * V[h + 1, t]
                w[a] = r[s, a] + acc
            wb = 0.0
            for t in range(S):
                wb += P[s, N, t] * V[h + 1, t]
            V[h, s] = list_value(q[s], w, wb, lists[h, s], lengths[h, s])
    return V


# --------------------------------------------------------------------------------------------
# CascadingVI planning
# --------------------------------------------------------------------------------------------


@njit
def cvi_plan(rewards, n_q, n_click, n_p, P_cnt, L, scale, bonus, planner, tol,
             V_up, V_lo, lists, lengths):
    """One optimistic/pessimistic backward pass of CascadingVI (fills the last four arrays).

    ``rewards``, ``n_q``, ``n_click``: ``(S, N)``; ``n_p``: ``(S, N + 1)``;
    ``P_cnt``: ``(S, N + 1, S)``; ``V_up``/``V_lo``: ``(H + 1, S)`` (row ``H`` is zero);
    ``lists``: ``(H, S, m)``; ``lengths``: ``(H, S)``.

    Per ``(h, s)``, with ``n`` the pair's count and ``F = H - h - 1`` the largest future value:

    * ``b_q = min(1, scale (2 sqrt(v L / n) + 5 L / n))`` with ``v = q_hat (1 - q_hat)``
      (``bonus`` 0, Bernstein) or ``v = 1/4`` (``bonus`` 1, the variance-unaware ablation);
    * ``b_pV = scale (2 sqrt(Var_p_hat(V_up) L / n) + 2 sqrt(E_p_hat[(V_up - V_lo)^2] L / n)
      + 5 F L / n)`` (both ``bonus`` values);
    * ``q_up = min(q_hat + b_q, 1)``, ``q_lo = max(q_hat - b_q, 0)``;
      ``w_up(a) = r(s, a) + min(p_hat^T V_up + b_pV, F)``,
      ``w_lo(a) = r(s, a) + max(p_hat^T V_lo - b_pV, 0)``, the virtual item with ``r = 0``;
      unvisited pairs get ``q_up = 1, q_lo = 0`` and the trivial future bounds ``F`` and 0.

    The planner (BestPerm or exhaustive search) picks the list on ``(q_up, w_up)``;
    ``V_up = min(value, H - h)`` and ``V_lo`` is the minimum of the chosen list's value over
    the box ``[q_lo, q_up]`` with the pessimistic weights, floored at 0.
    """
    H, S, m = lists.shape
    N = rewards.shape[1]
    q_up = np.empty(N)
    q_lo = np.empty(N)
    w_up = np.empty(N + 1)
    w_lo = np.empty(N + 1)
    F = np.empty((N + 1, m + 1))
    for h in range(H - 1, -1, -1):
        fut = float(H - h - 1)
        for s in range(S):
            for a in range(N):
                n = n_q[s, a]
                if n <= 0.0:
                    q_up[a] = 1.0
                    q_lo[a] = 0.0
                else:
                    qh = n_click[s, a] / n
                    # Bernstein: 2 sqrt(q_hat (1 - q_hat) L / n) + 5 L / n; the variance-unaware
                    # ablation replaces q_hat (1 - q_hat) by its maximum 1/4
                    var_q = qh * (1.0 - qh) if bonus == BONUS_BERNSTEIN else 0.25
                    b = scale * (2.0 * math.sqrt(var_q * L / n) + 5.0 * L / n)
                    if b > 1.0:
                        b = 1.0
                    q_up[a] = qh + b if qh + b < 1.0 else 1.0
                    q_lo[a] = qh - b if qh - b > 0.0 else 0.0
            for a in range(N + 1):
                ra = rewards[s, a] if a < N else 0.0
                n = n_p[s, a]
                if n <= 0.0 or fut == 0.0:
                    up = fut
                    lo = 0.0
                else:
                    mu = 0.0
                    ml = 0.0
                    for t in range(S):
                        p = P_cnt[s, a, t] / n
                        mu += p * V_up[h + 1, t]
                        ml += p * V_lo[h + 1, t]
                    var = 0.0
                    gap2 = 0.0
                    for t in range(S):
                        p = P_cnt[s, a, t] / n
                        d = V_up[h + 1, t] - mu
                        var += p * d * d
                        g = V_up[h + 1, t] - V_lo[h + 1, t]
                        gap2 += p * g * g
                    b = scale * (2.0 * math.sqrt(var * L / n) + 2.0 * math.sqrt(gap2 * L / n)
                                 + 5.0 * fut * L / n)
                    up = mu + b
                    if up > fut:
                        up = fut
                    lo = ml - b
                    if lo < 0.0:
                        lo = 0.0
                w_up[a] = ra + up
                w_lo[a] = ra + lo
            out = lists[h, s]
            if planner == PLANNER_EXHAUSTIVE:
                v, ln = exhaustive_one(q_up, w_up[:N], w_up[N], m, tol, out)
            else:
                v, ln = _best_perm_into(q_up, w_up[:N], w_up[N], m, tol, F, out)
            lengths[h, s] = ln
            cap = float(H - h)
            V_up[h, s] = v if v < cap else cap
            vl = box_value(q_lo, q_up, w_lo[:N], w_lo[N], out, ln, False)
            V_lo[h, s] = vl if vl > 0.0 else 0.0


# --------------------------------------------------------------------------------------------
# AdaptVI planning (lists as atomic actions)
# --------------------------------------------------------------------------------------------


@njit
def adapt_plan(n_sa, r_sum, r_sq, n_tr, P_cnt, L, scale, bonus, tol, V_up, best):
    """Optimistic backward pass over atomic list actions; ``best[h, s]`` = chosen action index.

    ``n_sa``, ``r_sum``, ``r_sq`` (reward statistics) and ``n_tr`` (observed transitions):
    ``(S, A)``; ``P_cnt``: ``(S, A, S)``; ``V_up``: ``(H + 1, S)``. The optimistic value of
    action ``a`` is ``min(r_up + future_up, H - h)`` with ``r_up = min(r_hat + b_r, 1)`` and
    ``future_up = min(p_hat^T V_up + b_p, F)``, ``F = H - h - 1``, where
    ``b_r = scale (2 sqrt(v_r L / n) + 5 L / n)`` and
    ``b_p = scale (2 sqrt(v_p L / n_tr) + 5 F L / n_tr)``; ``bonus`` 0 (Bernstein) uses the
    empirical variances ``v_r = Var_hat(r)``, ``v_p = Var_p_hat(V_up)``, ``bonus`` 1 their
    maxima ``1/4`` and ``F^2 / 4``. Unvisited actions get ``H - h`` (no observed transition:
    ``future_up = F``); ties (within ``tol``) go to the smallest action index.
    """
    H = best.shape[0]
    S, A = n_sa.shape
    for h in range(H - 1, -1, -1):
        fut = float(H - h - 1)
        cap = float(H - h)
        for s in range(S):
            bv = -1.0
            ba = 0
            for a in range(A):
                n = n_sa[s, a]
                if n <= 0.0:
                    qv = cap
                else:
                    rm = r_sum[s, a] / n
                    if bonus == BONUS_BERNSTEIN:
                        rv = r_sq[s, a] / n - rm * rm
                        if rv < 0.0:
                            rv = 0.0
                    else:
                        rv = 0.25
                    b = scale * (2.0 * math.sqrt(rv * L / n) + 5.0 * L / n)
                    r_up = rm + b if rm + b < 1.0 else 1.0
                    nt = n_tr[s, a]
                    if fut == 0.0:
                        f_up = 0.0
                    elif nt <= 0.0:
                        f_up = fut
                    else:
                        mu = 0.0
                        for t in range(S):
                            mu += P_cnt[s, a, t] / nt * V_up[h + 1, t]
                        if bonus == BONUS_BERNSTEIN:
                            var = 0.0
                            for t in range(S):
                                d = V_up[h + 1, t] - mu
                                var += P_cnt[s, a, t] / nt * d * d
                        else:
                            var = 0.25 * fut * fut
                        b = scale * (2.0 * math.sqrt(var * L / nt) + 5.0 * fut * L / nt)
                        f_up = mu + b if mu + b < fut else fut
                    qv = r_up + f_up
                    if qv > cap:
                        qv = cap
                if qv > bv + tol:
                    bv = qv
                    ba = a
            best[h, s] = ba
            V_up[h, s] = bv


# --------------------------------------------------------------------------------------------
# Cascading bandits
# --------------------------------------------------------------------------------------------


@njit
def _bern_kl(p, q):
    eps = 1e-15
    if p < eps:
        p = eps
    elif p > 1.0 - eps:
        p = 1.0 - eps
    if q < eps:
        q = eps
    elif q > 1.0 - eps:
        q = 1.0 - eps
    return p * math.log(p / q) + (1.0 - p) * math.log((1.0 - p) / (1.0 - q))


@njit
def klucb_index(n_obs, n_click, rhs, out):
    """KL-UCB index ``max{q : n kl(q_hat, q) <= rhs}`` per item (60 bisection steps).

    Unobserved items get ``inf``.
    """
    for a in range(n_obs.shape[0]):
        n = n_obs[a]
        if n <= 0.0:
            out[a] = np.inf
            continue
        qh = n_click[a] / n
        lo = qh
        hi = 1.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            if n * _bern_kl(qh, mid) <= rhs:
                lo = mid
            else:
                hi = mid
        out[a] = lo

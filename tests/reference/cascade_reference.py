"""Slow, obviously-correct references for the kernels of ``onlinekit.cascade._kernels``.

Pure Python (itertools, plain loops); used only by tests.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def list_value(items, q, w, w_bot):
    """Cascade value written as the sum over click positions (Du et al. 2024, Eq. 1)."""
    total = 0.0
    survive = 1.0
    for a in items:
        total += survive * q[a] * w[a]
        survive *= 1.0 - q[a]
    return total + survive * w_bot


def all_lists(n, m):
    for length in range(1, min(m, n) + 1):
        yield from itertools.permutations(range(n), length)


def brute_force_value(q, w, w_bot, m):
    """max over all ordered lists of 1..m distinct items."""
    return max(list_value(A, q, w, w_bot) for A in all_lists(len(q), m))


def rank_of(w):
    order = sorted(range(len(w)), key=lambda a: (-w[a], a))
    rank = [0] * len(w)
    for r, a in enumerate(order):
        rank[a] = r
    return rank


def canonical_best(q, w, w_bot, m, tol=1e-9):
    """Brute-force optimum with the documented tie rule (see ``_kernels.exhaustive_one``)."""
    best = brute_force_value(q, w, w_bot, m)
    rank = rank_of(w)
    cands = [a for a in range(len(q)) if w[a] > w_bot]
    if not cands:
        singles = [a for a in range(len(q)) if q[a] * w[a] + (1 - q[a]) * w_bot >= best - tol]
        return best, [min(singles, key=lambda a: rank[a])]
    tied = []
    for A in all_lists(len(q), m):
        if all(w[a] > w_bot for a in A) and all(rank[A[i]] < rank[A[i + 1]] for i in range(len(A) - 1)):
            if list_value(A, q, w, w_bot) >= best - tol:
                tied.append(A)
    # smaller first differing rank wins; a list that extends another wins
    key = lambda A: tuple(rank[a] for a in A) + (len(q) + 1,)  # noqa: E731
    return best, list(min(tied, key=key))


def best_perm_dp(q, w, w_bot, m):
    """Algorithm 1 of Du et al. (2024) written with dicts and recursion (value only)."""
    cands = sorted([a for a in range(len(q)) if w[a] > w_bot], key=lambda a: (-w[a], a))
    if not cands:
        return max(q[a] * w[a] + (1 - q[a]) * w_bot for a in range(len(q)))
    memo = {}

    def F(i, k):
        if i == len(cands) or k == 0:
            return w_bot
        if (i, k) not in memo:
            a = cands[i]
            memo[(i, k)] = max(F(i + 1, k), q[a] * w[a] + (1 - q[a]) * F(i + 1, k - 1))
        return memo[(i, k)]

    return F(0, m)


def box_value(items, q_lo, q_hi, w, w_bot, upper):
    """min / max of the list value over every vertex of the box [q_lo, q_hi]."""
    vals = []
    for corner in itertools.product((0, 1), repeat=len(items)):
        q = dict()
        for a, c in zip(items, corner, strict=True):
            q[a] = q_hi[a] if c else q_lo[a]
        vals.append(list_value(items, q, w, w_bot))
    return max(vals) if upper else min(vals)


def policy_value(q, r, P, lists, lengths):
    """Bellman evaluation of a list policy written per (h, s) with plain loops."""
    H, S = lengths.shape
    N = q.shape[1]
    V = [[0.0] * S for _ in range(H + 1)]
    for h in reversed(range(H)):
        for s in range(S):
            A = [int(a) for a in lists[h, s, : lengths[h, s]]]
            total = 0.0
            survive = 1.0
            for a in A:
                cont = sum(P[s, a, t] * V[h + 1][t] for t in range(S))
                total += survive * q[s, a] * (r[s, a] + cont)
                survive *= 1 - q[s, a]
            total += survive * sum(P[s, N, t] * V[h + 1][t] for t in range(S))
            V[h][s] = total
    return np.array(V)


def optimal_value(q, r, P, H, m):
    """V*[h, s] by backward induction with brute-force maximisation over lists."""
    S, N = q.shape
    V = np.zeros((H + 1, S))
    for h in reversed(range(H)):
        for s in range(S):
            w = [r[s, a] + float(P[s, a] @ V[h + 1]) for a in range(N)]
            wb = float(P[s, N] @ V[h + 1])
            V[h, s] = brute_force_value(q[s], w, wb, m)
    return V


def klucb_index(n_obs, n_click, rhs):
    """KL-UCB index via scipy's root finder (independent of the bisection kernel)."""
    from scipy.optimize import brentq

    out = []
    for n, c in zip(n_obs, n_click, strict=True):
        if n <= 0:
            out.append(math.inf)
            continue
        qh = c / n

        def kl(x, qh=qh):
            eps = 1e-15
            p = min(max(qh, eps), 1 - eps)
            x = min(max(x, eps), 1 - eps)
            return p * math.log(p / x) + (1 - p) * math.log((1 - p) / (1 - x))

        g = lambda x, n=n, kl=kl: n * kl(x) - rhs  # noqa: E731
        if g(1 - 1e-15) <= 0:
            out.append(1.0)
        else:
            out.append(brentq(g, qh, 1 - 1e-15, xtol=1e-14))
    return np.array(out)


def cvi_plan(rewards, n_q, n_click, n_p, P_cnt, L, scale, bonus, H, m):
    """CascadingVI's backward pass with the brute-force planner (values only).

    Returns ``(V_up, V_lo)`` computed with plain Python and :func:`canonical_best`.
    """
    S, N = rewards.shape
    V_up = np.zeros((H + 1, S))
    V_lo = np.zeros((H + 1, S))
    lists = {}
    for h in reversed(range(H)):
        fut = H - h - 1
        for s in range(S):
            q_up, q_lo = [], []
            for a in range(N):
                n = n_q[s, a]
                if n <= 0:
                    q_up.append(1.0)
                    q_lo.append(0.0)
                    continue
                qh = n_click[s, a] / n
                v = qh * (1 - qh) if bonus == "bernstein" else 0.25
                b = min(scale * (2 * math.sqrt(v * L / n) + 5 * L / n), 1.0)
                q_up.append(min(qh + b, 1.0))
                q_lo.append(max(qh - b, 0.0))
            w_up, w_lo = [], []
            for a in range(N + 1):
                ra = rewards[s, a] if a < N else 0.0
                n = n_p[s, a]
                if n <= 0 or fut == 0:
                    up, lo = fut, 0.0
                else:
                    p = P_cnt[s, a] / n
                    mu = float(p @ V_up[h + 1])
                    ml = float(p @ V_lo[h + 1])
                    var = float(p @ (V_up[h + 1] - mu) ** 2)
                    gap2 = float(p @ (V_up[h + 1] - V_lo[h + 1]) ** 2)
                    b = scale * (2 * math.sqrt(var * L / n) + 2 * math.sqrt(gap2 * L / n) + 5 * fut * L / n)
                    up, lo = min(mu + b, fut), max(ml - b, 0.0)
                w_up.append(ra + up)
                w_lo.append(ra + lo)
            v, A = canonical_best(q_up, w_up[:N], w_up[N], m)
            V_up[h, s] = min(v, H - h)
            V_lo[h, s] = max(box_value(A, q_lo, q_up, w_lo[:N], w_lo[N], upper=False), 0.0)
            lists[(h, s)] = A
    return V_up, V_lo, lists


def adapt_plan(n_sa, r_sum, r_sq, n_tr, P_cnt, L, scale, bonus, H):
    """AdaptVI's optimistic backward pass with plain loops; returns ``(V_up, best)``."""
    S, A = n_sa.shape
    V = np.zeros((H + 1, S))
    best = np.zeros((H, S), dtype=int)
    for h in reversed(range(H)):
        fut, cap = H - h - 1, H - h
        for s in range(S):
            qs = []
            for a in range(A):
                n = n_sa[s, a]
                if n <= 0:
                    qs.append(cap)
                    continue
                rm = r_sum[s, a] / n
                rv = max(r_sq[s, a] / n - rm * rm, 0.0) if bonus == "bernstein" else 0.25
                b = scale * (2 * math.sqrt(rv * L / n) + 5 * L / n)
                r_up = min(rm + b, 1.0)
                nt = n_tr[s, a]
                if fut == 0:
                    f_up = 0.0
                elif nt <= 0:
                    f_up = fut
                else:
                    p = P_cnt[s, a] / nt
                    mu = float(p @ V[h + 1])
                    var = float(p @ (V[h + 1] - mu) ** 2) if bonus == "bernstein" else fut * fut / 4
                    b = scale * (2 * math.sqrt(var * L / nt) + 5 * fut * L / nt)
                    f_up = min(mu + b, fut)
                qs.append(min(r_up + f_up, cap))
            top = max(qs)
            best[h, s] = next(a for a in range(A) if qs[a] >= top - 1e-9)
            V[h, s] = top
    return V, best

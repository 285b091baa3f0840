"""Slow, obviously-correct references for the autobidding kernels (plain Python loops).

Each function mirrors one kernel of ``onlinekit/streams/_auction_kernels.py`` or
``onlinekit/bidding/_kernels.py``; ``lp_value_scipy`` and ``grid_lp_scipy`` solve the LPs with
``scipy.optimize.linprog`` (HiGHS) as an independent oracle.
"""

from __future__ import annotations

import math

import numpy as np

EPS = 1e-12


def ratio_threshold(v, d, budget, gamma):
    """Greedy by decreasing v/d; returns (z, value, spend, theta)."""
    n = len(v)
    items = []
    for i in range(n):
        if v[i] <= 0:
            continue
        ratio = math.inf if d[i] == 0 else v[i] / d[i]
        items.append((ratio, i))
    # decreasing ratio, ties by index (stable)
    items.sort(key=lambda t: (-t[0], t[1]))
    z = [0.0] * n
    rem, slack, value, spend, theta = budget, 0.0, 0.0, 0.0, 0.0
    for ratio, i in items:
        c = d[i]
        a = v[i] - gamma * c
        f = 1.0
        if c > rem:
            f = rem / c
        if a < 0 and slack + f * a < 0:
            f = min(f, slack / (-a))
        if f <= 0:
            theta = ratio
            break
        z[i] = f
        value += f * v[i]
        spend += f * c
        slack += f * a
        rem = max(rem - f * c, 0.0)
        if f < 1:
            theta = ratio
            break
    return np.array(z), value, spend, theta


def lp_value_scipy(v, d, budget, gamma):
    """Optimal value of the CH-OPT / GL-OPT LP relaxation by linprog."""
    from scipy.optimize import linprog

    v = np.asarray(v, dtype=float)
    d = np.asarray(d, dtype=float)
    A = [d, -(v - gamma * d)]
    b = [budget if math.isfinite(budget) else d.sum() + 1.0, 0.0]
    res = linprog(-v, A_ub=np.array(A), b_ub=np.array(b), bounds=[(0, 1)] * len(v), method="highs")
    assert res.status == 0
    return -res.fun


def top_two(vc, mult):
    n, K = vc.shape
    top1, idx, top2 = np.zeros(n), np.full(n, -1), np.zeros(n)
    for i in range(n):
        bids = sorted(((vc[i, k] * mult[k], k) for k in range(K) if vc[i, k] * mult[k] > 0),
                      key=lambda t: (-t[0], t[1]))
        if bids:
            top1[i], idx[i] = bids[0]
        if len(bids) > 1:
            top2[i] = bids[1][0]
    return top1, idx, top2


def pacing_step(v, top1, rem, rate, gamma, second_price, lr, dual_max, duals):
    lam, mu = duals
    den = max(mu + lam * gamma, EPS)
    bid = min(v * (1 + lam) / den, rem)
    won = bid > top1
    cost = (top1 if second_price else bid) if won else 0.0
    lam = min(max(lam - lr * (v * (1.0 if won else 0.0) - gamma * cost), 0.0), dual_max)
    if rate < math.inf:
        mu = min(max(mu - lr * (rate - cost), 0.0), dual_max)
    duals[0], duals[1] = lam, mu
    return bid, won, cost


def run_channel_period(v, vc, mult, lp_mode, second_price, budget, gamma, lr, dual_max, duals):
    """Returns (value, spend, z, price, comp_value, comp_spend, comp_wins)."""
    n, K = vc.shape
    top1, idx, top2 = top_two(vc, mult)
    price = np.zeros(n)
    adv_bid = np.zeros(n)
    if lp_mode:
        z, value, spend, theta = ratio_threshold(v, top1, budget, gamma)
        price[:] = top1
        for i in range(n):
            if z[i] >= 1:
                adv_bid[i] = top1[i]
            elif theta > 0:
                adv_bid[i] = min(v[i] / theta, top1[i])
    else:
        z = np.zeros(n)
        value = spend = 0.0
        rem = budget
        rate = budget / n if math.isfinite(budget) else math.inf
        for i in range(n):
            bid, won, cost = pacing_step(v[i], top1[i], rem, rate, gamma, second_price, lr, dual_max, duals)
            adv_bid[i] = bid
            if won:
                z[i], price[i] = 1.0, cost
                value += v[i]
                spend += cost
                rem = max(rem - cost, 0.0)
    cv, cs, cw = np.zeros(K), np.zeros(K), np.zeros(K)
    for i in range(n):
        frac = 1 - z[i]
        k = idx[i]
        if frac > 0 and k >= 0:
            pay = max(top2[i], adv_bid[i]) if second_price else top1[i]
            cv[k] += frac * vc[i, k]
            cs[k] += frac * pay
            cw[k] += frac
    return value, spend, z, price, cv, cs, cw


def sgd_ucb_choose(t, counts, conv_sum, spend_sum, grid, lam, mu, gamma, ucb_scale, empirical_spend):
    M, K = counts.shape
    if t < K:
        return np.full(M, t)
    out = np.zeros(M, dtype=int)
    for j in range(M):
        scores = []
        for a in range(K):
            n = counts[j, a]
            if n == 0:
                scores.append(math.inf)
                continue
            ucb = conv_sum[j, a] / n + ucb_scale * math.sqrt(2 * math.log(t + 1) / n)
            s = spend_sum[j, a] / n if empirical_spend else grid[a]
            scores.append((1 + lam) * ucb - (lam * gamma + mu) * s)
        out[j] = int(np.argmax(scores))  # first maximiser
    return out


def sgd_ucb_update(idx, conv, spend, counts, conv_sum, spend_sum, duals, rho, gamma, eta, dual_max):
    conv = np.nan_to_num(np.asarray(conv, dtype=float))
    spend = np.nan_to_num(np.asarray(spend, dtype=float))
    for j, a in enumerate(idx):
        counts[j, a] += 1
        conv_sum[j, a] += conv[j]
        spend_sum[j, a] += spend[j]
    tv, ts = 0.0, 0.0
    for j in range(len(idx)):
        tv += conv[j]
        ts += spend[j]
    duals[0] = min(max(duals[0] - eta * (tv - gamma * ts), 0.0), dual_max)
    duals[1] = min(max(duals[1] - eta * (rho - ts), 0.0), dual_max)
    return tv, ts


def grid_lp_scipy(V, D, budget, gamma):
    """Expected grid LP by linprog: returns the optimal value."""
    from scipy.optimize import linprog

    M, K = V.shape
    c = -V.ravel()
    A_ub = np.vstack([-(V - gamma * D).ravel(), D.ravel()])
    b_ub = np.array([0.0, budget])
    A_eq = np.zeros((M, M * K))
    for j in range(M):
        A_eq[j, j * K:(j + 1) * K] = 1.0
    res = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=np.ones(M), bounds=[(0, None)] * (M * K), method="highs")
    assert res.status == 0
    return -res.fun

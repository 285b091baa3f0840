"""Numba kernels of the autobidding family (private: arrays and scalars in, arrays out)."""

from __future__ import annotations

import math

from onlinekit._numba import njit
from onlinekit.streams._auction_kernels import pacing_step

SPEND_BUDGET = 0
SPEND_EMPIRICAL = 1


@njit
def _sgd_ucb_choose(t, counts, conv_sum, spend_sum, grid, lam, mu, gamma, ucb_scale, spend_model, out):
    """Arm index per channel: round robin for the first ``K`` periods, then the Lagrangian argmax.

    Score of arm ``a`` on channel ``j``: ``(1 + lam) U_j(a) - (lam gamma + mu) S_j(a)`` with
    ``U = mean conversion + ucb_scale sqrt(2 log(t + 1) / n)`` and ``S`` the budget
    (``spend_model = 0``) or the mean spend (``1``). Unpulled arms score ``+inf``; ties go to
    the smaller budget.
    """
    M, K = counts.shape
    if t < K:
        for j in range(M):
            out[j] = t
        return
    logt = math.log(t + 1.0)
    cost_w = lam * gamma + mu
    for j in range(M):
        best = -math.inf
        arg = 0
        for a in range(K):
            n = counts[j, a]
            if n == 0:
                score = math.inf
            else:
                u = conv_sum[j, a] / n + ucb_scale * math.sqrt(2.0 * logt / n)
                if spend_model == SPEND_BUDGET:
                    s = grid[a]
                else:
                    s = spend_sum[j, a] / n
                score = (1.0 + lam) * u - cost_w * s
            if score > best:
                best = score
                arg = a
        out[j] = arg


@njit
def _sgd_ucb_update(idx, conv, spend, counts, conv_sum, spend_sum, duals, rho, gamma, eta, dual_max):
    """Record the pulled arms and take one projected SGD step on ``duals = [lam, mu]``.

    ``conv`` / ``spend`` (M,) are the realised per-channel feedback (NaN for an unfunded
    channel counts as 0). Returns the summed ``(conversion, spend)``.
    """
    M = idx.shape[0]
    tv = 0.0
    ts = 0.0
    for j in range(M):
        cj = conv[j]
        sj = spend[j]
        if cj != cj:
            cj = 0.0
        if sj != sj:
            sj = 0.0
        a = idx[j]
        counts[j, a] += 1
        conv_sum[j, a] += cj
        spend_sum[j, a] += sj
        tv += cj
        ts += sj
    g_roi = tv - gamma * ts
    g_bud = rho - ts
    lam = duals[0] - eta * g_roi
    mu = duals[1] - eta * g_bud
    duals[0] = min(max(lam, 0.0), dual_max)
    duals[1] = min(max(mu, 0.0), dual_max)
    return tv, ts


@njit
def _pacing_run(values, competing, rate, gamma, auction, lr, dual_max, duals, acc, bids, wins, costs):
    """The dual-pacing bidder over a block of auctions (one :func:`pacing_step` per row).

    ``acc = [budget left, value won, spend]`` is updated in place, row by row, in the order
    the per-event loop uses (budget left ``inf``: no cap). Fills ``bids``, ``wins`` (0/1) and
    ``costs``.
    """
    n = values.shape[0]
    for i in range(n):
        bid, won, cost = pacing_step(values[i], competing[i], acc[0], rate, gamma, auction, lr, dual_max, duals)
        w = 1.0 if won else 0.0
        bids[i] = bid
        wins[i] = w
        costs[i] = cost
        left = acc[0] - cost
        acc[0] = left if left > 0.0 else 0.0
        acc[1] += values[i] * w
        acc[2] += cost

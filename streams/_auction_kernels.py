"""Numba kernels of :mod:`onlinekit.streams.auctions` (private: arrays and scalars only).

One call of :func:`run_channel_period` plays every single-slot auction of one channel in one
period: competitor bids, the advertiser's procurement (exact hindsight LP or dual pacing), the
winner, the price, and the competitors' per-period tallies.

Modes and rules (shared with ``tests/reference/bidding_reference.py``):

* ``mode = MODE_LP``: the channel knows the period's highest competing bids ``d`` and solves
  ``CH-OPT``: ``max sum v z  s.t.  sum d z <= budget,  sum (v - gamma d) z >= 0,  z in [0, 1]``
  with the ratio-threshold rule of :func:`ratio_threshold` (the last item may be fractional;
  ``z`` is then a win probability and conversion / spend are expectations). It pays ``d`` on a
  win in both the second- and the first-price auction (in a first-price auction it bids ``d``;
  ties go to the advertiser).
* ``mode = MODE_PACING``: auction by auction, bid ``v (1 + lam) / (mu + lam gamma)`` capped at
  the remaining budget, then one projected dual step per auction on the ROI constraint
  (gradient ``v win - gamma cost``) and the budget constraint (gradient ``rate - cost``, with
  ``rate = budget / n``); both multipliers are kept in ``[0, dual_max]``.
"""

from __future__ import annotations

import math

import numpy as np

from onlinekit._numba import njit
from onlinekit._sort_kernels import argsort_stable

MODE_LP = 0
MODE_PACING = 1
AUCTION_SECOND = 0
AUCTION_FIRST = 1

_EPS = 1e-12


@njit
def ratio_threshold(v, d, budget, gamma, z):
    """Closed form of the LP ``max v.z`` s.t. ``d.z <= budget``, ``(v - gamma d).z >= 0``, ``0 <= z <= 1``.

    Items are taken in decreasing order of ``v / d`` (cost-free items first; stable order on
    ties); the scan stops at the first item that would break the budget or make the running
    ROI slack negative, which is taken fractionally. Items with ``v <= 0`` are never taken.
    ``z`` (same length as ``v``) receives the solution. Returns ``(value, spend, theta)``
    where ``theta`` is the ratio ``v / d`` at which the scan stopped (0 when everything of
    positive value was taken).
    """
    n = v.shape[0]
    key = np.empty(n)
    for i in range(n):
        z[i] = 0.0
        if v[i] <= 0.0:
            key[i] = math.inf
        elif d[i] > 0.0:
            key[i] = -v[i] / d[i]
        else:
            key[i] = -math.inf
    order = argsort_stable(key)
    rem = budget
    slack = 0.0
    value = 0.0
    spend = 0.0
    theta = 0.0
    for k in range(n):
        i = order[k]
        vi = v[i]
        if vi <= 0.0:
            break
        c = d[i]
        a = vi - gamma * c
        f = 1.0
        if c > rem:
            f = rem / c
        if a < 0.0 and slack + f * a < 0.0:
            f = min(f, slack / (-a))
        if f <= 0.0:
            theta = vi / c
            break
        z[i] = f
        value += f * vi
        spend += f * c
        slack += f * a
        rem = rem - f * c
        if rem < 0.0:
            rem = 0.0
        if f < 1.0:
            theta = vi / c
            break
    return value, spend, theta


@njit
def competitor_top_two(vc, mult, top1, top1_idx, top2):
    """Highest and second-highest competitor bids ``vc[n, k] * mult[k]`` of each auction.

    No competitor (or only non-positive bids) means a zero reserve price: ``top1 = 0`` with
    ``top1_idx = -1``.
    """
    n, K = vc.shape
    for i in range(n):
        b1 = 0.0
        b2 = 0.0
        k1 = -1
        for k in range(K):
            b = vc[i, k] * mult[k]
            if b > b1:
                b2 = b1
                b1 = b
                k1 = k
            elif b > b2:
                b2 = b
        top1[i] = b1
        top1_idx[i] = k1
        top2[i] = b2


@njit
def pacing_step(v, top1, rem, rate, gamma, auction, lr, dual_max, duals):
    """One auction of the dual-pacing bidder; updates ``duals = [lam, mu]`` in place.

    Returns ``(bid, won, cost)``. ``rate`` is the budget per auction (``inf``: no budget
    constraint, ``mu`` stays where it is); ``rem`` the budget left, which caps the bid.
    """
    lam = duals[0]
    mu = duals[1]
    den = mu + lam * gamma
    if den < _EPS:
        den = _EPS
    bid = v * (1.0 + lam) / den
    if bid > rem:
        bid = rem
    won = bid > top1
    cost = 0.0
    if won:
        cost = top1 if auction == AUCTION_SECOND else bid
    w = 1.0 if won else 0.0
    lam = lam - lr * (v * w - gamma * cost)
    duals[0] = min(max(lam, 0.0), dual_max)
    if rate < math.inf:
        mu = mu - lr * (rate - cost)
        duals[1] = min(max(mu, 0.0), dual_max)
    return bid, won, cost


@njit
def run_channel_period(v, vc, mult, mode, auction, budget, gamma, lr, dual_max, duals,
                       z, price, comp_value, comp_spend, comp_wins):
    """Play all auctions of one channel in one period.

    Parameters are arrays / scalars: ``v`` (n,) advertiser values, ``vc`` (n, K) competitor
    values, ``mult`` (K,) competitor bid multipliers, ``mode`` (``MODE_LP`` / ``MODE_PACING``),
    ``auction`` (``AUCTION_SECOND`` / ``AUCTION_FIRST``), the period ``budget`` (``inf``: none)
    and target ROI ``gamma``, the pacing step ``lr``, ``dual_max`` and ``duals = [lam, mu]``
    (pacing state, updated in place). Outputs: ``z`` (n,) the advertiser's (fractional) wins,
    ``price`` (n,) what she pays per unit won, and per-competitor ``comp_value``,
    ``comp_spend``, ``comp_wins`` (K,) (added to). Returns ``(value, spend)`` of the
    advertiser.
    """
    n, K = vc.shape
    top1 = np.empty(n)
    top2 = np.empty(n)
    idx = np.empty(n, dtype=np.int64)
    competitor_top_two(vc, mult, top1, idx, top2)
    adv_bid = np.empty(n)
    value = 0.0
    spend = 0.0
    if mode == MODE_LP:
        value, spend, theta = ratio_threshold(v, top1, budget, gamma, z)
        for i in range(n):
            price[i] = top1[i]
            if z[i] >= 1.0:
                adv_bid[i] = top1[i]
            elif theta > 0.0:
                adv_bid[i] = min(v[i] / theta, top1[i])
            else:
                adv_bid[i] = 0.0
    else:
        rem = budget
        rate = budget / n if budget < math.inf else math.inf
        for i in range(n):
            bid, won, cost = pacing_step(v[i], top1[i], rem, rate, gamma, auction, lr, dual_max, duals)
            adv_bid[i] = bid
            if won:
                z[i] = 1.0
                price[i] = cost
                value += v[i]
                spend += cost
                rem -= cost
                if rem < 0.0:
                    rem = 0.0
            else:
                z[i] = 0.0
                price[i] = 0.0
    for i in range(n):
        frac = 1.0 - z[i]
        k = idx[i]
        if frac > 0.0 and k >= 0:
            if auction == AUCTION_SECOND:
                pay = max(top2[i], adv_bid[i])
            else:
                pay = top1[i]
            comp_value[k] += frac * vc[i, k]
            comp_spend[k] += frac * pay
            comp_wins[k] += frac
    return value, spend

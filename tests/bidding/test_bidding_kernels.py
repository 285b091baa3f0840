"""Autobidding kernels against the slow references in tests/reference/bidding_reference.py."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import bidding_reference as ref  # noqa: E402

from onlinekit.bidding import _kernels as bk  # noqa: E402
from onlinekit.streams import _auction_kernels as ak  # noqa: E402


def _instance(rng, n, ties=False):
    v = rng.random(n)
    d = rng.random(n) * rng.choice([0.5, 1.0, 2.0])
    if ties:
        v[: n // 2] = 0.5
        d[: n // 2] = 0.5
    d[rng.random(n) < 0.05] = 0.0
    v[rng.random(n) < 0.05] = 0.0
    return v, d


@pytest.mark.parametrize("seed", range(12))
def test_ratio_threshold_matches_reference_and_linprog(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    v, d = _instance(rng, n, ties=seed % 3 == 0)
    budget = math.inf if seed % 4 == 0 else float(rng.random() * d.sum())
    gamma = float(rng.choice([0.0, 0.5, 1.0, 2.0]))
    z = np.empty(n)
    value, spend, theta = ak.ratio_threshold(v, d, budget, gamma, z)
    zr, vr, sr, tr = ref.ratio_threshold(v, d, budget, gamma)
    np.testing.assert_array_equal(z, zr)
    assert (value, spend, theta) == (vr, sr, tr)
    assert value == pytest.approx(ref.lp_value_scipy(v, d, budget, gamma), rel=1e-7, abs=1e-9)
    assert spend <= budget + 1e-12
    assert (v - gamma * d) @ z >= -1e-9
    assert np.all((z >= 0) & (z <= 1))


@pytest.mark.parametrize("seed", range(6))
def test_top_two_matches_reference(seed):
    rng = np.random.default_rng(seed)
    K = int(rng.integers(0, 5))
    vc = rng.random((40, K))
    mult = rng.random(K) + 0.2
    top1, idx, top2 = np.empty(40), np.empty(40, dtype=np.int64), np.empty(40)
    ak.competitor_top_two(vc, mult, top1, idx, top2)
    r1, ri, r2 = ref.top_two(vc, mult)
    np.testing.assert_array_equal(top1, r1)
    np.testing.assert_array_equal(idx, ri)
    np.testing.assert_array_equal(top2, r2)


@pytest.mark.parametrize("mode", [ak.MODE_LP, ak.MODE_PACING])
@pytest.mark.parametrize("auction", [ak.AUCTION_SECOND, ak.AUCTION_FIRST])
@pytest.mark.parametrize("seed", range(3))
def test_run_channel_period_matches_reference(mode, auction, seed):
    rng = np.random.default_rng(100 + seed)
    n, K = 80, int(rng.integers(1, 5))
    v, vc = rng.random(n), rng.random((n, K))
    mult = rng.random(K) + 0.5
    budget = [math.inf, 5.0, 0.3][seed]
    gamma = [0.0, 1.0, 0.2][seed]
    duals = np.array([0.5, 1.5])
    z, price = np.empty(n), np.empty(n)
    cv, cs, cw = np.zeros(K), np.zeros(K), np.zeros(K)
    value, spend = ak.run_channel_period(v, vc, mult, mode, auction, budget, gamma, 0.05, 10.0, duals,
                                         z, price, cv, cs, cw)
    rduals = [0.5, 1.5]
    out = ref.run_channel_period(v, vc, mult, mode == ak.MODE_LP, auction == ak.AUCTION_SECOND, budget, gamma,
                                 0.05, 10.0, rduals)
    assert (value, spend) == (out[0], out[1])
    for got, want in zip((z, price, cv, cs, cw), out[2:], strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(duals, rduals)
    assert spend <= budget + 1e-12


@pytest.mark.parametrize("seed", range(4))
def test_sgd_ucb_kernels_match_reference(seed):
    rng = np.random.default_rng(seed)
    M, K = 3, 5
    grid = np.sort(rng.random(K))
    counts = rng.integers(0, 4, size=(M, K)).astype(np.int64)
    cs, ss = rng.random((M, K)) * counts, rng.random((M, K)) * counts
    for t in (2, 7, 50):
        for emp in (0, 1):
            out = np.empty(M, dtype=np.int64)
            bk._sgd_ucb_choose(t, counts, cs, ss, grid, 0.7, 0.3, 1.1, 0.2, emp, out)
            np.testing.assert_array_equal(out, ref.sgd_ucb_choose(t, counts, cs, ss, grid, 0.7, 0.3, 1.1, 0.2, emp))
    idx = rng.integers(0, K, size=M).astype(np.int64)
    conv, spend = rng.random(M), rng.random(M)
    conv[0] = np.nan
    a = [counts.copy(), cs.copy(), ss.copy(), np.array([0.4, 0.6])]
    b = [counts.copy(), cs.copy(), ss.copy(), np.array([0.4, 0.6])]
    r1 = bk._sgd_ucb_update(idx, conv, spend, *a, 0.5, 1.2, 0.1, 10.0)
    r2 = ref.sgd_ucb_update(idx, conv, spend, *b, 0.5, 1.2, 0.1, 10.0)
    assert r1 == r2
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_pacing_run_matches_reference():
    rng = np.random.default_rng(5)
    v, d = rng.random(300), rng.random(300)
    for auction in (ak.AUCTION_SECOND, ak.AUCTION_FIRST):
        duals = np.array([1.0, 1.0])
        acc = np.array([20.0, 0.0, 0.0])
        bids, wins, costs = np.empty(300), np.empty(300), np.empty(300)
        bk._pacing_run(v, d, 0.1, 0.5, auction, 0.05, 10.0, duals, acc, bids, wins, costs)
        rd, rem, val, sp = [1.0, 1.0], 20.0, 0.0, 0.0
        for i in range(300):
            bid, won, cost = ref.pacing_step(v[i], d[i], rem, 0.1, 0.5, auction == ak.AUCTION_SECOND, 0.05, 10.0, rd)
            assert (bid, float(won), cost) == (bids[i], wins[i], costs[i])
            rem = max(rem - cost, 0.0)
            val += v[i] * float(won)
            sp += cost
        assert acc.tolist() == [rem, val, sp]
        np.testing.assert_array_equal(duals, rd)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_num = st.one_of(st.just(0.0), st.floats(1e-3, 10))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_num, _num), min_size=1, max_size=25), st.floats(0, 30), st.floats(0, 3))
def test_ratio_threshold_properties(items, budget, gamma):
    """Feasible, optimal against linprog, and monotone in the budget.

    Numbers are 0 or >= 1e-3 so that linprog's feasibility tolerance cannot blur them.
    """
    v = np.array([a for a, _ in items])
    d = np.array([b for _, b in items])
    z = np.empty(len(v))
    value, spend, _ = ak.ratio_threshold(v, d, budget, gamma, z)
    assert np.all((z >= 0) & (z <= 1))
    assert d @ z <= budget * (1 + 1e-12) + 1e-12
    assert (v - gamma * d) @ z >= -1e-9 * max(1.0, v.sum())
    assert value == pytest.approx(ref.lp_value_scipy(v, d, budget, gamma), rel=1e-6, abs=1e-8)
    z2 = np.empty(len(v))
    value2, _, _ = ak.ratio_threshold(v, d, budget * 1.5 + 0.1, gamma, z2)
    assert value2 >= value - 1e-12

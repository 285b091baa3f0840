"""LP benchmarks (closed form vs CVXPY vs scipy) and the paper's structural claims."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import bidding_reference as ref  # noqa: E402

from onlinekit.base import InvalidEvent  # noqa: E402
from onlinekit.bidding import (  # noqa: E402
    GLOptLP,
    GridLP,
    SGDUCBBudgeter,
    budget_lever_value,
    glopt,
    roi_only_optimum,
)
from onlinekit.streams.auctions import MultiChannelAuctions  # noqa: E402


def _instance(rng, M=3, n=20):
    vs = [rng.random(n) * rng.uniform(0.5, 2.0) for _ in range(M)]
    ds = [rng.random(n) * rng.uniform(0.5, 2.0) for _ in range(M)]
    return vs, ds


def test_glopt_closed_form_agrees_with_dpp_lp():
    M, n = 3, 20
    lp = GLOptLP(M * n)
    rng = np.random.default_rng(0)
    for _ in range(8):
        vs, ds = _instance(rng, M, n)
        v, d = np.concatenate(vs), np.concatenate(ds)
        budget = float(rng.uniform(0.5, 8.0))
        gamma = float(rng.choice([0.0, 0.8, 1.2, 2.0]))
        cf = glopt(vs, ds, budget, gamma)
        sol = lp.solve(v, d, budget, gamma)
        assert sol.status == "optimal"
        assert sol.value == pytest.approx(cf.value, rel=1e-6, abs=1e-7)
        assert cf.value == pytest.approx(ref.lp_value_scipy(v, d, budget, gamma), rel=1e-9, abs=1e-12)
        z = np.concatenate(cf.primal["z"])
        assert d @ z <= budget + 1e-9 and (v - gamma * d) @ z >= -1e-9
    assert lp.n_compiles == 1 and lp.n_solves == 8


def test_budget_lever_recovers_glopt():
    """Per-channel budgets equal to GL-OPT's per-channel spends give GL-OPT (abstract, claim 2)."""
    rng = np.random.default_rng(1)
    for _ in range(25):
        vs, ds = _instance(rng, M=int(rng.integers(2, 5)), n=int(rng.integers(5, 40)))
        budget = float(rng.uniform(0.2, 5.0))
        gamma = float(rng.choice([0.0, 0.5, 1.0, 1.5]))
        sol = glopt(vs, ds, budget, gamma)
        total, per = budget_lever_value(vs, ds, sol.primal["channel_spend"])
        assert total == pytest.approx(sol.value, rel=1e-9, abs=1e-12)
        np.testing.assert_allclose(per, sol.primal["channel_value"], rtol=1e-9, atol=1e-12)


def test_budget_lever_recovers_cvxpy_glopt_from_its_own_spends():
    """Same claim with the spends taken from the CVXPY solution (solver tolerance)."""
    rng = np.random.default_rng(4)
    M, n = 3, 15
    lp = GLOptLP(M * n)
    for _ in range(5):
        vs, ds = _instance(rng, M, n)
        budget, gamma = float(rng.uniform(0.5, 4.0)), float(rng.choice([0.0, 1.0]))
        sol = lp.solve(np.concatenate(vs), np.concatenate(ds), budget, gamma)
        spends = [float(ds[j] @ sol.primal[j * n:(j + 1) * n]) for j in range(M)]
        total, _ = budget_lever_value(vs, ds, np.clip(spends, 0.0, None))
        assert total == pytest.approx(sol.value, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("n_items", [10, 100, 1000])
def test_roi_only_lever_can_be_arbitrarily_bad(n_items):
    """Channel 1: n identical auctions (ratio 1), budget for one; channel 2: one tiny auction.

    ROI targets alone buy all of channel 1 or none of it, so they reach ``delta`` while GL-OPT
    reaches 1 + delta (abstract, claim 1: the ratio goes to 0 with delta).
    """
    delta = 1.0 / n_items
    vs = [np.ones(n_items), np.array([delta])]
    ds = [np.ones(n_items), np.array([delta / 2])]
    best = roi_only_optimum(vs, ds, budget=1.0, target_roi=0.5, roi_grid=np.linspace(0, 4, 41))
    opt = glopt(vs, ds, budget=1.0, target_roi=0.5).value
    assert best["value"] == pytest.approx(delta)
    assert best["value"] / opt < 1.1 * delta
    assert opt == pytest.approx(1.0 + delta / 2)


def test_roi_only_never_beats_glopt_on_random_instances():
    rng = np.random.default_rng(2)
    ratios = []
    for _ in range(10):
        vs, ds = _instance(rng, M=2, n=15)
        budget, gamma = float(rng.uniform(0.5, 3.0)), 1.0
        best = roi_only_optimum(vs, ds, budget, gamma, np.linspace(0, 4, 21))
        opt = glopt(vs, ds, budget, gamma).value
        assert best["value"] <= opt + 1e-9
        ratios.append(best["value"] / opt)
    assert min(ratios) < 1.0


def test_grid_lp_agrees_with_scipy_and_is_dpp():
    rng = np.random.default_rng(3)
    grid = np.linspace(0, 1, 6)
    lp = GridLP(3, 6)
    for _ in range(5):
        V = np.cumsum(rng.random((3, 6)) * 0.3, axis=1) * (grid > 0)
        D = np.tile(grid, (3, 1))
        budget, gamma = float(rng.uniform(0.2, 1.5)), float(rng.uniform(0.0, 1.5))
        sol = lp.solve(V, D, budget, gamma)
        assert sol.status == "optimal"
        assert sol.value == pytest.approx(ref.grid_lp_scipy(V, D, budget, gamma), rel=1e-6, abs=1e-8)
        np.testing.assert_allclose(sol.primal.sum(axis=1), 1.0, atol=1e-6)
    assert lp.n_compiles == 1


def test_benchmark_bad_input():
    with pytest.raises(InvalidEvent):
        glopt([np.ones(3)], [np.ones(2)])
    with pytest.raises(InvalidEvent):
        glopt(np.ones(3), np.ones(3), budget=-1.0)
    with pytest.raises(InvalidEvent):
        glopt(np.ones(3), np.ones(3), target_roi=-1.0)
    with pytest.raises(InvalidEvent):
        GridLP(2, 3).solve(np.ones((2, 3)), -np.ones((2, 3)), 1.0)
    with pytest.raises(InvalidEvent):
        roi_only_optimum([np.ones(2)], [np.ones(2)], 1.0, 0.0, [])


def _learn(T, seed, env_seed=0):
    grid = np.linspace(0, 1, 11)
    env = MultiChannelAuctions(rounds_per_period=50, competitor_pacing=False, competitor_init=(0.0, 1.25),
                               seed=seed)
    pol = SGDUCBBudgeter(grid=grid, n_channels=3, total_budget=1.0, target_roi=1.2, lr=1.0, ucb_scale=0.02)
    obs = env.reset()
    checkpoints = {}
    for t in range(1, T + 1):
        b = pol.act(obs)
        step = env.step(b)
        pol.update(obs, b, step.feedback)
        obs = step.obs
        if t in (200, T):
            checkpoints[t] = (pol.total_conversion_ / t, pol.roi_violation, pol.budget_violation)
    return env, checkpoints


def test_sgd_ucb_approaches_grid_lp_and_violations_shrink():
    """Claim 3 (learning): average conversion -> grid-LP value, time-averaged violations -> 0."""
    grid = np.linspace(0, 1, 11)
    env, _ = _learn(1, 0)
    V, D = env.channel_curves(grid, n_periods=200, seed=11)
    target = GridLP(3, 11).solve(V, D, 1.0, 1.2).value
    T = 3000
    for seed in (1, 2):
        _, cp = _learn(T, seed)
        conv, roi_v, bud_v = cp[T]
        # the grid LP is estimated from 200 x 50 x 3 auctions: its MC error is < 0.5 %
        assert conv >= 0.97 * target
        assert conv <= 1.02 * target
        assert roi_v <= 0.01 and bud_v <= 0.01
        assert roi_v <= cp[200][1] and bud_v <= cp[200][2] + 1e-12

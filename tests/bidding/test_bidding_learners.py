"""SGDUCBBudgeter and DualPacingBidder: conformance, bad input, reference trajectories."""

from __future__ import annotations

import copy
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import bidding_reference as ref  # noqa: E402

from onlinekit.base import InvalidEvent  # noqa: E402
from onlinekit.bidding import DualPacingBidder, SGDUCBBudgeter  # noqa: E402
from onlinekit.streams.auctions import MultiChannelAuctions, SingleChannelAuction  # noqa: E402

GRID = np.linspace(0, 1, 11)


@pytest.mark.parametrize("params, field", [
    ({"grid": []}, "grid"),
    ({"grid": [0.0, 0.2, 0.1]}, "grid"),
    ({"grid": [0.0, 0.1, 0.1]}, "grid"),
    ({"grid": [-0.1, 0.1]}, "grid"),
    ({"grid": [[0.0, 0.1]]}, "grid"),
    ({"total_budget": -1.0}, "total_budget"),
    ({"target_roi": -0.5}, "target_roi"),
    ({"target_roi": float("nan")}, "target_roi"),
    ({"n_channels": 0}, "n_channels"),
    ({"lr": 0.0}, "lr"),
    ({"schedule": "log"}, "schedule"),
    ({"spend_model": "x"}, "spend_model"),
    ({"lambda_init": 20.0}, "lambda_init"),
])
def test_sgd_ucb_bad_params(params, field):
    with pytest.raises(InvalidEvent) as exc:
        SGDUCBBudgeter(**params)
    assert exc.value.field == field


def _trained(T=30):
    pol = SGDUCBBudgeter(grid=GRID, n_channels=3, total_budget=1.0, target_roi=1.2, lr=1.0, ucb_scale=0.02)
    env = MultiChannelAuctions(rounds_per_period=20, competitor_pacing=False, competitor_init=(0.0, 1.25), seed=3)
    obs = env.reset()
    for _ in range(T):
        b = pol.act(obs)
        step = env.step(b)
        pol.update(obs, b, step.feedback)
        obs = step.obs
    return pol


@pytest.mark.parametrize("budgets, feedback, field", [
    ([-0.1, 0.1, 0.1], None, "budgets[0]"),
    ([0.1, 0.15, 0.1], None, "budgets[1]"),
    ([0.1, 0.1], None, "budgets"),
    ([0.0, 0.1, 0.1], {"conversion": [0.2, 0.1, 0.1], "spend": [0.0, 0.1, 0.1]}, "feedback['conversion'][0]"),
    ([0.1, 0.1, 0.0], {"conversion": [0.2, 0.1, 0.0], "spend": [0.1, 0.1, 0.05]}, "feedback['spend'][2]"),
    ([0.1, 0.1, 0.1], {"conversion": [0.2, np.nan, 0.1], "spend": [0.1, 0.1, 0.1]}, "feedback['conversion'][1]"),
    ([0.1, 0.1, 0.1], {"conversion": [0.2, 0.1, 0.1], "spend": [0.1, -0.1, 0.1]}, "feedback['spend'][1]"),
    ([0.1, 0.1, 0.1], {"conversion": [0.2, 0.1, 0.1]}, "feedback['spend']"),
    ([0.1, 0.1, 0.1], [0.2, 0.1, 0.1], "feedback"),
])
def test_sgd_ucb_bad_update_leaves_state(budgets, feedback, field):
    pol = _trained()
    before = copy.deepcopy(pol.state_dict())
    fb = feedback if feedback is not None else {"conversion": [0.1] * 3, "spend": [0.1] * 3}
    with pytest.raises(InvalidEvent) as exc:
        pol.update(None, np.array(budgets), fb)
    assert exc.value.field == field
    after = pol.state_dict()
    for k, v in before.items():
        np.testing.assert_array_equal(after[k], v) if isinstance(v, np.ndarray) else None
        assert isinstance(v, np.ndarray) or after[k] == v


def test_unfunded_channel_may_report_zero_or_nan():
    pol = SGDUCBBudgeter(grid=GRID, n_channels=2, total_budget=0.3)
    pol.update(None, np.array([0.0, 0.2]), {"conversion": [np.nan, 0.3], "spend": [0.0, 0.2]})
    assert pol.counts_[0, 0] == 1 and pol.conversion_sum_[0, 0] == 0.0
    assert pol.total_conversion_ == pytest.approx(0.3)


def test_sgd_ucb_trajectory_matches_reference():
    """The learner's decisions and duals equal a loop over the reference functions."""
    pol = SGDUCBBudgeter(grid=GRID, n_channels=3, total_budget=1.0, target_roi=1.2, lr=1.0, ucb_scale=0.02,
                         spend_model="empirical")
    env = MultiChannelAuctions(rounds_per_period=20, seed=1)
    obs = env.reset()
    M, K = 3, len(GRID)
    counts, cs, ss, duals = np.zeros((M, K), dtype=int), np.zeros((M, K)), np.zeros((M, K)), [1.0, 1.0]
    for t in range(60):
        idx = ref.sgd_ucb_choose(t, counts, cs, ss, GRID, duals[0], duals[1], 1.2, 0.02, True)
        b = pol.act(obs)
        np.testing.assert_array_equal(b, GRID[idx])
        step = env.step(b)
        pol.update(obs, b, step.feedback)
        ref.sgd_ucb_update(idx, step.feedback["conversion"], step.feedback["spend"], counts, cs, ss, duals,
                           1.0, 1.2, 1.0 / math.sqrt(t + 1), 10.0)
        assert (pol.lambda_, pol.mu_) == tuple(duals)
        obs = step.obs
    np.testing.assert_array_equal(pol.counts_, counts)


def test_round_robin_then_lagrangian():
    pol = SGDUCBBudgeter(grid=[0.0, 0.5, 1.0], n_channels=2, total_budget=0.5, target_roi=0.0, ucb_scale=0.0,
                         lambda_init=0.0, mu_init=0.0)
    for t in range(3):
        b = pol.act(None)
        assert b.tolist() == [[0.0, 0.5, 1.0][t]] * 2
        pol.update(None, b, {"conversion": b * np.array([1.0, 2.0]) ** 0.5, "spend": b})
    # after round robin: the Lagrangian argmax with the learned means and current duals, by hand
    lam, mu = pol.lambda_, pol.mu_
    means = np.array([[0.0, 0.5, 1.0], [0.0, 0.5 * 2 ** 0.5, 2 ** 0.5]])
    want = np.argmax((1 + lam) * means - (mu) * np.array([0.0, 0.5, 1.0]), axis=1)
    np.testing.assert_array_equal(pol.arm_indices(), want)


def test_dual_pacing_block_equals_loop_and_env():
    rng = np.random.default_rng(0)
    v, d = rng.random(500), rng.random((500, 3)).max(axis=1)
    for params in DualPacingBidder._unit_test_params():
        loop, blk = DualPacingBidder(**params), DualPacingBidder(**params)
        bids = []
        for i in range(500):
            bid = loop.act({"value": v[i]})
            won = bid > d[i]
            cost = (d[i] if loop.auction == "second" else bid) if won else 0.0
            loop.update({"value": v[i]}, bid, {"won": bool(won), "cost": float(cost)})
            bids.append(bid)
        b, w, c = blk.bid_many(v, d)
        np.testing.assert_array_equal(b, bids)
        assert loop.state_dict() == blk.state_dict()


def test_dual_pacing_bidder_reproduces_env_pacing_channel():
    env = MultiChannelAuctions(n_channels=1, n_competitors=3, rounds_per_period=100, bidder="pacing",
                               pacing_lr=0.05, record=True, seed=2)
    env.reset()
    for _ in range(5):
        step = env.step(np.array([0.08]))
        v, d, z = step.info["values"][0], step.info["costs"][0], step.info["wins_z"][0]
        bidder = DualPacingBidder(budget_rate=0.08, lr=0.05, total_budget=8.0)  # one pacing episode per period
        _, wins, costs = bidder.bid_many(v, d)
        np.testing.assert_array_equal(wins, z)
        assert costs.sum() / 100 == pytest.approx(step.feedback["spend"][0], rel=1e-12)


def test_dual_pacing_respects_hard_budget_and_roi():
    env = SingleChannelAuction(n_competitors=1, seed=0)
    bidder = DualPacingBidder(budget_rate=0.2, target_roi=1.5, lr=0.02, total_budget=50.0)
    obs = env.reset()
    for _ in range(5000):
        bid = bidder.act(obs)
        step = env.step(bid)
        bidder.update(obs, bid, step.feedback)
        obs = step.obs
    assert bidder.spend_ <= 50.0
    assert bidder.value_ >= 1.5 * bidder.spend_ * 0.95  # ROI met up to the pacing transient


def test_dual_pacing_bad_params():
    for kw, field in [({"budget_rate": -1.0}, "budget_rate"), ({"target_roi": -1.0}, "target_roi"),
                      ({"lr": 0.0}, "lr"), ({"auction": "gsp"}, "auction"), ({"total_budget": -2.0}, "total_budget")]:
        with pytest.raises(InvalidEvent) as exc:
            DualPacingBidder(**kw)
        assert exc.value.field == field


def test_package_import_is_light():
    import subprocess

    code = ("import sys, onlinekit.bidding, onlinekit.registry as r; r.learners(); r.experiments(); "
            "print(any(m in sys.modules for m in ('numba', 'cvxpy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

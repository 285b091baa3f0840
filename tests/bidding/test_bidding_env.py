"""MultiChannelAuctions: determinism, units, exact procurement, bad actions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from onlinekit.base import InvalidEvent
from onlinekit.bidding import ch_opt
from onlinekit.streams.auctions import MultiChannelAuctions, SingleChannelAuction
from onlinekit.streams.env import Environment


def _run(env, actions):
    env.reset(7)
    return [env.step(a) for a in actions]


def test_protocol_and_same_seed_same_outputs():
    env = MultiChannelAuctions(rounds_per_period=30, bidder="pacing")
    assert isinstance(env, Environment)
    acts = [np.array([0.1, 0.2, 0.3])] * 5
    a, b = _run(env, acts), _run(env, acts)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.feedback["conversion"], y.feedback["conversion"])
        np.testing.assert_array_equal(x.feedback["spend"], y.feedback["spend"])


@pytest.mark.parametrize("auction", ["second", "first"])
@pytest.mark.parametrize("values", ["uniform", "lognormal"])
def test_lp_bidder_equals_ch_opt_on_recorded_draws(auction, values):
    vp = (0.0, 1.0) if values == "uniform" else (-1.0, 0.5)
    env = MultiChannelAuctions(rounds_per_period=40, auctions_per_round=(1, 2, 1), auction=auction, values=values,
                               value_params=vp, value_scale=(1.0, 2.0, 0.5), record=True, seed=1)
    env.reset()
    for budgets, roi in [([0.1, 0.05, 0.2], [0.0, 0.0, 0.0]), ([np.inf, 0.3, 0.1], [1.5, 0.0, 1.0])]:
        step = env.step({"budgets": np.array(budgets), "roi_targets": np.array(roi)})
        for j in range(3):
            p = ch_opt(step.info["values"][j], step.info["costs"][j], budgets[j] * 40, roi[j])
            np.testing.assert_array_equal(step.info["wins_z"][j], p.z)
            assert step.feedback["conversion"][j] == pytest.approx(p.value / 40, rel=1e-12)
            assert step.feedback["spend"][j] <= budgets[j] + 1e-12
    assert env.n_auctions_.tolist() == [40, 80, 40]


def test_spend_never_exceeds_budget_with_pacing():
    env = MultiChannelAuctions(rounds_per_period=50, bidder="pacing", auction="first", seed=0)
    env.reset()
    rng = np.random.default_rng(0)
    for _ in range(30):
        b = rng.random(3) * 0.5
        step = env.step(b)
        assert np.all(step.feedback["spend"] <= b + 1e-12)
        assert step.reward == pytest.approx(step.feedback["conversion"].sum())


def test_zero_budget_buys_nothing_and_competitors_pace():
    env = MultiChannelAuctions(rounds_per_period=100, competitor_budget=0.05, seed=0)
    env.reset()
    m0 = [m.copy() for m in env.competitor_multipliers()]
    for _ in range(40):
        step = env.step(np.zeros(3))
        assert step.feedback["conversion"].tolist() == [0.0, 0.0, 0.0]
    m1 = env.competitor_multipliers()
    # budget 0.05 per auction binds: multipliers must fall
    assert all(np.all(b < a) for a, b in zip(m0, m1, strict=True))
    fixed = MultiChannelAuctions(rounds_per_period=100, competitor_pacing=False, seed=0)
    fixed.step(np.zeros(3))
    assert all(np.all(a == b) for a, b in zip(m0, fixed.competitor_multipliers(), strict=True))


def test_channel_curves_monotone_and_env_untouched():
    env = MultiChannelAuctions(rounds_per_period=50, competitor_pacing=False, seed=0)
    env.reset()
    state = env._rng.bit_generator.state
    V, D = env.channel_curves(np.linspace(0, 1, 6), n_periods=10, seed=3)
    assert env._rng.bit_generator.state == state
    assert V.shape == D.shape == (3, 6)
    assert np.all(np.diff(V, axis=1) >= -1e-12) and np.all(np.diff(D, axis=1) >= -1e-12)
    assert np.all(D <= np.linspace(0, 1, 6) + 1e-12)


@pytest.mark.parametrize("action, field", [
    (np.array([0.1, -0.1, 0.1]), "budgets"),
    (np.array([0.1, 0.1]), "budgets"),
    (np.array([0.1, np.nan, 0.1]), "budgets"),
    ({"budgets": np.ones(3), "roi_targets": np.array([0.0, -1.0, 0.0])}, "roi_targets"),
    ({"budget": np.ones(3)}, "action"),
])
def test_bad_actions(action, field):
    env = MultiChannelAuctions(seed=0)
    env.reset()
    with pytest.raises(InvalidEvent) as exc:
        env.step(action)
    assert exc.value.field == field
    assert env.period_ == 0


@pytest.mark.parametrize("kw, field", [
    ({"n_channels": 0}, "n_channels"), ({"n_competitors": (1, 2)}, "n_competitors"),
    ({"auction": "gsp"}, "auction"), ({"values": "beta"}, "values"), ({"bidder": "pid"}, "bidder"),
    ({"value_params": (1.0, 0.5)}, "value_params"), ({"competitor_budget": 0.0}, "competitor_budget"),
])
def test_bad_env_params(kw, field):
    with pytest.raises(InvalidEvent) as exc:
        MultiChannelAuctions(**kw)
    assert exc.value.field == field


def test_single_channel_auction():
    env = SingleChannelAuction(n_competitors=0, seed=0)
    env.reset()
    step = env.step(0.01)
    assert step.feedback == {"won": True, "cost": 0.0}
    with pytest.raises(InvalidEvent):
        env.step(-1.0)
    with pytest.raises(InvalidEvent):
        env.step(math.nan)


def test_engine_simulate_runs_the_pair():
    from onlinekit.bidding import SGDUCBBudgeter
    from onlinekit.engine import simulate

    env = MultiChannelAuctions(rounds_per_period=20, competitor_pacing=False, competitor_init=(0.0, 1.25))
    pol = SGDUCBBudgeter(total_budget=1.0, target_roi=1.2, lr=1.0, ucb_scale=0.02)
    a = simulate(pol, env, 50, seed=0)
    b = simulate(pol.clone(), env, 50, seed=0)
    assert a.summary["reward"] == b.summary["reward"] > 0

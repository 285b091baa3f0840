"""The auction protocol: payment rules by hand, brute-force per-row loops, periods, resume, CSV."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from onlinekit.base import InvalidEvent
from onlinekit.bidding import DualPacingBidder, SGDUCBBudgeter
from onlinekit.protocols import get_protocol, replay_log
from onlinekit.streams import ArraySource, open_source

P = get_protocol("auction")
COLS = {"value": "value", "competing_bid": "competing_bid"}
PERIOD_COLS = {"value": "value", "competing_bid": "competing_bid", "channel": "channel", "period": "period"}


class Truthful:
    """Bids its value and never learns."""

    protocol = "auction"

    def __init__(self, auction="second"):
        self.auction = auction

    def act(self, obs):
        return obs["value"]

    def update(self, obs, action, feedback):
        pass


HAND = {"value": np.array([0.5, 0.2, 0.6, 0.9]), "competing_bid": np.array([0.3, 0.4, 0.6, 0.1])}


@pytest.mark.parametrize("fmt,spend", [("second", 0.3 + 0.1), ("first", 0.5 + 0.9)])
def test_payment_rules_on_a_hand_computed_log(fmt, spend):
    # wins: rows 0 and 3 (row 2 is a tie: a bid equal to the competing bid loses)
    s = replay_log(Truthful(fmt), ArraySource(columns=HAND), COLS).summary
    assert (s["wins"], s["auctions"]) == (2, 4)
    assert s["value"] == pytest.approx(1.4) and s["spend"] == pytest.approx(spend)
    assert s["roi"] == pytest.approx(1.4 / spend)


def test_cost_column_replaces_the_price_of_a_win():
    cols = dict(HAND, cost=np.array([0.35, 0.0, 0.0, 0.2]))
    s = replay_log(Truthful(), ArraySource(columns=cols), dict(COLS, cost="cost")).summary
    assert s["spend"] == pytest.approx(0.55) and s["value"] == pytest.approx(1.4)


def brute_force(learner, values, competing, *, pay_own_bid=False):
    """Per-row loop: act, settle under the learner's format, update."""
    value = spend = wins = 0.0
    for v, d in zip(values.tolist(), competing.tolist(), strict=True):
        obs = {"value": v}
        bid = learner.act(obs)
        won = bid > d
        price = bid if (learner.auction == "first" or pay_own_bid) else d
        cost = price if won else 0.0
        learner.update(obs, bid, {"won": won, "cost": cost})
        value += v if won else 0.0
        spend += cost
        wins += won
    return value, spend, wins


def _market(n, seed):
    rng = np.random.default_rng(seed)
    return rng.random(n), 0.8 * rng.random((n, 3)).max(axis=1)


@pytest.mark.parametrize("params", [{"budget_rate": 0.05, "lr": 0.01},
                                    {"budget_rate": 0.1, "target_roi": 1.2, "auction": "first", "total_budget": 50.0}])
def test_dual_pacing_equals_the_brute_force_loop(params):
    v, d = _market(4000, 1)
    fast, slow = DualPacingBidder(**params), DualPacingBidder(**params)
    s = replay_log(fast, ArraySource(columns={"value": v, "competing_bid": d}), COLS, chunk_size=333).summary
    value, spend, wins = brute_force(slow, v, d)
    assert (s["value"], s["spend"], s["wins"]) == (pytest.approx(value, rel=1e-12), pytest.approx(spend, rel=1e-12),
                                                   wins)
    assert (fast.lambda_, fast.mu_) == (slow.lambda_, slow.mu_)
    rho, gamma, n = params["budget_rate"], params.get("target_roi", 0.0), len(v)
    assert s["budget_violation"] == pytest.approx(max(0.0, spend - rho * n) / n)
    assert s["roi_violation"] == pytest.approx(max(0.0, gamma * spend - value) / n)


def test_sabotage_paying_the_own_bid_under_second_price_is_caught():
    v, d = _market(2000, 2)
    s = replay_log(DualPacingBidder(lr=0.01), ArraySource(columns={"value": v, "competing_bid": d}), COLS).summary
    _, spend, _ = brute_force(DualPacingBidder(lr=0.01), v, d, pay_own_bid=True)
    assert spend != pytest.approx(s["spend"], rel=1e-6)
    s_hand = replay_log(Truthful(), ArraySource(columns=HAND), COLS).summary
    _, bad_spend, _ = brute_force(Truthful(), HAND["value"], HAND["competing_bid"], pay_own_bid=True)
    assert bad_spend != pytest.approx(s_hand["spend"])


def _pacing_period(v, d, budget, fmt):
    """A channel's period by dual pacing, written from the formulas (no kernel)."""
    lam, mu, left = 1.0, 1.0, budget
    rate = budget / len(v)
    value = spend = 0.0
    for vi, di in zip(v, d, strict=True):
        bid = min(vi * (1.0 + lam) / max(mu, 1e-12), left)
        won = bid > di
        cost = (di if fmt == "second" else bid) if won else 0.0
        lam = min(max(lam - 0.05 * (vi * won), 0.0), 10.0)
        mu = min(max(mu - 0.05 * (rate - cost), 0.0), 10.0)
        left = max(left - cost, 0.0)
        value += vi * won
        spend += cost
    return value, spend


def brute_force_periods(learner, cols):
    value = spend = 0.0
    unit_spend = 0.0
    periods = []
    for p in cols["period"].tolist():
        if not periods or periods[-1] != p:
            periods.append(p)
    for p in periods:
        rows = cols["period"] == p
        budgets = learner.act(None)
        conv, sp = np.zeros(learner.n_channels), np.zeros(learner.n_channels)
        for j in range(learner.n_channels):
            sel = rows & (cols["channel"] == j)
            n = int(sel.sum())
            if n:
                a, b = _pacing_period(cols["value"][sel], cols["competing_bid"][sel], budgets[j] * n, "second")
                conv[j], sp[j] = a / n, b / n
                value, spend = value + a, spend + b
        learner.update(None, budgets, {"conversion": conv, "spend": sp})
        unit_spend += sp.sum()
    return value, spend, len(periods), unit_spend


def _columns(src, n):
    chunk = next(src.chunks(chunk_size=n))
    return {k: np.asarray(v) for k, v in chunk.columns.items()}


def test_sgd_ucb_periods_equal_the_brute_force_loop():
    src = open_source("synthetic:auction-log?n=3000&rounds_per_period=25&seed=3")
    params = {"n_channels": 3, "total_budget": 0.3, "target_roi": 1.0, "lr": 1.0, "ucb_scale": 0.02}
    fast, slow = SGDUCBBudgeter(**params), SGDUCBBudgeter(**params)
    s = replay_log(fast, src, PERIOD_COLS, chunk_size=101).summary  # periods span chunks
    value, spend, T, unit_spend = brute_force_periods(slow, _columns(src, 3000))
    assert s["periods"] == T == 40 and s["auctions"] == 3000
    assert s["value"] == pytest.approx(value, rel=1e-12) and s["spend"] == pytest.approx(spend, rel=1e-12)
    np.testing.assert_array_equal(fast.counts_, slow.counts_)
    assert (fast.lambda_, fast.mu_) == (slow.lambda_, slow.mu_)
    assert s["budget_violation"] == pytest.approx(max(0.0, unit_spend - 0.3 * T) / T)
    assert s["budget_violation"] == pytest.approx(slow.budget_violation)
    assert s["roi_violation"] == pytest.approx(slow.roi_violation)


def test_period_budgeter_needs_a_period_column_and_infers_channels():
    src = open_source("synthetic:auction-log?n=600&rounds_per_period=10&n_channels=4&n_competitors=2&seed=0")
    cols = P.resolve_columns({}, src.column_names())
    assert cols == PERIOD_COLS
    assert P.infer_params(SGDUCBBudgeter, cols, src) == {"n_channels": 4}
    assert P.infer_params(DualPacingBidder, cols, src) == {}
    with pytest.raises(ValueError, match="--period COL"):
        replay_log(SGDUCBBudgeter(n_channels=4), src, {k: cols[k] for k in ("value", "competing_bid", "channel")})


@pytest.mark.parametrize("make,cols", [(lambda: DualPacingBidder(budget_rate=0.05, lr=0.02), COLS),
                                       (lambda: SGDUCBBudgeter(n_channels=3, ucb_scale=0.02), PERIOD_COLS)])
def test_resume_equals_an_uninterrupted_run(tmp_path, make, cols):
    spec = "synthetic:auction-log?n=6000&rounds_per_period=30&seed=5"
    full = make()
    want = replay_log(full, open_source(spec), cols, chunk_size=700, record_every=500)
    ck = tmp_path / "ck.bin"
    replay_log(make(), open_source(spec), cols, chunk_size=700, record_every=500, checkpoint=ck,
               checkpoint_every=1000, max_events=2800)
    again = make()
    got = replay_log(again, open_source(spec), cols, chunk_size=700, record_every=500, checkpoint=ck,
                     checkpoint_every=1000, resume=True)
    assert got.resumed_from > 0
    drop = {"events_per_s"}
    assert {k: v for k, v in got.summary.items() if k not in drop} == \
        {k: v for k, v in want.summary.items() if k not in drop}
    assert got.series == want.series
    assert again.state_dict().keys() == full.state_dict().keys()
    assert repr(again.lambda_) == repr(full.lambda_)


def test_generated_log_written_to_csv_replays_the_same(tmp_path):
    spec = "synthetic:auction-log?n=2400&rounds_per_period=40&seed=9"
    src = open_source(spec)
    data = _columns(src, 2400)
    f = tmp_path / "auctions.csv"
    with open(f, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(list(data))
        for row in zip(*(data[c].tolist() for c in data), strict=True):
            w.writerow([repr(x) for x in row])
    a = replay_log(SGDUCBBudgeter(n_channels=3), open_source(spec), PERIOD_COLS).summary
    b = replay_log(SGDUCBBudgeter(n_channels=3), open_source(str(f)), PERIOD_COLS).summary
    a.pop("events_per_s"), b.pop("events_per_s")
    assert a == b


def test_generator_rows_follow_the_market_model():
    # channel 0 has 2 competitors bidding 0.8 * U[0, 1]: E[competing bid] = 0.8 * 2 / 3
    n = 60_000
    src = open_source(f"synthetic:auction-log?n={n}&seed=1")
    cols = _columns(src, n)
    assert np.array_equal(cols["channel"][:6], [0, 1, 2, 0, 1, 2])
    d0 = cols["competing_bid"][cols["channel"] == 0]
    se = d0.std() / math.sqrt(len(d0))
    assert abs(d0.mean() - 0.8 * 2 / 3) < 4 * se
    d2 = cols["competing_bid"][cols["channel"] == 2]  # 6 competitors
    assert abs(d2.mean() - 0.8 * 6 / 7) < 4 * d2.std() / math.sqrt(len(d2))
    again = next(src.chunks(start=12_345, chunk_size=10))
    np.testing.assert_array_equal(again.columns["value"], cols["value"][12_345:12_355])


@pytest.mark.parametrize("col,value,msg", [("value", -0.1, "expected a number >= 0.0"),
                                           ("channel", 3.0, "expected a channel in 0 .. 2"),
                                           ("competing_bid", math.nan, "expected a number >= 0.0")])
def test_bad_rows_are_named(col, value, msg):
    src = open_source("synthetic:auction-log?n=300&rounds_per_period=10&seed=0")
    cols = _columns(src, 300)
    cols[col][42] = value
    learner = SGDUCBBudgeter(n_channels=3)
    with pytest.raises(InvalidEvent, match="row 42") as err:
        replay_log(learner, ArraySource(columns=cols), PERIOD_COLS)
    assert msg in str(err.value)
    assert learner.t_ == 0

"""The logged-bandit protocol: estimators against a per-row reference, a closed form, OBP and OBD."""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from onlinekit.base import InvalidEvent
from onlinekit.cascade import CascadeKLUCB, CascadeUCB1
from onlinekit.protocols import get_protocol, replay_log
from onlinekit.streams import ArraySource

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import logged_bandit_reference as ref  # noqa: E402

P = get_protocol("logged-bandit")
COLS = {"item": "item_id", "position": "position", "reward": "click", "propensity": "propensity_score"}
KEYS = ("replay_value", "replay_value_stderr", "ips_value", "ips_value_stderr", "snips_value",
        "snips_value_stderr", "dr_value", "dr_value_stderr", "logged_value")


def _log(n, mu, q, seed):
    """Rows: slot uniform on 1..K, item ~ mu[:, slot], click ~ Bernoulli(q[item, slot])."""
    rng = np.random.default_rng(seed)
    L, K = mu.shape
    slot = rng.integers(0, K, n)
    cdf = np.cumsum(mu, axis=0)
    item = (rng.random(n)[:, None] > cdf[:, slot].T).sum(axis=1)
    click = (rng.random(n) < q[item, slot]).astype(float)
    return {"item_id": item.astype(float), "position": slot + 1.0, "click": click,
            "propensity_score": mu[item, slot]}


class FixedList:
    """A list policy that never changes (its value has a closed form)."""

    protocol = "logged-bandit"

    def __init__(self, items, n_items):
        self.items, self.n_items, self.updates = list(items), n_items, 0

    def act(self, obs=None):
        return list(self.items)

    def update(self, obs, action, feedback):
        self.updates += 1


@pytest.mark.parametrize("cls", [CascadeUCB1, CascadeKLUCB])
def test_matches_slow_per_row_reference(cls):
    rng = np.random.default_rng(1)
    L, K = 6, 3
    mu = rng.dirichlet(np.ones(L), size=K).T  # non-uniform logging, per slot
    q = rng.uniform(0.05, 0.6, (L, K))
    cols = _log(3000, mu, q, seed=2)
    fast, slow = cls(n_items=L, m=K), cls(n_items=L, m=K)
    rep = replay_log(fast, ArraySource(columns=cols), COLS, chunk_size=97)
    want = ref.replay(slow, cols["item_id"], cols["position"], cols["click"], cols["propensity_score"])
    assert rep.summary["accepted"] == want["accepted"] > 100
    for k in KEYS:
        assert rep.summary[k] == pytest.approx(want[k], rel=1e-9, abs=1e-12), k
    np.testing.assert_array_equal(fast.n_obs_, slow.n_obs_)
    np.testing.assert_array_equal(fast.n_click_, slow.n_click_)


def _closed_form_run(uniform, props_override=None, n=120_000):
    rng = np.random.default_rng(5)
    L, K = 6, 3
    mu = np.full((L, K), 1.0 / L) if uniform else rng.dirichlet(np.full(L, 2.0), size=K).T
    q = rng.uniform(0.05, 0.5, (L, K))
    cols = _log(n, mu, q, seed=6)
    if props_override is not None:
        cols["propensity_score"] = np.full(n, props_override)
    policy = [4, 1, 3]
    truth = float(np.mean([q[policy[k], k] for k in range(K)]))  # slots uniform in the log
    rep = replay_log(FixedList(policy, L), ArraySource(columns=cols), COLS)
    return rep.summary, truth


def _covers(s, key, truth):
    return abs(s[key] - truth) <= 4.0 * s[key + "_stderr"]


def test_ips_snips_dr_unbiased_on_a_non_uniform_log():
    s, truth = _closed_form_run(uniform=False)
    for key in ("ips_value", "snips_value", "dr_value"):
        assert _covers(s, key, truth), (key, s[key], truth)
        assert s[key + "_stderr"] < 0.01


def test_replay_unbiased_on_a_uniform_log():
    s, truth = _closed_form_run(uniform=True)
    assert _covers(s, "replay_value", truth), (s["replay_value"], truth)
    assert s["accepted"] == pytest.approx(120_000 / 6, rel=0.03)


def test_sabotage_dropping_the_propensity_weighting_fails():
    # propensity 1 for every row = no importance weighting: the closed-form check must fail
    s, truth = _closed_form_run(uniform=True, props_override=1.0)
    assert not _covers(s, "ips_value", truth)
    assert not _covers(s, "dr_value", truth)


def test_resume_equals_an_uninterrupted_run(tmp_path):
    rng = np.random.default_rng(3)
    cols = _log(5000, np.full((8, 3), 1 / 8), rng.uniform(0.1, 0.5, (8, 3)), seed=4)
    full = CascadeKLUCB(n_items=8, m=3)
    want = replay_log(full, ArraySource(columns=cols), COLS, chunk_size=300, record_every=500)
    ck = tmp_path / "ck.bin"
    part = CascadeKLUCB(n_items=8, m=3)
    replay_log(part, ArraySource(columns=cols), COLS, chunk_size=300, record_every=500, checkpoint=ck,
               checkpoint_every=600, max_events=2400)
    again = CascadeKLUCB(n_items=8, m=3)
    got = replay_log(again, ArraySource(columns=cols), COLS, chunk_size=300, record_every=500, checkpoint=ck,
                     checkpoint_every=600, resume=True)
    assert got.resumed_from == 2400
    for k in KEYS:
        assert got.summary[k] == want.summary[k] or (math.isnan(got.summary[k]) and math.isnan(want.summary[k]))
    assert got.series == want.series
    np.testing.assert_array_equal(again.n_obs_, full.n_obs_)


@pytest.mark.parametrize("col,value,msg", [
    ("position", 0.0, "expected a whole number >= 1"),
    ("item_id", 8.0, "expected an item in 0 .. 7"),
    ("item_id", 1.5, "expected an item in 0 .. 7"),
    ("click", 0.5, "expected 0 or 1"),
    ("propensity_score", 0.0, "expected a number in (0.0, 1.0]"),
])
def test_bad_rows_are_named_before_the_learner_sees_them(col, value, msg):
    cols = _log(50, np.full((8, 2), 1 / 8), np.full((8, 2), 0.3), seed=0)
    cols[col] = cols[col].copy()
    cols[col][17] = value
    learner = CascadeUCB1(n_items=8, m=2)
    with pytest.raises(InvalidEvent, match="row 17") as err:
        replay_log(learner, ArraySource(columns=cols), COLS)
    assert msg in str(err.value) and repr(col) in str(err.value)
    assert learner.t_ == 0  # the chunk was refused whole


def test_columns_default_to_the_obd_names_and_params_are_inferred():
    cols = _log(400, np.full((7, 3), 1 / 7), np.full((7, 3), 0.3), seed=0)
    src = ArraySource(columns=cols)
    resolved = P.resolve_columns({}, list(cols))
    assert resolved == COLS
    assert P.infer_params(CascadeUCB1, resolved, src) == {"n_items": int(cols["item_id"].max()) + 1, "m": 3}
    with pytest.raises(ValueError, match="--propensity"):
        P.resolve_columns({}, ["item_id", "position", "click"])


def _obd_file(data_dir):
    f = data_dir / "obd" / "random" / "all" / "all.csv"
    if not f.exists():
        pytest.skip(f"Open Bandit Dataset sample not present ({f}); get it with: onlinekit data fetch obd")
    return f


def test_real_obd_sample_matches_the_reference(data_dir):
    from onlinekit.streams.open import open_source

    f = _obd_file(data_dir)
    with open(f, newline="") as fh:
        rows = list(csv.DictReader(fh))
    items = [int(r["item_id"]) for r in rows]
    pos = [int(r["position"]) for r in rows]
    clicks = [float(r["click"]) for r in rows]
    props = [float(r["propensity_score"]) for r in rows]
    src = open_source(str(f))
    cols = P.resolve_columns({}, src.column_names())
    params = P.infer_params(CascadeKLUCB, cols, src)
    assert params == {"n_items": max(items) + 1, "m": max(pos)}
    rep = replay_log(CascadeKLUCB(**params), src, cols)
    want = ref.replay(CascadeKLUCB(**params), items, pos, clicks, props)
    assert rep.n_events == len(rows)
    assert rep.summary["accepted"] == want["accepted"] > 0
    for k in KEYS:
        a, b = rep.summary[k], want[k]
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-12), k
    assert rep.summary["logged_value"] == sum(clicks) / len(clicks)


def test_ips_snips_dr_agree_with_open_bandit_pipeline():
    obp_ope = pytest.importorskip("obp.ope")
    rng = np.random.default_rng(7)
    L, K, n = 5, 3, 2000
    mu = rng.dirichlet(np.full(L, 2.0), size=K).T
    cols = _log(n, mu, rng.uniform(0.1, 0.6, (L, K)), seed=8)
    # the policy's per-row choices and the reward model, recorded by a slow loop
    pol = CascadeUCB1(n_items=L, m=K)
    rep = replay_log(CascadeUCB1(n_items=L, m=K), ArraySource(columns=cols), COLS)
    action_dist = np.zeros((n, L, K))
    qhat = np.zeros((n, L, K))
    shown, clicks, total = np.zeros((L, K)), np.zeros((L, K)), 0.0
    for i in range(n):
        a, k, r = int(cols["item_id"][i]), int(cols["position"][i]) - 1, cols["click"][i]
        lst = pol.act((0, 0))
        for kk in range(K):
            action_dist[i, lst[kk], kk] = 1.0
        g = total / i if i else 0.0
        qhat[i] = (clicks + g) / (shown + 1.0)
        shown[a, k] += 1
        clicks[a, k] += r
        total += r
        if lst[k] == a:
            pol.update((0, 0), [a], (0 if r == 1.0 else None, (0, 0)))
    fb = {"reward": cols["click"], "action": cols["item_id"].astype(int), "position": cols["position"].astype(int) - 1,
          "pscore": cols["propensity_score"], "action_dist": action_dist}
    ips = obp_ope.InverseProbabilityWeighting().estimate_policy_value(**fb)
    snips = obp_ope.SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(**fb)
    dr = obp_ope.DoublyRobust().estimate_policy_value(**fb, estimated_rewards_by_reg_model=qhat)
    assert rep.summary["ips_value"] == pytest.approx(ips, rel=1e-9)
    assert rep.summary["snips_value"] == pytest.approx(snips, rel=1e-9)
    assert rep.summary["dr_value"] == pytest.approx(dr, rel=1e-9)

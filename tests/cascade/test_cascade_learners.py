"""CascadingVI, AdaptVI, CascadingBPI and the cascading-bandit baselines."""

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from onlinekit.base import InvalidEvent, load_state, save_state
from onlinekit.cascade import AdaptVI, CascadeKLUCB, CascadeUCB1, CascadingBPI, CascadingVI
from onlinekit.cascade import _kernels as K
from onlinekit.cascade.simulate import policy_value, run_episodes
from onlinekit.streams.cascade_env import CascadingBanditEnv, random_cascading_mdp

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import cascade_reference as ref  # noqa: E402


def _random_counts(rng, S, N):
    n_q = rng.integers(0, 40, size=(S, N)).astype(float)
    n_q[rng.random((S, N)) < 0.2] = 0.0
    n_click = np.floor(n_q * rng.random((S, N)))
    P_cnt = rng.integers(0, 6, size=(S, N + 1, S)).astype(float)
    P_cnt[rng.random((S, N + 1)) < 0.2] = 0.0
    return n_q, n_click, P_cnt.sum(axis=2), P_cnt


@pytest.mark.parametrize("bonus", ["bernstein", "hoeffding"])
@pytest.mark.parametrize("planner", [0, 1])
def test_cvi_plan_kernel_matches_reference(bonus, planner):
    rng = np.random.default_rng(1 + planner)
    S, N, H, m = 3, 4, 3, 2
    for _ in range(5):
        r = rng.random((S, N))
        n_q, n_click, n_p, P_cnt = _random_counts(rng, S, N)
        L, scale = 3.0, float(rng.uniform(0.05, 1.0))
        V_up, V_lo = np.zeros((H + 1, S)), np.zeros((H + 1, S))
        lists = np.full((H, S, m), -1, dtype=np.int64)
        lengths = np.zeros((H, S), dtype=np.int64)
        K.cvi_plan(r, n_q, n_click, n_p, P_cnt, L, scale, 0 if bonus == "bernstein" else 1, planner,
                   1e-9 * H, V_up, V_lo, lists, lengths)
        R_up, R_lo, R_lists = ref.cvi_plan(r, n_q, n_click, n_p, P_cnt, L, scale, bonus, H, m)
        np.testing.assert_allclose(V_up, R_up, atol=1e-10)
        np.testing.assert_allclose(V_lo, R_lo, atol=1e-10)
        for (h, s), A in R_lists.items():
            assert lists[h, s, : lengths[h, s]].tolist() == A


@pytest.mark.parametrize("bonus", ["bernstein", "hoeffding"])
def test_adapt_plan_kernel_matches_reference(bonus):
    rng = np.random.default_rng(4)
    S, A, H = 3, 12, 3
    n_sa = rng.integers(0, 20, size=(S, A)).astype(float)
    n_sa[rng.random((S, A)) < 0.3] = 0.0
    r_sum = n_sa * rng.random((S, A))
    r_sq = r_sum * rng.random((S, A))
    P_cnt = rng.integers(0, 5, size=(S, A, S)).astype(float) * (n_sa > 0)[:, :, None]
    n_tr = P_cnt.sum(axis=2)
    V = np.zeros((H + 1, S))
    best = np.zeros((H, S), dtype=np.int64)
    K.adapt_plan(n_sa, r_sum, r_sq, n_tr, P_cnt, 2.0, 0.3, 0 if bonus == "bernstein" else 1, 1e-9, V, best)
    V_ref, best_ref = ref.adapt_plan(n_sa, r_sum, r_sq, n_tr, P_cnt, 2.0, 0.3, bonus, H)
    np.testing.assert_allclose(V, V_ref, atol=1e-12)
    np.testing.assert_array_equal(best, best_ref)


def test_klucb_kernel_matches_root_finder():
    rng = np.random.default_rng(0)
    n = rng.integers(0, 200, size=30).astype(float)
    c = np.floor(n * rng.random(30))
    for rhs in (0.5, 3.0, 10.0):
        out = np.empty(30)
        K.klucb_index(n, c, rhs, out)
        np.testing.assert_allclose(out, ref.klucb_index(n, c, rhs), atol=1e-9)


def test_ucb1_index_closed_form():
    agent = CascadeUCB1(3, 2)
    agent.n_obs_[:] = [4.0, 0.0, 9.0]
    agent.n_click_[:] = [1.0, 0.0, 3.0]
    agent.t_ = 6
    idx = agent.indices()
    assert idx[1] == np.inf
    assert idx[0] == pytest.approx(0.25 + math.sqrt(1.5 * math.log(7) / 4))
    assert idx[2] == pytest.approx(1 / 3 + math.sqrt(1.5 * math.log(7) / 9))
    assert agent.act(None) == [1, 0]


def _play(agent, env, n_episodes, seed):
    obs = env.reset(seed)
    actions = []
    for _ in range(n_episodes * env.horizon):
        a = agent.act(obs)
        actions.append(a)
        step = env.step(a)
        agent.update(obs, a, step.feedback)
        obs = step.obs
    return actions


@pytest.mark.parametrize("sizes,episodes", [((4, 6, 3, 3), 1500), ((3, 14, 2, 2), 400)])
def test_cascading_vi_and_oracle_follow_the_same_trajectory(sizes, episodes):
    """Same seed, same lists, same regret (the second case has N > 4 m: BestPerm prunes)."""
    S, N, H, m = sizes
    env = random_cascading_mdp(S, N, H, m, seed=11)
    kw = dict(rewards=env.rewards, bonus_scale=0.1)
    a = CascadingVI(S, N, H, m, **kw)
    b = CascadingVI(S, N, H, m, planner="exhaustive", **kw)
    ra = run_episodes(a, env, episodes, seed=3)
    rb = run_episodes(b, env, episodes, seed=3)
    np.testing.assert_array_equal(ra["regret"], rb["regret"])
    np.testing.assert_array_equal(ra["reward"], rb["reward"])
    np.testing.assert_array_equal(a.policy_, b.policy_)
    np.testing.assert_array_equal(a.V_up_, b.V_up_)
    assert ra["regret"][-episodes // 5:].mean() < ra["regret"][: episodes // 5].mean()


def test_regret_ordering_cascading_vi_below_adapt_vi():
    """Small set-up (S=3, N=5, H=2, m=2: 25 lists per state), 3000 episodes, 3 seeds."""
    tot_cvi = tot_adapt = 0.0
    for seed in range(3):
        env = random_cascading_mdp(3, 5, horizon=2, m=2, seed=seed)
        tot_cvi += run_episodes(CascadingVI(3, 5, 2, 2, rewards=env.rewards), env, 3000, seed=seed)["regret"].sum()
        tot_adapt += run_episodes(AdaptVI(3, 5, 2, 2, rewards=env.rewards), env, 3000, seed=seed)["regret"].sum()
    assert tot_cvi < 0.5 * tot_adapt


def _paper_q_bonus(n, c, L, scale=1.0, variance_aware=True):
    """The paper's attraction bonus, written from its statement (Du et al. 2024, Alg. 2)."""
    q = c / n
    v = q * (1 - q) if variance_aware else 0.25
    return min(1.0, scale * (2 * math.sqrt(v * L / n) + 5 * L / n))


@pytest.mark.parametrize("bonus", ["bernstein", "hoeffding"])
def test_single_state_cascading_vi_is_a_cascade_ucb_with_the_paper_index(bonus):
    """S = H = 1, r = 1: the plan maximises ``1 - prod(1 - q_up)`` over lists, with the index
    ``q_up = min(q_hat + b_q, 1)`` (b_q as stated in the paper; unexamined items 1) at every
    step, and regret is sublinear."""
    halves = []
    for seed in range(3):
        env = CascadingBanditEnv.random(12, 3, seed=seed)
        agent = CascadingVI(1, 12, 1, 3, bonus=bonus)
        obs = env.reset(seed)
        for k in range(600):
            L = math.log(2 * 1 * 13 * 1 * (k + 1) / 0.05)
            idx = [1.0 if n == 0 else min(c / n + _paper_q_bonus(n, c, L, variance_aware=bonus == "bernstein"), 1.0)
                   for n, c in zip(agent.n_q_[0], agent.n_click_[0])]
            items = agent.act(obs)
            # optimistic click probability of the list = the best one (top-3 indices)
            best = 1 - np.prod([1 - v for v in sorted(idx)[-3:]])
            assert 1 - np.prod([1 - idx[a] for a in items]) == pytest.approx(best, abs=1e-12)
            assert agent.V_up_[0, 0] == pytest.approx(best, abs=1e-12)
            step = env.step(items)
            agent.update(obs, items, step.feedback)
            obs = step.obs
        r = run_episodes(CascadingVI(1, 12, 1, 3, bonus=bonus), env, 4000, seed=seed)["regret"]
        halves.append((r[:2000].sum(), r[2000:].sum()))
    assert all(second < first for first, second in halves)  # sublinear


def test_attraction_bonus_matches_the_paper_formula():
    """One state, one item, H = m = 1, r = 1: ``V_up = min(q_hat + b_q, 1)`` exactly."""
    for n, c, L in [(1, 0, 2.0), (10, 3, 3.0), (400, 50, 9.0), (5000, 4000, 12.0), (30, 30, 1.0)]:
        for bonus, aware in ((0, True), (1, False)):
            for scale in (1.0, 0.1):
                V_up, V_lo = np.zeros((2, 1)), np.zeros((2, 1))
                lists, lengths = np.full((1, 1, 1), -1, dtype=np.int64), np.zeros((1, 1), dtype=np.int64)
                K.cvi_plan(np.ones((1, 1)), np.array([[float(n)]]), np.array([[float(c)]]), np.zeros((1, 2)),
                           np.zeros((1, 2, 1)), L, scale, bonus, 0, 1e-9, V_up, V_lo, lists, lengths)
                b = _paper_q_bonus(n, c, L, scale, aware)
                assert V_up[0, 0] == pytest.approx(min(c / n + b, 1.0), abs=1e-12)
                assert V_lo[0, 0] == pytest.approx(max(c / n - b, 0.0), abs=1e-12)


def test_transition_bonus_matches_the_paper_formula():
    """``q_up = 1`` (item never examined), r = 0.7: ``V_up[0, s] = 0.7 + min(p_hat^T V_up[1] + b_pV, 1)``
    with ``b_pV = 2 sqrt(Var L/n) + 2 sqrt(E[(V_up - V_lo)^2] L/n) + 5 F L/n`` (F = 1)."""
    rng = np.random.default_rng(3)
    S, N, H = 3, 1, 2
    for _ in range(10):
        n_q = np.zeros((S, N))
        n_click = np.zeros((S, N))
        P_cnt = rng.integers(0, 30, size=(S, N + 1, S)).astype(float)
        n_p = P_cnt.sum(axis=2)
        r = np.zeros((S, N))
        L, scale = float(rng.uniform(0.5, 4.0)), float(rng.choice([1.0, 0.2]))
        for bonus in (0, 1):  # the transition bonus is the same in the -Bonus ablation
            V_up, V_lo = np.zeros((H + 1, S)), np.zeros((H + 1, S))
            lists, lengths = np.full((H, S, 1), -1, dtype=np.int64), np.zeros((H, S), dtype=np.int64)
            # last step: the unexamined item has q_up = 1, so V_up[1] = r = 0.7 and V_lo[1] = 0
            K.cvi_plan(r + 0.7, n_q, n_click, n_p, P_cnt, L, scale, bonus, 0, 1e-9, V_up, V_lo, lists, lengths)
            v1_up, v1_lo = V_up[1].copy(), V_lo[1].copy()
            assert np.allclose(v1_up, 0.7) and np.allclose(v1_lo, 0.0)
            for s in range(S):
                a = 0 if n_p[s, 0] > 0 else None
                if a is None:
                    continue
                n = n_p[s, 0]
                p = P_cnt[s, 0] / n
                mu = p @ v1_up
                var = p @ (v1_up - mu) ** 2
                gap2 = p @ (v1_up - v1_lo) ** 2
                b = scale * (2 * math.sqrt(var * L / n) + 2 * math.sqrt(gap2 * L / n) + 5 * 1 * L / n)
                assert V_up[0, s] == pytest.approx(0.7 + min(mu + b, 1.0), abs=1e-12)


def test_bandits_find_the_best_items():
    env = CascadingBanditEnv([0.02, 0.3, 0.05, 0.25, 0.1, 0.03], m=2)
    for agent in (CascadeKLUCB(6, 2), CascadeUCB1(6, 2)):
        run_episodes(agent, env, 4000, seed=0)
        assert sorted(agent.act(None)) == [1, 3]


@pytest.mark.parametrize("seed", range(3))
def test_bpi_returns_an_epsilon_optimal_policy(seed):
    env = random_cascading_mdp(2, 3, horizon=2, m=2, seed=seed)
    eps = 0.5
    probe = CascadingBPI(2, 3, 2, 2, epsilon=eps, rewards=env.rewards)
    budget = int(10 * probe.sample_complexity())  # O~ hides log factors (about 10 here)
    bpi = CascadingBPI(2, 3, 2, 2, epsilon=eps, rewards=env.rewards, max_episodes=budget)
    obs = env.reset(seed)
    while not bpi.done_:
        a = bpi.act(obs)
        step = env.step(a)
        bpi.update(obs, a, step.feedback)
        obs = step.obs
    assert bpi.converged_ and bpi.episodes_ < budget
    V = policy_value(env, *bpi.recommend())
    gap = env.optimal_values()[0] - V[0]
    assert np.all(gap <= eps)
    assert np.all(gap <= bpi.V_up_[0] - bpi.V_lo_[0] + 1e-12)  # the bound it stopped on is valid
    frozen = bpi.recommend()
    _play(bpi, env, 20, seed)  # frozen once done
    np.testing.assert_array_equal(bpi.recommend()[0], frozen[0])


def test_bad_input_names_the_field_and_leaves_state():
    agent = CascadingVI(2, 4, 2, 2)
    before = agent.state_dict()
    cases = [
        (([0, 0], (None, (1, 0))), "action"),
        (([4], (None, (1, 0))), "action[0]"),
        (([0, 1, 2], (None, (1, 0))), "action"),
        (([0, 1], ([1, 1], (1, 0))), "feedback.click[1]"),
        (([0, 1], (2, (1, 0))), "feedback.click"),
        (([0, 1], (None, (1, 2))), "feedback.next_obs[1]"),
    ]
    for (action, feedback), field in cases:
        with pytest.raises(InvalidEvent) as exc:
            agent.update((0, 0), action, feedback)
        assert exc.value.field == field
    after = agent.state_dict()
    for k in before:
        if k != "_rng":
            np.testing.assert_array_equal(np.asarray(before[k]), np.asarray(after[k]))
    with pytest.raises(InvalidEvent):
        CascadingVI(2, 4, 2, 2, planner="greedy")
    with pytest.raises(InvalidEvent):
        CascadingVI(2, 4, 2, 2, rewards=np.full((2, 4), 2.0))
    with pytest.raises(InvalidEvent):
        CascadeKLUCB(4, 2).update(None, [0, 1], ([1, 1], None))


def test_checkpoint_mid_run_continues_identically(tmp_path):
    env = random_cascading_mdp(3, 4, horizon=2, m=2, seed=0)
    agent = AdaptVI(3, 4, 2, 2, rewards=env.rewards)
    _play(agent, env, 30, seed=1)
    save_state(agent, tmp_path / "a.npz")
    twin, _ = load_state(tmp_path / "a.npz")
    for _ in range(40):
        obs = (0, 1)
        assert twin.act(obs) == agent.act(obs)
        fb = (0, (1, 2))
        twin.update(obs, agent.act(obs), fb)
        agent.update(obs, agent.act(obs), fb)
    np.testing.assert_array_equal(twin.policy_, agent.policy_)

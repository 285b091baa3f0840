"""Cascade environments: exact optimum vs brute force, policy values, sampling, bad actions."""

import sys
from pathlib import Path

import numpy as np
import pytest

from onlinekit.cascade.simulate import policy_value
from onlinekit.streams.cascade_env import (
    CascadingBanditEnv,
    CascadingMDPEnv,
    movielens_like_mdp,
    n_lists,
    random_cascading_mdp,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import cascade_reference as ref  # noqa: E402


@pytest.mark.parametrize("seed", range(6))
def test_optimal_values_equal_brute_force_backward_induction(seed):
    rng = np.random.default_rng(seed)
    S, N, H, m = int(rng.integers(1, 4)), int(rng.integers(2, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 4))
    env = random_cascading_mdp(S, N, H, m, seed=seed)
    V_ref = ref.optimal_value(env.q, env.rewards, env.P, H, m)
    np.testing.assert_allclose(env.optimal_values(), V_ref, atol=1e-12)
    lists, lengths = env.optimal_policy()
    # the optimal policy attains V* (numpy and numba evaluators, and the slow reference)
    np.testing.assert_allclose(env.policy_values(lists, lengths), V_ref, atol=1e-12)
    np.testing.assert_allclose(policy_value(env, lists, lengths), V_ref, atol=1e-12)
    np.testing.assert_allclose(ref.policy_value(env.q, env.rewards, env.P, lists, lengths), V_ref, atol=1e-12)


def test_policy_value_kernel_on_arbitrary_policies():
    env = movielens_like_mdp(4, 6, horizon=3, m=2, seed=1)
    rng = np.random.default_rng(0)
    lists = np.full((3, 4, 2), -1, dtype=np.int64)
    lengths = rng.integers(1, 3, size=(3, 4))
    for h in range(3):
        for s in range(4):
            lists[h, s, : lengths[h, s]] = rng.permutation(6)[: lengths[h, s]]
    V = policy_value(env, lists, lengths)
    np.testing.assert_allclose(V, ref.policy_value(env.q, env.rewards, env.P, lists, lengths), atol=1e-12)
    assert np.all(V <= env.optimal_values() + 1e-12)


def test_bandit_env_optimum_is_top_m_attractions():
    q = np.array([0.1, 0.5, 0.3, 0.05])
    env = CascadingBanditEnv(q, m=2)
    assert env.optimal_value() == pytest.approx(1 - 0.5 * 0.7)
    lists, lengths = env.optimal_policy()
    assert sorted(lists[0, 0, : lengths[0, 0]].tolist()) == [1, 2]


def test_click_frequencies_follow_the_cascade():
    env = CascadingBanditEnv([0.3, 0.5], m=2)
    env.reset(seed=0)
    n = 20000
    pos = np.array([(-1 if (c := env.step([0, 1]).feedback.click) is None else c) for _ in range(n)])
    p0, p1 = 0.3, 0.7 * 0.5
    for k, p in ((0, p0), (1, p1)):
        freq = (pos == k).mean()
        assert abs(freq - p) < 4 * np.sqrt(p * (1 - p) / n)


def test_transitions_and_episode_boundaries():
    env = random_cascading_mdp(3, 4, horizon=3, m=2, seed=2)
    obs = env.reset(seed=5)
    for t in range(30):
        assert obs[0] == t % 3
        step = env.step([0, 1])
        assert step.info["episode_end"] == (t % 3 == 2)
        assert step.feedback.next_obs == step.obs
        if step.feedback.click is None:
            assert step.reward == 0.0
        else:
            assert step.reward == env.rewards[obs[1], [0, 1][step.feedback.click]]
        obs = step.obs


def test_reset_is_reproducible():
    env = random_cascading_mdp(3, 4, horizon=2, m=2, seed=2)

    def trace(seed):
        obs = env.reset(seed)
        out = [obs]
        for _ in range(50):
            step = env.step([1, 2])
            out.append((step.feedback.click, step.obs))
        return out

    assert trace(3) == trace(3)
    assert trace(3) != trace(4)


@pytest.mark.parametrize("action", [[0, 0], [4], [-1], [0, 1, 2], [], [0.5], [[0]]])
def test_env_rejects_bad_lists(action):
    env = random_cascading_mdp(2, 4, horizon=2, m=2, seed=0)
    env.reset(seed=0)
    with pytest.raises(ValueError):
        env.step(action)


def test_env_rejects_bad_models():
    with pytest.raises(ValueError):
        CascadingMDPEnv(np.full((2, 3), 1.5), np.ones((2, 3)), np.full((2, 4, 2), 0.5), 2, 2)
    with pytest.raises(ValueError):
        CascadingMDPEnv(np.full((2, 3), 0.5), np.ones((2, 3)), np.full((2, 4, 2), 0.4), 2, 2)
    with pytest.raises(ValueError):
        CascadingMDPEnv(np.full((2, 3), 0.5), np.ones((2, 3)), np.full((2, 3, 2), 0.5), 2, 2)


def test_list_counts_of_the_paper():
    assert [n_lists(n, 3) for n in (10, 15, 20, 25)] == [820, 2955, 7240, 14425]


def test_movielens_like_structure():
    env = movielens_like_mdp(20, 25, horizon=3, m=3, seed=0)
    assert env.P.shape == (20, 26, 20)
    np.testing.assert_allclose(env.P.sum(axis=2), 1.0)
    # a click moves to the movie's genre with probability >= stay_on_click
    assert np.all(env.P[:, :25].max(axis=2) >= 0.7)
    assert 0 < env.optimal_value() <= 3


def test_engine_simulate_reports_bandit_pseudo_regret():
    from onlinekit.cascade import CascadeKLUCB
    from onlinekit.engine import simulate

    env = CascadingBanditEnv([0.05, 0.3, 0.1, 0.25], m=2)
    rep = simulate(CascadeKLUCB(4, 2), env, 2000, seed=0)
    assert 0 < rep.summary["regret"] < 0.1 * 2000

"""Run a cascade decision maker against a cascade environment and measure exact regret.

The loop is the ``environment`` protocol's driver
(:func:`onlinekit.protocols.environment.simulate_env`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["run_episodes", "policy_value"]


def policy_value(env, lists, lengths) -> np.ndarray:
    """Exact ``V^pi[h, s]`` (shape ``(H + 1, S)``) of a list policy on ``env``'s model.

    Numba twin of :meth:`onlinekit.streams.cascade_env.CascadingMDPEnv.policy_values`.

    Examples
    --------
    >>> from onlinekit.cascade.simulate import policy_value
    >>> from onlinekit.streams.cascade_env import random_cascading_mdp
    >>> env = random_cascading_mdp(3, 4, horizon=2, m=2, seed=0)
    >>> lists, lengths = env.optimal_policy()
    >>> V = policy_value(env, lists, lengths)
    >>> bool(abs(V[0] @ env.initial - env.optimal_value()) < 1e-12)
    True
    """
    from onlinekit.cascade import _kernels

    return _kernels.policy_value(env.q, env.rewards, env.P, np.ascontiguousarray(lists, dtype=np.int64),
                                 np.ascontiguousarray(lengths, dtype=np.int64))


def run_episodes(agent, env, n_episodes: int, seed: int | None = 0) -> dict:
    """Play ``n_episodes`` episodes; return per-episode pseudo-regret, rewards and wall time.

    The regret of episode ``k`` is ``V*_1(s_1) - V^{pi_k}_1(s_1)`` where ``pi_k`` is the
    agent's plan at the start of the episode (its ``policy_`` / ``lengths_`` attributes) and
    ``s_1`` the realised initial state. For one-step episodes (bandits) it is
    ``info["optimal_reward"] - info["expected_reward"]`` of the list played, so agents without
    a plan work too.

    Returns
    -------
    dict
        ``regret`` (per episode), ``reward`` (realised, per episode), ``seconds`` (wall time
        of the interaction loop, regret bookkeeping included).

    Examples
    --------
    >>> from onlinekit.cascade import CascadeKLUCB
    >>> from onlinekit.cascade.simulate import run_episodes
    >>> from onlinekit.streams.cascade_env import CascadingBanditEnv
    >>> env = CascadingBanditEnv([0.05, 0.3, 0.1, 0.25], m=2)
    >>> out = run_episodes(CascadeKLUCB(4, 2), env, 500, seed=0)
    >>> out["regret"].shape, bool(out["regret"].min() >= 0)
    ((500,), True)
    """
    from onlinekit.protocols.environment import simulate_env

    rep = simulate_env(agent, env, n_episodes, seed, keep_episodes=True)
    return {"regret": rep.episode_regret, "reward": rep.episode_reward, "seconds": rep.elapsed_s}

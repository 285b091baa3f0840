"""Protocol drivers: logged-bandit and auction replay throughput, and the environment driver.

* ``logged-bandit``: an OBD-like uniform log (80 items, 3 slots, propensity 1/80) replayed
  through CascadeKLUCB (the policy learns from the accepted rows) with the replay, IPS,
  SNIPS and DR estimates; peer in the same run: Open Bandit Pipeline's IPS + SNIPS + DR
  (``obp``, optional) on the same rows given the per-row policy choices and reward model
  (building those arrays is not timed), when installed;
* ``auction``: the generated ``synthetic:auction-log`` replayed by the dual-pacing bidder
  (block kernel) and by SGD-UCB (per-period channel budgets);
* ``environment``: CascadingVI episodes/s through :func:`simulate_env` on the cascade
  benchmark's MDP (S = 20, N = 25, H = 3, m = 3), against the bare act/step/update loop
  with the same plan-regret bookkeeping in the same run (the driver's overhead).
"""

from __future__ import annotations

import time

import numpy as np


def _logged_bandit(n: int) -> dict:
    from onlinekit.cascade import CascadeKLUCB
    from onlinekit.protocols import replay_log
    from onlinekit.streams import ArraySource

    rng = np.random.default_rng(0)
    L, K = 80, 3
    item, slot = rng.integers(0, L, n), rng.integers(0, K, n)
    q = rng.uniform(0.0, 0.02, (L, K))
    click = (rng.random(n) < q[item, slot]).astype(float)
    cols = {"item_id": item.astype(float), "position": slot + 1.0, "click": click,
            "propensity_score": np.full(n, 1.0 / L)}
    names = {"item": "item_id", "position": "position", "reward": "click", "propensity": "propensity_score"}
    replay_log(CascadeKLUCB(n_items=L, m=K), ArraySource(columns={k: v[:2000] for k, v in cols.items()}), names)
    t = time.perf_counter()
    rep = replay_log(CascadeKLUCB(n_items=L, m=K), ArraySource(columns=cols), names)
    ours = time.perf_counter() - t
    out = {"logged_bandit_rows": n, "logged_bandit_rows_per_s": n / ours,
           "logged_bandit_accepted": rep.summary["accepted"]}
    try:
        from obp import ope
    except ImportError:
        out["logged_bandit_peer"] = "obp not installed"
        return out
    m = min(n, 100_000)  # OBP takes dense (rows, items, slots) arrays
    dist = np.zeros((m, L, K))
    pol = CascadeKLUCB(n_items=L, m=K)
    lst = pol.act(None)
    for i in range(m):
        dist[i, lst, np.arange(K)] = 1.0
        if lst[slot[i]] == item[i]:
            pol.update((0, 0), [int(item[i])], (0 if click[i] else None, (0, 0)))
            lst = pol.act(None)
    qhat = np.full((m, L, K), click[:m].mean())
    fb = {"reward": click[:m], "action": item[:m], "position": slot[:m], "pscore": cols["propensity_score"][:m],
          "action_dist": dist}
    t = time.perf_counter()
    ope.InverseProbabilityWeighting().estimate_policy_value(**fb)
    ope.SelfNormalizedInverseProbabilityWeighting().estimate_policy_value(**fb)
    ope.DoublyRobust().estimate_policy_value(**fb, estimated_rewards_by_reg_model=qhat)
    peer = time.perf_counter() - t
    out["obp_ips_snips_dr_rows_per_s"] = m / peer
    out["ours_over_obp"] = out["logged_bandit_rows_per_s"] / out["obp_ips_snips_dr_rows_per_s"]
    return out


def _auction(n: int) -> dict:
    from onlinekit.bidding import DualPacingBidder, SGDUCBBudgeter
    from onlinekit.protocols import replay_log
    from onlinekit.streams import open_source

    spec = f"synthetic:auction-log?n={n}&seed=0"
    out = {}
    for name, make, cols in (
            ("dual_pacing", lambda: DualPacingBidder(budget_rate=0.05), {"value": "value", "competing_bid": "competing_bid"}),
            ("sgd_ucb", lambda: SGDUCBBudgeter(n_channels=3, ucb_scale=0.02),
             {"value": "value", "competing_bid": "competing_bid", "channel": "channel", "period": "period"})):
        replay_log(make(), open_source(f"synthetic:auction-log?n=6000&seed=1"), cols)  # compile
        t = time.perf_counter()
        replay_log(make(), open_source(spec), cols)
        out[f"auction_{name}_rows_per_s"] = n / (time.perf_counter() - t)
    return out


def _environment(episodes: int) -> dict:
    from onlinekit.cascade import CascadingVI
    from onlinekit.cascade.simulate import policy_value
    from onlinekit.protocols.environment import simulate_env
    from onlinekit.streams.cascade_env import movielens_like_mdp

    env = movielens_like_mdp(20, 25, 3, 3, seed=0)

    def make():
        return CascadingVI(20, 25, 3, 3, rewards=env.rewards)

    def bare(agent, n):
        V_star = env.optimal_values()[0]
        obs = env.reset(0)
        regret = 0.0
        for _ in range(n):
            V = policy_value(env, agent.policy_, agent.lengths_)
            regret += V_star[obs[1]] - V[0, obs[1]]
            for _ in range(env.horizon):
                a = agent.act(obs)
                step = env.step(a)
                agent.update(obs, a, step.feedback)
                obs = step.obs
        return regret

    simulate_env(make(), env, 3, 0)
    bare(make(), 3)
    best_d = best_b = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        simulate_env(make(), env, episodes, 0)
        best_d = min(best_d, time.perf_counter() - t)
        t = time.perf_counter()
        bare(make(), episodes)
        best_b = min(best_b, time.perf_counter() - t)
    return {"environment_episodes_per_s_driver": episodes / best_d, "environment_episodes_per_s_bare": episodes / best_b,
            "environment_driver_over_bare_time": best_d / best_b}


def run(quick: bool = False) -> dict:
    out = {}
    out.update(_logged_bandit(50_000 if quick else 1_000_000))
    out.update(_auction(30_000 if quick else 600_000))
    out.update(_environment(100 if quick else 1000))
    out["note"] = "2 shared cores; absolute rates are noisy, ratios within one run are comparable"
    return out

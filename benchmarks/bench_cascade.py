"""Cascade family: BestPerm calls/s and CascadingVI episodes/s vs AdaptVI and -Oracle.

* ``best_perm`` at N = 25, m = 3 and N = 1000, m = 10: the kernel called from Python, the
  batched kernel (per state), and the validated public function; the exhaustive planner at
  N = 25, m = 3 for comparison (the -Oracle ablation's cost);
* episodes/s of CascadingVI, CascadingVI-Oracle and AdaptVI on the paper's sizes (S = 20,
  H = 3, m = 3, N in {10, 25}) in the same run, including the environment and the exact
  per-episode regret bookkeeping of :func:`onlinekit.cascade.simulate.run_episodes`.
"""

from __future__ import annotations

import time

import numpy as np


def _per_call(fn, n: int, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best


def run(quick: bool = False) -> dict:
    from onlinekit.cascade import AdaptVI, CascadingVI, best_perm
    from onlinekit.cascade import _kernels as K
    from onlinekit.cascade.bestperm import TIE_TOL
    from onlinekit.cascade.simulate import run_episodes
    from onlinekit.streams.cascade_env import movielens_like_mdp

    rng = np.random.default_rng(0)
    out: dict = {}
    calls = 2_000 if quick else 20_000
    for N, m in ((25, 3), (1000, 10)):
        q, w = rng.random(N) * 0.3, rng.random(N)
        buf = np.full(m, -1, dtype=np.int64)
        K.best_perm_one(q, w, 0.1, m, TIE_TOL, buf)  # compile
        t_kernel = _per_call(lambda q=q, w=w, m=m, buf=buf: K.best_perm_one(q, w, 0.1, m, TIE_TOL, buf), calls)
        t_public = _per_call(lambda q=q, w=w, m=m: best_perm(q, w, 0.1, m), calls // 4)
        S = 1000
        Q, W = rng.random((S, N)) * 0.3, rng.random((S, N))
        vals, lists, lens = np.empty(S), np.full((S, m), -1, dtype=np.int64), np.empty(S, dtype=np.int64)
        wb = np.full(S, 0.1)
        K.best_perm_batch(Q, W, wb, m, TIE_TOL, vals, lists, lens)
        t_batch = _per_call(lambda Q=Q, W=W, wb=wb, m=m, vals=vals, lists=lists, lens=lens:
                            K.best_perm_batch(Q, W, wb, m, TIE_TOL, vals, lists, lens), 5 if quick else 20) / S
        key = f"N{N}_m{m}"
        out[f"best_perm_us_per_call_{key}"] = t_kernel * 1e6
        out[f"best_perm_calls_per_s_{key}"] = 1.0 / t_kernel
        out[f"best_perm_public_us_per_call_{key}"] = t_public * 1e6
        out[f"best_perm_batched_us_per_state_{key}"] = t_batch * 1e6
    q, w = rng.random(25) * 0.3, rng.random(25)
    buf = np.full(3, -1, dtype=np.int64)
    K.exhaustive_one(q, w, 0.1, 3, TIE_TOL, buf)
    t_ex = _per_call(lambda: K.exhaustive_one(q, w, 0.1, 3, TIE_TOL, buf), 200 if quick else 2000)
    out["exhaustive_us_per_call_N25_m3"] = t_ex * 1e6
    out["exhaustive_over_best_perm_N25_m3"] = t_ex / (out["best_perm_us_per_call_N25_m3"] * 1e-6)

    episodes = 200 if quick else 2000
    for N in (10, 25):
        env = movielens_like_mdp(20, N, 3, 3, seed=0)
        args = (20, N, 3, 3)
        rates = {}
        for name, make in (("cascading_vi", lambda: CascadingVI(*args, rewards=env.rewards)),
                           ("cascading_vi_oracle", lambda: CascadingVI(*args, rewards=env.rewards,
                                                                        planner="exhaustive")),
                           ("adapt_vi", lambda: AdaptVI(*args, rewards=env.rewards))):
            run_episodes(make(), env, 3, seed=0)  # compile / warm
            r = run_episodes(make(), env, episodes, seed=0)
            rates[name] = episodes / r["seconds"]
            out[f"episodes_per_s_{name}_N{N}"] = rates[name]
        out[f"speedup_vs_adapt_vi_N{N}"] = rates["cascading_vi"] / rates["adapt_vi"]
        out[f"speedup_vs_oracle_N{N}"] = rates["cascading_vi"] / rates["cascading_vi_oracle"]
    out["note"] = "2 shared cores; absolute times are noisy, ratios within one run are comparable"
    return out

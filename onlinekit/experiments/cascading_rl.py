"""Cascading RL (Du, Srikant and Chen 2024, Figure 1): regret and wall time.

CascadingVI against its two ablations -- CascadingVI-Bonus (variance-unaware Hoeffding
bonuses) and CascadingVI-Oracle (exhaustive search over all lists instead of BestPerm) --
and the AdaptVI baseline (every list an atomic action), on a MovieLens-like cascading MDP
with ``S = 20`` genres, ``H = 3``, ``m = 3`` and ``N in {10, 15, 20, 25}`` items.

The paper's MovieLens preprocessing is not published; the instance is our synthetic
genre-state generator (:func:`onlinekit.streams.cascade_env.movielens_like_mdp`). All methods
of one seed and one ``N`` face the same instance and the same environment random stream, so
CascadingVI and CascadingVI-Oracle must produce identical trajectories (checked).

Run: ``onlinekit experiment cascading-rl [--quick]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Config", "run", "check", "METHODS"]

METHODS = ("CascadingVI", "CascadingVI-Bonus", "CascadingVI-Oracle", "AdaptVI")


@dataclass(frozen=True)
class Config:
    """Paper set-up by default (Du et al. 2024, Section 6).

    Attributes
    ----------
    n_states, horizon, m
        ``S``, ``H`` and the list length.
    n_items
        Values of ``N`` (one panel each).
    n_episodes
        Episodes ``K`` per run (the paper: about 10^5).
    methods
        Subset of :data:`METHODS`.
    instance
        ``"movielens-like"`` or ``"random"`` (:func:`random_cascading_mdp`).
    bonus_scale, delta
        Passed to every learner. ``bonus_scale = 0.1`` is ours (the paper's constants are
        not published): with the learners' default 1.0 (the confidence widths in their
        Notes) every method is still exploring after 2 x 10^4 episodes at ``N = 10``
        (measured: CascadingVI regret 2,740 vs 476 with 0.1; AdaptVI 9,710 vs 7,722).
    n_points
        Points per regret curve.
    n_seeds
        Default number of seeds.

    Notes
    -----
    Cost of the default: per seed about 10^5 episodes x 4 values of N x 4 methods; with the
    Python interaction loop CascadingVI runs at a few thousand episodes/s, AdaptVI at a few
    hundred (N = 25: 14,425 lists per state) and CascadingVI-Oracle at about 20 episodes/s
    at N = 25 (exhaustive search), i.e. hours per seed: use ``--jobs`` or fewer ``n_items``.
    """

    n_states: int = 20
    horizon: int = 3
    m: int = 3
    n_items: tuple = (10, 15, 20, 25)
    n_episodes: int = 100_000
    methods: tuple = METHODS
    instance: str = "movielens-like"
    bonus_scale: float = 0.1
    delta: float = 0.05
    n_points: int = 100
    n_seeds: int = 3

    @classmethod
    def quick(cls) -> Config:
        """A few seconds: ``S = 3``, ``H = 2``, ``m = 2``, ``N = 4``, 400 episodes."""
        return cls(n_states=3, horizon=2, m=2, n_items=(4,), n_episodes=400, n_points=20, n_seeds=2)


def _instance(cfg: Config, n_items: int, seed: int):
    from onlinekit.streams.cascade_env import movielens_like_mdp, random_cascading_mdp

    if cfg.instance == "movielens-like":
        return movielens_like_mdp(cfg.n_states, n_items, cfg.horizon, cfg.m, seed=seed)
    if cfg.instance == "random":
        return random_cascading_mdp(cfg.n_states, n_items, cfg.horizon, cfg.m, seed=seed)
    raise ValueError(f"unknown instance {cfg.instance!r}; use 'movielens-like' or 'random'")


def _agent(method: str, cfg: Config, env):
    from onlinekit.cascade import AdaptVI, CascadingVI

    args = (env.n_states, env.n_items, env.horizon, env.m)
    kw = {"rewards": env.rewards, "bonus_scale": cfg.bonus_scale, "delta": cfg.delta}
    if method == "CascadingVI":
        return CascadingVI(*args, **kw)
    if method == "CascadingVI-Bonus":
        return CascadingVI(*args, bonus="hoeffding", **kw)
    if method == "CascadingVI-Oracle":
        return CascadingVI(*args, planner="exhaustive", **kw)
    if method == "AdaptVI":
        return AdaptVI(*args, **kw)
    raise ValueError(f"unknown method {method!r}; known: {METHODS}")


def run(config: Config, seed: int) -> dict:
    """One seed: every method on every ``N``; rows of cumulative regret and wall time."""
    from onlinekit.cascade.simulate import run_episodes
    from onlinekit.streams.cascade_env import n_lists

    rng = np.random.default_rng(seed)
    rows, curves = [], {}
    K = int(config.n_episodes)
    x = np.unique(np.linspace(1, K, min(config.n_points, K)).astype(int))
    for N in config.n_items:
        inst_seed, env_seed = (int(v) for v in rng.integers(0, 2**31 - 1, size=2))
        env = _instance(config, int(N), inst_seed)
        series = {}
        for method in config.methods:
            agent = _agent(method, config, env)
            out = run_episodes(agent, env, K, seed=env_seed)
            cum = np.cumsum(out["regret"])
            series[method] = cum[x - 1]
            rows.append({
                "method": method,
                "N": f"N={N}",
                "regret": float(cum[-1]),
                "regret_last_10pct": float(out["regret"][-max(1, K // 10):].sum()),
                "seconds": float(out["seconds"]),
                "episodes_per_s": K / max(out["seconds"], 1e-12),
                "n_lists": int(n_lists(int(N), config.m)),
                "optimal_value": env.optimal_value(),
            })
        curves[f"regret_N{N}"] = {"x": x, "series": series, "xlabel": "episode", "ylabel": "cumulative regret"}
    return {"rows": rows, "curves": curves}


def check(config: Config, results: list[dict]) -> list[str]:
    """Claims a reproduction can check (research notes section 2.6).

    * CascadingVI and CascadingVI-Oracle have identical regret on every seed and ``N``;
    * CascadingVI's mean regret is below AdaptVI's for every ``N``.
    """
    failures = []
    regret: dict[tuple[str, str], list[float]] = {}
    for res in results:
        per = {(r["method"], r["N"]): r["regret"] for r in res["rows"]}
        for N in config.n_items:
            key = f"N={N}"
            a, b = per.get(("CascadingVI", key)), per.get(("CascadingVI-Oracle", key))
            if a is not None and b is not None and a != b:
                failures.append(f"{key}: CascadingVI regret {a} != CascadingVI-Oracle regret {b}")
        for k, v in per.items():
            regret.setdefault(k, []).append(v)
    for N in config.n_items:
        key = f"N={N}"
        a, b = regret.get(("CascadingVI", key)), regret.get(("AdaptVI", key))
        if a and b and not np.mean(a) < np.mean(b):
            failures.append(f"{key}: CascadingVI mean regret {np.mean(a):.1f} is not below AdaptVI's {np.mean(b):.1f}")
    return failures

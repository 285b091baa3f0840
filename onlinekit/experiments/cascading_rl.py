"""Cascading RL (Du, Srikant and Chen 2024, Figure 1): regret, wall time and BPI sample complexity.

CascadingVI against its two ablations -- CascadingVI-Bonus (the attraction bonus without its
variance factor) and CascadingVI-Oracle (exhaustive search over all lists instead of
BestPerm) -- and the AdaptVI baseline (every list an atomic action), on a MovieLens-like
cascading MDP with ``S = 20`` genres, ``H = 3``, ``m = 3`` and ``N in {10, 15, 20, 25}``
items; and CascadingBPI's episodes-to-stop against ``epsilon`` and ``delta`` on a small
instance.

The paper's MovieLens preprocessing is not published; the instance is our synthetic
genre-state generator (:func:`onlinekit.streams.cascade_env.movielens_like_mdp`). The ``N``
sweep is nested: one base instance with ``max(n_items)`` items (from ``instance_seed``, the
same for every seed), of which the ``N``-item instance keeps the first ``N`` items, so only
the number of items changes between panels. A run's seed drives the environment's random
stream, shared by all methods of one ``N``: CascadingVI and CascadingVI-Oracle must then
produce identical trajectories. All learners use the same confidence level and the
confidence widths of their docstrings at ``bonus_scale = 1`` (valid bounds).

:func:`compare` states each checkable claim of the paper with our figure, its spread over
seeds and a verdict; :func:`check` fails on the rows whose verdict is ``fail``.

Run: ``onlinekit experiment cascading-rl [--quick]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from onlinekit.experiments.comparison import Claim, failures, mean_spread, paired_order, slope_interval

__all__ = ["Config", "run", "check", "compare", "METHODS"]

METHODS = ("CascadingVI", "CascadingVI-Bonus", "CascadingVI-Oracle", "AdaptVI")

#: One-sided p-value below which a paired ordering across seeds counts as shown.
P_ORDER = 0.05
#: Per-episode time ratio (largest ``N``) that counts as "much higher running time".
TIME_RATIO = 3.0
#: Lists per state (largest ``N``) from which the running-time claims are tested.
MIN_LISTS = 500


@dataclass(frozen=True)
class Config:
    """The paper's sizes (Du et al. 2024, Section 6), at horizons that fit 30 min on 2 cores.

    Attributes
    ----------
    n_states, horizon, m
        ``S``, ``H`` and the list length.
    n_items
        Values of ``N`` (nested instances: the first ``N`` items of one base instance).
    n_episodes
        Episodes ``K`` of CascadingVI and CascadingVI-Bonus (the paper: about 10^5; see Notes).
    adapt_episodes
        Episodes of AdaptVI (``O(H S^2 |lists|)`` planning per episode); its regret is
        compared with CascadingVI's after the same number of episodes.
    oracle_episodes
        Episodes of CascadingVI-Oracle (exhaustive planner); its trajectory is compared with
        the first ``oracle_episodes`` episodes of CascadingVI's.
    methods
        Subset of :data:`METHODS`.
    instance, instance_seed
        ``"movielens-like"`` or ``"random"`` (:func:`random_cascading_mdp`) and its seed.
    bonus_scale, delta
        Passed to every learner; 1.0 gives the valid confidence widths.
    n_points
        Points per regret curve.
    n_seeds
        Default number of seeds.
    bpi_size
        ``(S, N, H, m)`` of the CascadingBPI instance (same generator and seed).
    bpi_epsilons, bpi_delta
        Accuracies swept at confidence ``bpi_delta``.
    bpi_delta_small
        A second confidence, run at ``bpi_epsilons[0]``.
    bpi_max_episodes
        Sample budget of each CascadingBPI run.

    Notes
    -----
    Measured cost of the default (3 seeds, ``onlinekit experiment cascading-rl``, one
    process, on 2 cores shared with other jobs, load average about 13): 22 min wall (an upper
    bound; the job got 24% of a core), 5.4 min of CPU time, 306 MiB peak RSS. Per episode
    (wall, same load): CascadingVI about 1.1 ms at every ``N`` (the Python interaction loop
    dominates), AdaptVI 1.5 ms at ``N = 10`` to 12 ms at ``N = 25`` (14,425 lists per
    state), CascadingVI-Oracle 7.6 to 87 ms. Hence ``K = 30,000`` for the two CascadingVI
    variants (the paper: about 10^5; ``-p n_episodes=100000``, with ``--backend ray`` for
    more seeds), 3,000 for AdaptVI and 300 for the Oracle.
    """

    n_states: int = 20
    horizon: int = 3
    m: int = 3
    n_items: tuple = (10, 15, 20, 25)
    n_episodes: int = 30_000
    adapt_episodes: int = 3_000
    oracle_episodes: int = 300
    methods: tuple = METHODS
    instance: str = "movielens-like"
    instance_seed: int = 0
    bonus_scale: float = 1.0
    delta: float = 0.05
    n_points: int = 60
    n_seeds: int = 3
    bpi_size: tuple = (3, 4, 2, 2)
    bpi_epsilons: tuple = (0.5, 0.35, 0.25)
    bpi_delta: float = 0.1
    bpi_delta_small: float = 0.01
    bpi_max_episodes: int = 200_000

    @classmethod
    def quick(cls) -> Config:
        """A few seconds: ``S = 2``, ``H = 2``, ``m = 2``, ``N in {3, 4}``; BPI on ``(1, 3, 1, 2)``."""
        return cls(n_states=2, horizon=2, m=2, n_items=(3, 4), n_episodes=1000, adapt_episodes=500,
                   oracle_episodes=150, n_points=20, n_seeds=3, bpi_size=(1, 3, 1, 2),
                   bpi_epsilons=(0.7, 0.5, 0.35), bpi_max_episodes=20_000)


def _base_instance(cfg: Config, S: int, N: int, H: int, m: int):
    from onlinekit.streams.cascade_env import movielens_like_mdp, random_cascading_mdp

    if cfg.instance == "movielens-like":
        return movielens_like_mdp(S, N, H, m, seed=cfg.instance_seed)
    if cfg.instance == "random":
        return random_cascading_mdp(S, N, H, m, seed=cfg.instance_seed)
    raise ValueError(f"unknown instance {cfg.instance!r}; use 'movielens-like' or 'random'")


def nested_instance(base, n_items: int):
    """The instance made of ``base``'s first ``n_items`` items (same states, no-click row, start).

    Examples
    --------
    >>> from onlinekit.streams.cascade_env import movielens_like_mdp
    >>> base = movielens_like_mdp(4, 6, 2, 2, seed=0)
    >>> env = nested_instance(base, 3)
    >>> env.q.shape, bool((env.P[:, 3] == base.P[:, 6]).all())
    ((4, 3), True)
    """
    from onlinekit.streams.cascade_env import CascadingMDPEnv

    N0 = base.n_items
    if not 1 <= n_items <= N0:
        raise ValueError(f"n_items must be in [1, {N0}], got {n_items}")
    P = np.concatenate([base.P[:, :n_items], base.P[:, N0:N0 + 1]], axis=1)
    return CascadingMDPEnv(base.q[:, :n_items], base.rewards[:, :n_items], P, base.horizon, base.m,
                           initial=base.initial)


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


def _bpi_agent(cfg: Config, env, epsilon: float, delta: float):
    from onlinekit.cascade import CascadingBPI

    return CascadingBPI(env.n_states, env.n_items, env.horizon, env.m, epsilon=epsilon, rewards=env.rewards,
                        delta=delta, bonus_scale=cfg.bonus_scale, max_episodes=int(cfg.bpi_max_episodes))


def _coverage(agent, env) -> tuple[float, float]:
    """``min(V_up - V*)`` and ``min(V^pi - V_lo)`` over steps and states (``nan``: no ``V_lo``)."""
    from onlinekit.cascade.simulate import policy_value

    H = env.horizon
    up = float(np.min(agent.V_up_[:H] - env.optimal_values()[:H]))
    if not hasattr(agent, "V_lo_"):
        return up, float("nan")
    V_pi = policy_value(env, agent.policy_, agent.lengths_)
    return up, float(np.min(V_pi[:H] - agent.V_lo_[:H]))


def _episodes_for(method: str, cfg: Config) -> int:
    if method == "AdaptVI":
        return min(int(cfg.adapt_episodes), int(cfg.n_episodes))
    if method == "CascadingVI-Oracle":
        return min(int(cfg.oracle_episodes), int(cfg.n_episodes))
    return int(cfg.n_episodes)


def _run_bpi(cfg: Config, env, eps: float, delta: float, seed: int) -> dict:
    from onlinekit.cascade.simulate import policy_value

    bpi = _bpi_agent(cfg, env, eps, delta)
    obs = env.reset(seed)
    while not bpi.done_:
        items = bpi.act(obs)
        step = env.step(items)
        bpi.update(obs, items, step.feedback)
        obs = step.obs
    V = policy_value(env, *bpi.recommend())
    up, lo = _coverage(bpi, env)
    return {
        "method": "CascadingBPI",
        "N": f"eps={eps:g},delta={delta:g}",
        "episodes": int(bpi.episodes_),
        "converged": float(bpi.converged_),
        "true_gap": float(np.max(env.optimal_values()[0] - V[0])),
        "stop_gap": float(bpi.gap_),
        "bound_order": float(bpi.sample_complexity()),
        "optimism_min": up,
        "pessimism_min": lo,
    }


def run(config: Config, seed: int) -> dict:
    """One seed: every method on every ``N``, then the CascadingBPI sweep.

    Returns ``rows`` (one per method and ``N``, and per BPI setting), ``curves`` (cumulative
    regret), ``cum`` (cumulative regret of CascadingVI and -Bonus at log-spaced episodes in
    ``[K/10, K]``, for the slope), ``at_adapt`` (cumulative regret after
    ``adapt_episodes``) and ``oracle`` (first episode where CascadingVI-Oracle's regret or
    reward differs from CascadingVI's, -1 when none).
    """
    from onlinekit.cascade.simulate import run_episodes
    from onlinekit.streams.cascade_env import n_lists

    rng = np.random.default_rng(seed)
    K = int(config.n_episodes)
    x = np.unique(np.linspace(1, K, min(config.n_points, K)).astype(int))
    xs = np.unique(np.geomspace(max(1, K // 10), K, 12).astype(int))
    Ka = min(int(config.adapt_episodes), K)
    xa = np.unique(np.linspace(1, Ka, min(config.n_points, Ka)).astype(int))
    base = _base_instance(config, config.n_states, max(config.n_items), config.horizon, config.m)
    rows, curves, cum, at_adapt, oracle = [], {}, {}, {}, {}
    for N in config.n_items:
        env_seed = int(rng.integers(0, 2**31 - 1))
        env = nested_instance(base, int(N))
        key = f"N={N}"
        series, early, outs = {}, {}, {}
        for method in config.methods:
            agent = _agent(method, config, env)
            k = _episodes_for(method, config)
            out = run_episodes(agent, env, k, seed=env_seed)
            outs[method] = out
            c = np.cumsum(out["regret"])
            up, lo = _coverage(agent, env)
            rows.append({
                "method": method,
                "N": key,
                "episodes": k,
                "regret": float(c[-1]),
                "regret_per_episode_last_10pct": float(out["regret"][-max(1, k // 10):].mean()),
                "ms_per_episode": 1e3 * float(out["seconds"]) / k,
                "n_lists": int(n_lists(int(N), config.m)),
                "optimal_value": env.optimal_value(),
                "optimism_min": up,
                "pessimism_min": lo,
            })
            if k == K:
                series[method] = c[x - 1]
                cum[f"{method}|{key}"] = c[xs - 1]
            if k >= Ka:
                early[method] = c[xa - 1]
                at_adapt[f"{method}|{key}"] = float(c[Ka - 1])
        if "CascadingVI" in outs and "CascadingVI-Oracle" in outs:
            a, b = outs["CascadingVI"], outs["CascadingVI-Oracle"]
            ko = len(b["regret"])
            bad = np.flatnonzero((a["regret"][:ko] != b["regret"]) | (a["reward"][:ko] != b["reward"]))
            oracle[key] = int(bad[0]) if len(bad) else -1
        if series:
            curves[f"regret_N{N}"] = {"x": x, "series": series, "xlabel": "episode", "ylabel": "cumulative regret"}
        if "AdaptVI" in early:
            curves[f"regret_first_{Ka}_N{N}"] = {"x": xa, "series": early, "xlabel": "episode",
                                                "ylabel": "cumulative regret"}
    S, N, H, m = (int(v) for v in config.bpi_size)
    bpi_env = _base_instance(config, S, N, H, m)
    settings = [(float(e), float(config.bpi_delta)) for e in config.bpi_epsilons]
    settings.append((float(config.bpi_epsilons[0]), float(config.bpi_delta_small)))
    for eps, delta in settings:
        rows.append(_run_bpi(config, bpi_env, eps, delta, int(rng.integers(0, 2**31 - 1))))
    return {"rows": rows, "curves": curves, "cum": {"x": xs, "series": cum}, "at_adapt": at_adapt,
            "oracle": oracle}


# ---------------------------------------------------------------------------------------------
# Paper vs ours
# ---------------------------------------------------------------------------------------------


def _rows(results, method: str, key: str) -> list[dict]:
    return [r for res in results for r in res["rows"] if r["method"] == method and r["N"] == key]


def _order_claim(claim, source, paper, a, b, name_a, name_b, note_differs) -> Claim:
    d, p = paired_order(a, b)
    ours = f"{name_a} {mean_spread(a, 1)} vs {name_b} {mean_spread(b, 1)}; paired p = {p:.3g}"
    tol = f"one-sided paired t-test p < {P_ORDER}; fail if the reverse is significant (p > {1 - P_ORDER})"
    if p < P_ORDER:
        verdict, note = "pass", ""
    elif p > 1 - P_ORDER:
        verdict, note = "fail", f"{name_a} significantly worse than {name_b}"
    else:
        verdict, note = "differs", note_differs
    return Claim(claim, source, paper, ours, tol, verdict, note)


def _bpi_settings(config: Config):
    main = [(float(e), float(config.bpi_delta)) for e in config.bpi_epsilons]
    return main, (float(config.bpi_epsilons[0]), float(config.bpi_delta_small))


def compare(config: Config, results: list[dict]) -> list[Claim]:
    """Paper claims (Du et al. 2024, Fig. 1, Thm. 1, Sec. 5) against our runs, one row each."""
    rows: list[Claim] = []
    keys = [f"N={N}" for N in config.n_items]
    have = set(config.methods)
    n = len(results)
    # 1. -Oracle: same lists as BestPerm, higher running time
    if {"CascadingVI", "CascadingVI-Oracle"} <= have:
        firsts = {k: [res["oracle"].get(k, -2) for res in results] for k in keys}
        bad = {k: v for k, v in firsts.items() if any(e != -1 for e in v)}
        ko = min(int(config.oracle_episodes), int(config.n_episodes))
        rows.append(Claim(
            "CascadingVI-Oracle plays the same lists as CascadingVI (BestPerm is exact)", "Fig. 1; Lemma 1",
            "same regret, only run time differs",
            "identical regret and rewards in all runs" if not bad else
            "; ".join(f"{k}: first difference at episode {v}" for k, v in bad.items()),
            f"every episode of the first {ko}, every N, {n} seeds", "pass" if not bad else "fail"))
    # 2. the variance-aware bonus helps (ablation)
    if {"CascadingVI", "CascadingVI-Bonus"} <= have:
        for k in keys:
            a = [r["regret"] for r in _rows(results, "CascadingVI", k)]
            b = [r["regret"] for r in _rows(results, "CascadingVI-Bonus", k)]
            rows.append(_order_claim(
                f"{k}: CascadingVI regret below CascadingVI-Bonus at K = {config.n_episodes}", "Fig. 1",
                "-Bonus (variance-unaware attraction bonus) has higher regret (curves, no numbers)", a, b,
                "CascadingVI", "-Bonus",
                f"not significant over {n} seeds (the two differ only in the attraction bonus's variance factor)"))
    # 3. AdaptVI (atomic lists) has much higher regret
    if {"CascadingVI", "AdaptVI"} <= have:
        Ka = min(int(config.adapt_episodes), int(config.n_episodes))
        for k in keys:
            a = [res["at_adapt"][f"CascadingVI|{k}"] for res in results]
            b = [res["at_adapt"][f"AdaptVI|{k}"] for res in results]
            rows.append(_order_claim(
                f"{k}: CascadingVI regret below AdaptVI after {Ka} episodes", "Fig. 1",
                "AdaptVI has much higher regret", a, b, "CascadingVI", "AdaptVI",
                f"not significant over {n} seeds"))
    # 4. regret sublinear in K (Thm. 1: O~(H sqrt(H S N K)))
    for method in ("CascadingVI", "CascadingVI-Bonus"):
        if method not in have:
            continue
        for k in keys:
            xs = np.asarray(results[0]["cum"]["x"], dtype=float)
            Y = np.vstack([np.asarray(res["cum"]["series"][f"{method}|{k}"], dtype=float) for res in results])
            if len(xs) < 3 or np.any(Y <= 0):
                continue
            est, lo, hi = slope_interval(xs, Y, seed=0)
            ok = hi < 1.0
            rows.append(Claim(
                f"{k}: {method} regret sublinear in K (log-log slope over [K/10, K])", "Thm. 1",
                "O~(H sqrt(H S N K)): slope 1/2 asymptotically",
                f"slope {est:.3f} [95% bootstrap {lo:.3f}, {hi:.3f}] ({n} seeds)",
                "upper end < 1 (sublinear); an upper bound cannot be refuted at finite K, so never fail",
                "pass" if ok else "differs",
                "" if ok else ("not yet sublinear at this K: with the valid (scale 1) widths every pair needs "
                               "about 5 L examinations before its attraction width drops below 1, and "
                               "near-optimal lists whose values differ by d need about L / d^2 more")))
    # 5. regret vs N on the nested instances
    if "CascadingVI" in have and len(keys) >= 3:
        Ns = np.asarray(config.n_items, dtype=float)
        Y = np.array([[next(r["regret"] for r in res["rows"] if r["method"] == "CascadingVI" and r["N"] == k)
                       for k in keys] for res in results])
        est, lo, hi = slope_interval(Ns, Y, seed=0)
        ok = 0.0 <= lo and hi <= 1.0
        rows.append(Claim(
            f"CascadingVI regret at K = {config.n_episodes} vs N (nested instances)", "Thm. 1",
            "O~(sqrt N) (upper bound)", f"log-log slope {est:.3f} [95% bootstrap {lo:.3f}, {hi:.3f}]",
            "interval within [0, 1]", "pass" if ok else "differs",
            "" if ok else ("at this K regret is still dominated by the burn-in: every (state, item) pair "
                           "needs about 5 L examinations before its attraction width (with its 5 L / n term) "
                           "drops below 1, a cost that grows linearly in S N; the sqrt N rate is asymptotic")))
    # 6. computational cost vs N
    big = keys[-1]
    from onlinekit.streams.cascade_env import n_lists

    timed = n_lists(int(config.n_items[-1]), int(config.m)) >= MIN_LISTS
    cvi_ms = [r["ms_per_episode"] for r in _rows(results, "CascadingVI", big)]
    for other, claim in (("CascadingVI-Oracle", "CascadingVI-Oracle 'suffers a much higher running time'"),
                         ("AdaptVI", "AdaptVI has a much higher running time")):
        if other not in have or "CascadingVI" not in have:
            continue
        o_ms = [r["ms_per_episode"] for r in _rows(results, other, big)]
        ratio = [b / a for a, b in zip(cvi_ms, o_ms)]
        ok = min(ratio) >= TIME_RATIO
        rows.append(Claim(
            f"{big}: {claim} (time per episode, ratio to CascadingVI)", "Fig. 1 (run time)",
            "much higher run time", f"ratio {mean_spread(ratio, 1)}",
            f"ratio >= {TIME_RATIO:g} on every seed when there are >= {MIN_LISTS} lists per state "
            "(wall time on a shared machine)",
            ("pass" if ok else "fail") if timed else "info",
            "" if ok else ("no clear cost advantage of BestPerm at this N" if timed else
                           "too few lists per state for the cost claim (the paper's smallest N has 820)")))
    if len(keys) >= 3:
        Ns = np.asarray(config.n_items, dtype=float)
        for method, expect in (("CascadingVI", "O(H S N (S + m + log N)): slope about 1 in N"),
                               ("AdaptVI", "O(H S^2 |lists|), |lists| ~ N^m: slope about m in N"),
                               ("CascadingVI-Oracle", "O(H S N^m m): slope about m in N")):
            if method not in have:
                continue
            Y = np.array([[next(r["ms_per_episode"] for r in res["rows"] if r["method"] == method and r["N"] == k)
                           for k in keys] for res in results])
            est, lo, hi = slope_interval(Ns, Y, seed=0)
            rows.append(Claim(
                f"{method} time per episode vs N", "Sec. 4 (complexity)", expect,
                f"log-log slope {est:.2f} [95% bootstrap {lo:.2f}, {hi:.2f}]; "
                f"{Y.mean(axis=0)[0]:.3g} -> {Y.mean(axis=0)[-1]:.3g} ms",
                "reported (wall time includes the Python loop)", "info"))
    # 7. CascadingVI's confidence bounds are valid (optimism / pessimism)
    for method in ("CascadingVI", "CascadingVI-Bonus"):
        if method not in have:
            continue
        ups = [r["optimism_min"] for res in results for r in res["rows"] if r["method"] == method and r["N"] in keys]
        los = [r["pessimism_min"] for res in results for r in res["rows"] if r["method"] == method and r["N"] in keys]
        ok = min(ups) >= -1e-9 and min(los) >= -1e-9
        rows.append(Claim(
            f"{method}: V_lo <= V^pi and V* <= V_up at every (h, s) at the end of every run", "Lemma (optimism)",
            "holds with probability 1 - delta",
            f"min(V_up - V*) = {min(ups):.4f}, min(V^pi - V_lo) = {min(los):.4f} ({len(ups)} runs)",
            "both >= 0 in every run", "pass" if ok else "fail",
            "" if ok else "a confidence bound is violated: bonuses too small for the stated delta"))
    # 8. CascadingBPI
    rows += _compare_bpi(config, results)
    return rows


def _compare_bpi(config: Config, results: list[dict]) -> list[Claim]:
    rows = []
    main, small = _bpi_settings(config)
    S, N, H, m = (int(v) for v in config.bpi_size)
    label = f"S={S}, N={N}, H={H}, m={m}"

    def runs(eps, delta):
        return [r for res in results for r in res["rows"]
                if r["method"] == "CascadingBPI" and r["N"] == f"eps={eps:g},delta={delta:g}"]

    allr = [r for s in main + [small] for r in runs(*s)]
    if not allr:
        return rows
    eps_of = {id(r): float(r["N"].split(",")[0][4:]) for r in allr}
    conv = all(r["converged"] == 1.0 for r in allr)
    gaps_ok = all(r["true_gap"] <= eps_of[id(r)] + 1e-12 for r in allr)
    rows.append(Claim(
        f"CascadingBPI returns an epsilon-optimal policy ({label})", "Sec. 5, Thm. 2",
        "epsilon-optimal with probability 1 - delta",
        f"largest true gap / epsilon = {max(r['true_gap'] / eps_of[id(r)] for r in allr):.3f}; "
        f"stopped by the rule in {sum(r['converged'] == 1.0 for r in allr)}/{len(allr)} runs",
        f"true gap <= epsilon and stopped within {config.bpi_max_episodes} episodes, every run",
        "pass" if conv and gaps_ok else "fail",
        "" if gaps_ok else "the stopping rule certified a policy that is not epsilon-optimal"))
    ups = [r["optimism_min"] for r in allr]
    los = [r["pessimism_min"] for r in allr]
    ok = min(ups) >= -1e-9 and min(los) >= -1e-9
    rows.append(Claim(
        "CascadingBPI's stopping bound is valid when it stops (V_lo <= V^pi, V* <= V_up)", "Sec. 5",
        "holds with probability 1 - delta",
        f"min(V_up - V*) = {min(ups):.4f}, min(V^pi - V_lo) = {min(los):.4f} ({len(allr)} runs)",
        "both >= 0 in every run", "pass" if ok else "fail"))
    for eps, delta in main + [small]:
        rr = runs(eps, delta)
        if rr:
            rows.append(Claim(
                f"CascadingBPI episodes to stop, eps = {eps:g}, delta = {delta:g} ({label})", "Thm. 2",
                f"O~(H^3 S N / eps^2 log(1/delta) + H^2.5 S N / eps^1.5 (log(1/delta) + S)); order "
                f"{rr[0]['bound_order']:.0f} with constants 1",
                mean_spread([r["episodes"] for r in rr], 0), "reported", "info"))
    if len(main) >= 3:
        x = np.array([1.0 / e for e, _ in main])
        Y = np.array([[next(r["episodes"] for r in res["rows"] if r["method"] == "CascadingBPI"
                            and r["N"] == f"eps={e:g},delta={d:g}") for e, d in main] for res in results], dtype=float)
        est, lo, hi = slope_interval(x, Y, seed=0)
        ok = 1.0 <= lo and hi <= 2.0
        rows.append(Claim(
            f"CascadingBPI episodes vs 1/epsilon (log-log slope, delta = {config.bpi_delta:g})", "Thm. 2",
            "leading terms eps^-2 and eps^-1.5 (upper bound)",
            f"slope {est:.2f} [95% bootstrap {lo:.2f}, {hi:.2f}]",
            "pass: interval within [1, 2] (the bound's eps^-2 at most, its 1/n terms' eps^-1 at least); "
            "fail: lower end > 2.5 (hidden log factors cannot add half an order)",
            "pass" if ok else ("fail" if lo > 2.5 else "differs"),
            "" if ok else ("the O~ hides log(1/eps) factors (our L grows with the episode count) and the "
                           "widths are clamped at 1, so at coarse epsilons the local slope can exceed 2")))
    a = [r["episodes"] for r in runs(*small)]
    b = [r["episodes"] for r in runs(main[0][0], main[0][1])]
    if a and b and len(a) == len(b):
        d, p = paired_order(b, a)
        rows.append(Claim(
            f"CascadingBPI needs more episodes at delta = {small[1]:g} than at {main[0][1]:g} (eps = {small[0]:g})",
            "Thm. 2", "grows with log(1/delta)",
            f"{mean_spread(a, 0)} vs {mean_spread(b, 0)}; paired p = {p:.3g}",
            f"one-sided paired t-test p < {P_ORDER}", "pass" if p < P_ORDER else "differs",
            "" if p < P_ORDER else f"not significant over {len(a)} seeds"))
    return rows


def check(config: Config, results: list[dict]) -> list[str]:
    """The rows of :func:`compare` whose verdict is ``fail``."""
    return failures(compare(config, results))

"""Multi-channel autobidding (Deng et al. 2023): SGD-UCB budgets vs the expected grid LP.

Set-up (paper-like, research notes section 1.4, script defects fixed): 3 channels with 2, 4
and 6 competitors, U[0, 1] values, second-price single-slot auctions, 200 rounds (one auction
per channel per round) per period, budget grid {0, 0.1, ..., 1} per round. The advertiser
learns per-channel budgets with :class:`onlinekit.bidding.SGDUCBBudgeter` from bandit
feedback (per-channel conversion and spend per round).

Instance (ours, chosen so that the methods separate): the channels are asymmetric -- the
advertiser's values are scaled by ``value_scale = (1, 1, 0.2)`` (channel 3 is poor), the
aggregate budget is ``rho = 1`` and the ROI target ``gamma = 1.1`` per round, so the ROI
constraint binds at the optimum (a learner that ignores it overspends) and an equal split of
the budget either violates the ROI target (``rho / M`` each) or, cut back to be feasible,
loses a third of the conversion.

Methods (one environment seed each):

* ``sgd-ucb/lp`` -- channels procure exactly (per-period LP);
* ``sgd-ucb/pacing`` -- channels procure with dual pacing (the "graceful degradation" case);
* ``equal-split/lp`` -- the same budget ``b*`` on every channel, no learning: ``b*`` is the
  largest grid budget whose expected spend and conversion (precise curves) meet both
  aggregate constraints -- the best feasible equal split, tuned in hindsight;
* ``sgd-ucb/lp+pacing-competitors`` -- as in the authors' script, the competitors pace their
  own budget and ROI (multipliers from (1, 1), one dual step per period), so the environment
  drifts; its ``grid_lp`` is computed at the competitors' final multipliers and no claim is
  checked on it (SGD-UCB assumes stationarity).

Benchmark, computed once per configuration and shared by all seeds (:func:`benchmark`):
the expected grid LP (:class:`onlinekit.bidding.GridLP`) on the channels' expected
per-round conversion ``V_j(b)`` and spend ``D_j(b)``, estimated by Monte Carlo over
``bench_periods`` periods from a fixed seed, then refined with ``bench_refine_periods`` more
periods on the budgets in the solution's support. Its standard error is the batch-means
standard error of the Lagrangian at the LP solution,
``L_i = sum p V_i + lam sum p (V_i - gamma D_i) + mu (rho - sum p D_i)`` (``p``, ``lam``, ``mu``
the LP's solution and duals): the first-order error of the optimal value. The regret after
``T`` periods is ``T * grid_LP - sum_t conversion_t``; the benchmark's share of its error,
``T * se``, is reported next to it. The fluid GL-OPT (:func:`onlinekit.bidding.glopt` on
``mc_periods`` pooled periods) upper-bounds any budget rule; its gap to the grid LP is the
price of the budget grid.

Lever theorems (shown in the rows and in ``comparison.md``): on ``lever_periods`` pooled
periods of the instance, per-channel budgets set to GL-OPT's per-channel spends reach GL-OPT
exactly (:func:`onlinekit.bidding.budget_lever_value`), and the best per-channel ROI targets
(:func:`onlinekit.bidding.roi_only_optimum`, grid ``0, 0.1, ..., 3``) reach a fraction; on the
two-channel family of the notes (100 items ``v = d = 1``; one item ``v = eps, d = eps / 2``;
budget 1) ROI-only levers reach exactly ``eps / (1 + eps / 2)`` of GL-OPT, which goes to 0.

Our choices (documented, not the paper's): competitors keep fixed multipliers
``(1 + lam0) / (mu0 + lam0 gamma_c) = 0.8`` so the environment is stationary and the grid LP
is well defined.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

import numpy as np

__all__ = ["Config", "run", "check", "compare", "benchmark"]


@dataclass(frozen=True)
class Config:
    """Experiment settings (defaults: the paper-like run, 2 x 10^4 periods).

    Examples
    --------
    >>> from onlinekit.experiments.autobidding import Config
    >>> Config().n_periods, Config.quick().n_periods, len(Config().grid)
    (20000, 600, 11)
    """

    n_periods: int = 20_000
    rounds_per_period: int = 200
    n_competitors: tuple = (2, 4, 6)
    value_scale: tuple = (1.0, 1.0, 0.2)
    grid: tuple = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
    total_budget: float = 1.0
    target_roi: float = 1.1
    competitor_init: tuple = (0.0, 1.25)
    lr: float = 1.0
    ucb_scale: float = 0.02
    pacing_lr: float = 0.05
    bench_periods: int = 4000
    bench_refine_periods: int = 60000
    bench_batches: int = 40
    bench_seed: int = 12345
    mc_periods: int = 200
    lever_periods: int = 20
    curve_points: int = 25
    regret_from: int = 100
    n_seeds: int = 4

    @classmethod
    def quick(cls) -> Config:
        """A few seconds: 600 periods of 50 rounds."""
        return replace(cls(), n_periods=600, rounds_per_period=50, bench_periods=400, bench_refine_periods=1000, bench_batches=20,
                       mc_periods=20, lever_periods=4, curve_points=8, regret_from=30, n_seeds=2)


METHODS = ("sgd-ucb/lp", "sgd-ucb/pacing", "equal-split/lp", "sgd-ucb/lp+pacing-competitors")
#: Family-wise level of the statistical rows.
ALPHA = 0.01


def _env(config: Config, bidder: str, seed: int, record: bool, pacing_competitors: bool = False):
    from onlinekit.streams.auctions import MultiChannelAuctions

    return MultiChannelAuctions(
        n_channels=len(config.n_competitors), n_competitors=config.n_competitors,
        rounds_per_period=config.rounds_per_period, competitor_pacing=pacing_competitors,
        competitor_init=(1.0, 1.0) if pacing_competitors else config.competitor_init, bidder=bidder,
        value_scale=config.value_scale, pacing_lr=config.pacing_lr, record=record, seed=seed)


def _checkpoints(config: Config) -> np.ndarray:
    T = config.n_periods
    pts = np.unique(np.geomspace(min(T, 10), T, config.curve_points).astype(int))
    return pts


def _curve_batches(env, grid, n_periods: int, n_batches: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n_batches`` Monte Carlo batches of the channel curves at ``grid``: ``(n_batches, M, K)`` each."""
    per = max(1, n_periods // n_batches)
    out = [env.channel_curves(grid, n_periods=per, seed=seed + i) for i in range(n_batches)]
    return np.array([v for v, _ in out]), np.array([d for _, d in out])


@functools.lru_cache(maxsize=4)
def benchmark(config: Config) -> dict:
    """The expected grid LP, its standard error, the fluid GL-OPT and the best feasible equal split.

    Computed once per configuration (cached in the process) from ``config.bench_seed``, so
    every seed is measured against the same number. Two stages: the curves ``V``, ``D`` on the
    whole grid from ``bench_periods`` periods; then, on the grid budgets in the LP solution's
    support, ``bench_refine_periods`` more periods (both pooled) and the LP solved again. The
    standard error is the batch-means standard error of the Lagrangian at the solution,
    ``L_i = sum p V_i + lam sum p (V_i - gamma D_i) + mu (rho - sum p D_i)``, over the
    refinement batches (only budgets with ``p > 0`` enter it).

    Returns ``grid_lp``, ``grid_lp_se``, ``V``, ``D`` (``(M, K)`` curves), ``p`` (the LP's budget
    distributions), ``support_stable`` (the refined solution uses only refined budgets),
    ``fluid_glopt``, ``equal_split_budget``, and the expected conversion and spend of the naive
    split ``rho / M`` per channel (off the grid; ``bench_periods / 10`` periods).
    """
    from onlinekit.bidding import GridLP, glopt

    env = _env(config, "lp", config.bench_seed, record=False)
    grid = np.asarray(config.grid)
    rho, gamma = config.total_budget, config.target_roi
    Vs, Ds = _curve_batches(env, grid, config.bench_periods, config.bench_batches, config.bench_seed + 1)
    V, D = Vs.mean(axis=0), Ds.mean(axis=0)
    lp = GridLP(V.shape[0], V.shape[1])
    p0 = lp.solve(V, D, rho, gamma).primal
    sup = np.flatnonzero(p0.max(axis=0) > 1e-6)
    Vr, Dr = _curve_batches(env, grid[sup], config.bench_refine_periods, config.bench_batches,
                            config.bench_seed + 1 + config.bench_batches)
    n1 = config.bench_batches * max(1, config.bench_periods // config.bench_batches)
    n2 = config.bench_batches * max(1, config.bench_refine_periods // config.bench_batches)
    V[:, sup] = (n1 * V[:, sup] + n2 * Vr.mean(axis=0)) / (n1 + n2)
    D[:, sup] = (n1 * D[:, sup] + n2 * Dr.mean(axis=0)) / (n1 + n2)
    sol = lp.solve(V, D, rho, gamma)
    p, lam, mu = sol.primal, max(sol.duals["roi"], 0.0), max(sol.duals["budget"], 0.0)
    ps = p[:, sup]
    L = [float((ps * Vi).sum() + lam * (ps * (Vi - gamma * Di)).sum() + mu * (rho - (ps * Di).sum()))
         for Vi, Di in zip(Vr, Dr, strict=True)]
    se = float(np.std(L, ddof=1) / math.sqrt(len(L))) * math.sqrt(n2 / (n1 + n2))
    values, costs = env.sample_auctions(config.mc_periods, seed=config.bench_seed + 10**6)
    rounds = config.rounds_per_period * config.mc_periods
    fluid = glopt(values, costs, rho * rounds, gamma).value / rounds
    tv, td = V.sum(axis=0), D.sum(axis=0)
    ok = [k for k in range(len(grid)) if td[k] <= rho + 1e-12 and tv[k] >= gamma * td[k]]
    b_eq = float(grid[max(ok)]) if ok else 0.0
    M = V.shape[0]
    Vn, Dn = env.channel_curves(np.array([rho / M]), n_periods=max(1, config.bench_periods // 10),
                                seed=config.bench_seed + 3 * 10**6)
    return {"naive_split_conversion": float(Vn.sum()), "naive_split_spend": float(Dn.sum()),"grid_lp": float(sol.value), "grid_lp_se": se, "V": V, "D": D, "p": p,
            "support_stable": bool(p[:, np.setdiff1d(np.arange(len(grid)), sup)].max(initial=0.0) <= 1e-6),
            "fluid_glopt": float(fluid), "equal_split_budget": b_eq}


def _levers(config: Config) -> dict:
    """Lever theorems on ``lever_periods`` pooled periods of the instance and on the notes' family."""
    from onlinekit.bidding import budget_lever_value, glopt, roi_only_optimum

    env = _env(config, "lp", config.bench_seed, record=False)
    values, costs = env.sample_auctions(config.lever_periods, seed=config.bench_seed + 2 * 10**6)
    budget = config.total_budget * config.rounds_per_period * config.lever_periods
    gl = glopt(values, costs, budget, config.target_roi)
    bl, _ = budget_lever_value(values, costs, gl.primal["channel_spend"])
    ro = roi_only_optimum(values, costs, budget, config.target_roi, np.round(np.linspace(0.0, 3.0, 31), 2))
    family = {}
    for eps in (0.1, 0.01, 0.001):
        v, d = [np.ones(100), np.array([eps])], [np.ones(100), np.array([eps / 2])]
        g = glopt(v, d, 1.0, 0.0).value
        r = roi_only_optimum(v, d, 1.0, 0.0, np.linspace(0.0, 3.0, 31))["value"]
        family[eps] = r / g
    return {"glopt": float(gl.value), "budget_levers": float(bl), "roi_only": float(ro["value"]),
            "roi_family": family}


def _learner(config: Config, M: int):
    """The budget learner of the ``sgd-ucb`` methods (the sabotage tests replace this)."""
    from onlinekit.bidding import SGDUCBBudgeter

    return SGDUCBBudgeter(grid=config.grid, n_channels=M, total_budget=config.total_budget,
                          target_roi=config.target_roi, ucb_scale=config.ucb_scale, lr=config.lr)


def _play(config: Config, method: str, seed: int, equal_budget: float) -> dict:
    policy, bidder = method.split("/")
    bidder, _, extra = bidder.partition("+")
    env = _env(config, bidder, seed, record=False, pacing_competitors=extra == "pacing-competitors")
    obs = env.reset()
    M = len(config.n_competitors)
    learner = _learner(config, M) if policy == "sgd-ucb" else None
    fixed = np.full(M, equal_budget)
    pts = set(_checkpoints(config).tolist())
    conv = spend = 0.0
    curve = {"conversion": [], "roi_violation": [], "budget_violation": []}
    for t in range(1, config.n_periods + 1):
        b = learner.act(obs) if learner is not None else fixed
        step = env.step(b)
        if learner is not None:
            learner.update(obs, b, step.feedback)
        obs = step.obs
        conv += float(step.feedback["conversion"].sum())
        spend += float(step.feedback["spend"].sum())
        if t in pts:
            curve["conversion"].append(conv / t)
            curve["roi_violation"].append(max(0.0, config.target_roi * spend - conv) / t)
            curve["budget_violation"].append(max(0.0, spend - config.total_budget * t) / t)
    out = {k: np.asarray(v) for k, v in curve.items()}
    if extra:
        from onlinekit.bidding import GridLP

        V, D = env.channel_curves(np.asarray(config.grid), n_periods=config.mc_periods, seed=seed + 3)
        out["grid_lp_end"] = GridLP(V.shape[0], V.shape[1]).solve(V, D, config.total_budget, config.target_roi).value
    return out


def run(config: Config, seed: int) -> dict:
    """All methods on one seed; rows per method, the lever rows, curves vs the number of periods.

    ``regret`` curves are ``T * grid_LP - sum_{t <= T} conversion_t`` at the checkpoints.

    Examples
    --------
    >>> from dataclasses import replace
    >>> from onlinekit.experiments.autobidding import Config, run
    >>> res = run(replace(Config.quick(), n_periods=40, bench_periods=40, bench_refine_periods=40, mc_periods=4), seed=0)
    >>> [r["method"] for r in res["rows"]][:4]
    ['sgd-ucb/lp', 'sgd-ucb/pacing', 'equal-split/lp', 'sgd-ucb/lp+pacing-competitors']
    """
    bench = benchmark(config)
    target, fluid = bench["grid_lp"], bench["fluid_glopt"]
    pts = _checkpoints(config)
    rows = []
    curves = {
        "conversion": {"x": pts, "series": {}, "xlabel": "periods T", "ylabel": "average conversion per round",
                       "logx": True},
        "roi_violation": {"x": pts, "series": {}, "xlabel": "periods T",
                          "ylabel": "time-averaged ROI violation", "logx": True},
        "budget_violation": {"x": pts, "series": {}, "xlabel": "periods T",
                             "ylabel": "time-averaged budget violation", "logx": True},
        "regret": {"x": pts, "series": {}, "xlabel": "periods T",
                   "ylabel": "T x (grid LP - average conversion)", "logx": True},
    }
    for method in METHODS:
        c = _play(config, method, seed, bench["equal_split_budget"])
        lp_value = float(c.get("grid_lp_end", target))
        curves["conversion"]["series"][method] = c["conversion"]
        curves["roi_violation"]["series"][method] = c["roi_violation"]
        curves["budget_violation"]["series"][method] = c["budget_violation"]
        if "grid_lp_end" not in c:
            curves["regret"]["series"][method] = pts * (target - c["conversion"])
        row = {
            "method": method,
            "conversion": float(c["conversion"][-1]),
            "grid_lp": lp_value,
            "ratio_to_grid_lp": float(c["conversion"][-1] / lp_value),
            "regret": float(config.n_periods * (lp_value - c["conversion"][-1])),
            "fluid_glopt": fluid,
            "roi_violation": float(c["roi_violation"][-1]),
            "budget_violation": float(c["budget_violation"][-1]),
            "roi_violation_first": float(c["roi_violation"][0]),
        }
        if "grid_lp_end" in c:
            del row["fluid_glopt"]  # the fluid benchmark is for the stationary competitors
        rows.append(row)
    lev = _levers(config)
    rows.append({"method": "levers: GL-OPT (pooled periods)", "conversion": lev["glopt"]})
    rows.append({"method": "levers: budgets only", "conversion": lev["budget_levers"],
                 "ratio_to_glopt": lev["budget_levers"] / lev["glopt"]})
    rows.append({"method": "levers: ROI targets only", "conversion": lev["roi_only"],
                 "ratio_to_glopt": lev["roi_only"] / lev["glopt"]})
    for eps, r in lev["roi_family"].items():
        rows.append({"method": f"levers: ROI only, notes' family eps={eps}", "ratio_to_glopt": r})
    curves["conversion"]["series"]["grid LP"] = np.full(len(pts), target)
    curves["conversion"]["series"]["fluid GL-OPT"] = np.full(len(pts), fluid)
    return {"rows": rows, "curves": curves,
            "bench": {"grid_lp": target, "grid_lp_se": bench["grid_lp_se"], "fluid_glopt": fluid,
                      "support_stable": bench["support_stable"],
                      "naive_split_conversion": bench["naive_split_conversion"],
                      "naive_split_spend": bench["naive_split_spend"],
                      "equal_split_budget": bench["equal_split_budget"]},
            "levers": {"glopt": lev["glopt"], "budget_levers": lev["budget_levers"], "roi_only": lev["roi_only"],
                       "roi_family": {str(k): v for k, v in lev["roi_family"].items()}}}


def _viol_tol(T: int) -> float:
    """Time-averaged violation allowed after ``T`` periods: ``1 / sqrt(T)`` (one round's budget
    per ``sqrt(T)`` periods; the paper's ``O(sqrt(T))`` cumulative violation with constant 1)."""
    return 1.0 / math.sqrt(T)


def compare(config: Config, results: list) -> list:
    """Paper-vs-ours rows: lever theorems, SGD-UCB's regret exponent and violations, the
    ordering against the equal split, graceful degradation with pacing channel bidders."""
    from onlinekit.experiments.comparison import Claim, mean_spread, paired_order, slope_interval

    if not results:
        return []
    src = "Deng et al. 2023 (abstract; notes 1.2-1.5)"
    out = []
    b = results[0]["bench"]
    T = config.n_periods
    # -- lever theorems ------------------------------------------------------------------
    lev = results[0]["levers"]
    gap = abs(lev["budget_levers"] - lev["glopt"]) / lev["glopt"]
    out.append(Claim("budget-only levers reach GL-OPT (per-channel budgets = GL-OPT's spends)", src,
                     "equal to GL-OPT", f"{lev['budget_levers']:.6f} vs GL-OPT {lev['glopt']:.6f}",
                     "relative gap <= 1e-9", "pass" if gap <= 1e-9 else "fail"))
    out.append(Claim("ROI-only levers on our instance (best targets on 0..3 step 0.1)", src,
                     "can be worse than GL-OPT", f"{lev['roi_only'] / lev['glopt']:.4f} of GL-OPT",
                     "reported", "info", "ablation: budget levers vs ROI levers"))
    for eps, r in lev["roi_family"].items():
        want = float(eps) / (1.0 + float(eps) / 2.0)
        ok = abs(r - want) <= 1e-9 * max(1.0, want)
        out.append(Claim(f"ROI-only levers, notes' family eps={eps}", src, "arbitrarily bad (ratio -> 0)",
                         f"{r:.6f} of GL-OPT", f"= eps / (1 + eps/2) = {want:.6f} (closed form)",
                         "pass" if ok else "fail"))
    # -- learning ------------------------------------------------------------------------
    rows = [{r["method"]: r for r in res["rows"]} for res in results]
    lp = [r["sgd-ucb/lp"] for r in rows]
    regret = np.array([r["regret"] for r in lp])
    out.append(Claim(f"sgd-ucb/lp: conversion / grid LP at T={T}", src, "approaches 1",
                     mean_spread([r["ratio_to_grid_lp"] for r in lp]), "reported", "info",
                     f"grid LP {b['grid_lp']:.5f} +/- {b['grid_lp_se']:.5f} (Monte Carlo, shared by all seeds); "
                     f"fluid GL-OPT {b['fluid_glopt']:.4f}"))
    bench_err = T * b["grid_lp_se"]
    stable = bool(b.get("support_stable", True))
    out.append(Claim(f"benchmark error well below the regret at T={T}", "-", "-",
                     f"T x se = {bench_err:.1f} vs regret {mean_spread(regret, 1)}",
                     "T x se <= regret / 5, LP support unchanged by the refinement",
                     "pass" if bench_err <= np.mean(regret) / 5 and stable else "fail"))
    pts = _checkpoints(config)
    keep = pts >= config.regret_from
    curves = np.array([np.asarray(res["curves"]["regret"]["series"]["sgd-ucb/lp"], dtype=float)[keep]
                       for res in results])
    name = f"sgd-ucb/lp: regret exponent in T (T from {int(pts[keep][0])} to {T})"
    if np.all(curves > 0):
        est, lo, hi = slope_interval(pts[keep], curves)
        out.append(Claim(name, src, "sublinear (O(sqrt T) bandit term, notes 1.3 [R])",
                         f"{est:.3f} [{lo:.3f}, {hi:.3f}] ({len(curves)} seeds)",
                         "slope 95% bootstrap CI upper end < 0.9", "pass" if hi < 0.9 else "fail",
                         "much flatter than the paper's worst-case rate: on this instance the grid LP's optimum "
                         "uses few budgets with clear gaps, so the UCB choice settles and the regret grows "
                         "like log T after a few hundred periods" if est < 0.4 else ""))
    else:
        out.append(Claim(name, src, "sublinear", "regret <= 0 at some checkpoint", "regret > 0 to fit a slope", "fail",
                         "conversion above the grid LP: constraints violated, or a wrong benchmark"))
    tol = _viol_tol(T)
    for method in ("sgd-ucb/lp", "sgd-ucb/pacing"):
        for kind in ("roi", "budget"):
            v = [r[method][f"{kind}_violation"] for r in rows]
            out.append(Claim(f"{method}: time-averaged {kind.upper()} violation at T={T}", src, "O(1/sqrt T) -> 0",
                             mean_spread(v, 5), f"every seed <= 1/sqrt(T) = {tol:.4f}",
                             "pass" if max(v) <= tol else "fail"))
    eq = [r["equal-split/lp"] for r in rows]
    d, p = paired_order([r["conversion"] for r in eq], [r["conversion"] for r in lp])
    out.append(Claim(f"sgd-ucb/lp beats the best feasible equal split (b* = {b['equal_split_budget']:g} each)",
                     "ablation (ours)", "learning budgets pays on asymmetric channels",
                     f"{mean_spread([r['conversion'] for r in lp])} vs {mean_spread([r['conversion'] for r in eq])}",
                     f"one-sided paired t-test over seeds, p = {p:.2g} < {ALPHA}", "pass" if p < ALPHA else "fail"))
    if "naive_split_conversion" in b:
        nv, ns = b["naive_split_conversion"], b["naive_split_spend"]
        gamma = config.target_roi
        feasible = nv >= gamma * ns and ns <= config.total_budget * (1 + 1e-9)
        out.append(Claim("naive equal split rho/M per channel (expected, no learning)", "ablation (ours)", "-",
                         f"conversion {nv:.4f} (grid LP {b['grid_lp']:.4f}), ROI {nv / ns:.3f} vs target {gamma:g}",
                         "reported", "info",
                         "feasible" if feasible else "infeasible: it can convert more than the grid LP only by "
                         "breaking the ROI constraint; the feasible equal split is the row above"))
    pac = [r["sgd-ucb/pacing"]["conversion"] / r["sgd-ucb/lp"]["conversion"] for r in rows]
    out.append(Claim("sgd-ucb with pacing channel bidders / with exact ones", "liner.com summary (notes 1.1)",
                     "graceful degradation", mean_spread(pac), "reported", "info"))
    return out


def check(config: Config, results: list[dict]) -> list[str]:
    """Failures of :func:`compare`, plus a non-finite conversion of any method.

    Examples
    --------
    >>> from onlinekit.experiments.autobidding import Config, check
    >>> check(Config.quick(), [])
    []
    """
    from onlinekit.experiments.comparison import failures

    fails = failures(compare(config, results))
    for r in results:
        for row in r["rows"]:
            if "conversion" in row and not math.isfinite(row["conversion"]):
                fails.append(f"{row['method']}: conversion is not finite")
    return fails

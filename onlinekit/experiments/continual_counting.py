"""Experiment ``continual-counting``: error of private continual counters and of MaxSum / SumSelect.

Part 1 -- counters (rho-zCDP, unit sensitivity, so sigma_1 = 1 in the notes' table): binary
tree, tree with Honaker's online estimates, square-root factorization, for each horizon ``T``
in ``Ts``. Each of ``runs`` independent runs gives its mean squared error
``MSE_r = (1/T) sum_t (y_t - S_t)^2`` and its max error ``max_t |y_t - S_t|``; both are set
against the closed forms of the counter (``expected_error()``: ``mean_var = (1/T) sum_t
Var(y_t)``, ``max_var = max_t Var(y_t)``, and the union-bound ``max_error_bound`` at
``beta = 0.05``).

The MSE test (:func:`compare`): pooled over the ``n = runs * n_seeds`` independent runs, the
estimate ``r = mean_r(MSE_r) / mean_var`` has, if the closed form holds, standard error
``se = cv / sqrt(n)`` with ``cv = sd_r(MSE_r) / mean_r(MSE_r)`` (scale-free); the row passes when ``|r - 1| <= t_q se`` with ``t_q`` the two-sided Student
quantile at family-wise level 1% (Bonferroni over the counter rows). A counter with no noise
(``r = 0``, ``se = 0``), doubled noise (``r = 4``) or noise scaled to ``r = 2.9`` fails it at
the run counts of both configs (tests/experiments/test_sabotage_counting.py).

The mean-error optimal factorization (``OptimalFactorCounter``, O(T^3) to build) runs on its
own small horizons ``optimal_Ts``, against the square-root factorization and the tree.

Part 2 -- MaxSum and SumSelect (Jain, Raskhodnikova, Sivakumar, Smith 2023) on records in
``{0,1}^d`` (:func:`_rates`): on the T sweep, column rates ``linspace(0.1, 0.9, d)`` (the best
column is the last, so SumSelect's initial index 0 is the worst; the gaps grow fast enough that
from T = 3000 on the sparse-vector error is set by its threshold, not by the trivial
``min(., rate T)`` regime); on the d sweep, ``d - 1`` columns at rate 0.5 and the last at 0.9,
so that the gap structure does not change with d and the error follows the noise level: the sparse-vector route (error
``~ T^(1/3)`` up to polylog) and the parallel-counter route (error ``~ sqrt(d)`` polylog(T))
on a T sweep up to ``maxsum_Ts[-1]`` (10^6 by default) at ``d = maxsum_d``, and on a d sweep at
``T = maxsum_d_T``. The error of MaxSum is ``max_t |y_t - max_j S_j(t)|``, of SumSelect
``max_t (max_j S_j(t) - S_{j_t}(t))``. The fitted log-log exponents (bootstrap over seeds and repetitions)
are the stated tests of the paper's rates (``maxsum_reps`` noise repetitions per point).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from onlinekit.base import spawn_seeds

__all__ = ["Config", "run", "check", "compare"]


@dataclass(frozen=True)
class Config:
    """Experiment settings (defaults: the horizons of the notes' table, T sweep to 10^6).

    Examples
    --------
    >>> from onlinekit.experiments.continual_counting import Config
    >>> Config().maxsum_Ts[-1], Config.quick().runs
    (1000000, 10)
    """

    Ts: tuple = (2**8, 2**10, 2**12, 2**14, 2**16, 2**18, 2**20)
    runs: int = 20
    rho: float = 0.5
    maxsum_Ts: tuple = (10**4, 3 * 10**4, 10**5, 3 * 10**5, 10**6)
    maxsum_d: int = 4
    maxsum_ds: tuple = (16, 64, 256, 1024)
    maxsum_d_T: int = 10**4
    maxsum_rho: float = 1.0
    maxsum_reps: int = 1
    optimal_Ts: tuple = (16, 32, 64, 128, 256)
    n_seeds: int = 4

    @classmethod
    def quick(cls) -> Config:
        return cls(Ts=(2**6, 2**8, 2**10), runs=10, maxsum_Ts=(3000, 10**4, 3 * 10**4), maxsum_ds=(16, 64, 256),
                   maxsum_d_T=2000, maxsum_reps=3, optimal_Ts=(16, 32, 64), n_seeds=2)


METHODS = {
    "tree": ("TreeCounter", {}),
    "tree+honaker": ("TreeCounter", {"honaker": True}),
    "sqrt": ("SqrtFactorCounter", {}),
    "optimal": ("OptimalFactorCounter", {}),
}
SELECTORS = ("MaxSum", "SumSelect")
ROUTES = ("svt", "counters")

#: Closed forms of the research notes' table (section B4), per sigma_1^2:
#: T -> (sqrt: max Var, sqrt: mean Var, tree: max Var, tree: mean Var).
NOTES_TABLE = {2**10: (10.71, 9.67, 110.0, 55.0), 2**16: (21.13, 19.66, 272.0, 136.0),
               2**20: (30.02, 28.28, 420.0, 210.0)}
#: Family-wise false-failure rate of the MSE tests (Bonferroni over the rows).
ALPHA = 0.01


def _counter(name: str, T: int, rho: float, seed: int):
    """A counter of ``METHODS[name]`` (the sabotage tests replace this function)."""
    from onlinekit import privacy

    cls_name, kw = METHODS[name]
    return getattr(privacy, cls_name)(T=T, privacy=("zcdp", rho), noise="seeded", seed=seed, **kw)


def _selector(kind: str, T: int, d: int, rho: float, route: str, seed: int):
    """A :class:`~onlinekit.privacy.MaxSum` or ``SumSelect`` (the sabotage tests replace this)."""
    from onlinekit import privacy

    return getattr(privacy, kind)(T=T, d=d, privacy=("zcdp", rho), route=route, noise="seeded", seed=seed)


def _counter_rows(Ts, methods, config, rng, part, raw):
    rows, mse_c, form_c = [], {m: [] for m in methods}, {m: [] for m in methods}
    for T in Ts:
        x = rng.random(T)
        S = np.cumsum(x)
        for name in methods:
            sq, mx = [], []
            for s in spawn_seeds(int(rng.integers(2**31)), config.runs):
                c = _counter(name, T, config.rho, s)
                err = c.release_many(x) - S
                sq.append(float(np.mean(err**2)))
                mx.append(float(np.max(np.abs(err))))
            e = c.expected_error()
            mse = float(np.mean(sq))
            rows.append({
                "part": part, "method": name, "T": str(T),
                "mse": mse, "mse_closed_form": e["mean_var"], "mse_ratio": mse / e["mean_var"],
                "max_err": float(np.mean(mx)), "max_var_closed_form": e["max_var"],
                "max_err_bound_95": e["max_error_bound"],
            })
            raw[f"{part}|{name}|{T}"] = {"mse_runs": sq, "max_runs": mx, "mean_var": e["mean_var"],
                                         "max_var": e["max_var"], "bound": e["max_error_bound"]}
            mse_c[name].append(mse)
            form_c[name].append(e["mean_var"])
    series = {f"{m} (empirical)": np.array(v) for m, v in mse_c.items()}
    series.update({f"{m} (closed form)": np.array(v) for m, v in form_c.items()})
    return rows, series


def _select_error(kind: str, out: np.ndarray, S: np.ndarray) -> float:
    """MaxSum: ``max_t |y_t - max_j S_j(t)|``; SumSelect: ``max_t (max_j S_j(t) - S_{j_t}(t))``."""
    best = S.max(axis=1)
    if kind == "MaxSum":
        return float(np.max(np.abs(out - best)))
    return float(np.max(best - S[np.arange(len(S)), out.astype(np.int64)]))


def _rates(sweep: str, d: int) -> np.ndarray:
    """Column rates: ``linspace(0.1, 0.9, d)`` on the T sweep; ``(0.5, ..., 0.5, 0.9)`` on the d sweep."""
    if sweep == "T":
        return np.linspace(0.1, 0.9, d)
    return np.append(np.full(d - 1, 0.5), 0.9)


def _select_rows(config, rng, raw):
    rows, curves = [], {}
    sweeps = [("T", T, config.maxsum_d) for T in config.maxsum_Ts]
    sweeps += [("d", config.maxsum_d_T, d) for d in config.maxsum_ds]
    for sweep, T, d in sweeps:
        X = (rng.random((T, d)) < _rates(sweep, d)).astype(float)
        S = np.cumsum(X, axis=0)
        for kind in SELECTORS:
            for route in ROUTES:
                errs = []
                for _ in range(config.maxsum_reps):  # fresh noise on the same records
                    m = _selector(kind, T, d, config.maxsum_rho, route, int(rng.integers(2**31)))
                    errs.append(_select_error(kind, m.release_many(X), S))
                e = m.expected_error()
                rows.append({
                    "part": f"{kind.lower()}-{sweep}-sweep", "method": route, "T": str(T), "d": str(d),
                    "max_err": float(np.mean(errs)), "max_err_bound_95": e["max_error_bound"],
                    "auto_route": m.clone(route="auto").chosen_route,
                })
                raw[f"{kind}|{sweep}|{route}|{T}|{d}"] = {"err": errs, "bound": e["max_error_bound"]}
                curves.setdefault(f"{kind}_{sweep}", {}).setdefault(f"{route}", []).append(float(np.mean(errs)))
    return rows, curves


def run(config: Config, seed: int) -> dict:
    """One seed: rows per (method, T) and per (problem, route, T, d); curves of error vs T and d.

    ``raw`` holds what :func:`compare` tests: per counter row the per-run MSEs and max errors
    with the closed forms, per selection row the max error and its bound.
    """
    rng = np.random.default_rng(seed)
    raw: dict = {}
    rows, series = _counter_rows(config.Ts, ("tree", "tree+honaker", "sqrt"), config, rng, "counter", raw)
    small_rows, small_series = _counter_rows(config.optimal_Ts, ("tree", "sqrt", "optimal"), config, rng,
                                             "counter-small-T", raw)
    rows += small_rows
    sel_rows, sel_curves = _select_rows(config, rng, raw)
    rows += sel_rows
    curves = {
        "counter_mse_vs_T": {"x": np.array(config.Ts, dtype=float), "series": series, "xlabel": "T",
                             "ylabel": "mean squared error", "logx": True, "logy": True},
        "counter_mse_small_T": {"x": np.array(config.optimal_Ts, dtype=float), "series": small_series,
                                "xlabel": "T", "ylabel": "mean squared error", "logx": True, "logy": True},
    }
    for key, ser in sel_curves.items():
        kind, sweep = key.split("_")
        xs = config.maxsum_Ts if sweep == "T" else config.maxsum_ds
        label = f"d={config.maxsum_d}" if sweep == "T" else f"T={config.maxsum_d_T}"
        curves[f"{kind.lower()}_error_vs_{sweep}"] = {
            "x": np.array(xs, dtype=float), "series": {f"{r} {label}": np.array(v) for r, v in ser.items()},
            "xlabel": sweep, "ylabel": "max error", "logx": True, "logy": True}
    return {"rows": rows, "curves": curves, "raw": raw}


# ------------------------------------------------------------------------------ comparison
def _t_quantile(n: int, k: int) -> float:
    """Two-sided Student quantile with ``n - 1`` df at level ``ALPHA / k`` (Bonferroni)."""
    from scipy import stats

    return float(stats.t.ppf(1.0 - ALPHA / (2.0 * k), df=max(n - 1, 1)))


def mse_ratio_test(mse_runs, mean_var: float, k: int = 1) -> tuple[float, float, float, bool]:
    """Test ``E[MSE_r] = mean_var`` from ``n`` independent runs.

    Returns ``(r, se, tol, ok)``: ``r = mean(MSE_r) / mean_var``; ``se = cv / sqrt(n)`` its
    standard error under the hypothesis (``r = 1``), where ``cv = sd(MSE_r) / mean(MSE_r)`` is
    the coefficient of variation of one run's MSE, which does not depend on the noise scale;
    ``tol = t_q se`` with ``t_q`` the two-sided Student quantile (``n - 1`` df) at level
    ``ALPHA / k``; ``ok = |r - 1| <= tol``. No noise gives ``r = 0``, ``se = 0``: a failure.
    Scaling the noise by ``c`` scales ``r`` by ``c^2`` and leaves ``se`` unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> honest = (rng.normal(size=(40, 100)) ** 2).mean(axis=1)      # MSE of 40 runs, Var 1
    >>> [mse_ratio_test(c * honest, 1.0)[3] for c in (1.0, 0.0, 4.0, 2.9)]
    [True, False, False, False]
    """
    a = np.asarray(mse_runs, dtype=float)
    n = len(a)
    m = float(a.mean())
    r = m / mean_var
    if m == 0.0:
        se = 0.0
    else:
        se = float(a.std(ddof=1)) / (m * math.sqrt(n)) if n > 1 else math.inf
    tol = _t_quantile(n, k) * se
    return r, se, tol, bool(abs(r - 1.0) <= tol)


def _pool(results, key: str, field: str) -> np.ndarray:
    return np.concatenate([np.asarray(r["raw"][key][field], dtype=float) for r in results])


def _counter_claims(config, results, Claim):
    from scipy import stats

    from onlinekit.experiments.comparison import paired_order

    rows = []
    keys = [k for k in results[0]["raw"] if k.startswith("counter")]
    k = len(keys)
    n = config.runs * len(results)
    for key in keys:
        part, method, T = key.split("|")
        mv = results[0]["raw"][key]["mean_var"]
        r, se, tol, ok = mse_ratio_test(_pool(results, key, "mse_runs"), mv, k)
        rows.append(Claim(
            f"{method} MSE / closed form, T={T}" + (" (small T)" if part != "counter" else ""),
            "closed form (notes B2-B4)", "1", f"{r:.4f} (se {se:.4f}, {n} runs)",
            f"|ours - 1| <= t_q se = {tol:.4f} (family-wise {ALPHA})", "pass" if ok else "fail"))
    # max error: runs over the union-bound 95% line, against the binomial(n, 0.05) tail
    over = sum(int(np.sum(_pool(results, key, "max_runs") > results[0]["raw"][key]["bound"])) for key in keys)
    total = n * k
    lim = int(stats.binom.ppf(1.0 - ALPHA, total, 0.05))
    rows.append(Claim("runs whose max error exceeds max_error_bound (beta=0.05)", "union bound (notes B2)",
                      "<= 5% of runs", f"{over} of {total}", f"<= binomial(n, 0.05) {1 - ALPHA:.0%} quantile = {lim}",
                      "pass" if over <= lim else "fail"))
    # closed forms against the notes' table
    for T, want in NOTES_TABLE.items():
        got = []
        for method in ("sqrt", "tree"):
            key = f"counter|{method}|{T}"
            if key in results[0]["raw"]:
                got.append((results[0]["raw"][key]["max_var"], results[0]["raw"][key]["mean_var"]))
        if len(got) == 2:
            ours = np.array([got[0][0], got[0][1], got[1][0], got[1][1]])
            ok = bool(np.all(np.abs(ours / np.array(want) - 1.0) <= 1e-3))
            rows.append(Claim(f"closed forms at T=2^{int(math.log2(T))} (sqrt max/mean, tree max/mean Var)",
                              "notes B4 table (FHU23 / tree)", " / ".join(f"{w:g}" for w in want),
                              " / ".join(f"{g:.2f}" for g in ours), "relative 1e-3", "pass" if ok else "fail"))
    # ablation: tree vs tree+Honaker vs sqrt at the largest T (independent runs, paired by index)
    T = max(config.Ts)
    mse = {m: _pool(results, f"counter|{m}|{T}", "mse_runs") for m in ("tree", "tree+honaker", "sqrt")}
    for a, b, src in (("sqrt", "tree+honaker", "FHU23: sqrt beats tree-based counters"),
                      ("tree+honaker", "tree", "Honaker 2015")):
        d, p = paired_order(mse[a], mse[b])
        ok = p < ALPHA
        rows.append(Claim(f"ablation: MSE {a} < {b} at T={T}", src, f"{a} < {b}",
                          f"{mse[a].mean():.2f} vs {mse[b].mean():.2f} (diff {d:.2f})",
                          f"one-sided paired t-test over runs, p = {p:.2g} < {ALPHA}", "pass" if ok else "fail"))
    cf = {m: results[0]["raw"][f"counter|{m}|{T}"]["mean_var"] for m in ("tree", "tree+honaker")}
    hr = mse["tree+honaker"].mean() / mse["tree"].mean() if mse["tree"].mean() > 0 else math.nan
    rows.append(Claim(f"ablation: Honaker MSE factor at T={T}", "notes B3: 'prefix variance roughly halves'",
                      "~0.5 for tall trees", f"{hr:.3f} (closed form {cf['tree+honaker'] / cf['tree']:.3f})",
                      "closed form in (0.5, 0.6); empirical tested row by row above",
                      "pass" if 0.5 < cf["tree+honaker"] / cf["tree"] < 0.6 else "fail"))
    Ts = sorted({int(x) for x in config.optimal_Ts})
    opt = [results[0]["raw"][f"counter-small-T|optimal|{t}"]["mean_var"] for t in Ts]
    sq = [results[0]["raw"][f"counter-small-T|sqrt|{t}"]["mean_var"] for t in Ts]
    ok = all(o <= s * (1 + 1e-9) for o, s in zip(opt, sq, strict=True))
    rows.append(Claim("ablation: optimal factorization <= sqrt in mean variance", "Denisov et al. 2022",
                      "optimal <= sqrt", ", ".join(f"T={t}: {o / s:.3f}" for t, o, s in zip(Ts, opt, sq, strict=True)),
                      "closed-form ratio <= 1 at every T", "pass" if ok else "fail"))
    return rows


def _slope_claim(Claim, name, src, paper, paper_exp, xs, curves, bounds, differs_below=None, note=""):
    """Fitted exponent of ``curves`` in ``xs`` (bootstrap CI over seeds) against a band: the
    paper's exponent and the local exponent of our closed-form bound (its hidden polylogs),
    widened by 0.1 on both sides. ``curves`` has one row per (seed, repetition), the
    bootstrap resamples rows; the row passes when the 95% interval meets the band (the data do
    not reject an exponent in it)."""
    from onlinekit.experiments.comparison import slope_interval

    b_exp = float(np.polyfit(np.log(np.asarray(xs, dtype=float)), np.log(np.asarray(bounds, dtype=float)), 1)[0])
    lo, hi = round(min(paper_exp, b_exp) - 0.1, 3), round(max(paper_exp, b_exp) + 0.1, 3)
    tol = (f"slope 95% bootstrap CI meets [{lo}, {hi}] (paper {paper_exp:.3g}, our bound's local exponent "
           f"{b_exp:.3f}, +/- 0.1)")
    y = np.asarray(curves, dtype=float)
    if np.any(y <= 0):
        return Claim(name, src, paper, "error 0 at some point", tol, "fail", "a zero error cannot be put on a log-log fit")
    est, a, b = slope_interval(xs, y)
    ok = a <= hi and b >= lo
    verdict = "pass" if ok else "fail"
    if not ok and differs_below is not None and lo <= a and b < differs_below:
        verdict = "differs"
        tol += f"; 'differs' (not a failure) while the CI is below {differs_below}"
    return Claim(name, src, paper, f"{est:.3f} [{a:.3f}, {b:.3f}] ({len(y)} curves)", tol, verdict,
                 note if verdict != "pass" else "")


def _select_claims(config, results, Claim):
    from scipy import stats

    rows = []
    src = "Jain et al. 2023 (abstract; notes B5)"
    dT, Td = config.maxsum_d, config.maxsum_d_T

    def points(sweep):
        return [(T, dT) for T in config.maxsum_Ts] if sweep == "T" else [(Td, d) for d in config.maxsum_ds]

    def curve(kind, sweep, route, field="err"):
        """One curve per (seed, repetition): ``(n_seeds * maxsum_reps, n_points)``."""
        per_seed = [np.array([np.atleast_1d(r["raw"][f"{kind}|{sweep}|{route}|{T}|{d}"][field]) for T, d in points(sweep)],
                             dtype=float).T for r in results]
        return np.vstack(per_seed)

    for kind in SELECTORS:
        for route, sweep, paper, pexp in (("svt", "T", "T^(1/3) polylog", 1 / 3), ("counters", "T", "polylog(T)", 0.0),
                                          ("counters", "d", "sqrt(d) polylog", 0.5)):
            fixed = f"d={dT}" if sweep == "T" else f"T={Td}"
            xs = config.maxsum_Ts if sweep == "T" else config.maxsum_ds
            soft = kind == "SumSelect" and sweep == "d"
            rows.append(_slope_claim(
                Claim, f"{kind} {route} route: exponent of max error in {sweep} ({fixed})", src, paper, pexp, xs,
                curve(kind, sweep, route), curve(kind, sweep, route, "bound")[0],
                differs_below=0.95 if soft else None,
                note=("the selection gap is the noise level times the maximum of d - 1 noisy competitors "
                      "(~sqrt(2 log d)), and at small d the clear best column is rarely missed, so the local "
                      "exponent on this d range is above 1/2; still below the pure-DP rate d (exponent 1), "
                      "and every run stays under its sqrt(d) bound (row below)") if soft else ""))
        # the two routes' crossover: which one is smaller at (T max, d small) and (T small, d max)
        big_T = np.mean([c[-1] for c in curve(kind, "T", "svt")]), np.mean([c[-1] for c in curve(kind, "T", "counters")])
        big_d = np.mean([c[-1] for c in curve(kind, "d", "svt")]), np.mean([c[-1] for c in curve(kind, "d", "counters")])
        rows.append(Claim(f"{kind}: better route at T={max(config.maxsum_Ts)}, d={dT} / at T={Td}, d={max(config.maxsum_ds)}",
                          src, "min(T^(1/3), sqrt d): counters / sparse vector",
                          f"svt {big_T[0]:.0f} vs counters {big_T[1]:.0f} / svt {big_d[0]:.0f} vs counters {big_d[1]:.0f}",
                          "reported", "info",
                          "which route wins at a given (T, d) depends on the constants and polylogs; "
                          "route='auto' picks the smaller closed-form bound"))
    over = total = 0
    for r in results:
        for key, v in r["raw"].items():
            if key.split("|")[0] in SELECTORS:
                total += 1
                errs = np.atleast_1d(v["err"])
                total += len(errs) - 1
                over += int(np.sum(errs > v["bound"]))
    lim = int(stats.binom.ppf(1.0 - ALPHA, total, 0.05))
    rows.append(Claim("MaxSum / SumSelect runs above their max_error_bound (beta=0.05)", "our closed-form bounds",
                      "<= 5% of runs", f"{over} of {total}", f"<= binomial(n, 0.05) {1 - ALPHA:.0%} quantile = {lim}",
                      "pass" if over <= lim else "fail"))
    return rows


def compare(config: Config, results: list) -> list:
    """Paper-vs-ours rows: MSE vs closed form per counter and T, the notes' closed-form table,
    the tree / Honaker / sqrt / optimal ablation, and the MaxSum / SumSelect rate exponents."""
    from onlinekit.experiments.comparison import Claim

    if not results:
        return []
    return _counter_claims(config, results, Claim) + _select_claims(config, results, Claim)


def check(config: Config, results: list) -> list[str]:
    """Failures of :func:`compare` (empty when every row passes)."""
    from onlinekit.experiments.comparison import failures

    return failures(compare(config, results))

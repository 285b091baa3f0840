"""Experiment ``continual-counting``: error of private continual counters vs the horizon T.

Part 1 -- counters (rho-zCDP, unit sensitivity, so sigma_1 = 1 in the notes' table): binary
tree, tree with Honaker's online estimates, square-root factorization. For each T the
empirical mean squared error and mean max error over runs are set against the closed forms
(``variance()`` of each counter). Part 2 -- MaxSum: the sparse-vector route (error ~ T^(1/3))
against the parallel-counter route (error ~ sqrt(d)) for small and large d.

The mean-error optimal factorization (``OptimalFactorCounter``, O(T^3) to build) runs on its
own small horizons ``optimal_Ts``, against the square-root factorization and the tree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from onlinekit.base import spawn_seeds


@dataclass(frozen=True)
class Config:
    """Experiment settings (defaults: the horizons of the notes' table)."""

    Ts: tuple = (2**8, 2**10, 2**12, 2**14, 2**16)
    runs: int = 20
    rho: float = 0.5
    maxsum_Ts: tuple = (10**3, 3 * 10**3, 10**4)
    maxsum_ds: tuple = (4, 1024)
    maxsum_rho: float = 1.0
    optimal_Ts: tuple = (16, 32, 64, 128, 256)
    n_seeds: int = 3

    @classmethod
    def quick(cls) -> Config:
        return cls(Ts=(2**6, 2**8, 2**10), runs=6, maxsum_Ts=(10**3, 4 * 10**3), maxsum_ds=(4, 256),
                   optimal_Ts=(16, 32, 64), n_seeds=2)


METHODS = {
    "tree": ("TreeCounter", {}),
    "tree+honaker": ("TreeCounter", {"honaker": True}),
    "sqrt": ("SqrtFactorCounter", {}),
    "optimal": ("OptimalFactorCounter", {}),
}


def _counter(name: str, T: int, rho: float, seed: int):
    from onlinekit import privacy

    cls_name, kw = METHODS[name]
    return getattr(privacy, cls_name)(T=T, privacy=("zcdp", rho), noise="seeded", seed=seed, **kw)


def _counter_rows(Ts, methods, config, rng, part):
    rows, mse_c, form_c = [], {m: [] for m in methods}, {m: [] for m in methods}
    for T in Ts:
        x = rng.random(T)
        S = np.cumsum(x)
        for name in methods:
            sq, mx = [], []
            for s in spawn_seeds(int(rng.integers(2**31)), config.runs):
                c = _counter(name, T, config.rho, s)
                err = c.release_many(x) - S
                sq.append(np.mean(err**2))
                mx.append(np.max(np.abs(err)))
            e = c.expected_error()
            mse = float(np.mean(sq))
            rows.append({
                "part": part, "method": name, "T": str(T),
                "mse": mse, "mse_closed_form": e["mean_var"], "mse_ratio": mse / e["mean_var"],
                "max_err": float(np.mean(mx)), "max_var_closed_form": e["max_var"],
                "max_err_bound_95": e["max_error_bound"],
            })
            mse_c[name].append(mse)
            form_c[name].append(e["mean_var"])
    series = {f"{m} (empirical)": np.array(v) for m, v in mse_c.items()}
    series.update({f"{m} (closed form)": np.array(v) for m, v in form_c.items()})
    return rows, series


def run(config: Config, seed: int) -> dict:
    """One seed: rows per (method, T) and per (route, d, T); curves of error vs T."""
    rng = np.random.default_rng(seed)
    rows, series = _counter_rows(config.Ts, ("tree", "tree+honaker", "sqrt"), config, rng, "counter")
    small_rows, small_series = _counter_rows(config.optimal_Ts, ("tree", "sqrt", "optimal"), config, rng,
                                             "counter-small-T")
    rows += small_rows
    from onlinekit.privacy import MaxSum

    ms_curves = {}
    for d in config.maxsum_ds:
        for route in ("svt", "counters"):
            ms_curves[f"{route} d={d}"] = []
        for T in config.maxsum_Ts:
            p = np.linspace(0.6, 0.4, d)
            X = (rng.random((T, d)) < p).astype(float)
            true = np.cumsum(X, axis=0).max(axis=1)
            for route in ("svt", "counters"):
                m = MaxSum(T=T, d=d, privacy=("zcdp", config.maxsum_rho), route=route, noise="seeded",
                           seed=int(rng.integers(2**31)))
                err = float(np.max(np.abs(m.release_many(X) - true)))
                e = m.expected_error()
                rows.append({
                    "part": "maxsum", "method": route, "T": str(T), "d": str(d),
                    "max_err": err, "max_err_bound_95": e["max_error_bound"],
                    "auto_route": m.clone(route="auto").chosen_route,
                })
                ms_curves[f"{route} d={d}"].append(err)
    return {
        "rows": rows,
        "curves": {
            "counter_mse_vs_T": {"x": np.array(config.Ts, dtype=float), "series": series, "xlabel": "T",
                                 "ylabel": "mean squared error", "logx": True, "logy": True},
            "counter_mse_small_T": {"x": np.array(config.optimal_Ts, dtype=float), "series": small_series,
                                    "xlabel": "T", "ylabel": "mean squared error", "logx": True, "logy": True},
            "maxsum_error_vs_T": {"x": np.array(config.maxsum_Ts, dtype=float),
                                  "series": {k: np.array(v) for k, v in ms_curves.items()},
                                  "xlabel": "T", "ylabel": "max error", "logx": True, "logy": True},
        },
    }


def check(config: Config, results: list) -> list[str]:
    """Empirical MSE matches the closed form (tolerance from the run count), and the
    MaxSum errors stay within the reported 95% bounds in most runs."""
    fails = []
    tol = 6.0 * np.sqrt(2.0 / config.runs) + 0.05
    for r in results:
        for row in r["rows"]:
            if row["part"].startswith("counter") and abs(row["mse_ratio"] - 1.0) > tol:
                fails.append(f"{row['method']} T={row['T']}: mse/closed form = {row['mse_ratio']:.3f}")
    ms = [row for r in results for row in r["rows"] if row["part"] == "maxsum"]
    over = sum(row["max_err"] > row["max_err_bound_95"] for row in ms)
    if ms and over > 0.05 * len(ms) + 2:
        fails.append(f"MaxSum error above its 95% bound in {over} of {len(ms)} runs")
    return fails

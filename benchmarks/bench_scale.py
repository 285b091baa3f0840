"""Scale-out figures: experiment grids on the local pool vs Ray, many-run kernels vs loops, GPU.

* ``grid``: a 100-seed grid (quick: 12) of the ``sea-regret`` experiment (quick config) with
  ``run_experiment(jobs=1)``, ``run_experiment(jobs=os.cpu_count())`` (the local process
  pool) and the Ray backend (``run_seeds``, one task per seed, on a local Ray instance with
  the machine's CPUs); Ray's start-up cost (``ray.init``) is reported apart, and whether the
  Ray results equal the local ones bit for bit. Skipped when Ray is not installed.
  ``pool_over_ray_first`` compares like with like: both cold (worker processes started for
  the call), the same number of workers, Ray's ``ray.init`` reported apart; Ray's second,
  warm run (workers reused) has no local counterpart and is reported on its own. The pool's
  workers run one BLAS thread each; the same pool without that limit is timed too.
* ``split``: sharded replay's key splitter (a stable sort) vs the quadratic reference it
  replaced, 10^4 tenants x 2*10^5 rows (quick: 10^3 x 2*10^4), and whether the shards agree.
* ``cpu_kernels``: each CPU many-run kernel of :mod:`onlinekit.cuda` against a Python loop
  over runs of the family's single-run implementation (``OGD.predict_learn_many``,
  ``OMD.update_many``, ``TreeCounter.release_many``, ``best_perm``), runs per second.
* ``gpu``: runs per second of the CUDA kernels against the CPU path at realistic sizes
  (10^4 runs x 10^5 rounds for Hedge; quick: 10^3 x 10^4); skipped without a CUDA GPU (the
  simulator does not count).

Numbers are best of a few repeats on a machine shared with other jobs (2 cores), so absolute
figures are noisy; ratios measured in the same run are the steadier figures.
"""

from __future__ import annotations

import os
import time

import numpy as np


def _best(fn, repeats=3):
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (a != a and b != b)
    return a == b


def bench_grid(quick: bool) -> dict:
    from onlinekit.experiments import load_experiment, run_experiment
    from onlinekit.experiments.ray_backend import ray_available

    name, n = "sea-regret", (12 if quick else 100)
    cpus = os.cpu_count() or 1
    mod = load_experiment(name)
    cfg = mod.Config.quick()
    mod.run(cfg, 0)  # compile / warm the numba cache once before timing
    out: dict = {"experiment": name, "config": "quick", "n_seeds": n, "cpus": cpus}
    t = time.perf_counter()
    serial = run_experiment(name, config=cfg, n_seeds=n)
    out["serial_s"] = time.perf_counter() - t
    t = time.perf_counter()
    pool = run_experiment(name, config=cfg, n_seeds=n, jobs=cpus)
    out["local_pool_s"] = time.perf_counter() - t  # cold: starts its worker processes
    out["pool_equals_serial"] = _same(pool.results, serial.results)
    out["serial_over_pool"] = out["serial_s"] / out["local_pool_s"]
    # the same pool without the one-BLAS-thread-per-worker limit (what the runner did before)
    from concurrent.futures import ProcessPoolExecutor

    from onlinekit.experiments.runner import _call

    t = time.perf_counter()
    with ProcessPoolExecutor(max_workers=cpus) as ex:
        unlimited = list(ex.map(_call, [(mod.run, cfg, s) for s in serial.seeds]))
    out["local_pool_unlimited_threads_s"] = time.perf_counter() - t
    out["unlimited_equals_serial"] = _same(unlimited, serial.results)
    if not ray_available():
        out["ray"] = "skipped: Ray is not installed (pip install 'onlinekit[ray]')"
        return out
    import ray

    from onlinekit.experiments.ray_backend import ensure_ray, run_seeds

    started = not ray.is_initialized()
    t = time.perf_counter()
    ensure_ray(num_cpus=cpus)  # as many Ray CPUs as pool workers
    out["ray_startup_s"] = time.perf_counter() - t
    try:
        t = time.perf_counter()
        results, failures = run_seeds(mod.run, cfg, serial.seeds)
        out["ray_first_s"] = time.perf_counter() - t  # cold: starts workers, cold imports (like the pool)
        t = time.perf_counter()
        results, failures = run_seeds(mod.run, cfg, serial.seeds)
        out["ray_warm_s"] = time.perf_counter() - t  # workers reused: no local counterpart
        out["ray_failures"] = len(failures)
        out["ray_equals_local"] = _same(results, serial.results)
        out["ray_total_with_startup_s"] = out["ray_startup_s"] + out["ray_first_s"]
        # like for like: both cold, same number of workers, Ray's own start-up (ray.init) apart
        out["pool_over_ray_first"] = out["local_pool_s"] / out["ray_first_s"]
    finally:
        if started:
            ray.shutdown()
    return out


def _quadratic_splitter():
    """The original O(keys x rows) splitter, kept as a slow reference in the tests."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "tests" / "scale" / "scale_reference.py"
    spec = importlib.util.spec_from_file_location("_scale_reference", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.split_by_key_quadratic


def bench_split(quick: bool) -> dict:
    """``split_by_key`` (one stable sort) against the quadratic reference it replaced, on
    10^4 tenants x 2*10^5 rows (quick: 10^3 x 2*10^4) with text keys."""
    from onlinekit.sharded import split_by_key
    from onlinekit.streams import ArraySource, Schema

    tenants, rows = (1_000, 20_000) if quick else (10_000, 200_000)
    rng = np.random.default_rng(0)
    keys = np.array([f"tenant-{i}" for i in range(tenants)], dtype=object)[rng.integers(0, tenants, rows)]
    src = ArraySource({"tenant": keys, "x0": rng.normal(size=rows), "x1": rng.normal(size=rows),
                       "y": rng.normal(size=rows)})
    tn, new = _best(lambda: split_by_key(src, Schema(target="y"), "tenant")[1], repeats=3)
    old_fn = _quadratic_splitter()
    to, old = _best(lambda: old_fn(src, Schema(target="y"), "tenant"), repeats=1)
    same = list(new) == list(old) and all(
        new[k][0][c].tobytes() == old[k][0][c].tobytes() for k in new for c in new[k][0])
    return {"tenants": tenants, "rows": rows, "shards": len(new), "sort_split_s": tn, "quadratic_split_s": to,
            "speedup": to / tn, "same_shards": same}


def bench_cpu_kernels(quick: bool) -> dict:
    from onlinekit.cascade import best_perm, best_perm_batch
    from onlinekit.cuda import best_perm_many, hedge_many, ogd_many, tree_counter_many, tree_noise
    from onlinekit.oco import OGD, OMD, NegativeEntropy, Simplex
    from onlinekit.privacy import TreeCounter

    rng = np.random.default_rng(0)
    out: dict = {}
    R = 32 if quick else 200
    # OGD: R step sizes over one stream
    n, d = (2_000, 8) if quick else (20_000, 10)
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d)
    lrs = np.geomspace(1e-4, 0.1, R)
    ogd_many(X[:10], y[:10], lrs[:2])
    tk, res = _best(lambda: ogd_many(X, y, lrs))
    tl, _ = _best(lambda: [OGD(lr=float(lr)).predict_learn_many(X, y) for lr in lrs])
    out["ogd"] = {"runs": R, "rounds": n, "d": d, "many_runs_per_s": R / tk, "loop_runs_per_s": R / tl,
                  "speedup": tl / tk}
    # Hedge / entropic OMD: R step sizes
    T, k = (2_000, 10) if quick else (20_000, 10)
    G = rng.random((T, k))
    hedge_many(G[:5], lrs[:2])

    def omd_loop():
        for lr in lrs:
            OMD(n_dims=k, mirror=NegativeEntropy(), domain=Simplex(), lr=float(lr), schedule="constant").update_many(G)

    tk, _ = _best(lambda: hedge_many(G, lrs))
    tl, _ = _best(omd_loop)
    out["hedge"] = {"runs": R, "rounds": T, "d": k, "many_runs_per_s": R / tk, "loop_runs_per_s": R / tl,
                    "speedup": tl / tk}
    # tree counter: R streams with seeded Gaussian noise
    Tc = 2**10 if quick else 2**14
    Xs = rng.random((R, Tc))
    seeds = list(range(R))
    Z = tree_noise(seeds, Tc)
    scale = TreeCounter(T=Tc, noise="seeded", seed=0).guarantee.scale
    tree_counter_many(Xs[:1, :8], Z[:1], scale=scale)
    tk, _ = _best(lambda: tree_counter_many(Xs, Z, scale=scale))
    tl, _ = _best(lambda: [TreeCounter(T=Tc, noise="seeded", seed=s).release_many(Xs[s]) for s in seeds])
    out["tree"] = {"streams": R, "T": Tc, "many_runs_per_s": R / tk, "loop_runs_per_s": R / tl, "speedup": tl / tk,
                   "note": "the loop also draws its noise; the batch is given pre-drawn noise"}
    # BestPerm over all states
    S, N, m = (2_000, 20, 4) if quick else (50_000, 30, 5)
    Q, W, wb = rng.random((S, N)), rng.random((S, N)), rng.random(S) * 0.3
    best_perm_many(Q[:2], W[:2], wb[:2], m)
    best_perm_batch(Q[:2], W[:2], wb[:2], m)
    tk, _ = _best(lambda: best_perm_many(Q, W, wb, m))
    tb, _ = _best(lambda: best_perm_batch(Q, W, wb, m))
    n_loop = min(S, 2_000)
    tl, _ = _best(lambda: [best_perm(Q[s], W[s], float(wb[s]), m) for s in range(n_loop)])
    out["best_perm"] = {"states": S, "N": N, "m": m, "many_states_per_s": S / tk,
                        "cascade_batch_states_per_s": S / tb, "loop_states_per_s": n_loop / tl,
                        "speedup_vs_loop": (tl / n_loop) / (tk / S)}
    return out


def bench_gpu(quick: bool, sizes: tuple[int, int] | None = None, allow_simulator: bool = False) -> dict:
    """CUDA vs CPU runs/s; ``sizes=(runs, rounds)`` overrides the defaults (smoke tests)."""
    from onlinekit.cuda import cuda_available, hedge_many, ogd_many

    try:
        from numba import config

        sim = bool(config.ENABLE_CUDASIM)
    except ImportError:  # pragma: no cover
        sim = False
    if (sim and not allow_simulator) or not cuda_available():
        return {"skipped": "no CUDA GPU" + (" (the simulator is on)" if sim else "")}
    rng = np.random.default_rng(0)
    R, T = sizes or ((1_000, 10_000) if quick else (10_000, 100_000))
    d = 8
    G = rng.random((T, d))
    lrs = np.geomspace(1e-3, 1.0, R)
    hedge_many(G[:10], lrs[:4], device="cuda")  # compile both paths before timing
    hedge_many(G[:10], lrs[:4])
    tg, rg = _best(lambda: hedge_many(G, lrs, device="cuda"), repeats=2)
    Rc = max(1, R // 100)  # the CPU path on a slice of the runs (same per-run cost)
    tc, rc = _best(lambda: hedge_many(G, lrs[:Rc]), repeats=1)
    out = {"hedge": {"runs": R, "rounds": T, "d": d, "cuda_runs_per_s": R / tg, "cpu_runs_per_s": Rc / tc,
                     "speedup": (R / tg) / (Rc / tc),
                     "max_rel_diff_vs_cpu": float(np.max(np.abs(rg["loss"][:Rc] - rc["loss"]) / np.abs(rc["loss"])))}}
    n, dx = T, 10
    X = rng.normal(size=(n, dx))
    y = X @ rng.normal(size=dx)
    lr = np.geomspace(1e-5, 1e-2, R)
    ogd_many(X[:10], y[:10], lr[:4], device="cuda")
    ogd_many(X[:10], y[:10], lr[:4])
    tg, rg = _best(lambda: ogd_many(X, y, lr, device="cuda"), repeats=2)
    tc, rc = _best(lambda: ogd_many(X, y, lr[:Rc]), repeats=1)
    out["ogd"] = {"runs": R, "rounds": n, "d": dx, "cuda_runs_per_s": R / tg, "cpu_runs_per_s": Rc / tc,
                  "speedup": (R / tg) / (Rc / tc)}
    return out


def run(quick: bool = False) -> dict:
    """All parts; each part's figures are in its own entry."""
    return {"split": bench_split(quick), "cpu_kernels": bench_cpu_kernels(quick), "gpu": bench_gpu(quick),
            "grid": bench_grid(quick)}


if __name__ == "__main__":  # pragma: no cover
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))

"""Groupwise regression speed on the paper's synthetic set-up.

100,000 events (the paper's generator, ``mean`` label rule), ``d = 20`` features plus the 5
group indicators, 5 intersecting groups + ``always_on`` (3 experts awake per event), online
ridge base, AdaNormalHedge meta, expected loss. Compared, in the same run:

* ``GroupwiseRegressor.predict_learn_many`` (one numba kernel; JIT warmed first; best of 3);
* the same algorithm as a plain-numpy per-event loop (Sherman-Morrison updates with numpy
  matrix products, like the official code), timed on the first ``n_loop`` events;
* River's ``EWARegressor`` over 6 ``LinearRegression`` models (every expert awake -- River
  has no sleeping experts -- dict inputs, River's usual per-event API), first ``n_river``
  events.

Rates are events per wall-clock second, and per CPU second of the process (every path is
single-threaded, so on an idle core the two agree; on a shared, oversubscribed machine the
CPU-second rate is the stable one). Ratios within one run are the figure to read.
"""

from __future__ import annotations

import math
import time

import numpy as np


def _numpy_groupwise(X, y, A, l2=1.0):
    """Per-event numpy implementation of groupwise ridge + AdaNormalHedge (expected loss)."""
    n, d = X.shape
    E = A.shape[1]
    Ainv = np.stack([np.eye(d) / l2] * E)
    W = np.zeros((E, d))
    R, C = np.zeros(E), np.zeros(E)
    loss = np.empty(n)
    for t in range(n):
        x, a = X[t], np.flatnonzero(A[t])
        fc = W[a] @ x
        dr = 3.0 * (C[a] + 1.0)
        w = 0.5 * (np.exp(np.clip(R[a] + 1, 0, None) ** 2 / dr) - np.exp(np.clip(R[a] - 1, 0, None) ** 2 / dr))
        p = w / w.sum() if w.sum() > 0 else np.full(len(a), 1.0 / len(a))
        le = (fc - y[t]) ** 2
        loss[t] = p @ le
        r = loss[t] - le
        R[a] += r
        C[a] += np.abs(r)
        for j, e in enumerate(a):
            u = Ainv[e] @ x
            q = 1.0 + x @ u
            Ainv[e] -= np.outer(u, u) / q
            W[e] += u * (y[t] - fc[j]) / q
    return loss


def _best(fn, repeat):
    """Best wall time and best process CPU time over ``repeat`` calls, and the last output."""
    best, best_cpu = math.inf, math.inf
    out = None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, time.perf_counter() - t0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    return best, best_cpu, out


def run(quick: bool = False) -> dict:
    from river import ensemble, linear_model, optim

    from onlinekit.experts import GroupwiseRegressor
    from onlinekit.streams.groupwise_data import make_groupwise_synthetic

    n = 20_000 if quick else 100_000
    n_loop = 2_000 if quick else 10_000
    n_river = 1_000 if quick else 5_000
    data = make_groupwise_synthetic(n=n, d=20, seed=21)
    X = np.hstack([data["X"], data["groups"].astype(np.float64)])
    y = data["labels"]["mean"]
    G = data["groups"]
    A = np.hstack([G, np.ones((n, 1), bool)])

    GroupwiseRegressor(groups=5).predict_learn_many(X[:100], y[:100], groups=G[:100])  # JIT warm-up

    def ours():
        m = GroupwiseRegressor(groups=5)
        return m.predict_learn_many(X, y, groups=G, return_loss=True)[1]

    t_ours, c_ours, loss_ours = _best(ours, 1 if quick else 3)
    t_np, c_np, loss_np = _best(lambda: _numpy_groupwise(X[:n_loop], y[:n_loop], A[:n_loop]), 1)
    agree = float(np.max(np.abs(loss_np - loss_ours[:n_loop])))

    names = [f"x{j}" for j in range(X.shape[1])]
    rows = [dict(zip(names, X[i].tolist(), strict=True)) for i in range(n_river)]

    def river_run():
        model = ensemble.EWARegressor(
            models=[linear_model.LinearRegression(optimizer=optim.SGD(0.01), intercept_lr=0.01) for _ in range(6)],
            learning_rate=0.5,
        )
        for i in range(n_river):
            model.predict_one(rows[i])
            model.learn_one(rows[i], float(y[i]))

    t_river, c_river, _ = _best(river_run, 1)
    ours_rate = n / t_ours
    np_rate = n_loop / t_np
    river_rate = n_river / t_river
    return {
        "events": n,
        "features": X.shape[1],
        "experts": A.shape[1],
        "groupwise_events_per_s": ours_rate,
        "groupwise_events_per_cpu_s": n / c_ours,
        "numpy_loop_events_per_cpu_s": n_loop / c_np,
        "river_ewa_events_per_cpu_s": n_river / c_river,
        "numpy_loop_events_per_s": np_rate,
        "river_ewa_events_per_s": river_rate,
        "speedup_vs_numpy_loop": ours_rate / np_rate,
        "speedup_vs_river_ewa": ours_rate / river_rate,
        "max_abs_loss_diff_vs_numpy_loop": agree,
    }


if __name__ == "__main__":  # pragma: no cover
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))

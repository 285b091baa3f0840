"""OMD family speed, with River's EWARegressor as the peer (measured in the same run).

* Hedge = entropic OMD on the simplex over 10 experts, block mode (``update_many`` of the
  experts' loss matrix), vs River ``ensemble.EWARegressor`` over 10 linear regressors on the
  same stream (River also trains its regressors; our experts' losses are computed from 10
  fixed linear predictors inside the timed region).
* OptimisticOMD on the L2 ball, d = 100: block rounds/s (``update_many`` of raw gradients)
  and the per-round ``play()`` + ``update(g)`` cost from Python.
* The CVXPY path (a polytope domain): rounds/s and the number of times CVXPY compiled the
  DPP problem (1 = built once, re-solved).

The machine is shared; absolute numbers are noisy.
"""

from __future__ import annotations

import time

import numpy as np


def _best(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def run(quick: bool = False) -> dict:
    from river import ensemble, linear_model, optim

    from onlinekit.oco import OMD, L2Ball, NegativeEntropy, OptimisticOMD, Polytope, Simplex

    rng = np.random.default_rng(0)
    out: dict = {}

    # -- Hedge vs EWARegressor ------------------------------------------------------------
    n, d, N = (200_000 if quick else 2_000_000), 5, 10
    n_river = 5_000 if quick else 20_000
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
    W = rng.normal(size=(d, N))

    def hedge_block():
        losses = (X @ W - y[:, None]) ** 2
        np.minimum(losses, 10.0, out=losses)
        OMD(n_dims=N, mirror=NegativeEntropy(), domain=Simplex(), lr=0.1, schedule="constant").update_many(losses)

    OMD(n_dims=N, mirror=NegativeEntropy(), domain=Simplex(), lr=0.1, schedule="constant").update_many(
        np.ones((4, N)))
    t_hedge = _best(hedge_block)
    L = np.minimum((X @ W - y[:, None]) ** 2, 10.0)
    t_hedge_upd = _best(lambda: OMD(n_dims=N, mirror=NegativeEntropy(), domain=Simplex(), lr=0.1,
                                    schedule="constant").update_many(L))
    dicts = [dict(enumerate(row)) for row in X[:n_river].tolist()]

    def river_ewa():
        m = ensemble.EWARegressor([linear_model.LinearRegression(optimizer=optim.SGD(0.01 * (k + 1)))
                                   for k in range(N)], learning_rate=0.1)
        for x, t in zip(dicts, y[:n_river].tolist(), strict=True):
            m.predict_one(x)
            m.learn_one(x, t)

    t_river = _best(river_ewa, repeat=1)
    out["hedge_10_experts_rounds_per_s"] = n / t_hedge
    out["hedge_10_experts_update_only_rounds_per_s"] = n / t_hedge_upd
    out["river_ewa_10_regressors_rounds_per_s"] = n_river / t_river
    out["hedge_vs_river_ratio"] = out["hedge_10_experts_rounds_per_s"] / out["river_ewa_10_regressors_rounds_per_s"]

    # -- OptimisticOMD, L2 ball, d = 100 ------------------------------------------------------
    n2, d2 = (100_000 if quick else 1_000_000), 100
    G = rng.normal(size=(n2, d2))
    OptimisticOMD(n_dims=d2, domain=L2Ball(1.0)).update_many(G[:10])
    t_blk = _best(lambda: OptimisticOMD(n_dims=d2, domain=L2Ball(1.0)).update_many(G))
    out["optimistic_omd_d100_block_rounds_per_s"] = n2 / t_blk
    m = OptimisticOMD(n_dims=d2, domain=L2Ball(1.0))
    n_pe = 20_000 if quick else 200_000
    rows = [G[i].copy() for i in range(1000)]

    def per_round():
        for i in range(n_pe):
            m.play()
            m.update(rows[i % 1000])

    per_round()
    out["optimistic_omd_d100_play_update_us"] = _best(per_round) / n_pe * 1e6

    # -- CVXPY path -------------------------------------------------------------------------
    d3 = 5
    A = np.vstack([np.eye(d3), -np.eye(d3), np.ones((1, d3))])
    b = np.concatenate([np.ones(d3), np.ones(d3), [2.0]])
    n3 = 200 if quick else 2000
    G3 = rng.normal(size=(n3, d3))
    omd = OMD(n_dims=d3, domain=Polytope(A, b, diameter=2 * np.sqrt(d3)), lr=0.5)
    t0 = time.perf_counter()
    omd.update_many(G3)
    dt = time.perf_counter() - t0
    out["cvxpy_polytope_d5_rounds_per_s"] = n3 / dt
    out["cvxpy_compiles"] = omd._cvx.n_compiles
    out["cvxpy_solves"] = omd._cvx.n_solves
    return out


if __name__ == "__main__":  # pragma: no cover
    import json

    print(json.dumps(run(quick=True), indent=2))

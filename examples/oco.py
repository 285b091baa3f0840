"""Online mirror descent in three short scenes.

1. Hedge (entropic OMD on the simplex) against 10 experts.
2. Optimistic OMD vs worst-case-tuned OGD on a fixed SEA quadratic (sigma = Sigma = 0).
3. OMDRegressor inside a River pipeline, scored with progressive validation.

Run: python examples/oco.py [--quick]
"""

from __future__ import annotations

import argparse
import math

import numpy as np


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    T = 2_000 if args.quick else 50_000
    rng = np.random.default_rng(args.seed)

    from onlinekit.oco import OMD, L2Ball, NegativeEntropy, OMDRegressor, OptimisticOMD, QuadraticLoss, Simplex
    from onlinekit.streams.sea import SEAStream

    # 1. Hedge over 10 experts with losses in [0, 1]; expert 3 is best on average
    N = 10
    L = rng.random((T, N))
    L[:, 3] *= 0.8
    eta = math.sqrt(8 * math.log(N) / T)
    hedge = OMD(n_dims=N, mirror=NegativeEntropy(), domain=Simplex(), lr=eta, schedule="constant")
    regret = hedge.update_many(L).sum() - L.sum(axis=0).min()
    print(f"Hedge, {N} experts, T={T}: regret {regret:.1f} (bound sqrt(T ln N / 2) = "
          f"{math.sqrt(T * math.log(N) / 2):.1f}); weight on the best expert {hedge.play()[3]:.3f}")

    # 2. SEA quadratic with a fixed mean: optimistic OMD's regret stays flat
    from onlinekit.experiments.sea_regret import prefix_regret

    xi, _, _ = SEAStream(n=T, d=5, regime="adversarial", drift=0.0, seed=args.seed).arrays()
    G = 1.5
    ogd = OMD(n_dims=5, domain=L2Ball(1.0), schedule="constant", lr=2.0 / (G * math.sqrt(T)))
    oomd = OptimisticOMD(n_dims=5, domain=L2Ball(1.0), lr=2.0, delta=1.0 + 4 * G * G)
    for name, learner in (("OGD (eta = D/(G sqrt T))", ogd), ("OptimisticOMD", oomd)):
        reg = prefix_regret(xi, learner.update_many(QuadraticLoss(xi)), 1.0)
        print(f"SEA fixed quadratic, {name}: regret at T/4 {reg[T // 4 - 1]:.3f}, at T {reg[-1]:.3f}")

    # 3. River pipeline
    from river import compose, evaluate, metrics, preprocessing

    X = rng.normal(size=(T, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.normal(size=T)
    data = [({f"x{j}": X[i, j] for j in range(4)}, y[i]) for i in range(T)]
    model = compose.Pipeline(preprocessing.StandardScaler(),
                             OMDRegressor(domain=L2Ball(5.0), lr=0.5, schedule="sqrt", hint="last"))
    mae = evaluate.progressive_val_score(data, model, metrics.MAE())
    print(f"OMDRegressor (optimistic, L2 ball) in a River pipeline: progressive {mae}")


if __name__ == "__main__":
    main()

"""Aranyani on UCI Adult: how the demographic-parity gap and accuracy move with lambda.

Run:  python examples/fair.py [--quick] [--data PATH/adult.data]
(default data: the `adult` data set, fetched with `onlinekit data fetch adult`)
"""

import argparse
import time

import numpy as np

from onlinekit.fair import Aranyani, fairness_summary
from onlinekit.streams.adult import AdultData, load_adult
from onlinekit.streams.errors import MissingDataError


def _synthetic(n: int, seed: int) -> AdultData:
    rng = np.random.default_rng(seed)
    a = (rng.random(n) < 0.67).astype(np.int64)
    X = rng.normal(size=(n, 6))
    X[:, 5] += 1.5 * a
    y = (X[:, 0] + 0.8 * X[:, 5] + 0.5 * rng.normal(size=n) > 1.2).astype(np.int64)
    return AdultData(X, y, a, [f"x{j}" for j in range(6)], "synthetic")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="first 5,000 rows and three lambdas")
    ap.add_argument("--data", default=None, help="path of adult.data (default: the fetched `adult` data set)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    try:
        data = load_adult(args.data, n_rows=5000 if args.quick else None)
        print(f"Adult: {len(data)} events in file order, majority rate {1 - data.y.mean():.3f}")
    except MissingDataError as exc:
        print(f"{exc}\nusing a synthetic stream where one feature reveals the group instead")
        data = _synthetic(5000 if args.quick else 30000, args.seed)
    lambdas = (0.0, 1.0, 100.0) if args.quick else (0.0, 0.1, 0.3, 0.5, 1.0, 5.0, 10.0, 100.0)
    Aranyani(seed=0).learn_many(data.X[:2], data.y[:2], sensitive=data.sensitive[:2])  # load the JIT
    print(f"{'lambda':>8} {'accuracy':>9} {'DP gap':>7} {'EO gap':>7} {'events/s':>9}")
    for lam in lambdas:
        model = Aranyani(lambda_=lam, seed=args.seed)
        t0 = time.perf_counter()
        p = model.predict_learn_many(data.X, data.y, sensitive=data.sensitive)
        rate = len(data) / (time.perf_counter() - t0)
        r = fairness_summary(data.y, (p > 0.5).astype(int), data.sensitive)
        print(f"{lam:>8g} {r['accuracy']:>9.4f} {r['dp_gap']:>7.4f} {r['eo_gap']:>7.4f} {rate:>9.0f}")
    gaps = np.abs(model.node_gaps())
    print(f"node gaps |F| at lambda={lambdas[-1]:g}: mean {gaps.mean():.4f}, max {gaps.max():.4f}")


if __name__ == "__main__":
    main()

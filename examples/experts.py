"""Groupwise regret with sleeping experts: one online ridge per group, AdaNormalHedge on top.

Replays the synthetic data of Acharya et al. (2024) (shapes x colours, label = mean of the
point's two group labels) through a single online ridge (the baseline) and through
``GroupwiseRegressor``, and prints each group's end regret against the best linear fit in
hindsight on that group.

    python examples/experts.py [--quick] [--rule mean|min|max|dperm]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from onlinekit.experts import GroupwiseRegressor, OnlineRidge
from onlinekit.experts.groupwise_metrics import groupwise_regret
from onlinekit.streams.groupwise_data import make_groupwise_synthetic


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5,000 events instead of 100,000")
    ap.add_argument("--rule", default="mean", choices=["mean", "min", "max", "dperm"])
    ap.add_argument("--seed", type=int, default=21, help="data seed (the paper's is 21)")
    args = ap.parse_args(argv)

    n = 5_000 if args.quick else 100_000
    data = make_groupwise_synthetic(n=n, seed=args.seed)
    X = np.hstack([data["X"], data["groups"].astype(float)])  # features include the group indicators
    y, G, names = data["labels"][args.rule], data["groups"], data["group_names"]

    t0 = time.perf_counter()
    baseline = (OnlineRidge(l2=1.0).predict_learn_many(X, y) - y) ** 2
    model = GroupwiseRegressor(groups=names)  # ridge per group + always_on, AdaNormalHedge
    _, ours = model.predict_learn_many(X, y, groups=G, return_loss=True)
    elapsed = time.perf_counter() - t0

    Gm = np.hstack([G, np.ones((n, 1), bool)])
    res = groupwise_regret({"baseline": baseline, "groupwise": ours}, Gm, X, y,
                           group_names=names + ["always_on"], k=10)
    print(f"{n} events, label rule {args.rule!r}, {elapsed:.2f} s for both learners")
    print(f"{'group':10s} {'n':>7s} {'regret baseline':>16s} {'regret groupwise':>17s}")
    for g, r in res.items():
        print(f"{g:10s} {r['n']:7d} {r['regret']['baseline'][-1]:16.2f} {r['regret']['groupwise'][-1]:17.2f}")


if __name__ == "__main__":
    main()

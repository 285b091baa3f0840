"""Private continual counting: tree, tree+Honaker and square-root factorization side by side.

    python examples/privacy.py [--quick]

Counts a synthetic 0/1 stream under rho-zCDP with each counter (seeded research noise, so
the run is reproducible -- seeded noise gives NO privacy), prints the empirical and the
closed-form error, then runs the production (secure, discrete-noise) tree counter briefly and
a MaxSum over a few columns.
"""

from __future__ import annotations

import argparse

import numpy as np

from onlinekit.privacy import MaxSum, SqrtFactorCounter, TreeCounter


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small horizon")
    ap.add_argument("--rho", type=float, default=0.5)
    args = ap.parse_args(argv)
    T = 2**10 if args.quick else 2**16
    x = (np.random.default_rng(0).random(T) < 0.3).astype(float)
    S = np.cumsum(x)
    print(f"T={T}, privacy=('zcdp', {args.rho}), replacement neighbours")
    print(f"{'counter':>14} {'rmse':>8} {'closed-form rmse':>17} {'max err':>8} {'95% bound':>10}")
    for name, c in [
        ("tree", TreeCounter(T=T, privacy=("zcdp", args.rho), noise="seeded", seed=1)),
        ("tree+honaker", TreeCounter(T=T, privacy=("zcdp", args.rho), honaker=True, noise="seeded", seed=1)),
        ("sqrt", SqrtFactorCounter(T=T, privacy=("zcdp", args.rho), noise="seeded", seed=1)),
    ]:
        err = c.release_many(x) - S
        e = c.expected_error()
        print(f"{name:>14} {np.sqrt(np.mean(err**2)):8.2f} {e['rmse']:17.2f} {np.abs(err).max():8.2f} "
              f"{e['max_error_bound']:10.2f}")
    secure = TreeCounter(T=64, privacy=("zcdp", args.rho))  # exact discrete Gaussian, OS CSPRNG
    y = secure.release_many(x[:64])
    print(f"secure tree (64 steps): final estimate {y[-1]:.2f} vs true {S[63]:.0f}; "
          f"guarantee {secure.privacy_loss(1)}")
    X = (np.random.default_rng(2).random((2000, 8)) < np.linspace(0.7, 0.3, 8)).astype(float)
    m = MaxSum(T=2000, d=8, privacy=("zcdp", args.rho), noise="seeded", seed=3)
    ys = m.release_many(X)
    err = np.abs(ys - np.cumsum(X, axis=0).max(axis=1)).max()
    print(f"MaxSum (route {m.chosen_route}): max error {err:.1f}, 95% bound {m.expected_error()['max_error_bound']:.1f}")


if __name__ == "__main__":
    main()

"""Scale out: many runs per call (CPU numba or CUDA), sharded replay, Ray experiment grids.

    python examples/scale.py [--quick] [--device cpu|cuda] [--backend local|ray] [--address ADDR]

1. Hedge (entropic mirror descent) over one adversarial loss stream for a grid of step sizes,
   with 32 seeded sampling runs at the tuned step: regret against the best expert.
2. The binary-tree counter over 512 streams at once: empirical error against the closed form.
3. BestPerm over every state of a random cascading MDP.
4. Sharded replay: one OGD learner per advertiser, merged report (``--backend ray`` runs one
   Ray task per advertiser; needs ``pip install "onlinekit[ray]"``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from onlinekit.cuda import best_perm_many, hedge_many, tree_counter_many, tree_noise


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--backend", choices=["local", "ray"], default="local", help="sharded replay backend")
    ap.add_argument("--address", default=None, help="Ray cluster address (default: a local instance)")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)

    # 1. Hedge step-size grid on a shared i.i.d. stream where expert 0 is best by a margin
    T, d = (2_000, 8) if args.quick else (100_000, 32)
    G = rng.random((T, d))
    G[:, 0] -= 0.05
    lrs = np.geomspace(1e-3, 1.0, 13)
    t0 = time.perf_counter()
    res = hedge_many(G, lrs, device=args.device)
    best_expert = G.sum(axis=0).min()
    regret = res["loss"] - best_expert
    k = int(np.argmin(regret))
    theory = np.sqrt(8 * np.log(d) / T)
    j = int(np.argmin(np.abs(np.log(lrs / theory))))
    print(f"hedge: {len(lrs)} step sizes x {T} rounds in {time.perf_counter() - t0:.2f}s; "
          f"best lr={lrs[k]:.4f}: regret {regret[k]:.1f}; at the worst-case lr sqrt(8 ln d / T) "
          f"~ {lrs[j]:.4f}: regret {regret[j]:.1f}")
    U = np.vstack([np.random.default_rng(s).random(T) for s in range(32)])
    sampled = hedge_many(G, np.full(32, lrs[k]), uniforms=U, device=args.device)["sampled_loss"] - best_expert
    print(f"       32 sampled runs at that lr: regret {sampled.mean():.1f} +/- {sampled.std(ddof=1):.1f}")

    # 2. tree counter over many streams
    S, Tc = (128, 1024) if args.quick else (512, 2**14)
    X = (rng.random((S, Tc)) < 0.3).astype(float)
    sigma = 3.0
    out = tree_counter_many(X, tree_noise(range(S), Tc), scale=sigma, releases=False, device=args.device)
    pop = np.array([bin(t).count("1") for t in range(1, Tc + 1)])
    print(f"tree counter: {S} streams x {Tc} steps; mean squared error {out['mse'].mean():.2f} "
          f"(closed form sigma^2 mean popcount(t) = {sigma**2 * pop.mean():.2f})")

    # 3. BestPerm over all states
    n_states, N, m = (500, 10, 3) if args.quick else (20_000, 30, 5)
    values, lists, lengths = best_perm_many(rng.random((n_states, N)), rng.random((n_states, N)),
                                            rng.random(n_states) * 0.3, m, device=args.device)
    print(f"best_perm: {n_states} states, N={N}, m={m}: mean value {values.mean():.4f}, "
          f"mean list length {lengths.mean():.2f}")

    # 4. sharded replay, one learner per advertiser
    from onlinekit.oco import OGD
    from onlinekit.sharded import replay_sharded
    from onlinekit.streams import ArraySource

    n = 6_000 if args.quick else 200_000
    adv = rng.choice([f"adv{i}" for i in range(4)], size=n)
    x = rng.normal(size=(n, 3))
    coef = {f"adv{i}": rng.normal(size=3) for i in range(4)}
    y = np.einsum("ij,ij->i", x, np.array([coef[a] for a in adv])) + 0.1 * rng.normal(size=n)
    src = ArraySource({"advertiser": adv, "x0": x[:, 0], "x1": x[:, 1], "x2": x[:, 2], "y": y})
    rep = replay_sharded(OGD(lr=0.02), src, "advertiser", backend=args.backend, address=args.address)
    print(f"sharded replay ({args.backend}): {rep.n_events} events over {int(rep.summary['n_shards'])} advertisers, "
          f"mean squared loss {rep.summary['mean_squared_loss']:.4f}")


if __name__ == "__main__":
    main()

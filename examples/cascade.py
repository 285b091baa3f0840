"""Cascading RL in a few seconds: CascadingVI vs AdaptVI, and CascadeKL-UCB on a cascading bandit.

Run:  python examples/cascade.py [--quick] [--episodes K] [--seed S]
"""

import argparse

import numpy as np

from onlinekit.cascade import AdaptVI, CascadeKLUCB, CascadeUCB1, CascadingVI, best_perm, position_ips
from onlinekit.cascade.simulate import run_episodes
from onlinekit.streams.cascade_env import CascadingBanditEnv, movielens_like_mdp, n_lists
from onlinekit.streams.errors import MissingDataError
from onlinekit.streams.obd import load_obd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small instance, 500 episodes")
    ap.add_argument("--episodes", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--obd", default=None, help="Open Bandit Dataset directory (default: the fetched `obd` data set)")
    args = ap.parse_args()
    S, N, H, m = (4, 6, 2, 2) if args.quick else (10, 12, 3, 3)
    K = args.episodes or (500 if args.quick else 10_000)

    q, w = np.array([0.2, 0.6, 0.1, 0.4]), np.array([1.0, 0.3, 0.9, 0.8])
    value, items = best_perm(q, w, 0.1, 2)
    print(f"BestPerm toy: best list {items.tolist()} with value {value:.4f}")

    env = movielens_like_mdp(S, N, H, m, seed=args.seed)
    print(f"MovieLens-like cascading MDP: S={S} N={N} H={H} m={m} ({n_lists(N, m)} lists per state), "
          f"V* = {env.optimal_value():.4f}, {K} episodes")
    print(f"{'method':<20} {'regret':>9} {'last 10%':>9} {'episodes/s':>11}")
    for name, agent in (("CascadingVI", CascadingVI(S, N, H, m, rewards=env.rewards)),
                        ("CascadingVI-Bonus", CascadingVI(S, N, H, m, rewards=env.rewards, bonus="hoeffding")),
                        ("AdaptVI", AdaptVI(S, N, H, m, rewards=env.rewards))):
        out = run_episodes(agent, env, K, seed=args.seed)
        r = out["regret"]
        print(f"{name:<20} {r.sum():>9.2f} {r[-max(1, K // 10):].sum():>9.2f} {K / out['seconds']:>11.0f}")

    bandit = CascadingBanditEnv.random(20, 4, seed=args.seed)
    T = 2000 if args.quick else 20_000
    print(f"Cascading bandit: 20 items, 4 positions, q ~ Beta(1, 10), {T} rounds")
    for name, agent in (("CascadeKL-UCB", CascadeKLUCB(20, 4)), ("CascadeUCB1", CascadeUCB1(20, 4)),
                        ("CascadingVI (S=H=1)", CascadingVI(1, 20, 1, 4))):
        print(f"{name:<20} regret {run_episodes(agent, bandit, T, seed=args.seed)['regret'].sum():8.2f}")

    try:
        rnd, bts = load_obd(args.obd, "random"), load_obd(args.obd, "bts")
    except MissingDataError as exc:
        print(f"OBD off-policy evaluation skipped: {exc}")
        return
    on = position_ips(rnd.position, rnd.click, rnd.propensity, rnd.propensity)
    off = position_ips(bts.position, bts.click, bts.propensity, np.full(len(bts), 1.0 / bts.n_items))
    print("OBD, uniform-random policy, expected clicks per impression (position-based model):")
    print(f"  on-policy (random log)        {on.value:.4f} +/- {on.stderr:.4f}")
    print(f"  off-policy IPS from bts log   {off.value:.4f} +/- {off.stderr:.4f}")


if __name__ == "__main__":
    main()

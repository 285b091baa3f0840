"""Multi-channel autobidding: learn per-channel budgets with SGD-UCB.

Three auction channels (2, 4 and 6 competitors, U[0, 1] values, second price), an aggregate
budget of 1 and an ROI target of 1.2 per round. Prints the learner's average conversion per
round against the expected grid LP it is measured against, and its time-averaged ROI and
budget violations.

    python examples/bidding.py            # 5,000 periods of 200 rounds
    python examples/bidding.py --quick    # 400 periods of 50 rounds
"""

from __future__ import annotations

import argparse

import numpy as np

from onlinekit.bidding import GridLP, SGDUCBBudgeter
from onlinekit.streams.auctions import MultiChannelAuctions


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small run (seconds)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    periods, rounds = (400, 50) if args.quick else (5000, 200)
    grid = np.linspace(0.0, 1.0, 11)
    env = MultiChannelAuctions(rounds_per_period=rounds, competitor_pacing=False, competitor_init=(0.0, 1.25),
                               seed=args.seed)
    learner = SGDUCBBudgeter(grid=grid, n_channels=3, total_budget=1.0, target_roi=1.2, lr=1.0, ucb_scale=0.02)
    obs = env.reset()
    for _ in range(periods):
        budgets = learner.act(obs)
        step = env.step(budgets)
        learner.update(obs, budgets, step.feedback)
        obs = step.obs
    V, D = env.channel_curves(grid, n_periods=50, seed=args.seed + 1)
    lp = GridLP(3, len(grid)).solve(V, D, budget=1.0, target_roi=1.2).value
    conv = learner.total_conversion_ / learner.t_
    print(f"periods: {periods} x {rounds} rounds x 3 channels")
    print(f"SGD-UCB conversion per round: {conv:.4f}   grid LP: {lp:.4f}   ratio: {conv / lp:.3f}")
    print(f"time-averaged ROI violation: {learner.roi_violation:.4f}   "
          f"budget violation: {learner.budget_violation:.4f}")
    print(f"final budgets: {learner.act(obs).round(2).tolist()}   duals (lam, mu): "
          f"({learner.lambda_:.3f}, {learner.mu_:.3f})")
    return {"conversion": conv, "grid_lp": lp}


if __name__ == "__main__":
    main()

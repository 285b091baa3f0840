"""Registry entries of the autobidding family (see :mod:`onlinekit.registry`)."""

LEARNERS = {
    "sgd-ucb-budgeter": ("onlinekit.bidding.sgd_ucb:SGDUCBBudgeter", "auction",
                         "per-channel budgets from a grid: UCB on the Lagrangian, projected SGD on ROI/budget duals"),
    "dual-pacing-bidder": ("onlinekit.bidding.pacing:DualPacingBidder", "auction",
                           "channel autobidder: bid v(1+lam)/(mu+lam*gamma) with projected dual steps per auction"),
}

EXPERIMENTS = {
    "autobidding": ("onlinekit.experiments.autobidding",
                    "SGD-UCB budgets on 3 auction channels vs the expected grid LP; ROI/budget violations vs T"),
}

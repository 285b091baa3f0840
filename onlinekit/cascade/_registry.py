"""Registry entries of the cascade family (see :mod:`onlinekit.registry`)."""

LEARNERS = {
    "cascade-ucb1": ("onlinekit.cascade.cascade_ucb:CascadeUCB1", "logged-bandit", "CascadeUCB1 for cascading bandits (Kveton et al. 2015)"),
    "cascade-klucb": ("onlinekit.cascade.cascade_ucb:CascadeKLUCB", "logged-bandit", "CascadeKL-UCB for cascading bandits (Kveton et al. 2015)"),
    "cascading-vi": ("onlinekit.cascade.cascading_vi:CascadingVI", "environment", "optimistic value iteration with BestPerm for cascading MDPs (Du et al. 2024)"),
    "cascading-bpi": ("onlinekit.cascade.cascading_bpi:CascadingBPI", "environment", "best-policy identification in cascading MDPs (Du et al. 2024)"),
    "adapt-vi": ("onlinekit.cascade.adapt_vi:AdaptVI", "environment", "UCB value iteration over lists as atomic actions (baseline)"),
}

EXPERIMENTS = {
    "cascading-rl": ("onlinekit.experiments.cascading_rl", "CascadingVI vs -Bonus, -Oracle and AdaptVI: regret and wall time (Du et al. 2024, Fig. 1)"),
}

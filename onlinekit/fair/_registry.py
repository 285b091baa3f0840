"""Registry entries of the fair family (see :mod:`onlinekit.registry`)."""

LEARNERS = {
    "oblique-forest": ("onlinekit.fair.forest:ObliqueForest", "supervised",
                       "online soft oblique decision forest (Adam, batch size 1)"),
    "aranyani": ("onlinekit.fair.aranyani:Aranyani", "supervised",
                 "fair online oblique forest, node-level demographic parity from running group stats"),
    "reservoir-fair-forest": ("onlinekit.fair.baselines:ReservoirFairForest", "supervised",
                              "oblique forest with a DP penalty over per-group input reservoirs (baseline)"),
}

EXPERIMENTS = {
    "aranyani-adult": ("onlinekit.experiments.aranyani_adult",
                       "Aranyani accuracy vs demographic parity on UCI Adult, lambda grid, with baselines"),
}

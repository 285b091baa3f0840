"""Registry entries of the experts family (see :mod:`onlinekit.registry`)."""

LEARNERS = {
    "hedge": ("onlinekit.experts.hedge:Hedge", "experts", "Hedge (exponential weights) with sleeping experts, log-space weights"),
    "adanormalhedge": ("onlinekit.experts.adanormalhedge:AdaNormalHedge", "experts", "parameter-free AdaNormalHedge with sleeping experts"),
    "online-ridge": ("onlinekit.experts.ridge:OnlineRidge", "supervised", "online ridge regression (Sherman-Morrison), optional Vovk-Azoury-Warmuth forecast"),
    "groupwise": ("onlinekit.experts.groupwise:GroupwiseRegressor", "supervised", "groupwise regret: one base learner per group, sleeping-experts meta over awake groups"),
}

EXPERIMENTS = {
    "groupwise-synthetic": ("onlinekit.experiments.groupwise_synthetic", "groupwise regret on the paper's synthetic shape/colour data (4 label rules)"),
    "groupwise-medical": ("onlinekit.experiments.groupwise_medical", "groupwise regret on Medical Cost (insurance.csv), paper's 11 groups + always-on"),
    "groupwise-adult": ("onlinekit.experiments.groupwise_adult", "groupwise regret on UCI Adult (binary target; substitute for the paper's reconstruction)"),
}

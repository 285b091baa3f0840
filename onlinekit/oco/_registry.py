"""Registry entries of the OCO family (see :mod:`onlinekit.registry`)."""

LEARNERS = {
    "ogd": ("onlinekit.oco.ogd:OGD", "supervised", "projected online gradient descent, linear model (squared or logistic loss)"),
    "ogd-classifier": ("onlinekit.oco.ogd:OGDClassifier", "supervised", "OGD with logistic loss as a River binary classifier"),
    "ogd-multiclass": ("onlinekit.oco.softmax:OGDMulticlass", "supervised", "softmax regression by OGD: multiclass labels (text or numbers), classes as they appear"),
    "omd": ("onlinekit.oco.omd:OMD", "oco", "online mirror descent (Euclidean, entropic, p-norm maps; closed-form or CVXPY domains)"),
    "optimistic-omd": ("onlinekit.oco.omd:OptimisticOMD", "oco", "optimistic OMD for the SEA model (Chen et al. 2023), hinted two-step update"),
    "optimistic-ftrl": ("onlinekit.oco.ftrl:OptimisticFTRL", "oco", "optimistic FTRL on an L2 ball with the adaptive step of Sachs et al. (2022)"),
    "dynamic-omd": ("onlinekit.oco.dynamic:DynamicOMD", "oco", "step-size pool of optimistic OGD + optimistic Hedge meta (dynamic regret, SEA)"),
    "ons": ("onlinekit.oco.ons:ONS", "oco", "online Newton step for exp-concave losses (generalised projection: ball fast path or CVXPY)"),
    "omd-regressor": ("onlinekit.oco.omd_supervised:OMDRegressor", "supervised", "(optimistic) OMD on a linear regressor, River API"),
    "omd-classifier": ("onlinekit.oco.omd_supervised:OMDClassifier", "supervised", "(optimistic) OMD on a linear binary classifier (logistic or hinge), River API"),
}

EXPERIMENTS = {
    "sea-regret": ("onlinekit.experiments.sea_regret", "regret of OGD / optimistic OMD / optimistic FTRL across SEA regimes (Chen et al. 2023)"),
}

"""Registry entries of the OCO family (see :mod:`onlinekit.registry`)."""

LEARNERS = {
    "ogd": ("onlinekit.oco.ogd:OGD", "supervised", "projected online gradient descent, linear model (squared or logistic loss)"),
    "ogd-classifier": ("onlinekit.oco.ogd:OGDClassifier", "supervised", "OGD with logistic loss as a River binary classifier"),
}

EXPERIMENTS: dict = {}

"""Experiments that belong to no single family (see :mod:`onlinekit.registry`)."""

EXPERIMENTS = {
    "ogd-regret": ("onlinekit.experiments.ogd_regret", "OGD regret on a synthetic linear stream (proves the runner)"),
}

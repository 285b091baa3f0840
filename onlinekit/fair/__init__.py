"""Fair online learning: Aranyani (fair oblique forests), baselines and fairness metrics.

Names are imported lazily so ``import onlinekit.fair`` does not compile kernels.
"""

import importlib

_EXPORTS = {
    "ObliqueForest": "onlinekit.fair.forest",
    "Aranyani": "onlinekit.fair.aranyani",
    "ReservoirFairForest": "onlinekit.fair.baselines",
    "prequential_river": "onlinekit.fair.baselines",
    "FairnessTracker": "onlinekit.fair.fairness_metrics",
    "fairness_summary": "onlinekit.fair.fairness_metrics",
    "cumulative_fairness": "onlinekit.fair.fairness_metrics",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'onlinekit.fair' has no attribute {name!r}")


def __dir__():
    return __all__

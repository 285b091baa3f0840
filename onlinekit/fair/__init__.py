"""Fair online learning: Aranyani (fair oblique forests), baselines and fairness metrics.

Names are imported lazily so ``import onlinekit.fair`` does not compile kernels.
"""

from onlinekit._lazy import lazy_exports

_EXPORTS = {
    "ObliqueForest": "onlinekit.fair.forest",
    "Aranyani": "onlinekit.fair.aranyani",
    "ReservoirFairForest": "onlinekit.fair.baselines",
    "prequential_river": "onlinekit.fair.baselines",
    "FairnessTracker": "onlinekit.fair.fairness_metrics",
    "fairness_summary": "onlinekit.fair.fairness_metrics",
    "cumulative_fairness": "onlinekit.fair.fairness_metrics",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)

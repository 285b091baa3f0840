"""Online convex optimisation: OGD, OMD, optimistic OMD, ONS, dynamic regret.

Names are imported lazily so ``import onlinekit.oco`` does not compile kernels.
"""

from onlinekit._lazy import lazy_exports

_EXPORTS = {
    "OGD": "onlinekit.oco.ogd",
    "OGDClassifier": "onlinekit.oco.ogd",
    "OMD": "onlinekit.oco.omd",
    "OptimisticOMD": "onlinekit.oco.omd",
    "ONS": "onlinekit.oco.ons",
    "DynamicOMD": "onlinekit.oco.dynamic",
    "OptimisticFTRL": "onlinekit.oco.ftrl",
    "OMDRegressor": "onlinekit.oco.omd_supervised",
    "OMDClassifier": "onlinekit.oco.omd_supervised",
    "Euclidean": "onlinekit.oco.geometry",
    "NegativeEntropy": "onlinekit.oco.geometry",
    "PNorm": "onlinekit.oco.geometry",
    "Unconstrained": "onlinekit.oco.geometry",
    "Simplex": "onlinekit.oco.geometry",
    "L1Ball": "onlinekit.oco.geometry",
    "L2Ball": "onlinekit.oco.geometry",
    "Box": "onlinekit.oco.geometry",
    "Polytope": "onlinekit.oco.geometry",
    "ConvexSet": "onlinekit.oco.geometry",
    "LinearLoss": "onlinekit.oco.losses",
    "QuadraticLoss": "onlinekit.oco.losses",
    "SquaredLoss": "onlinekit.oco.losses",
    "LogisticLoss": "onlinekit.oco.losses",
    "HingeLoss": "onlinekit.oco.losses",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)

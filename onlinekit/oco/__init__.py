"""Online convex optimisation: OGD, OMD, optimistic OMD, ONS, dynamic regret.

Names are imported lazily so ``import onlinekit.oco`` does not compile kernels.
"""

import importlib

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

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'onlinekit.oco' has no attribute {name!r}")


def __dir__():
    return __all__

"""Online convex optimisation: OGD, OMD, optimistic OMD, ONS, dynamic regret.

Names are imported lazily so ``import onlinekit.oco`` does not compile kernels.
"""

import importlib

_EXPORTS = {
    "OGD": "onlinekit.oco.ogd",
    "OGDClassifier": "onlinekit.oco.ogd",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'onlinekit.oco' has no attribute {name!r}")


def __dir__():
    return __all__

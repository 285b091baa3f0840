"""Experts: Hedge and AdaNormalHedge with sleeping experts, online ridge, groupwise regression.

Names are imported lazily so ``import onlinekit.experts`` does not compile kernels.
"""

import importlib

_EXPORTS = {
    "Hedge": "onlinekit.experts.hedge",
    "AdaNormalHedge": "onlinekit.experts.adanormalhedge",
    "OnlineRidge": "onlinekit.experts.ridge",
    "GroupwiseRegressor": "onlinekit.experts.groupwise",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'onlinekit.experts' has no attribute {name!r}")


def __dir__():
    return __all__

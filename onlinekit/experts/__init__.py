"""Experts: Hedge and AdaNormalHedge with sleeping experts, online ridge, groupwise regression.

Names are imported lazily so ``import onlinekit.experts`` does not compile kernels.
"""

from onlinekit._lazy import lazy_exports

_EXPORTS = {
    "Hedge": "onlinekit.experts.hedge",
    "AdaNormalHedge": "onlinekit.experts.adanormalhedge",
    "OnlineRidge": "onlinekit.experts.ridge",
    "GroupwiseRegressor": "onlinekit.experts.groupwise",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)

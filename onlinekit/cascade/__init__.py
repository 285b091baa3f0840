"""Cascading bandits and cascading RL: BestPerm, CascadingVI, CascadingBPI, AdaptVI, OPE.

Names are imported lazily so ``import onlinekit.cascade`` does not compile kernels.
"""

from onlinekit._lazy import lazy_exports

_EXPORTS = {
    "best_perm": "onlinekit.cascade.bestperm",
    "best_perm_batch": "onlinekit.cascade.bestperm",
    "exhaustive_best_perm": "onlinekit.cascade.bestperm",
    "list_value": "onlinekit.cascade.bestperm",
    "CascadeUCB1": "onlinekit.cascade.cascade_ucb",
    "CascadeKLUCB": "onlinekit.cascade.cascade_ucb",
    "CascadingVI": "onlinekit.cascade.cascading_vi",
    "CascadingBPI": "onlinekit.cascade.cascading_bpi",
    "AdaptVI": "onlinekit.cascade.adapt_vi",
    "enumerate_lists": "onlinekit.cascade.adapt_vi",
    "policy_value": "onlinekit.cascade.simulate",
    "run_episodes": "onlinekit.cascade.simulate",
    "ips": "onlinekit.cascade.ope",
    "independent_ips": "onlinekit.cascade.ope",
    "cascade_ips": "onlinekit.cascade.ope",
    "position_ips": "onlinekit.cascade.ope",
    "prefix_match": "onlinekit.cascade.ope",
    "OPEResult": "onlinekit.cascade.ope",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)

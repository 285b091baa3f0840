"""Multi-channel autobidding: SGD-UCB budgeter, channel autobidders, LP benchmarks.

Names are imported lazily so ``import onlinekit.bidding`` neither compiles kernels nor
imports cvxpy.
"""

import importlib

_EXPORTS = {
    "SGDUCBBudgeter": "onlinekit.bidding.sgd_ucb",
    "DualPacingBidder": "onlinekit.bidding.pacing",
    "ExactLPBidder": "onlinekit.bidding.lp_bidder",
    "ch_opt": "onlinekit.bidding.lp_bidder",
    "GLOptLP": "onlinekit.bidding.benchmarks_lp",
    "GridLP": "onlinekit.bidding.benchmarks_lp",
    "glopt": "onlinekit.bidding.benchmarks_lp",
    "budget_lever_value": "onlinekit.bidding.benchmarks_lp",
    "roi_only_optimum": "onlinekit.bidding.benchmarks_lp",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'onlinekit.bidding' has no attribute {name!r}")


def __dir__():
    return __all__

"""Multi-channel autobidding: SGD-UCB budgeter, channel autobidders, LP benchmarks.

Names are imported lazily so ``import onlinekit.bidding`` neither compiles kernels nor
imports cvxpy.
"""

from onlinekit._lazy import lazy_exports

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

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)

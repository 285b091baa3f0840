"""Exact per-channel procurement: the hindsight LP ``CH-OPT`` and its ratio-threshold solution."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from onlinekit.base import InvalidEvent

__all__ = ["ExactLPBidder", "Procurement", "ch_opt"]


def _kernels():
    from onlinekit.streams import _auction_kernels

    return _auction_kernels


class Procurement(NamedTuple):
    """Outcome of :func:`ch_opt`: the (fractional) wins, their value and spend, and the threshold.

    Examples
    --------
    >>> from onlinekit.bidding import ch_opt
    >>> ch_opt([1.0, 1.0], [0.5, 2.0], budget=1.0)
    Procurement(z=array([1.  , 0.25]), value=1.25, spend=1.0, threshold=0.5)
    """

    z: np.ndarray
    value: float
    spend: float
    threshold: float


def _check_items(values: Any, costs: Any) -> tuple[np.ndarray, np.ndarray]:
    v = np.array(values, dtype=float)
    d = np.array(costs, dtype=float)
    if v.ndim != 1 or d.shape != v.shape:
        raise InvalidEvent(f"values and costs must be 1-d of equal length, got {v.shape} and {d.shape}",
                           field="values")
    for name, a in (("values", v), ("costs", d)):
        bad = ~np.isfinite(a) | (a < 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InvalidEvent(f"must be finite and >= 0, got {a[i]!r}", field=f"{name}[{i}]", offset=i)
    return np.ascontiguousarray(v), np.ascontiguousarray(d)


def _check_scalar(x: Any, name: str, allow_inf: bool) -> float:
    ok = isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)
    if ok:
        f = float(x)
        ok = not math.isnan(f) and f >= 0 and (allow_inf or math.isfinite(f))
    if not ok:
        raise InvalidEvent(f"must be a {'' if allow_inf else 'finite '}number >= 0, got {x!r}", field=name)
    return float(x)


def ch_opt(values, costs, budget: float = math.inf, target_roi: float = 0.0) -> Procurement:
    """Solve ``max v.z`` s.t. ``costs.z <= budget``, ``(v - target_roi costs).z >= 0``, ``z in [0, 1]``.

    The LP relaxation of one channel's procurement problem (``CH-OPT`` of Deng et al. 2023;
    also GL-OPT when the items of all channels are pooled). Its optimum takes items in
    decreasing order of ``v / cost`` until the budget or the ROI slack binds, the last one
    fractionally (a Lagrangian argument: item ``i`` is taken iff
    ``v_i / c_i >= (mu + lam gamma) / (1 + lam)``). ``O(n log n)``.

    Parameters
    ----------
    values, costs
        Conversion value and cost (highest competing bid) of each auction, ``>= 0``.
    budget
        Total budget (``inf``: none).
    target_roi
        ROI target ``gamma >= 0``.

    Returns
    -------
    Procurement
        ``z`` (fraction of each auction won), ``value``, ``spend`` and ``threshold`` (the
        ratio ``v / cost`` where the scan stopped; 0 when every item of positive value was
        taken). Bidding ``v / threshold`` in a second-price auction wins exactly the items
        above the threshold.

    Examples
    --------
    >>> from onlinekit.bidding import ch_opt
    >>> p = ch_opt([3.0, 1.0, 2.0], [1.0, 1.0, 4.0], budget=3.0)
    >>> p.z.tolist(), p.value, p.spend, p.threshold
    ([1.0, 1.0, 0.25], 4.5, 3.0, 0.5)
    >>> ch_opt([3.0, 1.0, 2.0], [1.0, 1.0, 4.0], target_roi=1.5).z.tolist()
    [1.0, 1.0, 0.25]
    """
    v, d = _check_items(values, costs)
    b = _check_scalar(budget, "budget", allow_inf=True)
    g = _check_scalar(target_roi, "target_roi", allow_inf=False)
    z = np.zeros(len(v))
    value, spend, theta = _kernels().ratio_threshold(v, d, b, g, z)
    return Procurement(z, float(value), float(spend), float(theta))


class ExactLPBidder:
    """A channel autobidder that procures optimally in hindsight over a period.

    Given the period's values and highest competing bids it wins the auctions of
    :func:`ch_opt` (``bidder="lp"`` in :class:`onlinekit.streams.auctions.MultiChannelAuctions`
    does the same inside its numba loop). It holds no learned state.

    Parameters
    ----------
    budget
        Budget of the period (``inf``: none).
    target_roi
        Target ROI of the channel.

    Examples
    --------
    >>> from onlinekit.bidding import ExactLPBidder
    >>> bidder = ExactLPBidder(budget=2.0)
    >>> p = bidder.procure([0.9, 0.2, 0.5], [1.0, 1.0, 0.5])
    >>> p.z.tolist(), bidder.bids([0.9, 0.2, 0.5], [1.0, 1.0, 0.5]).round(2).tolist()
    ([1.0, 0.5, 1.0], [4.5, 1.0, 2.5])
    """

    def __init__(self, budget: float = math.inf, target_roi: float = 0.0):
        self.budget = budget
        self.target_roi = target_roi
        _check_scalar(budget, "budget", allow_inf=True)
        _check_scalar(target_roi, "target_roi", allow_inf=False)

    def procure(self, values, costs) -> Procurement:
        """The optimal (fractional) wins of the period."""
        return ch_opt(values, costs, self.budget, self.target_roi)

    def bids(self, values, costs) -> np.ndarray:
        """Second-price bids implementing :meth:`procure`: ``v / threshold`` (``inf`` if 0)."""
        p = self.procure(values, costs)
        v = np.asarray(values, dtype=float)
        if p.threshold <= 0:
            return np.where(v > 0, np.inf, 0.0)
        return v / p.threshold

"""Dual-pacing channel autobidder: ``bid = v (1 + lam) / (mu + lam gamma)``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from onlinekit.base import InvalidEvent, Learner

__all__ = ["DualPacingBidder"]

_AUCTIONS = {"second": 0, "first": 1}
_EPS = 1e-12


def _kernels():
    from onlinekit.bidding import _kernels

    return _kernels


def _number(value: Any, name: str, *, positive: bool = False, allow_inf: bool = False) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        x = float(value)
        ok = not math.isnan(x) and (allow_inf or math.isfinite(x)) and (x > 0 if positive else x >= 0)
    if not ok:
        raise InvalidEvent(f"must be a {'' if allow_inf else 'finite '}number {'>' if positive else '>='} 0, "
                           f"got {value!r}", field=name)
    return float(value)


class DualPacingBidder(Learner):
    """Budget- and ROI-pacing bidder for a stream of single-slot auctions.

    For an auction where the bidder's value is ``v`` it bids
    ``min(v (1 + lam) / (mu + lam gamma), budget left)``. After the outcome (won or not,
    price ``c``) the multipliers take one projected gradient step on the Lagrangian of
    ``sum (v win - gamma c) >= 0`` (ROI) and ``sum c <= rho n`` (budget):

    ``lam <- clip(lam - lr (v win - gamma c), 0, dual_max)``
    ``mu <- clip(mu - lr (rho - c), 0, dual_max)``.

    This is the channel autobidder of the authors' simulation and of
    :class:`onlinekit.streams.auctions.MultiChannelAuctions` (``bidder="pacing"``): both run
    the same kernel, so their outcomes agree exactly.

    Parameters
    ----------
    budget_rate
        Budget per auction ``rho`` (``inf``: no budget constraint, ``mu`` stays fixed).
    target_roi
        Target ROI ``gamma`` (``>= 0``; 0 means budget only).
    lr
        Dual step size.
    dual_max
        Upper end of the multipliers' interval.
    total_budget
        Hard cap on the total spend (``None``: no cap); bids never exceed what is left.
    lambda_init, mu_init
        Initial multipliers.

    Attributes
    ----------
    lambda_, mu_ : float
        Current multipliers.
    t_ : int
        Auctions seen.
    value_, spend_ : float
        Total value won and total spend.
    left_ : float
        Budget left (``inf`` without ``total_budget``).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.bidding import DualPacingBidder
    >>> rng = np.random.default_rng(0)
    >>> values, competing = rng.random(20000), rng.random((20000, 3)).max(axis=1)
    >>> bidder = DualPacingBidder(budget_rate=0.05, lr=0.01)
    >>> bids, wins, costs = bidder.bid_many(values, competing)
    >>> round(bidder.spend_ / 20000, 2)
    0.05
    >>> bidder.act({"value": 0.5}) == 0.5 * (1 + bidder.lambda_) / bidder.mu_
    True

    Notes
    -----
    The bid formula is the dual-optimal bid of the Lagrangian of the per-channel problem
    (Balseiro et al. 2024, "field guide" to budget and ROS pacing; the ``Autobidder`` of the
    Deng et al. 2023 script). The constant step and the projection interval ``[0, dual_max]``
    are ours; the script uses ``1 / (1 + t)``. The zero-denominator case (``mu = lam = 0``)
    is guarded by a floor of ``1e-12`` (a defect of the script).

    References
    ----------
    .. [1] S. Balseiro, K. Bhawalkar, Z. Feng, H. Lu, V. Mirrokni, B. Sivan, D. Wang.
       A Field Guide for Pacing Budget and ROS Constraints. ICML 2024.
    .. [2] Y. Deng et al. Multi-channel Autobidding with Budget and ROI Constraints. ICML 2023.
    """

    protocol = "auction"

    def __init__(
        self,
        budget_rate: float = 0.1,
        target_roi: float = 0.0,
        lr: float = 0.05,
        dual_max: float = 10.0,
        total_budget: float | None = None,
        auction: str = "second",
        lambda_init: float = 1.0,
        mu_init: float = 1.0,
    ):
        self.budget_rate = budget_rate
        self.target_roi = target_roi
        self.lr = lr
        self.dual_max = dual_max
        self.total_budget = total_budget
        self.auction = auction
        self.lambda_init = lambda_init
        self.mu_init = mu_init
        _number(budget_rate, "budget_rate", allow_inf=True)
        _number(target_roi, "target_roi")
        _number(lr, "lr", positive=True)
        _number(dual_max, "dual_max", positive=True)
        if total_budget is not None:
            _number(total_budget, "total_budget", allow_inf=True)
        if auction not in _AUCTIONS:
            raise InvalidEvent(f"must be one of {sorted(_AUCTIONS)}, got {auction!r}", field="auction")
        for name in ("lambda_init", "mu_init"):
            if _number(getattr(self, name), name) > dual_max:
                raise InvalidEvent(f"must be <= dual_max={dual_max!r}", field=name)
        self.reset()

    def _reset(self) -> None:
        self.lambda_ = float(self.lambda_init)
        self.mu_ = float(self.mu_init)
        self.t_ = 0
        self.value_ = 0.0
        self.spend_ = 0.0
        self.left_ = math.inf if self.total_budget is None else float(self.total_budget)

    @classmethod
    def _unit_test_params(cls):
        yield {}
        yield {"budget_rate": 0.05, "target_roi": 1.5, "lr": 0.1, "total_budget": 2.0, "auction": "first"}

    @staticmethod
    def _value(obs: Any) -> float:
        v = obs.get("value") if isinstance(obs, dict) else obs
        ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        if not ok or not math.isfinite(float(v)) or float(v) < 0:
            raise InvalidEvent(f"value must be a finite number >= 0, got {v!r}", field="obs")
        return float(v)

    def act(self, obs: Any) -> float:
        """Bid for an auction where the value is ``obs["value"]`` (or ``obs`` itself)."""
        v = self._value(obs)
        den = self.mu_ + self.lambda_ * float(self.target_roi)
        if den < _EPS:
            den = _EPS
        bid = v * (1.0 + self.lambda_) / den
        return bid if bid <= self.left_ else self.left_

    def update(self, obs: Any, action: Any, feedback: Any) -> None:
        """Dual step after the auction; ``feedback = {"won": bool, "cost": price paid}``."""
        v = self._value(obs)
        if not isinstance(feedback, dict) or "won" not in feedback or "cost" not in feedback:
            raise InvalidEvent("must be a dict with 'won' and 'cost'", field="feedback")
        won = feedback["won"]
        if not isinstance(won, (bool, np.bool_)):
            raise InvalidEvent(f"must be a boolean, got {won!r}", field="feedback['won']")
        c = feedback["cost"]
        if not isinstance(c, (int, float, np.integer, np.floating)) or isinstance(c, bool) \
                or not math.isfinite(float(c)) or float(c) < 0:
            raise InvalidEvent(f"must be a finite number >= 0, got {c!r}", field="feedback['cost']")
        c = float(c)
        if not won and c != 0.0:
            raise InvalidEvent(f"a lost auction costs 0, got {c!r}", field="feedback['cost']")
        gamma = float(self.target_roi)
        w = 1.0 if won else 0.0
        lam = self.lambda_ - self.lr * (v * w - gamma * c)
        self.lambda_ = min(max(lam, 0.0), float(self.dual_max))
        if float(self.budget_rate) < math.inf:
            mu = self.mu_ - self.lr * (float(self.budget_rate) - c)
            self.mu_ = min(max(mu, 0.0), float(self.dual_max))
        self.t_ += 1
        self.value_ += v * w
        self.spend_ += c
        left = self.left_ - c
        self.left_ = left if left > 0.0 else 0.0

    def bid_many(self, values, competing_bids) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Play a block of auctions against known highest competing bids (one kernel call).

        Equals the :meth:`act` / :meth:`update` loop bit for bit. Returns
        ``(bids, wins, costs)``; wins are 0/1 floats.
        """
        v = np.array(values, dtype=float)
        d = np.array(competing_bids, dtype=float)
        if v.ndim != 1 or d.shape != v.shape:
            raise InvalidEvent(f"values and competing_bids must be 1-d of equal length, got {v.shape}, {d.shape}",
                               field="values")
        for name, a in (("values", v), ("competing_bids", d)):
            bad = ~np.isfinite(a) | (a < 0)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise InvalidEvent(f"must be finite and >= 0, got {a[i]!r}", field=f"{name}[{i}]", offset=i)
        n = len(v)
        bids, wins, costs = np.empty(n), np.empty(n), np.empty(n)
        duals = np.array([self.lambda_, self.mu_])
        acc = np.array([self.left_, self.value_, self.spend_])
        _kernels()._pacing_run(v, d, float(self.budget_rate), float(self.target_roi), _AUCTIONS[self.auction],
                               float(self.lr), float(self.dual_max), duals, acc, bids, wins, costs)
        self.lambda_, self.mu_ = float(duals[0]), float(duals[1])
        self.left_, self.value_, self.spend_ = float(acc[0]), float(acc[1]), float(acc[2])
        self.t_ += n
        return bids, wins, costs

    # -- conformance hooks ---------------------------------------------------------------
    def _check_env(self, seed: int):
        from onlinekit.streams.auctions import SingleChannelAuction

        return SingleChannelAuction(n_competitors=2, auction=self.auction, seed=seed)

    def _check_bad_events(self) -> list:
        return [
            ("act", ({"value": float("nan")},), {}),
            ("act", ({"value": -1.0},), {}),
            ("update", ({"value": 0.5}, 0.3, {"won": True}), {}),
            ("update", ({"value": 0.5}, 0.3, {"won": True, "cost": -0.1}), {}),
            ("update", ({"value": 0.5}, 0.3, {"won": False, "cost": 0.1}), {}),
            ("update", ({"value": 0.5}, 0.3, {"won": 1, "cost": 0.1}), {}),
        ]

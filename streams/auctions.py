"""Multi-channel ad auctions: the environment of the autobidding family.

An advertiser buys conversions on ``M`` channels. Every period each channel runs
``rounds_per_period * auctions_per_round[j]`` single-slot auctions (second price by default).
In each auction the advertiser's value (= the conversion credited on a win) and the values of
the channel's competitors are drawn i.i.d. (uniform, as in Deng et al. 2023, or lognormal).
Competitors are budget- and ROI-pacing bidders, ``bid = value (1 + lam) / (mu + lam gamma_c)``.
The advertiser does not bid herself: she gives each channel a budget (and optionally a target
ROI) for the period, and the channel's autobidder procures on her behalf, either exactly
(the hindsight LP ``CH-OPT`` of the period, closed form) or by dual pacing.

Units. Actions and feedback are *per round*: a budget ``b_j`` lets channel ``j`` spend
``b_j * rounds_per_period`` over the period, and the feedback ``conversion_j`` / ``spend_j``
is the period's total divided by ``rounds_per_period``. With the default one auction per round
and values in ``[0, 1]``, budgets, conversions and spends are all numbers in ``[0, 1]``-ish,
matching the budget grid ``{0, 0.1, ..., 1}`` of the paper's simulation.

Competitor pacing. A competitor's multipliers are frozen inside a period (so the costs the
channel faces in a period do not depend on how the advertiser bids in that same period, which
is what makes the exact per-period procurement well defined) and take one projected dual step
at the end of the period, with the period's average gradients and step
``competitor_lr / sqrt(period + 1)``. With ``competitor_pacing=False`` they keep their initial
multipliers, and the environment is stationary.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from onlinekit.base import InvalidEvent
from onlinekit.streams.env import Step

__all__ = ["MultiChannelAuctions", "SingleChannelAuction"]

_BIDDERS = {"lp": 0, "pacing": 1}
_AUCTIONS = {"second": 0, "first": 1}
_VALUES = ("uniform", "lognormal")


def _kernels():
    from onlinekit.streams import _auction_kernels

    return _auction_kernels


def _per_channel(value, m: int, name: str, kind=float) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.ndim == 0:
        arr = np.full(m, float(arr))
    if arr.shape != (m,) or not np.all(np.isfinite(arr)):
        raise InvalidEvent(f"must be a finite number or a sequence of {m} finite numbers, got {value!r}", field=name)
    if kind is int:
        if np.any(arr != np.round(arr)):
            raise InvalidEvent(f"must be integers, got {value!r}", field=name)
        return arr.astype(np.int64)
    return arr


class MultiChannelAuctions:
    """Repeated single-slot auctions on several channels, bought through per-channel autobidders.

    Parameters
    ----------
    n_channels
        Number of channels ``M``.
    n_competitors
        Competitors per channel (int or one per channel). Default ``(2, 4, 6)``: channel
        ``j`` has ``2 (j + 1)`` competitors, as in the authors' script with
        ``COMPETITOR_NUM = 2``.
    rounds_per_period
        Rounds per period ``R``; the unit of budgets, conversions and spends (see module
        docstring).
    auctions_per_round
        Auctions per round on each channel (int or one per channel).
    auction
        ``"second"`` (pay the highest competing bid) or ``"first"`` (pay your bid).
    values
        ``"uniform"`` (``value_params = (low, high)``) or ``"lognormal"``
        (``value_params = (mean, sigma)`` of the underlying normal).
    value_params
        Parameters of the value distribution, shared by the advertiser and the competitors.
    value_scale
        Multiplies the advertiser's values on each channel (float or one per channel).
    competitor_budget, competitor_roi
        Each competitor's budget per auction ``rho_c`` and target ROI ``gamma_c`` (the
        script's 0.1 and 0.1).
    competitor_pacing
        Whether competitors update their multipliers (one step per period).
    competitor_lr
        Base step of the competitors' dual updates.
    competitor_init
        Initial ``(lam, mu)`` of every competitor (the script's ``(1, 1)``); with
        ``competitor_pacing=False`` they fix the bid multiplier ``(1 + lam) / (mu + lam gamma_c)``.
    bidder
        The advertiser's channel autobidders: ``"lp"`` (exact per-period optimum) or
        ``"pacing"`` (dual pacing; each period is a new pacing episode with its own budget,
        multipliers restarting at (1, 1)).
    pacing_lr
        Step of the advertiser's pacing bidders (per auction).
    dual_max
        Upper bound of every dual multiplier (competitors' and pacing bidders').
    record
        Put the period's values, highest competing bids and wins in ``info``
        (``"values"``, ``"costs"``, ``"wins"``: lists with one array per channel).
    seed
        Seed of :meth:`reset` when it is called without one.

    Attributes
    ----------
    period_ : int
        Periods played since the last :meth:`reset`.
    n_auctions_, n_competitors_ : ndarray of int
        Auctions per period and competitors, per channel.
    comp_duals_ : list of ndarray
        Per channel, the ``(lam, mu)`` of each competitor (shape ``(K_j, 2)``).
    pacing_duals_ : ndarray, shape (M, 2)
        The pacing bidders' multipliers at the end of the last period.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.streams.auctions import MultiChannelAuctions
    >>> env = MultiChannelAuctions(rounds_per_period=50, seed=0)
    >>> obs = env.reset()
    >>> step = env.step(np.array([0.1, 0.1, 0.1]))
    >>> np.round(step.feedback["spend"], 3)
    array([0.1, 0.1, 0.1])
    >>> np.round(step.feedback["conversion"], 3)
    array([...])
    >>> step.obs
    {'period': 1}

    Notes
    -----
    The set-up follows the simulation of Deng et al. (2023) as described in the research
    notes (3 channels, U[0, 1] values, second-price single-slot auctions, pacing competitors
    with ``rho_c = gamma_c = 0.1``, duals initialised at 1), with the official script's defects
    fixed: the highest bid wins, the winner pays the highest *other* bid (the advertiser's
    included), every competitor is counted, and a zero denominator in the bid formula is
    guarded. Per-period (rather than per-auction) competitor updates are our choice.

    References
    ----------
    .. [1] Y. Deng, N. Golrezaei, P. Jaillet, J. C. N. Liang, V. Mirrokni. Multi-channel
       Autobidding with Budget and ROI Constraints. ICML 2023.
    """

    def __init__(
        self,
        n_channels: int = 3,
        n_competitors=(2, 4, 6),
        rounds_per_period: int = 200,
        auctions_per_round=1,
        auction: str = "second",
        values: str = "uniform",
        value_params=(0.0, 1.0),
        value_scale=1.0,
        competitor_budget: float = 0.1,
        competitor_roi: float = 0.1,
        competitor_pacing: bool = True,
        competitor_lr: float = 1.0,
        competitor_init=(1.0, 1.0),
        bidder: str = "lp",
        pacing_lr: float = 0.05,
        dual_max: float = 10.0,
        record: bool = False,
        seed: int | None = None,
    ):
        if isinstance(n_channels, bool) or not isinstance(n_channels, (int, np.integer)) or n_channels < 1:
            raise InvalidEvent(f"must be an integer >= 1, got {n_channels!r}", field="n_channels")
        m = int(n_channels)
        self.n_channels = m
        self.n_competitors = n_competitors
        self.auctions_per_round = auctions_per_round
        self.value_scale = value_scale
        self.n_competitors_ = _per_channel(n_competitors, m, "n_competitors", int)
        if np.any(self.n_competitors_ < 0):
            raise InvalidEvent("must be >= 0", field="n_competitors")
        if isinstance(rounds_per_period, bool) or not isinstance(rounds_per_period, (int, np.integer)) \
                or rounds_per_period < 1:
            raise InvalidEvent(f"must be an integer >= 1, got {rounds_per_period!r}", field="rounds_per_period")
        self.rounds_per_period = int(rounds_per_period)
        apr = _per_channel(auctions_per_round, m, "auctions_per_round", int)
        if np.any(apr < 1):
            raise InvalidEvent("must be >= 1", field="auctions_per_round")
        self.n_auctions_ = apr * self.rounds_per_period
        if auction not in _AUCTIONS:
            raise InvalidEvent(f"must be one of {sorted(_AUCTIONS)}, got {auction!r}", field="auction")
        if values not in _VALUES:
            raise InvalidEvent(f"must be one of {list(_VALUES)}, got {values!r}", field="values")
        vp = tuple(float(x) for x in value_params)
        if len(vp) != 2 or not all(math.isfinite(x) for x in vp):
            raise InvalidEvent(f"must be two finite numbers, got {value_params!r}", field="value_params")
        if values == "uniform" and not (0.0 <= vp[0] < vp[1]):
            raise InvalidEvent("uniform values need 0 <= low < high", field="value_params")
        if values == "lognormal" and not vp[1] > 0:
            raise InvalidEvent("lognormal values need sigma > 0", field="value_params")
        self.value_scale_ = _per_channel(value_scale, m, "value_scale")
        if np.any(self.value_scale_ <= 0):
            raise InvalidEvent("must be > 0", field="value_scale")
        for name, val, lo_open in (("competitor_budget", competitor_budget, True),
                                   ("competitor_roi", competitor_roi, False),
                                   ("competitor_lr", competitor_lr, True),
                                   ("pacing_lr", pacing_lr, True),
                                   ("dual_max", dual_max, True)):
            ok = isinstance(val, (int, float, np.floating)) and math.isfinite(val) \
                and (val > 0 if lo_open else val >= 0)
            if not ok:
                raise InvalidEvent(f"must be a finite number {'>' if lo_open else '>='} 0, got {val!r}", field=name)
        ci = tuple(float(x) for x in competitor_init)
        if len(ci) != 2 or not all(math.isfinite(x) and 0 <= x <= dual_max for x in ci) \
                or ci[1] + ci[0] * competitor_roi <= 0:
            raise InvalidEvent(f"must be (lam, mu) in [0, dual_max] with mu + lam gamma_c > 0, got {competitor_init!r}",
                               field="competitor_init")
        self.competitor_init = competitor_init
        self._comp_init = ci
        if bidder not in _BIDDERS:
            raise InvalidEvent(f"must be one of {sorted(_BIDDERS)}, got {bidder!r}", field="bidder")
        self.auction = auction
        self.values = values
        self.value_params = vp
        self.competitor_budget = float(competitor_budget)
        self.competitor_roi = float(competitor_roi)
        self.competitor_pacing = bool(competitor_pacing)
        self.competitor_lr = float(competitor_lr)
        self.bidder = bidder
        self.pacing_lr = float(pacing_lr)
        self.dual_max = float(dual_max)
        self.record = bool(record)
        self.seed = seed
        self.reset(seed)

    # -- state ---------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> dict:
        """Restart: fresh generator, competitor duals at ``competitor_init``, pacing duals at (1, 1)."""
        self._rng = np.random.default_rng(self.seed if seed is None else seed)
        self.period_ = 0
        self.comp_duals_ = [np.tile(np.array(self._comp_init), (int(k), 1)) for k in self.n_competitors_]
        self.pacing_duals_ = np.ones((self.n_channels, 2))
        return {"period": 0}

    def competitor_multipliers(self) -> list[np.ndarray]:
        """Current bid multipliers ``(1 + lam) / (mu + lam gamma_c)`` of each channel's competitors."""
        out = []
        for du in self.comp_duals_:
            den = np.maximum(du[:, 1] + du[:, 0] * self.competitor_roi, 1e-12)
            out.append((1.0 + du[:, 0]) / den)
        return out

    # -- draws ---------------------------------------------------------------------------
    def _draw(self, rng: np.random.Generator, n: int, k: int) -> np.ndarray:
        a, b = self.value_params
        if self.values == "uniform":
            u = rng.random((n, k + 1))
            return a + (b - a) * u
        return rng.lognormal(a, b, size=(n, k + 1))

    # -- actions -------------------------------------------------------------------------
    def _parse_action(self, action: Any) -> tuple[np.ndarray, np.ndarray]:
        roi = None
        if isinstance(action, dict):
            unknown = set(action) - {"budgets", "roi_targets"}
            if unknown:
                raise InvalidEvent(f"unknown keys {sorted(unknown)}", field="action")
            budgets = action.get("budgets", np.full(self.n_channels, np.inf))
            roi = action.get("roi_targets")
        else:
            budgets = action
        try:
            b = np.array(budgets, dtype=float)
        except (TypeError, ValueError) as exc:
            raise InvalidEvent(f"budgets must be numbers: {exc}", field="budgets") from None
        if b.shape != (self.n_channels,):
            raise InvalidEvent(f"expected shape ({self.n_channels},), got {b.shape}", field="budgets")
        if np.any(np.isnan(b)) or np.any(b < 0):
            raise InvalidEvent("budgets must be >= 0 (inf: no budget)", field="budgets")
        if roi is None:
            g = np.zeros(self.n_channels)
        else:
            try:
                g = np.array(roi, dtype=float)
            except (TypeError, ValueError) as exc:
                raise InvalidEvent(f"ROI targets must be numbers: {exc}", field="roi_targets") from None
            if g.shape != (self.n_channels,):
                raise InvalidEvent(f"expected shape ({self.n_channels},), got {g.shape}", field="roi_targets")
            if not np.all(np.isfinite(g)) or np.any(g < 0):
                raise InvalidEvent("ROI targets must be finite and >= 0", field="roi_targets")
        return b, g

    def step(self, action: Any) -> Step:
        """Run one period.

        ``action`` is an array of per-round budgets, one per channel (``inf``: no budget), or
        a dict ``{"budgets": ..., "roi_targets": ...}`` (missing budgets: none; missing ROI
        targets: 0). Returns :class:`~onlinekit.streams.env.Step` with ``feedback =
        {"conversion": (M,), "spend": (M,)}`` per round, ``reward`` = total conversion per
        round, ``obs = {"period": t}`` and ``info`` holding ``"wins"`` (per channel, expected
        number of auctions won) and, with ``record=True``, the period's draws.
        """
        budgets, roi = self._parse_action(action)
        k = _kernels()
        R = self.rounds_per_period
        conv = np.zeros(self.n_channels)
        spend = np.zeros(self.n_channels)
        wins = np.zeros(self.n_channels)
        mults = self.competitor_multipliers()
        info: dict = {}
        if self.record:
            info.update(values=[], costs=[], wins_z=[])
        mode = _BIDDERS[self.bidder]
        auc = _AUCTIONS[self.auction]
        for j in range(self.n_channels):
            n = int(self.n_auctions_[j])
            K = int(self.n_competitors_[j])
            draws = self._draw(self._rng, n, K)
            v = np.ascontiguousarray(draws[:, 0]) * self.value_scale_[j]
            vc = np.ascontiguousarray(draws[:, 1:])
            z = np.zeros(n)
            price = np.zeros(n)
            cv, cs, cw = np.zeros(K), np.zeros(K), np.zeros(K)
            self.pacing_duals_[j] = 1.0  # a new budget: a new pacing episode
            val, sp = k.run_channel_period(
                v, vc, mults[j], mode, auc, float(budgets[j] * R), float(roi[j]), self.pacing_lr,
                self.dual_max, self.pacing_duals_[j], z, price, cv, cs, cw)
            conv[j] = val / R
            spend[j] = sp / R
            wins[j] = float(z.sum())
            if self.record:
                top1 = np.empty(n)
                top2 = np.empty(n)
                idx = np.empty(n, dtype=np.int64)
                k.competitor_top_two(vc, mults[j], top1, idx, top2)
                info["values"].append(v)
                info["costs"].append(top1)
                info["wins_z"].append(z)
            if self.competitor_pacing and K > 0:
                eta = self.competitor_lr / math.sqrt(self.period_ + 1.0)
                du = self.comp_duals_[j]
                g_roi = (cv - self.competitor_roi * cs) / n
                g_bud = self.competitor_budget - cs / n
                du[:, 0] = np.clip(du[:, 0] - eta * g_roi, 0.0, self.dual_max)
                du[:, 1] = np.clip(du[:, 1] - eta * g_bud, 0.0, self.dual_max)
        self.period_ += 1
        info["wins"] = wins
        return Step({"conversion": conv, "spend": spend}, {"period": self.period_}, float(conv.sum()), info)

    # -- expected curves (benchmarks) ------------------------------------------------------
    def sample_auctions(self, n_periods: int = 100, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Fresh draws of ``n_periods`` periods: per channel, the advertiser's values and costs.

        The cost of an auction is its highest competing bid, with the competitors' *current*
        multipliers held fixed; the environment's own stream is untouched. Pooled over
        periods, these are the input of the fluid GL-OPT benchmark
        (:func:`onlinekit.bidding.glopt` with budget ``rho * rounds_per_period * n_periods``).
        """
        k = _kernels()
        rng = np.random.default_rng(seed)
        mults = self.competitor_multipliers()
        values, costs = [], []
        for j in range(self.n_channels):
            n = int(self.n_auctions_[j]) * int(n_periods)
            K = int(self.n_competitors_[j])
            draws = self._draw(rng, n, K)
            vc = np.ascontiguousarray(draws[:, 1:])
            top1, top2 = np.empty(n), np.empty(n)
            idx = np.empty(n, dtype=np.int64)
            k.competitor_top_two(vc, mults[j], top1, idx, top2)
            values.append(np.ascontiguousarray(draws[:, 0]) * self.value_scale_[j])
            costs.append(top1)
        return values, costs

    def channel_curves(self, grid, n_periods: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Monte Carlo expected per-round conversion and spend of each channel at each budget.

        Uses fresh draws from a generator seeded by ``seed`` (the environment's own stream is
        untouched) with the competitors' *current* multipliers held fixed. With ``bidder="lp"``
        every budget is evaluated on the same draws (common random numbers); with pacing, each
        period at each budget is one pacing episode starting from duals (1, 1).
        Returns ``(V, D)``, both of shape ``(M, len(grid))``.
        """
        grid = np.asarray(grid, dtype=float)
        if grid.ndim != 1 or len(grid) == 0 or not np.all(np.isfinite(grid)) or np.any(grid < 0):
            raise InvalidEvent("must be a non-empty 1-d array of finite budgets >= 0", field="grid")
        k = _kernels()
        rng = np.random.default_rng(seed)
        R = self.rounds_per_period
        mults = self.competitor_multipliers()
        V = np.zeros((self.n_channels, len(grid)))
        D = np.zeros_like(V)
        mode = _BIDDERS[self.bidder]
        auc = _AUCTIONS[self.auction]
        for j in range(self.n_channels):
            n = int(self.n_auctions_[j])
            K = int(self.n_competitors_[j])
            for _ in range(n_periods):
                draws = self._draw(rng, n, K)
                v = np.ascontiguousarray(draws[:, 0]) * self.value_scale_[j]
                vc = np.ascontiguousarray(draws[:, 1:])
                for a, b in enumerate(grid):
                    duals = np.ones(2)
                    z, price = np.zeros(n), np.zeros(n)
                    cv, cs, cw = np.zeros(K), np.zeros(K), np.zeros(K)
                    val, sp = k.run_channel_period(v, vc, mults[j], mode, auc, float(b * R), 0.0,
                                                   self.pacing_lr, self.dual_max, duals, z, price, cv, cs, cw)
                    V[j, a] += val
                    D[j, a] += sp
        return V / (n_periods * R), D / (n_periods * R)


class SingleChannelAuction:
    """One bidder facing a stream of single-slot auctions (the environment of a channel bidder).

    Each step is one auction: the observation is the bidder's value ``{"value": v}``; the
    action is a bid ``>= 0``; the feedback is ``{"won": bool, "cost": price paid}``. The
    highest competing bid is the maximum of ``n_competitors`` values drawn like the bidder's
    and multiplied by ``competitor_multiplier``.

    Examples
    --------
    >>> from onlinekit.streams.auctions import SingleChannelAuction
    >>> env = SingleChannelAuction(seed=1)
    >>> obs = env.reset()
    >>> step = env.step(10.0)
    >>> step.feedback["won"], 0.0 < step.feedback["cost"] < 10.0
    (True, True)
    """

    def __init__(self, n_competitors: int = 2, competitor_multiplier: float = 1.0, auction: str = "second",
                 seed: int | None = None):
        if auction not in _AUCTIONS:
            raise InvalidEvent(f"must be one of {sorted(_AUCTIONS)}, got {auction!r}", field="auction")
        if isinstance(n_competitors, bool) or not isinstance(n_competitors, (int, np.integer)) or n_competitors < 0:
            raise InvalidEvent(f"must be an integer >= 0, got {n_competitors!r}", field="n_competitors")
        self.n_competitors = int(n_competitors)
        self.competitor_multiplier = float(competitor_multiplier)
        self.auction = auction
        self.seed = seed
        self.reset(seed)

    def reset(self, seed: int | None = None) -> dict:
        """Fresh generator; returns the first value."""
        self._rng = np.random.default_rng(self.seed if seed is None else seed)
        self._draw()
        return {"value": self._v}

    def _draw(self) -> None:
        u = self._rng.random(self.n_competitors + 1)
        self._v = float(u[0])
        self._d = float(u[1:].max() * self.competitor_multiplier) if self.n_competitors else 0.0

    def step(self, action: Any) -> Step:
        """Submit ``action`` (a bid) in the current auction."""
        try:
            bid = float(action)
        except (TypeError, ValueError):
            raise InvalidEvent(f"bid must be a number, got {action!r}", field="action") from None
        if not (bid >= 0.0):
            raise InvalidEvent(f"bid must be >= 0, got {action!r}", field="action")
        won = bid > self._d
        cost = (self._d if self.auction == "second" else bid) if won else 0.0
        v = self._v
        info = {"competing_bid": self._d}
        self._draw()
        return Step({"won": bool(won), "cost": float(cost)}, {"value": self._v}, v if won else 0.0, info)

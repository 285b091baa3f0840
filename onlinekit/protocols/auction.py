"""The ``auction`` protocol: counterfactual replay of single-slot auction logs.

Each row of the log is one auction: the advertiser's ``value`` (what a win is worth: the
conversion credited), the ``competing_bid`` (highest bid of the others), and optionally the
``channel`` (0-based), the ``period`` it belongs to and a ``cost``. The learner's bids
replace the logged ones; each auction is settled under the learner's auction format (its
``auction`` parameter; ``"second"`` when it has none): the learner **wins when its bid is
strictly above the competing bid** and pays the competing bid (second price) or its bid
(first price). With ``--cost COL`` a won auction pays that column instead (logs whose
clearing price is not the competing bid, e.g. with reserve prices). The other bidders are
taken as they were logged (no reaction to the new bids).

Two kinds of learner:

* **per-auction bidders** (``dual-pacing-bidder``; anything with ``act({"value": v}) ->
  bid`` and ``update(obs, bid, {"won", "cost"})``): every row is one auction, in log order;
  the channel and period columns are not used. ``dual-pacing-bidder`` runs its block kernel
  ``bid_many`` (equal to the per-auction loop bit for bit).
* **per-period budgeters** (``sgd-ucb-budgeter``: ``n_channels`` and budgets per channel):
  consecutive rows with the same ``period`` value form a period (the period column is
  required; its default name is ``period``). At the start of a period the learner gives each
  channel ``j`` a budget ``b_j`` **per auction**; channel ``j``'s autobidder then buys the
  period's auctions of that channel by dual pacing (``bid = v (1 + lam) / mu``, capped by the
  budget left, multipliers restarting at (1, 1) with step 0.05, as
  :class:`~onlinekit.streams.auctions.MultiChannelAuctions` with ``bidder="pacing"``) with the
  budget ``b_j n_j`` (``n_j``: the channel's auctions in the period). The learner sees each
  channel's value and spend divided by ``n_j`` (per-auction units, which equal the
  environment's per-round units with one auction per round). The last period is played
  when the log ends. ``--cost`` is not supported here.

Summary keys: ``value`` (total value won), ``spend`` (total paid), ``roi`` (value / spend;
NaN with no spend), ``wins``, ``auctions``, and the time-averaged violations of the
learner's constraints: per-auction bidders ``budget_violation = max(0, spend - rho n) / n``
(``rho`` its ``budget_rate``; 0 without a budget) and ``roi_violation = max(0, gamma spend -
value) / n`` (``gamma`` its ``target_roi``); per-period budgeters the same over the ``T``
periods in per-auction units, ``max(0, sum_t sum_j D_tj - rho T) / T`` and ``max(0, gamma
sum D - sum V) / T`` (``rho`` its ``total_budget``), plus ``periods``.

Examples
--------
>>> from onlinekit.bidding import DualPacingBidder
>>> from onlinekit.protocols import replay_log
>>> from onlinekit.streams import open_source
>>> src = open_source("synthetic:auction-log?n=30000&seed=0")
>>> cols = {"value": "value", "competing_bid": "competing_bid"}
>>> rep = replay_log(DualPacingBidder(budget_rate=0.05, lr=0.01), src, cols)
>>> round(rep.summary["spend"] / rep.summary["auctions"], 3), round(rep.summary["roi"], 2)
(0.052, 2.0)
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import numpy as np

from onlinekit.base import InvalidEvent
from onlinekit.protocols._base import Columns, LogProtocol, Role, Tracker
from onlinekit.protocols._columns import int_column, real_column

__all__ = ["AUCTION", "AuctionTracker", "PACING_LR", "PACING_DUAL_MAX"]

#: Step and upper bound of the channel autobidders' dual multipliers (per-period path).
PACING_LR = 0.05
PACING_DUAL_MAX = 10.0
_FORMATS = {"second": 0, "first": 1}


def _per_period(learner) -> bool:
    """A per-period budgeter takes ``n_channels`` (a learner instance or class)."""
    cls = learner if isinstance(learner, type) else type(learner)
    return "n_channels" in inspect.signature(cls.__init__).parameters


class AuctionTracker(Tracker):
    """Totals of the replay and, for per-period budgeters, the rows of the open period."""

    def __init__(self, rho: float, gamma: float, per_period: bool) -> None:
        self.rho, self.gamma, self.per_period = float(rho), float(gamma), bool(per_period)
        self.totals = np.zeros(7)  # value, spend, wins, auctions, periods, unit value, unit spend
        self.key = math.nan  # period value of the open period
        self.pending = np.zeros((0, 3))  # channel, value, competing bid of its rows

    def get(self) -> dict[str, Any]:
        value, spend, wins, n, periods, uv, us = (float(x) for x in self.totals)
        t = periods if self.per_period else n
        out = {"value": value, "spend": spend, "roi": value / spend if spend > 0 else math.nan,
               "budget_violation": max(0.0, (us if self.per_period else spend) - self.rho * t) / t if t else 0.0,
               "roi_violation": (max(0.0, self.gamma * (us if self.per_period else spend)
                                     - (uv if self.per_period else value)) / t if t else 0.0),
               "wins": int(wins), "auctions": int(n)}
        if self.rho == math.inf:
            out["budget_violation"] = 0.0
        if self.per_period:
            out["periods"] = int(periods)
        return out

    def state_dict(self) -> dict:
        return {"rho": self.rho, "gamma": self.gamma, "per_period": self.per_period, "totals": self.totals.copy(),
                "key": self.key, "pending": self.pending.copy()}

    def load_state_dict(self, state: dict) -> None:
        if bool(state["per_period"]) != self.per_period:
            raise ValueError("tracker state is for another kind of auction learner")
        self.totals = np.array(state["totals"], dtype=np.float64)
        self.key = float(state["key"])
        self.pending = np.array(state["pending"], dtype=np.float64).reshape(-1, 3)


def play_period(learner, rows: np.ndarray, fmt: int, tracker: AuctionTracker) -> None:
    """One period of a per-period budgeter on ``rows`` (channel, value, competing bid)."""
    from onlinekit.streams import _auction_kernels as K

    M = int(learner.n_channels)
    budgets = np.asarray(learner.act(None), dtype=float)
    conv, spend = np.zeros(M), np.zeros(M)
    one = np.ones(1)
    for j in range(M):
        sel = rows[rows[:, 0] == j]
        n = len(sel)
        if n == 0:
            continue
        v = np.ascontiguousarray(sel[:, 1])
        vc = np.ascontiguousarray(sel[:, 2:3])
        z, price, cv, cs, cw = np.zeros(n), np.zeros(n), np.zeros(1), np.zeros(1), np.zeros(1)
        duals = np.ones(2)
        val, sp = K.run_channel_period(v, vc, one, K.MODE_PACING, fmt, float(budgets[j] * n), 0.0, PACING_LR,
                                       PACING_DUAL_MAX, duals, z, price, cv, cs, cw)
        conv[j], spend[j] = val / n, sp / n
        tracker.totals[:3] += (val, sp, z.sum())
    learner.update(None, budgets, {"conversion": conv, "spend": spend})
    tracker.totals[3:7] += (len(rows), 1.0, conv.sum(), spend.sum())


class _Auction(LogProtocol):
    name = "auction"
    operations = ("act", "feedback")
    roles = (
        Role("value", "--value", default="value", help="the advertiser's value of a win"),
        Role("competing_bid", "--competing-bid", default="competing_bid", help="highest competing bid"),
        Role("channel", "--channel", required=False, default="channel", help="0-based channel"),
        Role("period", "--period", required=False, default="period",
             help="period of the row (rows of one period are consecutive)"),
        Role("cost", "--cost", required=False, help="price of a won auction, instead of the format's rule"),
    )
    inferred = ("n_channels",)
    summary_keys = ("value", "spend", "roi", "budget_violation", "roi_violation", "wins", "auctions")

    def infer_params(self, cls, columns: Columns, source) -> dict[str, Any]:
        """``n_channels`` (largest channel + 1) for per-period budgeters."""
        if not _per_period(cls) or "channel" not in columns:
            return {}
        top = -1
        for chunk in source.chunks(start=0, chunk_size=65536, kinds={columns["channel"]: "float"}):
            if len(chunk):
                top = max(top, int(int_column(chunk, columns["channel"], 0).max()))
        return {"n_channels": top + 1} if top >= 0 else {}

    def new_tracker(self, learner, columns: Columns) -> AuctionTracker:
        fmt = getattr(learner, "auction", "second")
        if fmt not in _FORMATS:
            raise ValueError(f"unknown auction format {fmt!r}; known: {', '.join(_FORMATS)}")
        if _per_period(learner):
            missing = [r for r in ("channel", "period") if r not in columns]
            if missing:
                raise ValueError(f"{type(learner).__name__} budgets channels per period: the log needs "
                                 + " and ".join(f"--{r} COL" for r in missing))
            if "cost" in columns:
                raise ValueError(f"--cost is not supported for {type(learner).__name__} (per-period budgets)")
            return AuctionTracker(float(learner.total_budget), float(learner.target_roi), True)
        return AuctionTracker(float(getattr(learner, "budget_rate", math.inf)),
                              float(getattr(learner, "target_roi", 0.0)), False)

    def apply_chunk(self, learner, chunk, columns: Columns, tracker: AuctionTracker) -> None:
        v = real_column(chunk, columns["value"])
        d = real_column(chunk, columns["competing_bid"])
        cost = real_column(chunk, columns["cost"]) if "cost" in columns else None
        fmt = _FORMATS[getattr(learner, "auction", "second")]
        if tracker.per_period:
            ch = int_column(chunk, columns["channel"], 0, int(learner.n_channels),
                            what=f"expected a channel in 0 .. {int(learner.n_channels) - 1}")
            key = np.asarray(chunk.columns[columns["period"]], dtype=np.float64)
            if not np.isfinite(key).all():
                i = int(np.flatnonzero(~np.isfinite(key))[0])
                raise InvalidEvent(f"{chunk.where(i)}: column {columns['period']!r}: expected a number, got {key[i]!r}",
                                   field=columns["period"], offset=chunk.offset + i)
            self._periods(learner, np.column_stack([ch, v, d]).astype(np.float64), key, fmt, tracker)
            return
        if cost is None and hasattr(learner, "bid_many") and getattr(learner, "auction", "second") in _FORMATS:
            _, wins, costs = learner.bid_many(v, d)
            tracker.totals[:4] += (float(v @ wins), float(costs.sum()), float(wins.sum()), len(v))
            return
        for i in range(len(v)):
            obs = {"value": float(v[i])}
            bid = float(learner.act(obs))
            won = bid > d[i]
            c = (float(cost[i]) if cost is not None else float(d[i]) if fmt == 0 else bid) if won else 0.0
            learner.update(obs, bid, {"won": bool(won), "cost": c})
            tracker.totals[:4] += (float(v[i]) if won else 0.0, c, 1.0 if won else 0.0, 1.0)

    def _periods(self, learner, rows: np.ndarray, key: np.ndarray, fmt: int, tracker: AuctionTracker) -> None:
        cut = np.flatnonzero(key[1:] != key[:-1]) + 1
        starts = np.concatenate([[0], cut])
        stops = np.concatenate([cut, [len(key)]])
        for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
            if len(tracker.pending) and key[a] != tracker.key:
                play_period(learner, tracker.pending, fmt, tracker)
                tracker.pending = np.zeros((0, 3))
            tracker.key = float(key[a])
            tracker.pending = np.vstack([tracker.pending, rows[a:b]])

    def summary(self, tracker: AuctionTracker, learner) -> dict[str, Any]:
        if tracker.per_period and len(tracker.pending):
            play_period(learner, tracker.pending, _FORMATS[getattr(learner, "auction", "second")], tracker)
            tracker.pending = np.zeros((0, 3))
        return dict(tracker.get())


#: The auction protocol.
AUCTION = _Auction()

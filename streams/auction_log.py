"""A seeded log of multi-channel auctions (``synthetic:auction-log?...``), for the auction protocol.

Each row is one single-slot auction: ``period``, ``round`` (within the period), ``channel``
(0-based), the advertiser's ``value`` and the ``competing_bid`` (highest bid of the
channel's competitors). Rows are ordered by period, then round, then channel; every channel
runs one auction per round. The draws are those of
:class:`~onlinekit.streams.auctions.MultiChannelAuctions` with stationary competitors
(their bid multiplier fixed at ``competitor_multiplier``): period ``p`` comes from
``MultiChannelAuctions.sample_auctions`` seeded by ``[seed, p]``, so every row depends only
on ``seed`` and its index (resumed replays and any chunk size see the same rows).
"""

from __future__ import annotations

import numpy as np

from onlinekit.streams.errors import StreamError
from onlinekit.streams.synthetic import _PAGE, SyntheticSource

__all__ = ["AuctionLog"]

COLUMNS = ["period", "round", "channel", "value", "competing_bid"]


class AuctionLog(SyntheticSource):
    """``n`` rows of a stationary multi-channel auction market.

    Parameters
    ----------
    n
        Number of rows (auctions).
    n_channels
        Channels ``M``.
    n_competitors
        Competitors per channel (default: ``2 (j + 1)`` on channel ``j``, as in
        :class:`~onlinekit.streams.auctions.MultiChannelAuctions`).
    rounds_per_period
        Rounds per period ``R``: a period is ``R * M`` rows.
    competitor_multiplier
        Every competitor bids its value times this.
    value_low, value_high
        The advertiser's and competitors' values are uniform on ``[value_low, value_high]``.
    seed
        Seed of the draws.

    Examples
    --------
    >>> src = AuctionLog(n=12, n_channels=2, rounds_per_period=3, seed=0)
    >>> src.column_names()
    ['period', 'round', 'channel', 'value', 'competing_bid']
    >>> chunk = next(src.chunks(chunk_size=12))
    >>> chunk.columns["period"].tolist(), chunk.columns["channel"].tolist()[:4]
    ([0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 0.0, 1.0])
    """

    def __init__(self, n: int = 60_000, n_channels: int = 3, n_competitors: int | None = None,
                 rounds_per_period: int = 200, competitor_multiplier: float = 0.8, value_low: float = 0.0,
                 value_high: float = 1.0, seed: int = 0) -> None:
        super().__init__(n, seed)
        from onlinekit.base import InvalidEvent
        from onlinekit.streams.auctions import MultiChannelAuctions

        if not (isinstance(competitor_multiplier, (int, float)) and competitor_multiplier > 0):
            raise StreamError(f"auction-log: competitor_multiplier must be > 0, got {competitor_multiplier!r}")
        comp = tuple(2 * (j + 1) for j in range(int(n_channels))) if n_competitors is None else n_competitors
        mu0 = 1.0 / float(competitor_multiplier)
        try:
            self.env = MultiChannelAuctions(
                n_channels=n_channels, n_competitors=comp, rounds_per_period=rounds_per_period,
                value_params=(value_low, value_high), competitor_pacing=False, competitor_init=(0.0, mu0),
                dual_max=max(10.0, mu0))
        except InvalidEvent as exc:
            raise StreamError(f"auction-log: {exc}") from None
        self.n_channels = int(n_channels)
        self.rounds_per_period = int(rounds_per_period)
        self.rows_per_period = self.n_channels * self.rounds_per_period
        self.name = (f"synthetic:auction-log(n={n}, n_channels={n_channels}, rounds_per_period={rounds_per_period}, "
                     f"competitor_multiplier={competitor_multiplier}, seed={seed})")

    def column_names(self) -> list[str]:
        return list(COLUMNS)

    def _period(self, p: int) -> dict[str, np.ndarray]:
        M, R = self.n_channels, self.rounds_per_period
        values, costs = self.env.sample_auctions(n_periods=1, seed=[self.seed, p])
        return {"period": np.full(M * R, float(p)), "round": np.repeat(np.arange(R, dtype=float), M),
                "channel": np.tile(np.arange(M, dtype=float), R),
                "value": np.column_stack(values).ravel(), "competing_bid": np.column_stack(costs).ravel()}

    def _page_columns(self, k: int) -> dict[str, np.ndarray]:
        lo, hi = k * _PAGE, min((k + 1) * _PAGE, self.n)
        rpp = self.rows_per_period
        parts = [self._period(p) for p in range(lo // rpp, (hi - 1) // rpp + 1)]
        start = lo - (lo // rpp) * rpp
        return {c: np.concatenate([q[c] for q in parts])[start: start + hi - lo] for c in COLUMNS}

"""MaxSum and SumSelect under continual release (Jain, Raskhodnikova, Sivakumar, Smith 2023)."""

from __future__ import annotations

import math

import numpy as np

from onlinekit.base import InvalidEvent, Learner
from onlinekit.privacy._common import NOISES, check_int, upgrade_noise_stream
from onlinekit.privacy.accounting import Guarantee, approx_to_zcdp_tight, check_privacy

__all__ = ["MaxSum", "SumSelect"]


class _SelectBase(Learner):
    """Shared engine: d binary columns, two routes (sparse vector or parallel counters)."""

    _query_sens = 1  # sensitivity of the monitored gap

    def _upgrade_state(self, state: dict, from_version: int | None = None) -> dict:
        return upgrade_noise_stream(self, super()._upgrade_state(state, from_version))

    def _init(self):
        check_int(self.T, "T")
        check_int(self.d, "d")
        spec = check_privacy(self.privacy)
        if self.route not in ("auto", "svt", "counters"):
            raise InvalidEvent(f"must be 'auto', 'svt' or 'counters', got {self.route!r}", field="route")
        if self.counter not in ("tree", "sqrt"):
            raise InvalidEvent(f"must be 'tree' or 'sqrt', got {self.counter!r}", field="counter")
        if self.noise not in NOISES:
            raise InvalidEvent(f"must be one of {NOISES}, got {self.noise!r}", field="noise")
        if self.noise == "secure" and self.seed is not None:
            raise InvalidEvent("noise='secure' cannot be seeded (seeded noise gives no privacy)", field="seed")
        if not (isinstance(self.beta, float) and 0.0 < self.beta < 1.0):
            raise InvalidEvent(f"must be a float in (0, 1), got {self.beta!r}", field="beta")
        self._spec = spec
        self._plan_svt()
        cb = self._counter_bound()
        self._route = self.route
        if self.route == "auto":
            self._route = "counters" if cb <= self._svt_bound else "svt"
        if self._route == "svt":
            self._guarantee = self._svt_guarantee
        else:
            self._guarantee = self._make_counter().guarantee

    # -- sparse-vector plan -----------------------------------------------------------------
    def _round_eps(self, k: int) -> float:
        """Pure eps of one round when k rounds share the budget."""
        kind = self._spec[0]
        if kind == "pure":
            return self._spec[1] / k
        rho = self._spec[1] if kind == "zcdp" else approx_to_zcdp_tight(self._spec[1], self._spec[2])
        return math.sqrt(2.0 * rho / k)  # pure eps0 gives eps0^2/2 zCDP; k rounds compose

    def _margins(self, k: int) -> tuple[float, float, float]:
        """(query noise scale, threshold noise scale, margin m, release error e) for k rounds."""
        e0 = self._round_eps(k)
        e1 = e2 = e0 / 2.0
        dq = self._query_sens
        bq, bt = 4.0 * dq / e1, 2.0 * dq / e1
        T, beta = int(self.T), self.beta
        m = bq * math.log(4.0 * T / beta) + bt * math.log(4.0 * k / beta)
        e = self._release_error(e2, k)
        return bq, bt, m, e

    def _plan_svt(self) -> None:
        T = int(self.T)

        def need(k: int) -> int:  # rounds that can fire with k planned (non-increasing in k)
            _, _, m, e = self._margins(k)
            return T if m - e <= 0 else min(T, math.ceil(T / (m - e)) + 1)

        lo, hi = 1, T  # smallest k with need(k) <= k (need(T) <= T always)
        while lo < hi:
            mid = (lo + hi) // 2
            if need(mid) <= mid:
                hi = mid
            else:
                lo = mid + 1
        k = lo
        self._k = k
        bq, bt, m, e = self._margins(k)
        self._alpha = 2.0 * m
        self._bq, self._bt = bq, bt
        self._e2 = self._round_eps(k) / 2.0
        self._svt_bound = 3.0 * m + e
        kind = self._spec[0]
        e0 = self._round_eps(k)
        if kind == "pure":
            self._svt_guarantee = Guarantee("pure", k * e0, 1.0, 1.0, self._spec)
        else:
            self._svt_guarantee = Guarantee("zcdp", k * e0 * e0 / 2.0, 1.0, 1.0, self._spec)

    # -- counters route ---------------------------------------------------------------------
    def _make_counter(self):
        from onlinekit.privacy.sqrt_factor import SqrtFactorCounter
        from onlinekit.privacy.tree import TreeCounter

        cls = TreeCounter if self.counter == "tree" else SqrtFactorCounter
        return cls(T=self.T, privacy=self.privacy, d=self.d, noise=self.noise, seed=self.seed,
                   grid_bits=self.grid_bits)

    def _counter_bound(self) -> float:
        c = self._make_counter()
        return self._select_factor * c.expected_error(beta=self.beta / self.d)["max_error_bound"]

    # -- guarantees -------------------------------------------------------------------------
    @property
    def guarantee(self) -> Guarantee:
        """The privacy map of the chosen route."""
        return self._guarantee

    @property
    def chosen_route(self) -> str:
        """``"svt"`` or ``"counters"`` (resolves ``route="auto"``)."""
        return self._route

    def privacy_loss(self, d_in: float = 1):
        """Privacy spec met on streams that differ in ``d_in`` events."""
        return self._guarantee.privacy_loss(d_in)

    def check(self, d_in: float, d_out) -> bool:
        """Whether streams at distance ``d_in`` are ``d_out``-indistinguishable."""
        return self._guarantee.check(d_in, d_out)

    def expected_error(self) -> dict:
        """``max_error_bound`` (probability ``1 - beta``) of the chosen route, the bounds of both
        routes, and for the sparse-vector route its threshold and round budget."""
        cb = self._counter_bound()
        return {
            "max_error_bound": cb if self._route == "counters" else self._svt_bound,
            "svt_bound": self._svt_bound,
            "counters_bound": cb,
            "threshold": self._alpha,
            "max_rounds": self._k,
        }

    # -- state ------------------------------------------------------------------------------
    def _reset(self) -> None:
        self.t_ = 0
        self.S_ = np.zeros(self.d, dtype=np.int64)
        self.rounds_ = 0
        self.theta_ = 0.0
        self.counter_ = self._make_counter() if self._route == "counters" else None
        self._reset_out()
        self._bits = None
        if self._discrete():
            from onlinekit.privacy.noise import SeededBitStream

            self.noise_stream_ = (SeededBitStream.new_state(self._rng) if self.noise == "seeded-discrete"
                                  else np.zeros(2, dtype=np.int64))
        if self._route == "svt":
            self.theta_ = self._alpha + self._lap(self._bt)

    def _discrete(self) -> bool:
        return self.noise in ("secure", "seeded-discrete")

    def _lap(self, scale: float) -> float:
        if self.noise == "none":
            return 0.0
        if self._discrete():
            from onlinekit.privacy._common import draw_discrete
            from onlinekit.privacy.noise import rational_upper

            return float(draw_discrete(self, "discrete_laplace", rational_upper(scale), 1)[0])
        return float(self._rng.laplace(0.0, 1.0) * scale)

    def _as_block(self, xs, field: str) -> np.ndarray:
        try:
            a = np.array(xs, dtype=np.float64, order="C")
        except (TypeError, ValueError):
            raise InvalidEvent("must be 0/1 values", field=field) from None
        if a.ndim != 2 or a.shape[1] != self.d:
            raise InvalidEvent(f"must have shape (n, {self.d}), got {a.shape}", field=field)
        bad = ~((a == 0.0) | (a == 1.0))
        if bad.any():
            i = int(np.argwhere(bad)[0][0])
            raise InvalidEvent("records must be in {0,1}^d", field=field, offset=self.t_ + i)
        if self.t_ + a.shape[0] > self.T:
            raise InvalidEvent(f"horizon T={self.T} reached", field=field, offset=self.t_)
        return a.astype(np.int64)

    def _run(self, A: np.ndarray) -> list:
        if self._route == "counters":
            noisy = self.counter_.release_many(A.astype(np.float64))
            noisy = noisy.reshape(A.shape[0], self.d)
            self.S_ = self.S_ + A.sum(axis=0)
            self.t_ += A.shape[0]
            return self._from_counts_many(noisy).tolist()
        if self.noise in ("seeded", "none"):
            return self._run_svt_blocks(A)
        return self._run_svt_rows(A)

    #: rows whose test noise is drawn at once by the block path (re-drawn up to a firing test)
    _WINDOW = 512

    def _run_svt_blocks(self, A: np.ndarray) -> list:
        """The sparse-vector loop of :meth:`_run_svt_rows` over windows of rows, identical to it.

        The gaps of a window are computed at once from the running column sums; its test noises
        are drawn at once (a ``Generator`` gives the same values drawn one by one or as an
        array). At the first test that fires, the generator is put back and advanced by the
        draws the row loop would have made, then the refresh and the new threshold draw from it.
        """
        n = A.shape[0]
        C = np.cumsum(A, axis=0)
        C += self.S_
        out = np.empty(n, dtype=self._out_dtype)
        rng = self._rng if self.noise == "seeded" else None
        i = 0
        while i < n:
            if self.rounds_ >= self._k:  # no test left: no draw, the release stays
                out[i:] = self._current()
                break
            w = min(n - i, self._WINDOW)
            q = self._gaps(C[i:i + w])
            if rng is not None:
                saved = rng.bit_generator.state
                q = q + rng.laplace(0.0, 1.0, size=w) * self._bq
            fired = np.flatnonzero(q >= self.theta_)
            if fired.size == 0:
                out[i:i + w] = self._current()
                i += w
                continue
            j = int(fired[0])
            if rng is not None:
                rng.bit_generator.state = saved
                rng.laplace(0.0, 1.0, size=j + 1)
            out[i:i + j] = self._current()
            self.S_ = C[i + j].copy()
            self.rounds_ += 1
            self._refresh()
            self.theta_ = self._alpha + self._lap(self._bt)
            out[i + j] = self._current()
            i += j + 1
        self.S_ = C[-1].copy()
        self.t_ += n
        return out.tolist()

    def _run_svt_rows(self, A: np.ndarray) -> list:
        """The sparse-vector route one row at a time (discrete noise draws row by row)."""
        out = []
        for i in range(A.shape[0]):
            self.S_ = self.S_ + A[i]
            self.t_ += 1
            if self.rounds_ < self._k:
                q = self._gap()
                if q + self._lap(self._bq) >= self.theta_:
                    self.rounds_ += 1
                    self._refresh()
                    self.theta_ = self._alpha + self._lap(self._bt)
            out.append(self._current())
        return out

    def release(self, x):
        """Consume one record in {0,1}^d; return the private statistic after it."""
        try:
            a = np.array(x, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidEvent("must be 0/1 values", field="x", offset=self.t_) from None
        if a.ndim > 1:
            raise InvalidEvent(f"must be one record of shape ({self.d},), got {a.shape}", field="x")
        return self._run(self._as_block(a.reshape(1, -1), "x"))[0]

    def release_many(self, xs) -> np.ndarray:
        """``release`` over a block of records (n, d); identical to the loop."""
        A = self._as_block(xs, "xs")
        return np.array(self._run(A), dtype=self._out_dtype)

    def _check_inputs(self, seed: int) -> list:
        rng = np.random.default_rng(seed)
        n = min(int(self.T), 40)
        return [v.astype(float) for v in (rng.random((n, self.d)) < 0.6)]

    def _check_bad_events(self) -> list:
        ok = np.zeros(self.d)
        half = np.full(self.d, 0.5)
        return [
            ("release", (half,), {}),
            ("release", (np.zeros(self.d + 1),), {}),
            ("release", ("abc",), {}),
            ("release_many", (np.array([ok, half]),), {}),
            ("release_many", (np.array([ok, np.full(self.d, np.nan)]),), {}),
        ]


class MaxSum(_SelectBase):
    """Continual release of the largest column sum ``max_j S_j(t)`` of records in {0,1}^d.

    Two routes (the upper-bound algorithms of Jain et al. 2023 as we reconstructed them from the
    abstract and the bounds' exponents; the paper's full text was not consulted):

    * ``"svt"`` -- sparse-vector re-release: the true maximum is non-decreasing and rises by at
      most 1 per step, so a noisy value is re-published only when an AboveThreshold test on
      ``MaxSum(t) - last_release`` (sensitivity 1) fires; at most ``k`` rounds, each pure
      ``eps0``-DP (half for the test, half for the Laplace release), composed in pure DP or
      zCDP. Error ``~ T^(1/3)`` (polylog factors omitted) for zCDP / approximate DP.
    * ``"counters"`` -- d parallel private counters (:class:`TreeCounter` or
      :class:`SqrtFactorCounter`) with joint sensitivity, released max of the noisy counts:
      error ``~ sqrt(d)`` polylog(T) (Gaussian) or ``~ d`` polylog(T) (Laplace).

    ``route="auto"`` picks the route with the smaller closed-form ``max_error_bound``.

    Parameters
    ----------
    T
        Horizon (releases past it raise).
    d
        Number of columns.
    privacy
        ``("pure", eps)``, ``("zcdp", rho)`` or ``("approx", eps, delta)``; event-level
        replacement neighbours (one record replaced by any record in {0,1}^d).
    route
        ``"auto"``, ``"svt"`` or ``"counters"``.
    counter
        ``"tree"`` or ``"sqrt"``: the counter of the counters route.
    beta
        Failure probability of the reported error bounds (also sets the sparse-vector
        threshold).
    noise, seed, grid_bits
        As in :class:`onlinekit.privacy.TreeCounter` (seeded noise gives no privacy).

    Attributes
    ----------
    t_, S_
        Steps so far and the exact column sums.
    rounds_, theta_
        Sparse-vector rounds used and the current noisy threshold.
    r_
        The current released value (sparse-vector route).
    counter_
        The nested counter (counters route), else None.
    noise_stream_
        Discrete noise only: ``[key, bits used]`` of the seeded bit stream (zeros when secure).

    Examples
    --------
    >>> m = MaxSum(T=200, d=3, privacy=("zcdp", 1.0), route="svt", noise="seeded", seed=0)
    >>> X = (np.random.default_rng(0).random((200, 3)) < [0.9, 0.5, 0.1]).astype(float)
    >>> ys = m.release_many(X)
    >>> bool(np.max(np.abs(ys - np.cumsum(X, axis=0).max(axis=1))) <= m.expected_error()["max_error_bound"])
    True
    >>> MaxSum(T=10**6, d=4, privacy=("zcdp", 0.5), noise="seeded").chosen_route
    'counters'
    >>> MaxSum(T=10**4, d=10**4, privacy=("zcdp", 0.5), noise="seeded").chosen_route
    'svt'

    Notes
    -----
    Sparse-vector constants (ours): with ``k`` rounds and per-round ``eps0`` (``k eps0 = eps``
    for pure DP; ``k eps0^2 / 2 = rho`` for zCDP, with ``("approx", eps, delta)`` mapped to the
    rho of :func:`~onlinekit.privacy.accounting.approx_to_zcdp_tight`), the test uses threshold noise
    ``Lap(2/eps1)`` and query noise ``Lap(4/eps1)``, ``eps1 = eps0/2`` (Lyu, Su, Li 2017,
    Alg. 1), the release ``Lap(1/eps2)``. With margin ``m`` (the ``beta``-tails of both noises,
    union over T steps and k rounds) the threshold is ``2m``, ``k`` is the smallest count with
    ``k >= T / (m - e) + 1`` (``e`` the release tail), and the error is at most ``3m + e``
    with probability ``1 - beta`` while rounds last; once the ``k`` rounds are spent the last
    value is repeated (privacy is unaffected). The paper's bounds: ``Theta~(min(T^(1/3) /
    eps^(2/3), sqrt(d)/eps, T))`` for approximate DP (polylog factors hidden; to be checked
    against the paper's table).

    References
    ----------
    Jain, Raskhodnikova, Sivakumar, Smith, "The Price of Differential Privacy under Continual
    Observation", ICML 2023. Dwork and Roth 2014 (AboveThreshold). Lyu, Su, Li, VLDB 2017.
    """

    protocol = "release"

    _select_factor = 1.0
    _out_dtype = np.float64

    def __init__(self, T: int, d: int, privacy=("zcdp", 0.5), route: str = "auto", counter: str = "tree",
                 beta: float = 0.05, noise: str = "secure", seed: int | None = None, grid_bits: int = 20):
        self.T = T
        self.d = d
        self.privacy = privacy
        self.route = route
        self.counter = counter
        self.beta = beta
        self.noise = noise
        self.seed = seed
        self.grid_bits = grid_bits
        self._init()
        self.reset()

    def _release_error(self, e2: float, k: int) -> float:
        return (1.0 / e2) * math.log(4.0 * k / self.beta)

    def _reset_out(self) -> None:
        self.r_ = 0.0

    def _gap(self) -> float:
        return float(self.S_.max()) - self.r_

    def _refresh(self) -> None:
        self.r_ = float(self.S_.max()) + self._lap(1.0 / self._e2)

    def _current(self):
        return self.r_

    def _gaps(self, C: np.ndarray) -> np.ndarray:
        """:meth:`_gap` at each row of running column sums ``C``."""
        return C.max(axis=1).astype(np.float64) - self.r_

    def _from_counts_many(self, noisy: np.ndarray) -> np.ndarray:
        return noisy.max(axis=1)

    @classmethod
    def _unit_test_params(cls):
        yield {"T": 60, "d": 3, "route": "svt", "noise": "seeded", "seed": 1}
        yield {"T": 60, "d": 3, "route": "svt", "privacy": ("pure", 2.0), "noise": "seeded-discrete", "seed": 2}
        yield {"T": 50, "d": 2, "route": "counters", "noise": "seeded", "seed": 3}


class SumSelect(_SelectBase):
    """Continual release of an index ``j_t`` whose column sum is near the largest.

    Same routes as :class:`MaxSum`. Sparse-vector route: the monitored query is the gap
    ``max_j S_j(t) - S_{j_t}(t)`` (sensitivity 2 under replacement); when its AboveThreshold
    test fires the index is re-selected by report-noisy-max with ``Lap(2/eps2)`` noise
    (replacement neighbours move every count by at most 1). Counters route: argmax of the
    noisy counts.

    Parameters
    ----------
    T, d, privacy, route, counter, beta, noise, seed, grid_bits
        As in :class:`MaxSum`.

    Attributes
    ----------
    t_, S_, rounds_, theta_, counter_
        As in :class:`MaxSum`.
    j_
        The currently released index (sparse-vector route).

    Examples
    --------
    >>> s = SumSelect(T=300, d=4, privacy=("zcdp", 1.0), route="svt", noise="seeded", seed=0)
    >>> X = (np.random.default_rng(1).random((300, 4)) < [0.2, 0.8, 0.5, 0.1]).astype(float)
    >>> js = s.release_many(X)
    >>> s.chosen_route, js.dtype.kind
    ('svt', 'i')
    >>> S = np.cumsum(X, axis=0)
    >>> gap = S.max(axis=1) - S[np.arange(300), js]
    >>> bool(gap.max() <= s.expected_error()["max_error_bound"])
    True

    Notes
    -----
    The error bound is ``3m`` (``m`` the margin of :class:`MaxSum` with query sensitivity 2)
    while rounds last; the re-selection error enters the round count through ``e``. Counters
    route: twice the per-count error bound.

    References
    ----------
    Jain, Raskhodnikova, Sivakumar, Smith, ICML 2023 (SumSelect). McSherry and Talwar 2007 /
    Dwork and Roth 2014 (report noisy max).
    """

    protocol = "release"

    _query_sens = 2
    _select_factor = 2.0
    _out_dtype = np.int64

    def __init__(self, T: int, d: int, privacy=("zcdp", 0.5), route: str = "auto", counter: str = "tree",
                 beta: float = 0.05, noise: str = "secure", seed: int | None = None, grid_bits: int = 20):
        self.T = T
        self.d = d
        self.privacy = privacy
        self.route = route
        self.counter = counter
        self.beta = beta
        self.noise = noise
        self.seed = seed
        self.grid_bits = grid_bits
        self._init()
        self.reset()

    def _release_error(self, e2: float, k: int) -> float:
        return 2.0 * (2.0 / e2) * math.log(2.0 * self.d * k / self.beta)

    def _reset_out(self) -> None:
        self.j_ = 0

    def _gap(self) -> float:
        return float(self.S_.max() - self.S_[self.j_])

    def _refresh(self) -> None:
        noisy = [float(self.S_[j]) + self._lap(2.0 / self._e2) for j in range(self.d)]
        self.j_ = int(np.argmax(noisy))

    def _current(self):
        return self.j_

    def _gaps(self, C: np.ndarray) -> np.ndarray:
        """:meth:`_gap` at each row of running column sums ``C``."""
        return (C.max(axis=1) - C[:, self.j_]).astype(np.float64)

    def _from_counts_many(self, noisy: np.ndarray) -> np.ndarray:
        return np.argmax(noisy, axis=1)

    @classmethod
    def _unit_test_params(cls):
        yield {"T": 60, "d": 3, "route": "svt", "noise": "seeded", "seed": 1}
        yield {"T": 60, "d": 3, "route": "svt", "privacy": ("approx", 2.0, 1e-6), "noise": "seeded-discrete", "seed": 2}
        yield {"T": 50, "d": 2, "route": "counters", "counter": "sqrt", "noise": "seeded", "seed": 3}

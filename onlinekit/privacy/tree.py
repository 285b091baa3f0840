"""Binary-tree continual counter (Dwork-Naor-Pitassi-Rothblum 2010; Chan-Shi-Song 2011)."""

from __future__ import annotations

import math

import numpy as np

from onlinekit.base import InvalidEvent, Learner
from onlinekit.privacy._common import (
    CounterBase,
    calibrate_discrete,
    calibrate_float,
    discrete_noise_variance,
)
from onlinekit.privacy.accounting import check_privacy

__all__ = ["TreeCounter", "DoublingCounter", "honaker_factors", "laplace_sum_tail", "gaussian_tail"]


def _kernels():
    from onlinekit.privacy import _kernels

    return _kernels


def honaker_factors(L: int) -> np.ndarray:
    """Variance of Honaker's online node estimate at height h, per unit node variance.

    ``r_h = 2**h / (2**(h+1) - 1)``: 1, 2/3, 4/7, 8/15, ... -> 1/2. It is also the weight of
    the node's own noisy value in the estimate (inverse-variance weighting).

    Examples
    --------
    >>> np.round(honaker_factors(4), 3)
    array([1.   , 0.667, 0.571, 0.533])
    """
    h = np.arange(L, dtype=np.float64)
    return 2.0**h / (2.0 ** (h + 1) - 1.0)


def gaussian_tail(var: float, beta: float) -> float:
    """x with ``P(|N(0, var)| > x) <= beta`` (from ``2 exp(-x^2 / (2 var))``).

    Examples
    --------
    >>> round(gaussian_tail(1.0, 0.05), 4)
    2.7162
    """
    return math.sqrt(2.0 * var * math.log(2.0 / beta))


def laplace_sum_tail(var: float, b: float, beta: float) -> float:
    """x with ``P(|S| > x) <= beta`` for ``S = sum_i a_i Lap(b)``, ``|a_i| <= 1``, Var(S) = var.

    From the moment bound ``E exp(lam S) <= exp(var lam^2)`` for ``|lam| <= 1/(2b)`` (ours,
    from ``1/(1-u) <= exp(2u)`` for ``u <= 1/2``) and a Chernoff step.

    Examples
    --------
    >>> round(laplace_sum_tail(2.0, 1.0, 0.05), 3)
    8.378
    """
    if var <= 0:
        return 0.0
    lg = math.log(2.0 / beta)
    x = math.sqrt(4.0 * var * lg)
    if x <= var / b:
        return x
    return 2.0 * b * (lg + var / (4.0 * b * b))


class TreeCounter(CounterBase):
    """Private running sums by the binary tree mechanism, with optional Honaker estimates.

    Each input ``x_t`` (a number, or a vector of ``d`` numbers, within ``bounds``) is added to
    the ``L = T.bit_length()`` dyadic blocks ("nodes") that contain step t; a node gets its
    noise when it completes, and ``release`` returns the sum of the noisy nodes that tile
    ``[1, t]`` (one per 1-bit of t).

    Parameters
    ----------
    T
        Horizon: number of releases. Noise is calibrated to it; releasing more raises.
    privacy
        ``("pure", eps)`` (Laplace noise), ``("zcdp", rho)`` or ``("approx", eps, delta)``
        (Gaussian noise), for event-level replacement neighbours (one event replaced by any
        other within ``bounds``).
    d
        Number of coordinates counted at once; the sensitivity is taken jointly over all of
        them (L2: ``sqrt(L d) (hi - lo)``, L1: ``L d (hi - lo)``).
    bounds
        ``(lo, hi)``: every coordinate of every input must lie in ``[lo, hi]``.
    clip
        If True, inputs are clipped into ``bounds``; if False (default), out-of-bounds inputs
        raise :class:`onlinekit.InvalidEvent`.
    honaker
        Use Honaker's online minimum-variance node estimates (each completed node blends its
        noisy value with its children's estimates) -- a post-processing step, same privacy.
    noise
        ``"secure"`` (default; exact discrete Laplace / Gaussian noise on a ``2**-grid_bits``
        grid from the OS CSPRNG), ``"seeded"`` (continuous noise from ``seed``: **gives no
        privacy**, for tests and experiments), ``"seeded-discrete"`` (the secure samplers on
        seeded bits; no privacy either) or ``"none"`` (no noise: exact prefix sums, for tests).
    seed
        Seed of the research noise; must be None with ``noise="secure"``.
    grid_bits
        Secure path: inputs are rounded to multiples of ``2**-grid_bits`` and the mechanism
        works on integers. The bounds are rounded the same way, so rounded inputs stay inside
        the rounded bounds and the integer sensitivity is exact.

    Attributes
    ----------
    t_
        Number of releases so far.
    last_exact_, last_est_
        Per height: exact sum and released estimate of the most recent completed node.
    last_noisy_
        Secure path only: the noisy integer node values (grid units).
    noise_stream_
        Discrete paths only: ``[key, bits used]`` of the seeded bit stream
        (``noise="seeded-discrete"``); zeros on the secure path, whose OS bits are never kept.

    Examples
    --------
    >>> c = TreeCounter(T=8, privacy=("zcdp", 1.0), noise="seeded", seed=0)
    >>> ys = c.release_many([1, 0, 1, 1, 0, 1, 1, 1])
    >>> ys.shape, c.t_
    ((8,), 8)
    >>> kind, rho = c.privacy_loss(1)
    >>> kind, round(rho, 12)
    ('zcdp', 1.0)
    >>> exact = TreeCounter(T=8, noise="none").release_many([1, 0, 1, 1, 0, 1, 1, 1])
    >>> exact.tolist()
    [1.0, 1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0]
    >>> round(TreeCounter(T=1024, privacy=("zcdp", 0.5), noise="seeded").expected_error()["max_var"], 3)
    110.0

    Notes
    -----
    Sensitivities (ours, standard): each event touches at most ``L`` released nodes, so
    ``Delta_1 = L d (hi - lo)`` and ``Delta_2 = sqrt(L d) (hi - lo)``. Per-step variance
    (Gaussian, node variance ``sigma^2``): ``popcount(t) sigma^2`` without Honaker,
    ``sigma^2 sum_{h in bits(t)} r_h`` with it (:func:`honaker_factors`); for Laplace replace
    ``sigma^2`` by ``2 b^2`` (Chan et al. 2011; Honaker 2015 for the factors);
    ``max_error_bound`` is a union bound over t (:func:`gaussian_tail`,
    :func:`laplace_sum_tail`). TF-Privacy uses ``floor(log2 T) + 1 = T.bit_length()`` levels
    too. The secure path rounds inputs, so its prefix sums are those of the rounded inputs
    (at most ``t 2**-(grid_bits+1)`` away); ``max_error_bound`` includes that term. Without
    Honaker it draws noise only for the nodes some prefix uses (the left children: one per
    step, the node of height ``tz(t)`` completed at step t), half of the ``2T - 1`` nodes;
    releasing fewer noisy nodes changes neither the sensitivity (step 1 lies in ``L`` left
    children) nor any output's distribution. For the
    discrete noise the continuous tail bounds are used (not proved here for the discrete
    laws).

    References
    ----------
    Dwork, Naor, Pitassi, Rothblum, STOC 2010. Chan, Shi, Song, ACM TISSEC 2011.
    Honaker, "Efficient use of differentially private binary trees", 2015.
    Kairouz et al., ICML 2021 (TF-Privacy's ``EfficientTreeAggregator``).
    """

    protocol = "release"

    def __init__(
        self,
        T: int,
        privacy=("zcdp", 0.5),
        d: int = 1,
        bounds=(0.0, 1.0),
        clip: bool = False,
        honaker: bool = False,
        noise: str = "secure",
        seed: int | None = None,
        grid_bits: int = 20,
    ):
        self.T = T
        self.privacy = privacy
        self.d = d
        self.bounds = bounds
        self.clip = clip
        self.honaker = honaker
        self.noise = noise
        self.seed = seed
        self.grid_bits = grid_bits
        self._check_common()
        if not isinstance(honaker, bool):
            raise InvalidEvent(f"must be a bool, got {honaker!r}", field="honaker")
        self._calibrate()
        self.reset()

    # -- calibration ----------------------------------------------------------------------
    @property
    def L(self) -> int:
        """Number of tree levels, ``T.bit_length()``."""
        return int(self.T).bit_length()

    def sensitivity(self) -> tuple[float, float]:
        """(L1, L2) sensitivity of the vector of all noised nodes, in input units."""
        dv = self._delta_value()
        return self.L * self.d * dv, math.sqrt(self.L * self.d) * dv

    def _calibrate(self) -> None:
        spec = check_privacy(self.privacy)
        L, d = self.L, self.d
        if self.noise in ("secure", "seeded-discrete"):
            lo_g, hi_g = self._grid_bounds()
            dg = hi_g - lo_g
            if dg <= 0:
                raise InvalidEvent("bounds collapse on the grid; increase grid_bits", field="grid_bits")
            self._scale_q, self._guarantee = calibrate_discrete(
                spec, L * d * dg, math.sqrt(L * d) * dg, 2 * int(self.T) * d)
            return
        l1, l2 = self.sensitivity()
        self._noise_kind, self._scale, self._guarantee = calibrate_float(spec, l1, l2, self.noise)

    def node_variance(self) -> float:
        """Variance of one node's noise, in squared input units."""
        if self.noise == "none":
            return 0.0
        if self.noise in ("secure", "seeded-discrete"):
            return discrete_noise_variance(self._scale_q, self._guarantee, self.grid_bits)
        if self._noise_kind == "laplace":
            return 2.0 * self._scale**2
        return self._scale**2

    def variance(self) -> np.ndarray:
        """Closed-form ``Var(y_t - S_t)`` for t = 1..T (per coordinate)."""
        t = np.arange(1, self.T + 1, dtype=np.int64)
        r = honaker_factors(self.L) if self.honaker else np.ones(self.L)
        fac = np.zeros(self.T)
        for h in range(self.L):
            fac += ((t >> h) & 1) * r[h]
        return fac * self.node_variance()

    def _max_error_bound(self, beta: float) -> float:
        v = float(self.variance().max())
        b1 = beta / self.T
        if self.noise == "none":
            noise = 0.0
        elif self._guarantee.noise in ("laplace", "discrete_laplace"):
            b = self._scale if self._guarantee.noise == "laplace" else float(self._scale_q) * 2.0**-self.grid_bits
            noise = laplace_sum_tail(v, b, b1)
        else:
            noise = gaussian_tail(v, b1)
        rounding = self.T * 2.0 ** -(self.grid_bits + 1) if self.noise in ("secure", "seeded-discrete") else 0.0
        return noise + rounding

    # -- state ----------------------------------------------------------------------------
    def _reset(self) -> None:
        L, d = self.L, self.d
        self.t_ = 0
        self.last_est_ = np.zeros((L, d))
        if self.noise in ("secure", "seeded-discrete"):
            self.last_exact_ = np.zeros((L, d), dtype=np.int64)
            self.last_noisy_ = np.zeros((L, d), dtype=np.int64)
            self.noise_stream_ = self._new_noise_stream()
        else:
            self.last_exact_ = np.zeros((L, d))
        self._bits = None

    # -- releases -------------------------------------------------------------------------
    def _draw_std(self, m: int) -> np.ndarray:
        """Unit-scale node noise (the kernel multiplies by the scale)."""
        if self.noise == "none":
            return np.zeros((m, self.d))
        if self._noise_kind == "laplace":
            return self._rng.laplace(0.0, 1.0, size=(m, self.d))
        return self._rng.standard_normal(size=(m, self.d))

    def _run_float(self, X: np.ndarray) -> np.ndarray:
        k = _kernels()
        n = X.shape[0]
        noise = self._draw_std(k.n_nodes(self.t_, n))
        out = np.empty((n, self.d))
        w = honaker_factors(self.L)
        scale = 0.0 if self.noise == "none" else float(self._scale)
        k._tree_block(X, int(self.t_), self.last_exact_, self.last_est_, noise, scale, w, bool(self.honaker), out)
        self.t_ += n
        return out

    def _run_discrete(self, X: np.ndarray) -> np.ndarray:
        from onlinekit.privacy import _noise_kernels

        Xg = np.rint(X * 2.0**self.grid_bits).astype(np.int64)
        n, d = Xg.shape
        # Honaker noises every node; otherwise only the one left child completed per step is
        # ever released (see _tree_block_int), so one row per step
        m = _kernels().n_nodes(int(self.t_), n) if self.honaker else n
        noise = self._discrete_noise(m * d).reshape(m, d)  # drawn before any state changes
        out = np.empty((n, d))
        _noise_kernels._tree_block_int(Xg, int(self.t_), self.last_exact_, self.last_noisy_, self.last_est_,
                                       noise, honaker_factors(self.L), bool(self.honaker),
                                       2.0**-self.grid_bits, out)
        self.t_ += n
        return out

    def _run(self, X: np.ndarray) -> np.ndarray:
        if self.noise in ("secure", "seeded-discrete"):
            return self._run_discrete(X)
        return self._run_float(X)

    @classmethod
    def _unit_test_params(cls):
        yield {"T": 64, "privacy": ("zcdp", 0.5), "noise": "seeded", "seed": 1}
        yield {"T": 50, "privacy": ("pure", 1.0), "noise": "seeded", "seed": 2, "honaker": True}
        yield {"T": 40, "privacy": ("approx", 1.0, 1e-6), "d": 3, "bounds": (-1.0, 2.0),
               "clip": True, "noise": "seeded", "seed": 3}
        yield {"T": 45, "privacy": ("zcdp", 0.5), "d": 2, "noise": "seeded-discrete", "seed": 4,
               "honaker": True, "grid_bits": 12}


class DoublingCounter(Learner):
    """Unbounded horizon: restart a counter on epochs of doubling length (Chan et al. 2011).

    Epoch ``i`` runs a fresh copy of ``counter`` with horizon ``counter.T * 2**i``; the release
    at a step of epoch ``i`` is the sum of the final releases of epochs ``0..i-1`` plus the
    current epoch's release. Each event enters exactly one epoch's counter and the earlier
    totals are post-processing, so the guarantee is that of one epoch's counter (every epoch is
    calibrated to the same ``privacy`` spec; for ``d_in`` events spread over several epochs the
    per-epoch losses compose to at most the single-counter loss at ``d_in``, since pure eps and
    Gaussian ``Delta/sigma`` are the same in every epoch).

    Parameters
    ----------
    counter
        ``"tree"`` (:class:`TreeCounter`), ``"sqrt"`` (:class:`SqrtFactorCounter`) or
        ``"optimal"`` (:class:`OptimalFactorCounter`).
    params
        Keyword arguments of that counter; its ``T`` is the first epoch's length. With seeded
        noise, epoch ``i`` uses the ``i``-th seed spawned from ``params["seed"]``.
    max_epochs
        Stop (raise on further releases) after this many epochs; None for no limit.

    Attributes
    ----------
    t_, epoch_
        Releases so far and the current epoch.
    offset_
        Sum of the final releases of the finished epochs.
    inner_state_
        State of the current epoch's counter (refreshed by :meth:`state_dict`).

    Examples
    --------
    >>> c = DoublingCounter("tree", {"T": 4, "noise": "none"})
    >>> c.release_many(np.ones(10)).tolist()
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    >>> c.epoch_, c.t_
    (1, 10)
    >>> s = DoublingCounter("sqrt", {"T": 16, "privacy": ("zcdp", 0.5), "noise": "seeded", "seed": 0})
    >>> kind, rho = s.privacy_loss(1)
    >>> kind, round(rho, 12), s.variance(40).shape
    ('zcdp', 0.5, (40,))

    Notes
    -----
    The error at step t of epoch i is the current epoch's error plus the final-step errors of
    all earlier epochs, so it grows like ``log T`` times the fixed-horizon error (Chan, Shi,
    Song 2011, hybrid mechanism; ours for the closed forms in :meth:`variance`).

    References
    ----------
    Chan, Shi, Song, "Private and Continual Release of Statistics", ACM TISSEC 2011.
    """

    protocol = "release"

    def __init__(self, counter: str = "tree", params: dict | None = None, max_epochs: int | None = None):
        self.counter = counter
        self.params = params
        self.max_epochs = max_epochs
        from onlinekit.privacy._common import check_int

        if counter not in ("tree", "sqrt", "optimal"):
            raise InvalidEvent(f"must be 'tree', 'sqrt' or 'optimal', got {counter!r}", field="counter")
        if not isinstance(params, dict) or "T" not in params:
            raise InvalidEvent("must be a dict of counter arguments including T", field="params")
        if max_epochs is not None:
            check_int(max_epochs, "max_epochs")
        self._template = self._cls()(**params)
        self.reset()

    def _cls(self):
        if self.counter == "tree":
            return TreeCounter
        from onlinekit.privacy import sqrt_factor

        return sqrt_factor.SqrtFactorCounter if self.counter == "sqrt" else sqrt_factor.OptimalFactorCounter

    def _make(self, i: int):
        tpl = self._template
        seed = tpl.seed
        if seed is not None:
            from onlinekit.base import spawn_seeds

            seed = spawn_seeds(seed, i + 1)[i]
        return tpl.clone(T=int(tpl.T) * 2**i, seed=seed)

    def _reset(self) -> None:
        self.t_ = 0
        self.epoch_ = 0
        self.offset_ = np.zeros(self._template.d)
        self._inner = self._make(0)
        self.inner_state_ = self._inner.state_dict()

    def state_dict(self) -> dict:
        """Learned state, with the current epoch's counter state under ``inner_state_``."""
        self.inner_state_ = self._inner.state_dict()
        return super().state_dict()

    def _after_load(self) -> None:
        self._inner = self._make(int(self.epoch_))
        self._inner.load_state_dict(self.inner_state_)

    @property
    def guarantee(self):
        """The privacy map of one epoch's counter (the same for every epoch)."""
        return self._inner.guarantee

    def privacy_loss(self, d_in: float = 1):
        """Privacy spec met on streams that differ in ``d_in`` events."""
        return self._inner.privacy_loss(d_in)

    def check(self, d_in: float, d_out) -> bool:
        """Whether streams at distance ``d_in`` are ``d_out``-indistinguishable."""
        return self._inner.check(d_in, d_out)

    def _capacity(self) -> float:
        if self.max_epochs is None:
            return math.inf
        return int(self._template.T) * (2**self.max_epochs - 1) - self.t_

    def _feed(self, X: np.ndarray) -> np.ndarray:
        outs = []
        i = 0
        while i < X.shape[0]:
            room = int(self._inner.T) - self._inner.t_
            piece = X[i:i + room]
            y = self._inner.release_many(piece)
            y = y.reshape(piece.shape[0], -1) + self.offset_[None, :]
            outs.append(y)
            i += piece.shape[0]
            self.t_ += piece.shape[0]
            if self._inner.t_ == int(self._inner.T) and (
                self.max_epochs is None or self.epoch_ + 1 < self.max_epochs
            ):
                self.offset_ = y[-1].copy()
                self.epoch_ += 1
                self._inner = self._make(self.epoch_)
        return np.concatenate(outs, axis=0)

    def _validated(self, xs, one: bool) -> np.ndarray:
        # the current epoch's counter is never full unless max_epochs is reached (epochs roll
        # over right after their last step), so its own checks give the right errors
        try:
            if one:
                return self._inner._as_one(xs)
            X = self._inner._as_block(xs, horizon=False)
        except InvalidEvent as e:  # offsets of the epoch's counter -> offsets of the stream
            if e.offset is None:
                raise
            raise e.at(self.t_ + e.offset - self._inner.t_) from None
        if X.shape[0] > self._capacity():
            raise InvalidEvent(f"max_epochs={self.max_epochs} reached", field="xs", offset=self.t_)
        return X

    def release(self, x):
        """Consume one input; return the private running sum over all epochs."""
        X = self._validated(x, one=True)
        y = self._feed(X)
        return float(y[0, 0]) if self._template.d == 1 else y[0].copy()

    def release_many(self, xs) -> np.ndarray:
        """``release`` over a block (may span epochs); identical to the loop, bit for bit."""
        X = self._validated(xs, one=False)
        if X.shape[0] == 0:
            return np.empty((0,)) if self._template.d == 1 else np.empty((0, self._template.d))
        y = self._feed(X)
        return y[:, 0].copy() if self._template.d == 1 else y

    def variance(self, n: int) -> np.ndarray:
        """Closed-form ``Var(y_t - S_t)`` for t = 1..n (per coordinate)."""
        out = np.empty(n)
        t, i, carry = 0, 0, 0.0
        while t < n:
            v = self._make(i).variance()
            m = min(len(v), n - t)
            out[t:t + m] = v[:m] + carry
            carry += v[-1]
            t += m
            i += 1
        return out

    def expected_error(self, n: int, beta: float = 0.05) -> dict:
        """Closed-form error summary over the first ``n`` steps (see :meth:`variance`); the
        max-error bound is a union bound over the n steps (Gaussian, or Laplace with the
        largest epoch scale)."""
        if not (0.0 < beta < 1.0):
            raise InvalidEvent(f"must be in (0, 1), got {beta!r}", field="beta")
        v = self.variance(n)
        g = self._make(0).guarantee
        if self._template.noise == "none":
            bound = 0.0
        elif g.noise in ("laplace", "discrete_laplace"):
            last = 0
            while int(self._template.T) * (2 ** (last + 1) - 1) < n:
                last += 1
            c = self._make(last)
            b = c._scale if g.noise == "laplace" else float(c._scale_q) * 2.0**-c.grid_bits
            bound = laplace_sum_tail(float(v.max()), b, beta / n)
        else:
            bound = gaussian_tail(float(v.max()), beta / n)
        return {"max_var": float(v.max()), "mean_var": float(v.mean()), "rmse": math.sqrt(v.mean()),
                "max_error_bound": bound}

    def _check_inputs(self, seed: int) -> list:
        return self._inner._check_inputs(seed)

    def _check_bad_events(self) -> list:
        return [b for b in self._inner._check_bad_events()]

    @classmethod
    def _unit_test_params(cls):
        yield {"counter": "tree", "params": {"T": 8, "privacy": ("zcdp", 0.5), "noise": "seeded", "seed": 1}}
        yield {"counter": "tree", "params": {"T": 4, "privacy": ("pure", 1.0), "d": 2, "honaker": True,
                                             "noise": "seeded", "seed": 2}, "max_epochs": 4}
        yield {"counter": "sqrt", "params": {"T": 5, "noise": "seeded-discrete", "seed": 3, "grid_bits": 10}}

"""Binary-tree continual counter (Dwork-Naor-Pitassi-Rothblum 2010; Chan-Shi-Song 2011)."""

from __future__ import annotations

import math

import numpy as np

from onlinekit.base import InvalidEvent
from onlinekit.privacy._common import (
    CounterBase,
    calibrate_discrete,
    calibrate_float,
    discrete_noise_variance,
)
from onlinekit.privacy.accounting import check_privacy, gaussian_tail, laplace_sum_tail  # noqa: F401 (re-exported)

__all__ = ["TreeCounter", "honaker_factors", "laplace_sum_tail", "gaussian_tail"]


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

    def _n_discrete_draws(self, n: int) -> int:
        # Honaker noises every node; otherwise only the one left child completed per step is
        # ever released (see _tree_block_int), so one row per step
        return _kernels().n_nodes(int(self.t_), n) if self.honaker else n

    def _discrete_block(self, Xg: np.ndarray, noise: np.ndarray, out: np.ndarray) -> None:
        from onlinekit.privacy import _noise_kernels

        _noise_kernels._tree_block_int(Xg.astype(np.int64), int(self.t_), self.last_exact_, self.last_noisy_,
                                       self.last_est_, noise, honaker_factors(self.L), bool(self.honaker),
                                       2.0**-self.grid_bits, out)

    @classmethod
    def _unit_test_params(cls):
        yield {"T": 64, "privacy": ("zcdp", 0.5), "noise": "seeded", "seed": 1}
        yield {"T": 50, "privacy": ("pure", 1.0), "noise": "seeded", "seed": 2, "honaker": True}
        yield {"T": 40, "privacy": ("approx", 1.0, 1e-6), "d": 3, "bounds": (-1.0, 2.0),
               "clip": True, "noise": "seeded", "seed": 3}
        yield {"T": 45, "privacy": ("zcdp", 0.5), "d": 2, "noise": "seeded-discrete", "seed": 4,
               "honaker": True, "grid_bits": 12}


def __getattr__(name: str):
    # DoublingCounter moved to onlinekit.privacy.doubling; the old path (and archives naming
    # onlinekit.privacy.tree:DoublingCounter) still resolve, without an import cycle
    if name == "DoublingCounter":
        from onlinekit.privacy.doubling import DoublingCounter

        return DoublingCounter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

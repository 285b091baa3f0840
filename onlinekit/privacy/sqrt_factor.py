"""Square-root factorization counter (Fichtenberger-Henzinger-Upadhyay 2023; HUU 2023)."""

from __future__ import annotations

import abc
import math

import numpy as np

from onlinekit.base import InvalidEvent
from onlinekit.privacy._common import (
    CounterBase,
    calibrate_discrete,
    calibrate_float,
    discrete_noise_variance,
)
from onlinekit.privacy.accounting import check_privacy, gaussian_tail, laplace_sum_tail

__all__ = [
    "SqrtFactorCounter",
    "OptimalFactorCounter",
    "sqrt_coefficients",
    "toeplitz_noise_fft",
    "mean_error_factorization",
]

_U = 2.0**-53


def _kernels():
    from onlinekit.privacy import _kernels

    return _kernels


def sqrt_coefficients(T: int) -> np.ndarray:
    """First ``T`` coefficients of the lower-triangular Toeplitz square root of the all-ones
    lower-triangular matrix: ``c_k = binom(2k, k) / 4**k = prod_{j<=k} (2j - 1) / (2j)``.

    Examples
    --------
    >>> sqrt_coefficients(4)
    array([1.    , 0.5   , 0.375 , 0.3125])
    """
    k = np.arange(1, T, dtype=np.float64)
    c = np.ones(T)
    c[1:] = np.cumprod((2.0 * k - 1.0) / (2.0 * k))
    return c


def toeplitz_noise_fft(c: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Causal convolution ``w[t] = sum_{s<=t} c[t-s] z[s]`` of each column of ``z`` by FFT.

    O(T log T) for the whole horizon (float64 throughout).

    Examples
    --------
    >>> c = sqrt_coefficients(4)
    >>> np.round(toeplitz_noise_fft(c, np.array([[1.0], [0.0], [0.0], [1.0]]))[:, 0], 6)
    array([1.    , 0.5   , 0.375 , 1.3125])
    """
    T = z.shape[0]
    n = 1 << max(1, (2 * T - 1).bit_length())
    fc = np.fft.rfft(c, n)
    fz = np.fft.rfft(z, n, axis=0)
    return np.fft.irfft(fc[:, None] * fz, n, axis=0)[:T]


class _FactorCounter(CounterBase):
    """Shared calibration of the factorization counters ``y = B (C x + z)``.

    Subclasses give the encoder's norms through :meth:`_norms`; the sensitivities, the noise
    calibration (continuous or exact discrete on the ``2^-grid_bits`` grid, with the encoder's
    rounding and floating-point error added to the sensitivity) and the release loop follow.
    """

    @abc.abstractmethod
    def _norms(self) -> tuple[float, float, float]:
        """(largest row L1 norm, largest column L1 norm, largest column squared L2 norm) of C."""

    @abc.abstractmethod
    def _encode(self, src: np.ndarray, t: int, out: np.ndarray) -> None:
        """``out[0] = (C src)[t]``: row t of the encoder applied to the rows of ``src``."""

    @abc.abstractmethod
    def _decode(self, src: np.ndarray, t: int, out: np.ndarray) -> None:
        """``out[0] = (B src)[t]``: row t of the decoder."""

    def _discrete_block(self, Xg: np.ndarray, noise: np.ndarray, out: np.ndarray) -> None:
        # encode the grid inputs, round to integers, add the integer noise, decode
        qf = 2.0**self.grid_bits
        d = Xg.shape[1]
        enc = np.empty((1, d))
        dec = np.empty((1, d))
        for i in range(Xg.shape[0]):
            t = int(self.t_) + i
            self.xg_[t] = Xg[i]
            self._encode(self.xg_, t, enc)
            for j in range(d):
                self.z_[t, j] = float(int(np.rint(enc[0, j])) + int(noise[i, j]))
            self._decode(self.z_, t, dec)
            out[i] = dec[0] / qf

    def sensitivity(self) -> tuple[float, float]:
        """(L1, L2) sensitivity of the encoder output ``C x``, in input units."""
        _, col1, col2 = self._norms()
        dv = self._delta_value()
        s2 = col2 * (1 + 1e-12)
        s1 = col1 * (1 + 1e-12)
        return self.d * s1 * dv, math.sqrt(self.d * s2) * dv

    def _calibrate(self) -> None:
        spec = check_privacy(self.privacy)
        d, T = self.d, int(self.T)
        if self._discrete:
            lo_g, hi_g = self._grid_bounds()
            dg = hi_g - lo_g
            if dg <= 0:
                raise InvalidEvent("bounds collapse on the grid; increase grid_bits", field="grid_bits")
            row1, col1, col2 = self._norms()
            xmax = max(abs(lo_g), abs(hi_g))
            gam = T * _U / (1 - T * _U)
            ferr = gam * row1 * xmax * (1 + 1e-12)
            per = 1.0 + 2.0 * ferr  # rounding + float error, per affected coordinate
            s1 = col1 * (1 + 1e-12)
            s2 = col2 * (1 + 1e-12)
            l1 = d * (dg * s1 + T * per)
            l2 = math.sqrt(d) * (dg * math.sqrt(s2) + math.sqrt(T) * per)
            self._scale_q, self._guarantee = calibrate_discrete(spec, l1, l2, T * d)
            return
        l1, l2 = self.sensitivity()
        self._noise_kind, self._scale, self._guarantee = calibrate_float(spec, l1, l2, self.noise)

    def noise_variance(self) -> float:
        """Variance of one draw ``z_s``, in squared input units."""
        if self.noise == "none":
            return 0.0
        if self._discrete:
            return discrete_noise_variance(self._scale_q, self._guarantee, self.grid_bits)
        return 2.0 * self._scale**2 if self._noise_kind == "laplace" else self._scale**2


class SqrtFactorCounter(_FactorCounter):
    """Private running sums by the square-root matrix factorization (correlated noise).

    The prefix-sum matrix ``A`` is factored as ``A = C C`` with ``C`` the lower-triangular
    Toeplitz matrix of :func:`sqrt_coefficients`. The mechanism releases
    ``y = C (C x + z) = A x + C z``: the exact running sum plus noise correlated across steps,
    ``w_t = sum_{s<=t} c_{t-s} z_s``.

    Parameters
    ----------
    T, privacy, d, bounds, clip, noise, seed, grid_bits
        As in :class:`onlinekit.privacy.TreeCounter` (``noise="secure"`` is the default and
        the only private choice; seeded noise gives no privacy).
    mode
        ``"replay"``: the whole horizon's correlated noise is generated at the first release
        by one FFT (O(T log T), O(T d) memory); ``"streaming"``: noise ``w_t`` is computed at
        step t from the draws so far (O(t) per step, nothing drawn ahead). ``"auto"`` (default)
        is replay for seeded noise and streaming for the discrete (secure) path, which only
        exists in streaming form.

    Attributes
    ----------
    t_
        Releases so far.
    s_
        Exact running sum (float paths).
    w_
        Replay: correlated noise of the whole horizon (empty until the first release).
    z_
        Streaming: the draws so far; secure path: the noisy integer encoder outputs.
    xg_
        Secure path: the inputs in grid units.
    noise_stream_
        Discrete paths: ``[key, bits used]`` of the seeded bit stream (zeros when secure).

    Examples
    --------
    >>> c = SqrtFactorCounter(T=8, privacy=("zcdp", 1.0), noise="seeded", seed=0)
    >>> c.release_many([1, 0, 1, 1, 0, 1, 1, 1]).shape
    (8,)
    >>> SqrtFactorCounter(T=4, noise="none").release_many([1, 1, 0, 1]).tolist()
    [1.0, 2.0, 2.0, 3.0]
    >>> s = SqrtFactorCounter(T=1024, privacy=("zcdp", 0.5), noise="seeded")
    >>> round(s.expected_error()["max_var"], 2)  # (sum_k c_k^2)^2 at T = 2**10
    10.71

    Notes
    -----
    Sensitivity (replacement of one event, ours): the column norms of ``C`` are largest for the
    first column, so ``Delta_2 = sqrt(d sum_{k<T} c_k^2) (hi - lo)`` and, for Laplace noise
    (pure DP), ``Delta_1 = d sum_{k<T} c_k (hi - lo)``. Variance of ``y_t - S_t`` under unit
    noise is ``sum_{k<t} c_k^2``; the maximum ``(sum_{k<T} c_k^2)^2 sigma_1^2`` grows like
    ``((ln T + 3.35) / pi)^2`` (FHU23). Lower-triangular factorizations keep their
    guarantee for adaptively chosen streams (Denisov et al. 2022).

    Secure path (ours): the encoder ``C x`` is computed in float64 from the grid-rounded inputs
    and rounded to integers, then discrete noise is added; the integer sensitivity is inflated
    by the rounding (``1`` per affected coordinate) and a bound on the float error of each dot
    product (``gamma_T sum_k c_k max|x|``, Higham's ``gamma_n = n u / (1 - n u)``). Decoding
    (``C`` applied to the noisy integers) is post-processing. The multivariate discrete
    Gaussian slack is handled as in :class:`onlinekit.privacy.accounting.Guarantee`.

    References
    ----------
    Fichtenberger, Henzinger, Upadhyay, "Constant Matters", ICML 2023. Henzinger, Upadhyay,
    Upadhyay, SODA 2023. Denisov, McMahan, Rush, Smith, Thakurta, NeurIPS 2022.
    """

    protocol = "release"

    def __init__(
        self,
        T: int,
        privacy=("zcdp", 0.5),
        d: int = 1,
        bounds=(0.0, 1.0),
        clip: bool = False,
        mode: str = "auto",
        noise: str = "secure",
        seed: int | None = None,
        grid_bits: int = 20,
    ):
        self.T = T
        self.privacy = privacy
        self.d = d
        self.bounds = bounds
        self.clip = clip
        self.mode = mode
        self.noise = noise
        self.seed = seed
        self.grid_bits = grid_bits
        self._check_common()
        if mode not in ("auto", "replay", "streaming"):
            raise InvalidEvent(f"must be 'auto', 'replay' or 'streaming', got {mode!r}", field="mode")
        if mode == "replay" and noise in ("secure", "seeded-discrete"):
            raise InvalidEvent("the discrete (secure) path is streaming only; use mode='auto'", field="mode")
        self._c = sqrt_coefficients(int(T))
        self._calibrate()
        self.reset()

    @property
    def _mode(self) -> str:
        if self.mode != "auto":
            return self.mode
        return "streaming" if self._discrete else "replay"

    # -- calibration ----------------------------------------------------------------------
    def _norms(self) -> tuple[float, float, float]:
        # the encoder is lower-triangular Toeplitz with positive first column c
        c = self._c
        total = float(np.sum(c))
        return total, total, float(np.sum(c * c))

    def variance(self) -> np.ndarray:
        """Closed-form ``Var(y_t - S_t)`` for t = 1..T: ``var(z) sum_{k<t} c_k^2``."""
        return np.cumsum(self._c**2) * self.noise_variance()

    def _max_error_bound(self, beta: float) -> float:
        v = float(self.variance().max())
        b1 = beta / self.T
        if self.noise == "none":
            return 0.0
        if self._guarantee.noise in ("laplace", "discrete_laplace"):
            b = self._scale if self._guarantee.noise == "laplace" else float(self._scale_q) * 2.0**-self.grid_bits
            noise = laplace_sum_tail(v, b, b1)
        else:
            noise = gaussian_tail(v, b1)
        if self._discrete:  # decoder applied to the rounding/float error of the encoder
            xmax = max(abs(v) for v in self._grid_bounds())
            gam = self.T * _U / (1 - self.T * _U)
            per = 0.5 + gam * float(np.sum(self._c)) * xmax
            noise += float(np.sum(self._c)) * per * 2.0**-self.grid_bits
        return noise

    # -- state ----------------------------------------------------------------------------
    def _reset(self) -> None:
        T, d = int(self.T), self.d
        self.t_ = 0
        self.s_ = np.zeros(d)
        if self._discrete:
            self.xg_ = np.zeros((T, d))
            self.z_ = np.zeros((T, d))
            self.noise_stream_ = self._new_noise_stream()
        elif self._mode == "replay":
            self.w_ = np.zeros((0, d))
        else:
            self.z_ = np.zeros((T, d))
        self._bits = None

    def _draw(self, m: int) -> np.ndarray:
        if self.noise == "none":
            return np.zeros((m, self.d))
        if self._noise_kind == "laplace":
            return self._rng.laplace(0.0, 1.0, size=(m, self.d)) * self._scale
        return self._rng.standard_normal(size=(m, self.d)) * self._scale

    def _run_float(self, X: np.ndarray) -> np.ndarray:
        n, t0 = X.shape[0], self.t_
        if self._mode == "replay":
            if self.w_.shape[0] == 0:
                self.w_ = toeplitz_noise_fft(self._c, self._draw(int(self.T)))
            w = self.w_[t0:t0 + n]
        else:
            self.z_[t0:t0 + n] = self._draw(n)
            w = np.empty((n, self.d))
            _kernels()._toeplitz_stream(self._c, self.z_, int(t0), int(n), w)
        S = np.cumsum(np.concatenate([self.s_[None, :], X]), axis=0)[1:]
        self.s_ = S[-1].copy()
        self.t_ += n
        return S + w

    def _encode(self, src, t, out):
        _kernels()._toeplitz_stream(self._c, src, t, 1, out)

    def _decode(self, src, t, out):
        _kernels()._toeplitz_stream(self._c, src, t, 1, out)

    @classmethod
    def _unit_test_params(cls):
        yield {"T": 64, "privacy": ("zcdp", 0.5), "noise": "seeded", "seed": 1}
        yield {"T": 50, "privacy": ("pure", 1.0), "mode": "streaming", "noise": "seeded", "seed": 2}
        yield {"T": 40, "privacy": ("approx", 1.0, 1e-6), "d": 3, "bounds": (-1.0, 2.0),
               "clip": True, "noise": "seeded", "seed": 3}
        yield {"T": 45, "privacy": ("zcdp", 0.5), "d": 2, "noise": "seeded-discrete", "seed": 4,
               "grid_bits": 12}


_FACTOR_CACHE: dict = {}


def mean_error_factorization(T: int, max_iter: int = 5000, tol: float = 1e-10):
    """Mean-error optimal lower-triangular factorization ``A = B C`` of the T x T prefix-sum
    matrix under single participation (Denisov, McMahan, Rush, Smith, Thakurta 2022).

    Minimises ``tr(A X^-1 A^T)`` over ``X = C^T C`` with ``diag(X) <= 1`` by the fixed point
    ``v <- diag((D_v^(1/2) A^T A D_v^(1/2))^(1/2))`` (their Lemma 3.4); ``X = D_v^(-1/2)
    (D_v^(1/2) A^T A D_v^(1/2))^(1/2) D_v^(-1/2)``; ``C`` is the "reverse Cholesky" factor of
    ``X`` (lower-triangular, ``C^T C = X``) and ``B = A C^-1``. O(T^3) per iteration, float64.

    Returns
    -------
    C, B
        Lower-triangular factors, with ``C`` scaled to unit max column norm.
    iterations
        Fixed-point iterations used.

    Examples
    --------
    >>> C, B, it = mean_error_factorization(8)
    >>> bool(np.allclose(B @ C, np.tril(np.ones((8, 8))))), round(float(np.sqrt((C**2).sum(0)).max()), 12)
    (True, 1.0)
    >>> mse = (B**2).sum() / 8   # mean error per unit noise; the sqrt factorization gives
    >>> c = sqrt_coefficients(8); sq = (c**2).sum() * np.cumsum(c**2).mean()
    >>> bool(mse <= sq)
    True
    """
    key = (int(T), int(max_iter), float(tol))
    if key in _FACTOR_CACHE:
        C, B, it = _FACTOR_CACHE[key]
        return C.copy(), B.copy(), it
    from scipy.linalg import solve_triangular

    A = np.tril(np.ones((T, T)))
    G = A.T @ A
    v = np.ones(T)
    it = 0
    for it in range(1, max_iter + 1):
        h = np.sqrt(v)
        w, U = np.linalg.eigh(h[:, None] * G * h[None, :])
        R = (U * np.sqrt(np.clip(w, 0.0, None))) @ U.T
        v_new = np.diag(R).copy()
        done = np.max(np.abs(v_new - v)) <= tol * np.max(v)
        v = v_new
        if done:
            break
    h = np.sqrt(v)
    w, U = np.linalg.eigh(h[:, None] * G * h[None, :])
    R = (U * np.sqrt(np.clip(w, 0.0, None))) @ U.T
    X = R / h[:, None] / h[None, :]
    X = 0.5 * (X + X.T)
    C = np.linalg.cholesky(X[::-1, ::-1]).T[::-1, ::-1]
    C = C / np.sqrt((C**2).sum(axis=0)).max()
    C = np.tril(C)
    B = np.tril(solve_triangular(C.T, A.T, lower=False).T)
    _FACTOR_CACHE[key] = (C, B, it)
    return C.copy(), B.copy(), it


class OptimalFactorCounter(_FactorCounter):
    """Private running sums by the mean-error optimal matrix factorization (small T).

    Releases ``y = B (C x + z) = A x + B z`` with the factors of
    :func:`mean_error_factorization` (computed once per T, O(T^3)); noise is generated step by
    step (``w_t = sum_{s<=t} B[t, s] z_s``), so releases need O(t) work and O(T^2) memory.
    Limited to ``T <= 2048``.

    Parameters
    ----------
    T, privacy, d, bounds, clip, noise, seed, grid_bits
        As in :class:`SqrtFactorCounter` (seeded noise gives no privacy; the secure path
        discretises the encoder ``C x`` exactly as there, with the float error bound of a
        length-T dot product).

    Attributes
    ----------
    t_, s_
        Releases so far and the exact running sum (float paths).
    z_
        Noise draws so far (float paths) or the noisy integer encoder outputs (secure path).
    xg_
        Secure path: the inputs in grid units.
    noise_stream_
        Discrete paths: ``[key, bits used]`` of the seeded bit stream (zeros when secure).

    Examples
    --------
    >>> c = OptimalFactorCounter(T=64, privacy=("zcdp", 0.5), noise="seeded", seed=0)
    >>> s = SqrtFactorCounter(T=64, privacy=("zcdp", 0.5), noise="seeded")
    >>> bool(c.expected_error()["mean_var"] <= s.expected_error()["mean_var"])
    True
    >>> OptimalFactorCounter(T=4, noise="none").release_many([1, 0, 1, 1]).round(12).tolist()
    [1.0, 1.0, 2.0, 3.0]

    Notes
    -----
    Sensitivity: the max column L2 norm of ``C`` (1 after scaling) times ``sqrt(d) (hi - lo)``;
    L1 (pure DP, Laplace) the max column L1 norm. The factorization minimises the *mean*
    squared error, so its max error can exceed the square-root factorization's.

    References
    ----------
    Denisov, McMahan, Rush, Smith, Thakurta, "Improved Differential Privacy for SGD via Optimal
    Private Linear Operators on Adaptive Streams", NeurIPS 2022.
    """

    protocol = "release"

    def __init__(self, T: int, privacy=("zcdp", 0.5), d: int = 1, bounds=(0.0, 1.0), clip: bool = False,
                 noise: str = "secure", seed: int | None = None, grid_bits: int = 20):
        self.T = T
        self.privacy = privacy
        self.d = d
        self.bounds = bounds
        self.clip = clip
        self.noise = noise
        self.seed = seed
        self.grid_bits = grid_bits
        self._check_common()
        if int(T) > 2048:
            raise InvalidEvent(f"must be <= 2048 (O(T^3) factorization, O(T^2) memory), got {T}", field="T")
        self._C, self._B, _ = mean_error_factorization(int(T))
        self._calibrate()
        self.reset()

    def _norms(self) -> tuple[float, float, float]:
        A = np.abs(self._C)
        return float(A.sum(axis=1).max()), float(A.sum(axis=0).max()), float((self._C**2).sum(axis=0).max())

    def variance(self) -> np.ndarray:
        """Closed-form ``Var(y_t - S_t) = var(z) ||B[t, :]||^2`` for t = 1..T."""
        return (self._B**2).sum(axis=1) * self.noise_variance()

    def _max_error_bound(self, beta: float) -> float:
        v = float(self.variance().max())
        if self.noise == "none":
            return 0.0
        b1 = beta / self.T
        if self._guarantee.noise in ("laplace", "discrete_laplace"):
            b = self._scale if self._guarantee.noise == "laplace" else float(self._scale_q) * 2.0**-self.grid_bits
            amax = float(np.abs(self._B).max())
            noise = amax * laplace_sum_tail(v / amax**2, b, b1)
        else:
            noise = gaussian_tail(v, b1)
        if self._discrete:
            xmax = max(abs(v) for v in self._grid_bounds())
            gam = self.T * _U / (1 - self.T * _U)
            per = 0.5 + gam * float(np.abs(self._C).sum(axis=1).max()) * xmax
            noise += float(np.abs(self._B).sum(axis=1).max()) * per * 2.0**-self.grid_bits
        return noise

    def _reset(self) -> None:
        T, d = int(self.T), self.d
        self.t_ = 0
        self.s_ = np.zeros(d)
        self.z_ = np.zeros((T, d))
        if self._discrete:
            self.xg_ = np.zeros((T, d))
            self.noise_stream_ = self._new_noise_stream()
        self._bits = None

    def _run_float(self, X: np.ndarray) -> np.ndarray:
        n, t0 = X.shape[0], self.t_
        if self.noise == "none":
            self.z_[t0:t0 + n] = 0.0
        elif self._noise_kind == "laplace":
            self.z_[t0:t0 + n] = self._rng.laplace(0.0, 1.0, size=(n, self.d)) * self._scale
        else:
            self.z_[t0:t0 + n] = self._rng.standard_normal(size=(n, self.d)) * self._scale
        w = np.empty((n, self.d))
        _kernels()._lower_rows(self._B, self.z_, int(t0), int(n), w)
        S = np.cumsum(np.concatenate([self.s_[None, :], X]), axis=0)[1:]
        self.s_ = S[-1].copy()
        self.t_ += n
        return S + w

    def _encode(self, src, t, out):
        _kernels()._lower_rows(self._C, src, t, 1, out)

    def _decode(self, src, t, out):
        _kernels()._lower_rows(self._B, src, t, 1, out)

    @classmethod
    def _unit_test_params(cls):
        yield {"T": 40, "privacy": ("zcdp", 0.5), "noise": "seeded", "seed": 1}
        yield {"T": 30, "privacy": ("pure", 1.0), "d": 2, "noise": "seeded", "seed": 2, "clip": True}
        yield {"T": 24, "privacy": ("zcdp", 0.5), "noise": "seeded-discrete", "seed": 3, "grid_bits": 12}

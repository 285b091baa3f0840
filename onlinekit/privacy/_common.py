"""Shared machinery of the continual counters: parameters, input checks, error reports."""

from __future__ import annotations

import abc
import math

import numpy as np

from onlinekit.base import InvalidEvent, Learner
from onlinekit.privacy.accounting import Guarantee, check_privacy

NOISES = ("secure", "seeded", "seeded-discrete", "none")
NO_PRIVACY = (
    "seeded noise gives no privacy (anyone with the seed can remove it); it exists for tests "
    "and experiments"
)


def check_int(v, field: str, lo: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise InvalidEvent(f"must be an integer >= {lo}, got {v!r}", field=field)
    return int(v)


def check_bounds(bounds) -> tuple[float, float]:
    if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
        raise InvalidEvent(f"must be a pair (lo, hi), got {bounds!r}", field="bounds")
    try:
        lo, hi = float(bounds[0]), float(bounds[1])
    except (TypeError, ValueError):
        raise InvalidEvent(f"must be two numbers, got {bounds!r}", field="bounds") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise InvalidEvent(f"must be finite with lo < hi, got {bounds!r}", field="bounds")
    return lo, hi


class CounterBase(Learner, abc.ABC):
    """Parameter checks, input validation and error summaries shared by the counters."""

    _allowed_noise = NOISES

    @property
    def guarantee(self) -> Guarantee:
        """The privacy map (noise kind, scale, sensitivities; grid units on the secure path)."""
        return self._guarantee

    def privacy_loss(self, d_in: float = 1):
        """Privacy spec met on streams that differ in ``d_in`` events.

        For seeded noise this is what the noise level would give if the noise were secret;
        seeded noise itself gives no privacy.
        """
        return self._guarantee.privacy_loss(d_in)

    def check(self, d_in: float, d_out) -> bool:
        """Whether streams at distance ``d_in`` are ``d_out``-indistinguishable."""
        return self._guarantee.check(d_in, d_out)

    def release(self, x):
        """Consume one input; return the private running sum (a float, or a (d,) array)."""
        return self._shape_out(self._run(self._as_one(x)), one=True)

    def release_many(self, xs) -> np.ndarray:
        """``release`` over a block (shape (n,) or (n, d)); identical to the loop, bit for bit."""
        X = self._as_block(xs)
        if X.shape[0] == 0:
            return self._shape_out(np.empty((0, self.d)), one=False)
        return self._shape_out(self._run(X), one=False)

    @abc.abstractmethod
    def _run(self, X: np.ndarray) -> np.ndarray:
        """Release the rows of the validated ``(n, d)`` block ``X``; returns ``(n, d)``."""

    def _check_common(self) -> None:
        check_int(self.T, "T")
        check_int(self.d, "d")
        check_privacy(self.privacy)
        check_bounds(self.bounds)
        if not isinstance(self.clip, bool):
            raise InvalidEvent(f"must be a bool, got {self.clip!r}", field="clip")
        if self.noise not in self._allowed_noise:
            raise InvalidEvent(f"must be one of {self._allowed_noise}, got {self.noise!r}", field="noise")
        if self.noise == "secure" and self.seed is not None:
            raise InvalidEvent(
                "noise='secure' draws from the OS CSPRNG and cannot be seeded; " + NO_PRIVACY
                + " (pass noise='seeded' to use a seed)",
                field="seed",
            )
        check_int(self.grid_bits, "grid_bits", lo=0)
        if self.grid_bits > 40:
            raise InvalidEvent(f"must be <= 40, got {self.grid_bits!r}", field="grid_bits")
        lo, hi = check_bounds(self.bounds)
        if self.noise in ("secure", "seeded-discrete"):
            top = max(abs(lo), abs(hi)) * 2.0**self.grid_bits * self.T
            if top >= 2.0**60:
                raise InvalidEvent(
                    "T * max|bound| * 2**grid_bits must stay below 2**60 for exact integer sums",
                    field="grid_bits",
                )

    # -- exact discrete noise -----------------------------------------------------------
    def _upgrade_state(self, state: dict, from_version: int | None = None) -> dict:
        return upgrade_noise_stream(self, super()._upgrade_state(state, from_version))

    def _new_noise_stream(self) -> np.ndarray:
        """Initial ``noise_stream_`` state: ``[key, bits used]`` of the seeded bit stream
        (``noise="seeded-discrete"``), zeros on the secure path (its bits are never stored)."""
        from onlinekit.privacy.noise import SeededBitStream

        if self.noise == "seeded-discrete":
            return SeededBitStream.new_state(self._rng)
        return np.zeros(2, dtype=np.int64)

    def _discrete_noise(self, n: int) -> np.ndarray:
        """``n`` exact discrete draws (int64, grid units) at the calibrated scale."""
        return draw_discrete(self, self._guarantee.noise, self._scale_q, n)

    # -- sensitivity helpers ------------------------------------------------------------
    @property
    def _lohi(self) -> tuple[float, float]:
        return check_bounds(self.bounds)

    def _delta_value(self) -> float:
        """Largest change of one input coordinate (replacement neighbours)."""
        lo, hi = self._lohi
        return hi - lo

    def _grid_bounds(self) -> tuple[int, int]:
        lo, hi = self._lohi
        q = 2.0**self.grid_bits
        return int(np.rint(lo * q)), int(np.rint(hi * q))

    # -- inputs ---------------------------------------------------------------------------
    def _as_block(self, xs, field: str = "xs", horizon: bool = True) -> np.ndarray:
        """Validate a block of inputs; returns a fresh (n, d) float64 array (clipped if asked)."""
        try:
            a = np.array(xs, dtype=np.float64, order="C")
        except (TypeError, ValueError):
            raise InvalidEvent(f"must be numbers, got {type(xs).__name__}", field=field) from None
        d = self.d
        if d == 1 and a.ndim == 1:
            a = a.reshape(-1, 1)
        if a.ndim != 2 or a.shape[1] != d:
            raise InvalidEvent(f"must have shape (n,{' d=' + str(d) if d > 1 else ''}) , got {a.shape}", field=field)
        return self._check_values(a, field, offset0=self.t_, horizon=horizon)

    def _as_one(self, x) -> np.ndarray:
        try:
            a = np.array(x, dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidEvent(f"must be a number or vector, got {type(x).__name__}", field="x") from None
        if a.ndim == 0:
            a = a.reshape(1)
        if a.shape != (self.d,):
            raise InvalidEvent(f"must have shape ({self.d},), got {a.shape}", field="x", offset=self.t_)
        return self._check_values(a.reshape(1, -1), "x", offset0=self.t_)

    def _check_values(self, a: np.ndarray, field: str, offset0: int, horizon: bool = True) -> np.ndarray:
        n = a.shape[0]
        if horizon and self.t_ + n > self.T:
            raise InvalidEvent(
                f"horizon T={self.T} reached: {self.t_} released, {n} more asked (the noise is "
                "calibrated to T; releasing past it would break the privacy guarantee)",
                field=field,
                offset=offset0 + max(0, self.T - self.t_),
            )
        bad = ~np.isfinite(a)
        if bad.any():
            i = int(np.argwhere(bad)[0][0])
            raise InvalidEvent("is not finite", field=field, offset=offset0 + i)
        lo, hi = self._lohi
        if self.clip:
            a = np.clip(a, lo, hi)
        else:
            out = (a < lo) | (a > hi)
            if out.any():
                i = int(np.argwhere(out)[0][0])
                raise InvalidEvent(
                    f"outside the declared bounds [{lo}, {hi}] (pass clip=True to clip)",
                    field=field,
                    offset=offset0 + i,
                )
        return a

    def _shape_out(self, y: np.ndarray, one: bool):
        if one:
            return float(y[0, 0]) if self.d == 1 else y[0].copy()
        return y[:, 0].copy() if self.d == 1 else y

    # -- conformance hooks --------------------------------------------------------------------
    def _check_inputs(self, seed: int) -> list:
        rng = np.random.default_rng(seed)
        n = min(self.T, 40)
        lo, hi = self._lohi
        vals = lo + (hi - lo) * rng.random((n, self.d))
        if self.d == 1:
            return [float(v) for v in vals[:, 0]]
        return [v.copy() for v in vals]

    def _check_bad_events(self) -> list:
        lo, hi = self._lohi
        ok = 0.5 * (lo + hi)
        one = ok if self.d == 1 else np.full(self.d, ok)
        nan = float("nan") if self.d == 1 else np.full(self.d, np.nan)
        bad = [
            ("release", (nan,), {}),
            ("release", ("abc",), {}),
            ("release", (np.full(self.d + 1, ok),), {}),
            ("release_many", (np.array([one, nan]),), {}),
            ("release_many", (np.full((2, self.d + 1), ok),), {}),
        ]
        if not self.clip:
            big = hi + 1.0 if self.d == 1 else np.full(self.d, hi + 1.0)
            bad.append(("release", (big,), {}))
            bad.append(("release_many", (np.array([one, big]),), {}))
        return bad

    # -- error summaries -------------------------------------------------------------------
    def expected_error(self, beta: float = 0.05) -> dict:
        """Closed-form error summary of the noise, per coordinate.

        Returns ``max_var`` and ``mean_var`` (over t = 1..T of the per-step variance of
        ``y_t - S_t``), ``rmse`` (square root of ``mean_var``) and ``max_error_bound``: a
        bound on ``max_t |y_t - S_t|`` holding with probability at least ``1 - beta`` for each
        coordinate (union bound over the T steps; for secure noise, plus the grid rounding).
        """
        if not (0.0 < beta < 1.0):
            raise InvalidEvent(f"must be in (0, 1), got {beta!r}", field="beta")
        v = self.variance()
        out = {
            "max_var": float(v.max()),
            "mean_var": float(v.mean()),
            "rmse": float(math.sqrt(v.mean())),
            "max_error_bound": float(self._max_error_bound(beta)),
        }
        return out


def draw_discrete(owner, kind: str, scale_q, n: int) -> np.ndarray:
    """``n`` exact draws of ``kind`` (``"discrete_laplace"``: scale ``scale_q``;
    ``"discrete_gaussian"``: variance ``scale_q``) for a mechanism ``owner`` with ``noise`` and
    ``noise_stream_``: the OS CSPRNG stream cached on ``owner._bits`` (secure path) or the
    seeded stream over ``owner.noise_stream_`` (updated in place)."""
    from onlinekit.privacy.noise import SeededBitStream

    if owner.noise == "secure":
        from onlinekit.privacy.entropy import secure_stream

        src = secure_stream(owner)
    else:
        src = SeededBitStream(owner.noise_stream_)
    if kind == "discrete_laplace":
        return src.discrete_laplace(scale_q, n)
    return src.discrete_gaussian(scale_q, n)


def calibrate_float(spec: tuple, l1: float, l2: float, noise: str):
    """(noise kind, scale, Guarantee) for continuous noise at sensitivities (l1, l2)."""
    from onlinekit.privacy.accounting import (
        Guarantee,
        gaussian_sigma_approx,
        gaussian_sigma_zcdp,
        laplace_scale,
    )

    if spec[0] == "pure":
        scale, kind = laplace_scale(l1, spec[1]), "laplace"
    elif spec[0] == "zcdp":
        scale, kind = gaussian_sigma_zcdp(l2, spec[1]), "gaussian"
    else:
        scale, kind = gaussian_sigma_approx(l2, spec[1], spec[2]), "gaussian"
    return kind, scale, Guarantee("none" if noise == "none" else kind, scale, l1, l2, spec)


def calibrate_discrete(spec: tuple, l1: float, l2: float, n_coords: int):
    """(rational scale, Guarantee) for exact discrete noise at integer-grid sensitivities.

    Discrete Laplace scale ``l1/eps`` (pure); discrete Gaussian variance ``l2^2/(2 rho)``
    (zCDP; an ``"approx"`` spec is met through the tight conversion,
    :func:`~onlinekit.privacy.accounting.approx_to_zcdp_tight`). Scales are rounded up
    to dyadic rationals with 32 significant bits (:func:`~onlinekit.privacy.noise.rational_upper`).
    Raises when the discrete Gaussian sigma is below 10 grid units (increase ``grid_bits``) or
    when the scale is too large for the int64 samplers (decrease ``grid_bits``).
    """
    import math

    from onlinekit.privacy.accounting import Guarantee, approx_to_zcdp_tight
    from onlinekit.privacy.noise import check_gaussian_scale, check_laplace_scale, rational_upper

    if spec[0] == "pure":
        b = rational_upper(l1 / spec[1])
        try:
            check_laplace_scale(b)
        except ValueError as e:
            raise InvalidEvent(f"{e} (decrease grid_bits or loosen privacy)", field="grid_bits") from None
        return b, Guarantee("discrete_laplace", float(b), l1, l2, spec)
    rho = spec[1] if spec[0] == "zcdp" else approx_to_zcdp_tight(spec[1], spec[2])
    s2 = rational_upper(l2 * l2 / (2.0 * rho))
    try:
        check_gaussian_scale(s2)
    except ValueError as e:
        raise InvalidEvent(f"{e} (decrease grid_bits or loosen privacy)", field="grid_bits") from None
    if s2 < 100:
        raise InvalidEvent(
            f"discrete Gaussian sigma is {math.sqrt(s2):.3g} < 10 grid units; increase grid_bits",
            field="grid_bits",
        )
    slack = 10.0 * n_coords * math.exp(-math.pi**2 * float(s2))
    return s2, Guarantee("discrete_gaussian", math.sqrt(float(s2)), l1, l2, spec, slack)


def discrete_noise_variance(scale_q, guarantee, grid_bits: int) -> float:
    """Variance of one discrete draw in squared input units (Gaussian: the sigma^2 bound)."""
    import math

    g2 = 4.0 ** (-grid_bits)
    if guarantee.noise == "discrete_laplace":
        a = math.exp(-1.0 / float(scale_q))
        return 2.0 * a / (1.0 - a) ** 2 * g2
    return float(scale_q) * g2


def upgrade_noise_stream(owner, state: dict) -> dict:
    """States written before counters kept their discrete-noise bit stream lack
    ``noise_stream_``: the secure path needs none stored; the seeded path starts a new stream
    from the archived generator (deterministic for a given archive)."""
    if "noise_stream_" in state or "noise_stream_" not in owner._state_names():
        return state
    from onlinekit.privacy.noise import SeededBitStream

    if getattr(owner, "noise", None) == "seeded-discrete" and "_rng" in state:
        rng = np.random.default_rng()
        rng.bit_generator.state = dict(state["_rng"])
        state["noise_stream_"] = SeededBitStream.new_state(rng)
    else:
        state["noise_stream_"] = np.zeros(2, dtype=np.int64)
    return state

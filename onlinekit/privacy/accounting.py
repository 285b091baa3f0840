"""Privacy specifications, noise calibration and guarantees as data.

A privacy specification is a plain tuple:

* ``("pure", eps)`` -- eps-differential privacy (Laplace noise);
* ``("zcdp", rho)`` -- rho-zero-concentrated DP (Gaussian noise);
* ``("approx", eps, delta)`` -- (eps, delta)-DP (Gaussian noise calibrated exactly with the
  analytic Gaussian mechanism of Balle and Wang 2018).

**Neighbouring streams** (the convention of every mechanism in :mod:`onlinekit.privacy`):
event-level *replacement* -- two streams of the same length that differ in one event, each
event within the declared ``bounds``. ``d_in`` in :meth:`Guarantee.privacy_loss` counts the
events that differ (group privacy via the triangle inequality on sensitivities).

A :class:`Guarantee` is the OpenDP-style "privacy map" of a mechanism: the noise kind, its
scale and the sensitivities. ``privacy_loss(d_in)`` returns the spec met on inputs at distance
``d_in``; ``check(d_in, d_out)`` says whether that loss is within ``d_out``.

References
----------
Bun and Steinke, "Concentrated Differential Privacy", TCC 2016 (zCDP, Prop. 1.3/1.4).
Balle and Wang, "Improving the Gaussian Mechanism for Differential Privacy", ICML 2018
(Theorem 8). Canonne, Kamath, Steinke, NeurIPS 2020 (discrete Gaussian zCDP).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from onlinekit.base import InvalidEvent

__all__ = [
    "check_privacy",
    "laplace_scale",
    "gaussian_sigma_zcdp",
    "gaussian_sigma_approx",
    "gaussian_delta",
    "gaussian_epsilon",
    "zcdp_to_approx",
    "approx_to_zcdp",
    "zcdp_delta",
    "zcdp_epsilon",
    "approx_to_zcdp_tight",
    "Guarantee",
    "gaussian_tail",
    "laplace_sum_tail",
]

_KINDS = ("pure", "zcdp", "approx")


def _positive(v, field: str) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise InvalidEvent(f"must be a number, got {v!r}", field=field)
    v = float(v)
    if not (math.isfinite(v) and v > 0):
        raise InvalidEvent(f"must be finite and > 0, got {v!r}", field=field)
    return v


def check_privacy(privacy, field: str = "privacy") -> tuple:
    """Validate a privacy specification and return it as a normalised tuple.

    Raises :class:`onlinekit.InvalidEvent` naming ``field`` for anything else (eps <= 0,
    rho <= 0, delta outside (0, 1), unknown kind, wrong length).

    Examples
    --------
    >>> check_privacy(("approx", 1, 1e-6))
    ('approx', 1.0, 1e-06)
    >>> check_privacy(("pure", 0.0))
    Traceback (most recent call last):
    ...
    onlinekit.base.InvalidEvent: field 'privacy': eps must be finite and > 0, got 0.0
    """
    if not isinstance(privacy, (tuple, list)) or not privacy or privacy[0] not in _KINDS:
        raise InvalidEvent(
            f"must be ('pure', eps), ('zcdp', rho) or ('approx', eps, delta), got {privacy!r}",
            field=field,
        )
    kind = privacy[0]
    want = 3 if kind == "approx" else 2
    if len(privacy) != want:
        raise InvalidEvent(f"{kind!r} takes {want - 1} number(s), got {privacy!r}", field=field)
    try:
        if kind == "pure":
            return ("pure", _positive(privacy[1], "eps"))
        if kind == "zcdp":
            return ("zcdp", _positive(privacy[1], "rho"))
        eps = _positive(privacy[1], "eps")
        delta = privacy[2]
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not (0.0 < delta < 1.0):
            raise InvalidEvent(f"must be in (0, 1), got {delta!r}", field="delta")
        return ("approx", eps, float(delta))
    except InvalidEvent as e:
        raise InvalidEvent(f"{e.field} {e.message}", field=field) from None


def laplace_scale(l1: float, eps: float) -> float:
    """Laplace scale ``b = l1 / eps`` giving eps-DP for L1 sensitivity ``l1``.

    Examples
    --------
    >>> laplace_scale(3.0, 0.5)
    6.0
    """
    return float(l1) / float(eps)


def gaussian_sigma_zcdp(l2: float, rho: float) -> float:
    """Gaussian standard deviation ``sqrt(l2**2 / (2 rho))`` giving rho-zCDP.

    Examples
    --------
    >>> gaussian_sigma_zcdp(1.0, 0.5)
    1.0
    """
    return math.sqrt(float(l2) ** 2 / (2.0 * float(rho)))


def gaussian_delta(l2: float, sigma: float, eps: float) -> float:
    """Smallest delta for which N(0, sigma^2) noise is (eps, delta)-DP at L2 sensitivity ``l2``.

    Balle and Wang (2018), Theorem 8:
    ``delta = Phi(l2/(2 sigma) - eps sigma/l2) - exp(eps) Phi(-l2/(2 sigma) - eps sigma/l2)``.

    Examples
    --------
    >>> round(gaussian_delta(1.0, 1.0, 1.0), 6)
    0.126937
    """
    from scipy.special import log_ndtr, ndtr

    if l2 <= 0:
        return 0.0
    a = l2 / (2.0 * sigma)
    b = eps * sigma / l2
    return max(0.0, float(ndtr(a - b) - math.exp(eps + float(log_ndtr(-a - b)))))


def gaussian_sigma_approx(l2: float, eps: float, delta: float) -> float:
    """Smallest sigma (to 1e-12 relative) with N(0, sigma^2) noise (eps, delta)-DP.

    The analytic Gaussian mechanism (Balle and Wang 2018), solved by bisection on
    :func:`gaussian_delta`, which decreases in sigma. The result is rounded up, never down.

    Examples
    --------
    >>> s = gaussian_sigma_approx(1.0, 1.0, 1e-5)
    >>> round(s, 4), gaussian_delta(1.0, s, 1.0) <= 1e-5
    (3.7306, True)
    """
    lo, hi = 1e-12 * l2, float(l2)
    while gaussian_delta(l2, hi, eps) > delta:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if gaussian_delta(l2, mid, eps) > delta:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-12 * hi:
            break
    return hi


def gaussian_epsilon(l2: float, sigma: float, delta: float) -> float:
    """Smallest eps with N(0, sigma^2) noise (eps, delta)-DP at L2 sensitivity ``l2``.

    Examples
    --------
    >>> round(gaussian_epsilon(1.0, gaussian_sigma_approx(1.0, 1.0, 1e-5), 1e-5), 6)
    1.0
    """
    if gaussian_delta(l2, sigma, 0.0) <= delta:
        return 0.0
    lo, hi = 0.0, 1.0
    while gaussian_delta(l2, sigma, hi) > delta:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if gaussian_delta(l2, sigma, mid) > delta:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * hi:
            break
    return hi


def zcdp_to_approx(rho: float, delta: float) -> float:
    """eps such that rho-zCDP implies (eps, delta)-DP: ``rho + 2 sqrt(rho ln(1/delta))``.

    Bun and Steinke 2016, Proposition 1.3.

    Examples
    --------
    >>> round(zcdp_to_approx(0.5, 1e-6), 4)
    5.7565
    """
    return rho + 2.0 * math.sqrt(rho * math.log(1.0 / delta))


def _zcdp_log_delta(rho: float, eps: float, alpha: float) -> float:
    """log of CKS20 Corollary 13's delta at Renyi order alpha > 1."""
    return (alpha - 1.0) * (alpha * rho - eps) - math.log(alpha - 1.0) + alpha * math.log1p(-1.0 / alpha)


def zcdp_delta(rho: float, eps: float) -> float:
    """delta such that rho-zCDP implies (eps, delta)-DP, by the tight conversion of Canonne,
    Kamath and Steinke (2020, Corollary 13):
    ``delta = inf_{alpha > 1} exp((alpha-1)(alpha rho - eps)) / (alpha-1) * (1 - 1/alpha)**alpha``
    (capped at 1).

    Any alpha gives a valid delta, so the numerical minimisation (golden section over
    ``log(alpha - 1)``) can only err on the safe side.

    Examples
    --------
    >>> d = zcdp_delta(0.125, 2.4190931768671953)
    >>> bool(abs(d - 1e-6) < 1e-9)
    True
    """
    rho, eps = float(rho), float(eps)
    if rho <= 0:
        return 0.0
    from scipy.optimize import minimize_scalar

    f = lambda u: _zcdp_log_delta(rho, eps, 1.0 + math.exp(u))  # noqa: E731
    lo, hi = -20.0, math.log(max(2.0, 10.0 * (eps + 1.0) / rho))
    r = minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
    best = min(float(r.fun), f(lo), f(hi))
    return min(1.0, math.exp(best))


def _zcdp_eps_at(rho: float, log_inv_delta: float, alpha: float) -> float:
    """eps of CKS20 Corollary 13 at Renyi order alpha > 1:
    ``alpha rho + (log(1/delta) + (alpha-1) log(alpha-1) - alpha log(alpha)) / (alpha-1)``."""
    a1 = alpha - 1.0
    return alpha * rho + (log_inv_delta + a1 * math.log(a1) - alpha * math.log(alpha)) / a1


def _best_alpha(f, rho_scale: float, log_inv_delta: float) -> float:
    """argmin over alpha > 1 of ``f(alpha)`` (bounded search over log(alpha - 1))."""
    from scipy.optimize import minimize_scalar

    hi = math.log(max(10.0, 10.0 * (log_inv_delta + 1.0) / max(rho_scale, 1e-300)))
    g = lambda u: f(1.0 + math.exp(u))  # noqa: E731
    r = minimize_scalar(g, bounds=(-30.0, hi), method="bounded", options={"xatol": 1e-12})
    best = min((float(r.x), -30.0, hi), key=g)
    return 1.0 + math.exp(best)


def zcdp_epsilon(rho: float, delta: float) -> float:
    """Smallest eps with rho-zCDP implying (eps, delta)-DP by the tight conversion of CKS20
    (Corollary 13), ``inf_{alpha > 1} alpha rho + (log(1/delta) + (alpha-1) log(alpha-1) -
    alpha log(alpha)) / (alpha-1)`` (the same bound as :func:`zcdp_delta`, solved for eps);
    never larger than :func:`zcdp_to_approx` (Bun and Steinke's bound).

    Any alpha gives a valid eps, so the numerical minimisation can only err on the safe side.

    Examples
    --------
    >>> round(zcdp_epsilon(0.125, 1e-6), 6), round(zcdp_to_approx(0.125, 1e-6), 6)
    (2.419093, 2.753261)
    """
    rho, delta = float(rho), float(delta)
    if not (0.0 < delta < 1.0):
        raise InvalidEvent(f"must be in (0, 1), got {delta!r}", field="delta")
    if rho == 0.0:
        return 0.0
    if not (rho > 0 and math.isfinite(rho)):
        return math.inf
    lg = math.log(1.0 / delta)
    f = lambda a: _zcdp_eps_at(rho, lg, a)  # noqa: E731
    return max(0.0, min(f(_best_alpha(f, rho, lg)), zcdp_to_approx(rho, delta)))


@functools.lru_cache(maxsize=256)
def approx_to_zcdp_tight(eps: float, delta: float) -> float:
    """The largest rho with ``zcdp_epsilon(rho, delta) <= eps``: the inverse of the tight
    conversion, ``sup_{alpha > 1} (eps - g(alpha)) / alpha`` with ``g(alpha) = (log(1/delta) +
    (alpha-1) log(alpha-1) - alpha log(alpha)) / (alpha-1)`` (every alpha gives a valid rho).
    Used to calibrate discrete Gaussian noise to an ``("approx", eps, delta)`` spec. Never below
    :func:`approx_to_zcdp`.

    Examples
    --------
    >>> rho = approx_to_zcdp_tight(1.0, 1e-6)
    >>> round(rho / approx_to_zcdp(1.0, 1e-6), 3), zcdp_epsilon(rho, 1e-6) <= 1.0
    (1.394, True)
    """
    eps, delta = float(eps), float(delta)
    lg = math.log(1.0 / delta)
    f = lambda a: -(eps - _zcdp_eps_at(0.0, lg, a)) / a  # noqa: E731
    rho = -f(_best_alpha(f, eps, lg))
    return max(rho, approx_to_zcdp(eps, delta))


def approx_to_zcdp(eps: float, delta: float) -> float:
    """The largest rho whose :func:`zcdp_to_approx` conversion is at most (eps, delta).

    ``rho = (sqrt(ln(1/delta) + eps) - sqrt(ln(1/delta)))**2``, the inverse of
    ``eps = rho + 2 sqrt(rho ln(1/delta))``. Used to calibrate discrete Gaussian noise (for
    which no exact analytic (eps, delta) calibration is implemented) to an ``"approx"`` spec.

    Examples
    --------
    >>> rho = approx_to_zcdp(1.0, 1e-6)
    >>> round(zcdp_to_approx(rho, 1e-6), 12)
    1.0
    """
    lg = math.log(1.0 / delta)
    return (math.sqrt(lg + eps) - math.sqrt(lg)) ** 2


# -- tail bounds of the noise (error bounds of the mechanisms) ------------------------------

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


@dataclass(frozen=True)
class Guarantee:
    """The privacy map of an additive-noise mechanism (guarantee as data).

    Parameters
    ----------
    noise
        ``"laplace"``, ``"gaussian"``, ``"discrete_laplace"``, ``"discrete_gaussian"``,
        ``"zcdp"`` (a composed mechanism accounted directly in zCDP, ``scale`` = rho per unit
        ``d_in**2``) or ``"pure"`` (composed pure DP, ``scale`` = eps per unit ``d_in``).
    scale
        Laplace scale b, Gaussian sigma, or the rate described above.
    l1, l2
        Sensitivities of the noised quantity for one differing event, in the units of
        ``scale``.
    spec
        The privacy specification the mechanism was calibrated to; ``privacy_loss`` answers
        in its kind.
    slack
        Extra zCDP added for multivariate discrete Gaussian noise (see Notes).

    Notes
    -----
    Laplace noise gives ``("pure", d_in * l1 / b)``; Gaussian noise gives
    ``("zcdp", (d_in * l2)**2 / (2 sigma**2))``, expressed exactly in (eps, delta) with
    :func:`gaussian_epsilon` when the spec is ``"approx"``; discrete Gaussian and composed
    zCDP mechanisms convert their rho with the tight :func:`zcdp_epsilon`. A d-dimensional discrete Gaussian
    with integer shifts is ``(d_in*l2)^2/(2 sigma^2) + slack`` zCDP, where Canonne et al.
    (2020, multivariate theorem) bound the slack by terms of order ``exp(-pi^2 sigma^2)`` per
    coordinate; we use ``slack = 10 * dim * exp(-pi^2 sigma^2)``, which is exactly 0.0 in
    double precision for the ``sigma >= 10`` grid units the mechanisms enforce (a
    conservative reading of that bound, ours).

    Examples
    --------
    >>> g = Guarantee("gaussian", scale=1.0, l1=1.0, l2=1.0, spec=("zcdp", 0.5))
    >>> g.privacy_loss(1), g.privacy_loss(2)
    (('zcdp', 0.5), ('zcdp', 2.0))
    >>> g.check(1, ("zcdp", 0.5)), g.check(2, ("zcdp", 1.0))
    (True, False)
    >>> g.check(1, ("approx", 6.0, 1e-6))
    True
    """

    noise: str
    scale: float
    l1: float
    l2: float
    spec: tuple
    slack: float = 0.0

    def _rho(self, d_in: float) -> float:
        if self.noise in ("gaussian", "discrete_gaussian"):
            return (d_in * self.l2) ** 2 / (2.0 * self.scale**2) + (self.slack if d_in > 0 else 0.0)
        if self.noise == "zcdp":
            return self.scale * d_in**2
        eps = self._eps_pure(d_in)
        return eps * eps / 2.0  # pure eps-DP implies eps^2/2-zCDP

    def _eps_pure(self, d_in: float) -> float:
        if self.noise in ("laplace", "discrete_laplace"):
            return d_in * self.l1 / self.scale
        if self.noise == "pure":
            return self.scale * d_in
        return math.inf

    def _eps_at(self, d_in: float, delta: float) -> float:
        if d_in == 0:
            return 0.0
        if self.noise == "gaussian" and self.slack == 0.0:
            return gaussian_epsilon(d_in * self.l2, self.scale, delta)
        pure = self._eps_pure(d_in)
        if math.isfinite(pure):
            return pure
        return zcdp_epsilon(self._rho(d_in), delta)

    def privacy_loss(self, d_in: float = 1):
        """The guarantee on streams differing in ``d_in`` events, in the spec's kind."""
        if not (d_in >= 0 and math.isfinite(d_in)):
            raise InvalidEvent(f"must be finite and >= 0, got {d_in!r}", field="d_in")
        kind = self.spec[0]
        if kind == "pure":
            return ("pure", self._eps_pure(d_in))
        if kind == "zcdp":
            return ("zcdp", self._rho(d_in))
        return ("approx", self._eps_at(d_in, self.spec[2]), self.spec[2])

    def check(self, d_in: float, d_out) -> bool:
        """True when the mechanism is ``d_out``-private on inputs at distance ``d_in``."""
        d_out = check_privacy(d_out, field="d_out")
        if d_in == 0:
            return True
        if d_out[0] == "pure":
            return self._eps_pure(d_in) <= d_out[1] * (1 + 1e-12)
        if d_out[0] == "zcdp":
            return self._rho(d_in) <= d_out[1] * (1 + 1e-12)
        if self.noise == "gaussian" and self.slack == 0.0:
            return gaussian_delta(d_in * self.l2, self.scale, d_out[1]) <= d_out[2] * (1 + 1e-12)
        return self._eps_at(d_in, d_out[2]) <= d_out[1] * (1 + 1e-12)

"""Noise sources: exact discrete samplers over OS randomness, and a seeded research source.

Two kinds of noise exist in :mod:`onlinekit.privacy`, and only one of them is private:

* **Secure** (``noise="secure"``, the default of every mechanism): inputs are rounded to a
  grid of width ``2**-grid_bits``, the mechanism works on integers, and integer noise is drawn
  from the *exact* discrete Laplace and discrete Gaussian distributions (Canonne, Kamath and
  Steinke 2020) using only integer arithmetic and fair random integers from the operating
  system's CSPRNG (:class:`secrets.SystemRandom`, i.e. ``os.urandom``). No floating-point
  Laplace or Gaussian value is ever produced on this path, so Mironov's least-significant-bit
  attack does not apply.
* **Seeded** (``noise="seeded"``): continuous Laplace / Gaussian floats from the learner's
  :class:`numpy.random.Generator`. Fast and reproducible, for tests and experiments. **A
  seeded generator gives no privacy**: anyone who knows or guesses the seed can subtract the
  noise, and textbook floating-point samplers leak through their low-order bits.
  ``noise="seeded-discrete"`` runs the exact discrete samplers of the secure path on bits from
  the seeded generator (to test the production path reproducibly); it gives no privacy either.

Known limitation (also true of Google's building blocks, see Jin et al. 2022): the rejection
samplers below take a data-independent but *output-dependent* number of iterations, so their
running time leaks information about the noise value to an observer who can time them.

References
----------
Canonne, Kamath, Steinke, "The Discrete Gaussian for Differential Privacy", NeurIPS 2020
(Algorithms 1-3). Mironov, "On significance of the least significant bits for differential
privacy", CCS 2012.
"""

from __future__ import annotations

import math
import secrets
from fractions import Fraction

import numpy as np

__all__ = [
    "SecureBits",
    "GeneratorBits",
    "bernoulli_exp",
    "sample_discrete_laplace",
    "sample_discrete_gaussian",
    "discrete_laplace_pmf",
    "discrete_gaussian_pmf",
    "rational_scale",
]


class SecureBits:
    """Uniform random integers from the operating system's CSPRNG (``os.urandom``).

    The bit source of the private path. It holds no state and cannot be seeded.

    Examples
    --------
    >>> bits = SecureBits()
    >>> 0 <= bits.randrange(10) < 10
    True
    """

    def __init__(self):
        self._sys = secrets.SystemRandom()

    def randrange(self, n: int) -> int:
        """A uniform integer in ``[0, n)`` (``n`` a positive Python int of any size)."""
        return self._sys.randrange(n)


class GeneratorBits:
    """Uniform random integers drawn from a :class:`numpy.random.Generator`.

    For tests and experiments of the exact samplers only: **a seeded generator gives no
    privacy.** Integers of any size are built from 62-bit words with rejection, so the result
    is exactly uniform.

    Parameters
    ----------
    rng
        The generator (its state advances; nothing else is kept).

    Examples
    --------
    >>> import numpy as np
    >>> bits = GeneratorBits(np.random.default_rng(0))
    >>> [bits.randrange(6) for _ in range(5)]
    [...]
    >>> bits.randrange(2**100) < 2**100
    True
    """

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def randrange(self, n: int) -> int:
        """A uniform integer in ``[0, n)``."""
        if n <= 0:
            raise ValueError("randrange needs n >= 1")
        if n < (1 << 62):
            return int(self.rng.integers(0, n))
        k = (n - 1).bit_length()
        words = (k + 61) // 62
        while True:
            v = 0
            for w in self.rng.integers(0, 1 << 62, size=words, dtype=np.int64):
                v = (v << 62) | int(w)
            v >>= words * 62 - k
            if v < n:
                return v


# --------------------------------------------------------------------------------------------
# Exact samplers (integer arithmetic only)
# --------------------------------------------------------------------------------------------


def _bernoulli_exp_small(num: int, den: int, bits) -> bool:
    """Bernoulli(exp(-num/den)) for 0 <= num/den <= 1 (CKS20 Algorithm 1, first branch)."""
    k = 1
    while bits.randrange(den * k) < num:  # Bernoulli(gamma / k)
        k += 1
    return k % 2 == 1


def bernoulli_exp(num: int, den: int, bits) -> bool:
    """An exact Bernoulli(exp(-num/den)) sample from fair random integers.

    Parameters
    ----------
    num, den
        Non-negative integer numerator and positive denominator of gamma.
    bits
        Object with ``randrange(n)`` (:class:`SecureBits` or :class:`GeneratorBits`).

    Examples
    --------
    >>> import numpy as np
    >>> bits = GeneratorBits(np.random.default_rng(1))
    >>> p = sum(bernoulli_exp(1, 2, bits) for _ in range(4000)) / 4000
    >>> bool(abs(p - np.exp(-0.5)) < 0.03)
    True
    """
    if num < 0 or den <= 0:
        raise ValueError("bernoulli_exp needs num >= 0 and den > 0")
    while num > den:  # gamma > 1: exp(-gamma) = exp(-1)^floor * exp(-rest)
        if not _bernoulli_exp_small(1, 1, bits):
            return False
        num -= den
    return _bernoulli_exp_small(num, den, bits)


def sample_discrete_laplace(num: int, den: int, bits) -> int:
    """One exact draw from the discrete Laplace distribution with scale ``num/den``.

    ``P(X = x)`` is proportional to ``exp(-|x| * den / num)`` on the integers (CKS20
    Algorithm 2).

    Examples
    --------
    >>> import numpy as np
    >>> bits = GeneratorBits(np.random.default_rng(2))
    >>> xs = [sample_discrete_laplace(3, 1, bits) for _ in range(3000)]
    >>> bool(abs(np.mean(xs)) < 0.3), all(isinstance(v, int) for v in xs)
    (True, True)
    """
    if num <= 0 or den <= 0:
        raise ValueError("sample_discrete_laplace needs a positive scale")
    while True:
        u = bits.randrange(num)
        if not bernoulli_exp(u, num, bits):
            continue
        v = 0
        while bernoulli_exp(1, 1, bits):
            v += 1
        y = (u + num * v) // den
        negative = bits.randrange(2) == 1
        if negative and y == 0:
            continue
        return -y if negative else y


def sample_discrete_gaussian(sigma2_num: int, sigma2_den: int, bits) -> int:
    """One exact draw from the discrete Gaussian ``N_Z(0, sigma2)``, ``sigma2 = num/den``.

    ``P(X = x)`` is proportional to ``exp(-x**2 / (2 * sigma2))`` on the integers (CKS20
    Algorithm 3: discrete Laplace proposal with scale ``t = floor(sigma) + 1``, then an exact
    Bernoulli acceptance).

    Examples
    --------
    >>> import numpy as np
    >>> bits = GeneratorBits(np.random.default_rng(3))
    >>> xs = np.array([sample_discrete_gaussian(4, 1, bits) for _ in range(3000)])
    >>> bool(abs(xs.var() - 4.0) < 0.5)
    True
    """
    if sigma2_num <= 0 or sigma2_den <= 0:
        raise ValueError("sample_discrete_gaussian needs a positive variance")
    a, b = sigma2_num, sigma2_den
    t = math.isqrt(a // b) + 1
    while True:
        y = sample_discrete_laplace(t, 1, bits)
        # gamma = (|y| - sigma2 / t)^2 / (2 sigma2) = (|y| b t - a)^2 / (2 a b t^2)
        g_num = (abs(y) * b * t - a) ** 2
        g_den = 2 * a * b * t * t
        if bernoulli_exp(g_num, g_den, bits):
            return y


def rational_scale(value: float, bits_after_point: int = 16) -> Fraction:
    """``value`` rounded *up* to a multiple of ``2**-bits_after_point`` (exact rational).

    Noise scales are rounded up before sampling, so the noise is never smaller than the
    calibrated one and the integers stay small.

    Examples
    --------
    >>> rational_scale(0.1, 4)
    Fraction(1, 8)
    """
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"scale must be finite and > 0, got {value!r}")
    q = 1 << bits_after_point
    return Fraction(math.ceil(value * q), q)


def discrete_laplace_pmf(x, scale: float):
    """Probability mass of the discrete Laplace with the given scale at integers ``x``.

    Examples
    --------
    >>> round(float(discrete_laplace_pmf(0, 1.0)), 6)
    0.462117
    """
    a = math.exp(-1.0 / scale)
    x = np.asarray(x)
    return (1 - a) / (1 + a) * np.exp(-np.abs(x) / scale)


def discrete_gaussian_pmf(x, sigma2: float):
    """Probability mass of ``N_Z(0, sigma2)`` at integers ``x`` (normaliser summed numerically).

    Examples
    --------
    >>> round(float(discrete_gaussian_pmf(0, 1.0)), 6)
    0.398942
    """
    r = int(math.ceil(40 * math.sqrt(sigma2))) + 10
    k = np.arange(-r, r + 1)
    z = np.exp(-(k.astype(float) ** 2) / (2 * sigma2)).sum()
    x = np.asarray(x)
    return np.exp(-(x.astype(float) ** 2) / (2 * sigma2)) / z

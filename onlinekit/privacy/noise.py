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

Fast path: :func:`discrete_laplace` and :func:`discrete_gaussian` run the same algorithms in
compiled integer code (:mod:`onlinekit.privacy._noise_kernels`), vectorised over a block of
draws, on a bit stream: :class:`SecureBitStream` (``os.urandom`` read in 1 MiB chunks, every
bit used once) or :class:`SeededBitStream` (a counter-based SplitMix64 stream keyed from a
seed: the same code on reproducible bits, no privacy). Scales are exact rationals
(:class:`fractions.Fraction` or ``(num, den)``); scales whose arithmetic could leave int64
are refused with a :class:`ValueError` (see :func:`check_laplace_scale`,
:func:`check_gaussian_scale`). The scalar functions :func:`sample_discrete_laplace` /
:func:`sample_discrete_gaussian` are the slow pure-Python reference.

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

import abc
import math
import os
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
    "rational_upper",
    "SecureBitStream",
    "SeededBitStream",
    "bit_stream",
    "check_laplace_scale",
    "check_gaussian_scale",
    "gaussian_proposal_scale",
    "discrete_laplace",
    "discrete_gaussian",
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


def rational_upper(value: float, sig_bits: int = 32) -> Fraction:
    """``value`` rounded *up* to a dyadic rational with about ``sig_bits`` significant bits.

    The denominator is ``2**k`` with ``k = max(0, sig_bits - e)`` (``e`` the binary exponent
    of ``value``): large values become integers, small ones keep ``sig_bits`` bits. The
    relative rounding is below ``2**(1 - sig_bits)``, and the numerator stays small enough for
    the int64 samplers.

    Examples
    --------
    >>> rational_upper(0.1, 8)
    Fraction(205, 2048)
    >>> rational_upper(2.0**40 + 0.5)
    Fraction(1099511627777, 1)
    """
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"scale must be finite and > 0, got {value!r}")
    e = math.frexp(value)[1]
    q = 1 << max(0, sig_bits - e)
    return Fraction(math.ceil(value * q), q)


# --------------------------------------------------------------------------------------------
# Bit streams for the compiled samplers
# --------------------------------------------------------------------------------------------

_M62 = (1 << 62) - 1


class _BitStreamBase(abc.ABC):
    """A word buffer (int64 view) with a status vector ``[position, limit, flag]`` in bits;
    subclasses say where fresh words come from (:meth:`_refill`)."""

    def __init__(self):
        self.buf = np.zeros(1, dtype=np.int64)
        self.st = np.zeros(3, dtype=np.int64)

    def _begin(self, n: int) -> None:  # pragma: no cover - overridden
        pass

    @abc.abstractmethod
    def _refill(self) -> None:
        """Make more unread bits available (update ``buf`` and the limit ``st[1]``)."""

    def _end(self) -> None:
        pass

    def _refused(self) -> None:  # pragma: no cover - overridden
        pass

    def _draw(self, kind: int, params: tuple, n: int) -> np.ndarray:
        from onlinekit.privacy._noise_kernels import _fill

        out = np.empty(n, dtype=np.int64)
        if n == 0:
            return out
        self._begin(n)
        k = 0
        try:
            while True:
                k = _fill(kind, self.buf, self.st, params[0], params[1], params[2], params[3], out, k)
                if self.st[2] == 2:
                    self.st[2] = 0
                    self._refused()
                    raise OverflowError(
                        "a discrete noise draw would leave the int64 range (probability below "
                        "2**-90 at the accepted scales); nothing was released"
                    )
                if k == n:
                    return out
                self.st[2] = 0
                self._refill()
        finally:
            self._end()

    def discrete_laplace(self, scale, n: int) -> np.ndarray:
        """``n`` exact discrete Laplace draws (int64) with rational ``scale`` (see
        :func:`discrete_laplace`)."""
        num, den = check_laplace_scale(scale)
        return self._draw(0, (num, den, 0, 0), int(n))

    def discrete_gaussian(self, sigma2, n: int) -> np.ndarray:
        """``n`` exact discrete Gaussian draws (int64) with rational variance parameter
        ``sigma2`` (see :func:`discrete_gaussian`)."""
        a, b, t, ylim = check_gaussian_scale(sigma2)
        return self._draw(1, (a, b, t, ylim), int(n))


class SecureBitStream(_BitStreamBase):
    """Bits from the operating system's CSPRNG, read with ``os.urandom`` in large chunks.

    Every bit is used at most once: a draw that runs out of buffered bits is re-run from its
    first bit on the same bits followed by fresh ones, which is exactly the endless stream.
    The buffer is never part of a learner's state, and is dropped in a forked child process,
    a deep copy or a pickle (a copy must not reuse the original's bits). It cannot be seeded.

    Parameters
    ----------
    chunk_bytes
        Bytes read from ``os.urandom`` per refill (default 1 MiB).

    Examples
    --------
    >>> s = SecureBitStream()
    >>> xs = s.discrete_gaussian(Fraction(9, 4), 1000)
    >>> xs.dtype, xs.shape
    (dtype('int64'), (1000,))
    """

    def __init__(self, chunk_bytes: int = 1 << 20):
        super().__init__()
        self.chunk_bytes = int(chunk_bytes) // 8 * 8
        if self.chunk_bytes < 64:
            raise ValueError("chunk_bytes must be at least 64")
        self._pid = os.getpid()
        #: a :class:`~onlinekit.privacy.entropy.Tape` the next draw appends its bits to (then None)
        self.tape = None
        self._taken: list[np.ndarray] = []
        self._bit0 = 0  # first bit of the taped draw, within its first word
        self._w = 0  # word of the current buffer where the taped bits start

    def __deepcopy__(self, memo):
        # a copy must never share buffered bits with the original (identical noise): fresh
        return SecureBitStream(self.chunk_bytes)

    def __reduce__(self):
        return (SecureBitStream, (self.chunk_bytes,))

    def _begin(self, n: int) -> None:
        if os.getpid() != self._pid:  # forked: never share buffered bits with the parent
            self.buf = np.zeros(1, dtype=np.int64)
            self.st[:] = 0
            self._pid = os.getpid()
        if self.tape is not None:
            self._bit0, self._w = int(self.st[0]) & 63, int(self.st[0]) >> 6
            self._taken = []

    def _refused(self) -> None:
        # never reuse the bits of a refused draw: drop everything buffered
        self.st[0] = self.st[1]
        self.tape = None

    def _end(self) -> None:
        if self.tape is None:
            return
        stop = (int(self.st[0]) + 63) >> 6  # the words holding every bit read
        self._taken.append(self.buf[self._w:stop].copy())
        self.tape.segments.append((self._bit0, np.concatenate(self._taken)))
        self.tape, self._taken = None, []

    def _refill(self) -> None:
        w0 = int(self.st[0]) >> 6
        if self.tape is not None:  # keep the words read so far; the draw goes on from word w0
            self._taken.append(self.buf[self._w:w0].copy())
            self._w = 0
        keep = self.buf[w0:self.st[1] >> 6]
        fresh = np.frombuffer(os.urandom(self.chunk_bytes), dtype=np.int64)
        self.buf = np.concatenate([keep, fresh])
        self.st[0] -= w0 << 6
        self.st[1] = self.buf.shape[0] * 64


class ReplayBitStream(_BitStreamBase):
    """The bits one recorded draw read (see :mod:`onlinekit.privacy.entropy`): word array
    ``words``, starting at bit ``first``. Running out means the log does not match."""

    def __init__(self, first: int, words: np.ndarray):
        super().__init__()
        self.buf = np.ascontiguousarray(words, dtype=np.int64)
        self.st[:] = (int(first), self.buf.shape[0] * 64, 0)

    def _refill(self) -> None:
        from onlinekit.privacy.entropy import EntropyMismatch

        raise EntropyMismatch("a replayed draw needs more bits than were recorded")


class SeededBitStream(_BitStreamBase):
    """Reproducible bits for tests of the exact samplers: **gives no privacy**.

    Word ``i`` of the stream is the ``i``-th output of SplitMix64 keyed by ``key``, so any
    position can be regenerated; the position lives in ``state`` (an int64 array
    ``[key, bits used]``, updated in place), which makes the draws a function of the state
    alone (block and one-by-one draws consume the same bits; a restored state continues the
    same stream).

    Parameters
    ----------
    state
        ``[key, position]`` (int64 array of length 2), e.g. from :meth:`new_state`.

    Examples
    --------
    >>> st = SeededBitStream.new_state(np.random.default_rng(0))
    >>> a = SeededBitStream(st.copy()).discrete_laplace(Fraction(3), 6)
    >>> s = SeededBitStream(st.copy())
    >>> b = np.concatenate([s.discrete_laplace(3, 2), s.discrete_laplace(3, 4)])
    >>> bool((a == b).all())
    True
    """

    def __init__(self, state: np.ndarray):
        super().__init__()
        if not (isinstance(state, np.ndarray) and state.dtype == np.int64 and state.shape == (2,)):
            raise ValueError("state must be an int64 array [key, position]")
        self.state = state
        self._base = 0
        self._words = 0

    @staticmethod
    def new_state(rng: np.random.Generator) -> np.ndarray:
        """A fresh ``[key, 0]`` with the key drawn from ``rng``."""
        key = int(rng.integers(0, 1 << 63, dtype=np.uint64).astype(np.int64))
        return np.array([key, 0], dtype=np.int64)

    def _load(self, pos: int, words: int) -> None:
        from onlinekit.privacy._noise_kernels import _splitmix_words

        self._base = pos >> 6
        self.buf = np.empty(words, dtype=np.int64)
        _splitmix_words(int(self.state[0]), self._base, self.buf)
        self.st[0] = pos - (self._base << 6)
        self.st[1] = words * 64
        self.st[2] = 0

    def _begin(self, n: int) -> None:
        self._words = 16 + 4 * n
        self._start = int(self.state[1])
        self._load(self._start, self._words)

    def _refused(self) -> None:
        # a refused call leaves the stream where it was (the whole call is refused)
        self._base = self._start >> 6
        self.st[0] = self._start - (self._base << 6)

    def _refill(self) -> None:
        self._words *= 2
        self._load((self._base << 6) + int(self.st[0]), self._words)

    def _end(self) -> None:
        self.state[1] = (self._base << 6) + int(self.st[0])


def bit_stream(noise: str, state: np.ndarray):
    """The bit stream of a mechanism: :class:`SecureBitStream` for ``noise="secure"``,
    :class:`SeededBitStream` over ``state`` for ``"seeded-discrete"``."""
    if noise == "secure":
        return SecureBitStream()
    if noise == "seeded-discrete":
        return SeededBitStream(state)
    raise ValueError(f"no discrete bit stream for noise={noise!r}")


def _as_fraction(scale, what: str) -> Fraction:
    if isinstance(scale, tuple) and len(scale) == 2:
        num, den = scale
    elif isinstance(scale, Fraction):
        num, den = scale.numerator, scale.denominator
    elif isinstance(scale, (int, np.integer)) and not isinstance(scale, bool):
        num, den = int(scale), 1
    else:
        raise ValueError(
            f"{what} must be an exact rational (Fraction, int or (num, den)), got {scale!r}; "
            "round a float up with rational_upper()"
        )
    for v in (num, den):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"{what} must have integer numerator and denominator, got {scale!r}")
    if num <= 0 or den <= 0:
        raise ValueError(f"{what} must be > 0, got {num}/{den}")
    return Fraction(int(num), int(den))


def check_laplace_scale(scale) -> tuple[int, int]:
    """``(num, den)`` of a discrete Laplace scale, or a :class:`ValueError` if its arithmetic
    could leave int64.

    The sampler forms ``u + num * v`` with ``u < num`` and ``v`` geometric; it needs
    ``65 num < 2**62`` (a draw then overflows with probability below ``exp(-64)``, and is
    refused, never wrapped) and ``den < 2**62``.

    Examples
    --------
    >>> check_laplace_scale(Fraction(6, 4))
    (3, 2)
    >>> check_laplace_scale(2**60)
    Traceback (most recent call last):
    ...
    ValueError: discrete Laplace scale 1152921504606846976/1 too large for int64 arithmetic: numerator must be <= 70949015668113660 (about 7.1e+16)
    """
    f = _as_fraction(scale, "discrete Laplace scale")
    num, den = f.numerator, f.denominator
    if num > _M62 // 65:
        raise ValueError(
            f"discrete Laplace scale {num}/{den} too large for int64 arithmetic: numerator must "
            f"be <= {_M62 // 65} (about {_M62 // 65:.2g})"
        )
    if den > _M62:
        raise ValueError(f"discrete Laplace scale {num}/{den} too small: denominator must be < 2**62")
    return num, den


def gaussian_proposal_scale(a: int, b: int) -> int:
    """Laplace proposal scale ``t`` of the discrete Gaussian sampler for variance ``a/b``: the
    power of two nearest ``sigma`` in ratio (``t / sigma`` in ``[2**-0.5, 2**0.5]``), or 1
    when ``sigma < 1``.

    CKS20 (Algorithm 3) is exact for any positive integer ``t`` (the acceptance probability
    ``exp(-(|y| - sigma^2/t)^2 / (2 sigma^2))`` turns ``exp(-|y|/t)`` into ``exp(-y^2 / (2
    sigma^2))`` up to a constant); they take ``t = floor(sigma) + 1``, which makes the
    proposal's uniform part a rejection draw of up to twice its bits. A power of two needs
    exactly ``log2 t`` bits, at the price of at most ~17% more proposals (the envelope
    constant ``sqrt(2/pi) c exp(1 / (2 c^2))``, ``c = t / sigma``, is 1.31 at ``c = 1`` and at
    most 1.53 here).

    Examples
    --------
    >>> [gaussian_proposal_scale(s2, 1) for s2 in (1, 2, 3, 4, 100, 2**44)]
    [1, 2, 2, 2, 8, 4194304]
    """
    s = a // b
    if s == 0:
        return 1
    m = (s.bit_length() - 1) // 2  # sigma^2 in [4**m, 4**(m+1))
    return 1 << (m + 1) if a >= b * (1 << (2 * m + 1)) else 1 << m


def check_gaussian_scale(sigma2) -> tuple[int, int, int, int]:
    """``(a, b, t, ylim)`` for the discrete Gaussian with variance parameter ``a/b``, or a
    :class:`ValueError` if its arithmetic could leave int64.

    ``t`` is the Laplace proposal scale (:func:`gaussian_proposal_scale`) and ``ylim = (2**62 -
    1) // (b t)`` the largest proposal whose acceptance test fits; it must be at least
    ``64 t + 64`` (a larger proposal, probability below ``exp(-64)``, is refused, never
    wrapped). Roughly: ``sigma < 2**27`` and, for tiny variances, ``b <= 2**55``.

    Examples
    --------
    >>> check_gaussian_scale(Fraction(9, 4))
    (9, 4, 2, 576460752303423487)
    """
    f = _as_fraction(sigma2, "discrete Gaussian variance")
    a, b = f.numerator, f.denominator
    t = gaussian_proposal_scale(a, b)
    ylim = _M62 // (b * t)
    if ylim < 64 * t + 64 or 2 * a > _M62 or b * t * t > _M62:
        raise ValueError(
            f"discrete Gaussian variance {a}/{b} out of range for int64 arithmetic (need "
            f"b * t * (64 t + 64) < 2**62 with t = floor(sqrt(a/b)) + 1 = {t}); use a coarser "
            "rational (rational_upper) or a smaller grid"
        )
    return a, b, t, ylim


def discrete_laplace(scale, n: int, bits=None) -> np.ndarray:
    """``n`` exact draws of the discrete Laplace distribution with rational ``scale``.

    ``P(X = x)`` is proportional to ``exp(-|x| / scale)`` on the integers (CKS20 Algorithm 2,
    compiled, integer arithmetic only).

    Parameters
    ----------
    scale
        Exact positive rational: :class:`fractions.Fraction`, int, or ``(num, den)``.
    n
        Number of draws.
    bits
        A :class:`SecureBitStream` (default: a fresh one) or :class:`SeededBitStream`.

    Examples
    --------
    >>> st = SeededBitStream.new_state(np.random.default_rng(2))
    >>> xs = discrete_laplace(Fraction(3, 1), 20000, SeededBitStream(st))
    >>> bool(abs(xs.mean()) < 0.1), bool(abs(xs.var() / 17.8 - 1) < 0.05)
    (True, True)
    """
    return (bits or SecureBitStream()).discrete_laplace(scale, n)


def discrete_gaussian(sigma2, n: int, bits=None) -> np.ndarray:
    """``n`` exact draws of the discrete Gaussian ``N_Z(0, sigma2)`` with rational ``sigma2``.

    ``P(X = x)`` is proportional to ``exp(-x**2 / (2 sigma2))`` on the integers (CKS20
    Algorithm 3 over the compiled discrete Laplace; integer arithmetic only, wide products in
    two 62-bit limbs).

    Examples
    --------
    >>> st = SeededBitStream.new_state(np.random.default_rng(3))
    >>> xs = discrete_gaussian(Fraction(4), 20000, SeededBitStream(st))
    >>> bool(abs(xs.var() / 4.0 - 1) < 0.05)
    True
    """
    return (bits or SecureBitStream()).discrete_gaussian(sigma2, n)

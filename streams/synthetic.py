"""Seeded synthetic sources and their registry.

Every generator is a :class:`~onlinekit.streams.source.Source` whose rows depend only on
``seed`` and the row index: rows are drawn in fixed internal pages of 65,536 rows, page ``k``
from ``numpy.random.default_rng([seed, k])``, so the stream is the same whatever the chunk
size and wherever a resumed replay starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from onlinekit.streams.block import Chunk
from onlinekit.streams.errors import StreamError
from onlinekit.streams.source import Source

__all__ = ["SyntheticSource", "LinearRegression", "LogisticClassification", "GENERATORS", "make_generator"]

_PAGE = 65536


class SyntheticSource(Source):
    """Base for page-seeded generators (subclasses implement ``_page(rng, n)``)."""

    def __init__(self, n: int, seed: int = 0) -> None:
        super().__init__()
        if n < 0:
            raise StreamError(f"{type(self).__name__}: n must be >= 0, got {n}")
        self.n = int(n)
        self.seed = int(seed)
        self.name = f"synthetic:{type(self).__name__}(n={n}, seed={seed})"

    def __len__(self) -> int:
        return self.n

    def _page(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        raise NotImplementedError  # abstract

    def _page_columns(self, k: int) -> dict[str, np.ndarray]:
        n = min(_PAGE, self.n - k * _PAGE)
        return self._page(np.random.default_rng([self.seed, k]), n)

    def column_names(self) -> list[str]:
        return list(self._page(np.random.default_rng([self.seed, 0]), 1))

    def chunks(self, start=0, chunk_size=65536, kinds=None):
        names = list(kinds) if kinds is not None else self.column_names()
        missing = [c for c in names if c not in self.column_names()]
        if missing:
            raise StreamError(f"{self.name}: no column(s) {missing}; have {self.column_names()}")
        pos = start
        page_idx, page = -1, None
        while pos < self.n:
            stop = min(pos + chunk_size, self.n)
            parts: dict[str, list[np.ndarray]] = {c: [] for c in names}
            p = pos
            while p < stop:
                k = p // _PAGE
                if k != page_idx:
                    page_idx, page = k, self._page_columns(k)
                lo = p - k * _PAGE
                hi = min(stop - k * _PAGE, _PAGE)
                for c in names:
                    parts[c].append(page[c][lo:hi])
                p = k * _PAGE + hi
            cols = {c: (v[0] if len(v) == 1 else np.concatenate(v)) for c, v in parts.items()}
            yield Chunk(pos, cols, None, self.name)
            pos = stop


class LinearRegression(SyntheticSource):
    """``y = <w*, x> + noise``, ``x ~ N(0, I_d)``, ``w* ~ N(0, I_d / d)`` fixed by ``seed``.

    Columns ``x0..x{d-1}`` and ``y``.

    Examples
    --------
    >>> src = LinearRegression(n=3, d=2, seed=1)
    >>> src.column_names()
    ['x0', 'x1', 'y']
    """

    def __init__(self, n: int = 10_000, d: int = 10, noise: float = 0.1, seed: int = 0) -> None:
        super().__init__(n, seed)
        if d < 1 or noise < 0:
            raise StreamError(f"LinearRegression: need d >= 1 and noise >= 0 (got d={d}, noise={noise})")
        self.d, self.noise = int(d), float(noise)
        self.w_star = np.random.default_rng([self.seed, 2**31]).normal(size=self.d) / np.sqrt(self.d)

    def _page(self, rng, n):
        X = rng.normal(size=(n, self.d))
        y = X @ self.w_star + self.noise * rng.normal(size=n)
        cols = {f"x{j}": X[:, j] for j in range(self.d)}
        cols["y"] = y
        return cols


class LogisticClassification(SyntheticSource):
    """Binary labels with ``P(y=1|x) = sigmoid(<w*, x>)``, ``x ~ N(0, I_d)``.

    ``w* ~ N(0, scale^2 I_d / d)``; columns ``x0..x{d-1}`` and ``y`` in {0, 1}.
    """

    def __init__(self, n: int = 10_000, d: int = 10, scale: float = 3.0, seed: int = 0) -> None:
        super().__init__(n, seed)
        if d < 1:
            raise StreamError(f"LogisticClassification: need d >= 1 (got {d})")
        self.d, self.scale = int(d), float(scale)
        self.w_star = (
            np.random.default_rng([self.seed, 2**31]).normal(size=self.d) * self.scale / np.sqrt(self.d)
        )

    def _page(self, rng, n):
        X = rng.normal(size=(n, self.d))
        p = 1.0 / (1.0 + np.exp(-(X @ self.w_star)))
        y = (rng.random(n) < p).astype(np.float64)
        cols = {f"x{j}": X[:, j] for j in range(self.d)}
        cols["y"] = y
        return cols


@dataclass(frozen=True)
class GeneratorInfo:
    name: str
    factory: Callable[..., Source]
    description: str
    target: str = "y"


GENERATORS: dict[str, GeneratorInfo] = {}


def register_generator(name: str, factory: Callable[..., Source], description: str, target: str = "y") -> None:
    """Add a generator to the registry used by ``synthetic:NAME?k=v`` sources."""
    GENERATORS[name] = GeneratorInfo(name, factory, description, target)


register_generator("linear", LinearRegression, "linear regression, Gaussian features and noise")
register_generator("logistic", LogisticClassification, "binary classification from a logistic model")


def make_generator(name: str, **params) -> Source:
    """Build a registered generator by name."""
    if name not in GENERATORS:
        raise StreamError(f"unknown synthetic generator {name!r}; known: {sorted(GENERATORS)}")
    return GENERATORS[name].factory(**params)


def _sea(**params):
    from onlinekit.streams.sea import SEAStream

    return SEAStream(**params)


register_generator(
    "sea",
    _sea,
    "SEA instance xi_t = mu_t + noise with known sigma^2 / Sigma^2 "
    "(regimes: adversarial, iid, corrupted, random-order, drift)",
    target=None,
)


def _auction_log(**params):
    from onlinekit.streams.auction_log import AuctionLog

    return AuctionLog(**params)


register_generator(
    "auction-log",
    _auction_log,
    "multi-channel single-slot auctions: period, round, channel, value, competing_bid "
    "(stationary competitors; for the auction protocol)",
    target=None,
)

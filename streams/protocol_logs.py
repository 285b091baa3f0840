"""Seeded logs for the ``experts``, ``oco`` and ``release`` protocols
(``synthetic:expert-losses``, ``synthetic:oco-gradients``, ``synthetic:counts``), and
:func:`write_csv` to turn any source into a CSV file.

Like every synthetic source, rows depend only on ``seed`` and the row index (pages of
65,536 rows, page ``k`` drawn from ``default_rng([seed, k])``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from onlinekit.streams.errors import StreamError
from onlinekit.streams.synthetic import SyntheticSource

__all__ = ["ExpertLosses", "OCOGradients", "Counts", "write_csv"]


class ExpertLosses(SyntheticSource):
    """Per-round losses of ``k`` experts in [0, 1], optionally with sleeping experts.

    Expert ``j``'s loss is ``Bernoulli(m_j)`` with ``m_j = 0.5 - gap + gap * j / (k - 1)``, so
    expert ``0`` is the best (``k = 1``: ``m_0 = 0.5 - gap``). With ``sleep > 0`` each expert is asleep in a round with
    probability ``sleep`` (expert ``0`` never sleeps, so some expert is always awake); a
    sleeping expert's loss cell still holds a number, ignored by the learners.

    Columns ``e0..e{k-1}`` and, with ``sleep > 0``, ``a0..a{k-1}`` (1 awake, 0 asleep).

    Examples
    --------
    >>> src = ExpertLosses(n=4, k=3, sleep=0.2, seed=0)
    >>> src.column_names()
    ['e0', 'e1', 'e2', 'a0', 'a1', 'a2']
    >>> src.means.tolist()
    [0.3, 0.4, 0.5]
    """

    def __init__(self, n: int = 10_000, k: int = 5, gap: float = 0.2, sleep: float = 0.0, seed: int = 0) -> None:
        super().__init__(n, seed)
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise StreamError(f"ExpertLosses: k must be an integer >= 1, got {k!r}")
        if not 0 <= gap <= 0.5:
            raise StreamError(f"ExpertLosses: gap must be in [0, 0.5], got {gap!r}")
        if not 0 <= sleep < 1:
            raise StreamError(f"ExpertLosses: sleep must be in [0, 1), got {sleep!r}")
        self.k, self.gap, self.sleep = int(k), float(gap), float(sleep)
        self.means = 0.5 - self.gap + (self.gap * np.arange(self.k) / (self.k - 1) if self.k > 1 else np.zeros(1))

    def _page(self, rng, n):
        L = (rng.random((n, self.k)) < self.means).astype(np.float64)
        cols = {f"e{j}": L[:, j] for j in range(self.k)}
        if self.sleep > 0:
            A = (rng.random((n, self.k)) >= self.sleep).astype(np.float64)
            A[:, 0] = 1.0
            cols.update({f"a{j}": A[:, j] for j in range(self.k)})
        return cols


class OCOGradients(SyntheticSource):
    """Gradients of linear losses ``g_t = mu + noise * N(0, I_d)``, optionally with hints.

    ``mu ~ N(0, I_d)`` is fixed by ``seed`` (a drift a learner can exploit: the best fixed
    point of the unit ball is ``-mu / ||mu||``). With ``hints=1`` each row also holds a hint
    of its own gradient, ``h_t = g_t + hint_noise * N(0, I_d)`` (noisy foresight, for
    ``optimistic-omd`` with given hints).

    Columns ``g0..g{d-1}`` and, with hints, ``h0..h{d-1}``.

    Examples
    --------
    >>> src = OCOGradients(n=5, d=2, hints=1, seed=0)
    >>> src.column_names()
    ['g0', 'g1', 'h0', 'h1']
    >>> from onlinekit.streams import open_source
    >>> len(open_source("synthetic:oco-gradients?n=100&d=3&seed=1"))
    100
    """

    def __init__(self, n: int = 10_000, d: int = 3, noise: float = 1.0, hints: int = 0, hint_noise: float = 0.3,
                 seed: int = 0) -> None:
        super().__init__(n, seed)
        if isinstance(d, bool) or not isinstance(d, int) or d < 1:
            raise StreamError(f"OCOGradients: d must be an integer >= 1, got {d!r}")
        if not (noise >= 0 and hint_noise >= 0):
            raise StreamError(f"OCOGradients: noise and hint_noise must be >= 0 (got {noise}, {hint_noise})")
        if hints not in (0, 1, True, False):
            raise StreamError(f"OCOGradients: hints must be 0 or 1, got {hints!r}")
        self.d, self.noise, self.hints, self.hint_noise = int(d), float(noise), bool(hints), float(hint_noise)
        self.mu = np.random.default_rng([self.seed, 2**31]).normal(size=self.d)

    def _page(self, rng, n):
        G = self.mu + self.noise * rng.normal(size=(n, self.d))
        cols = {f"g{j}": G[:, j] for j in range(self.d)}
        if self.hints:
            H = G + self.hint_noise * rng.normal(size=(n, self.d))
            cols.update({f"h{j}": H[:, j] for j in range(self.d)})
        return cols


class Counts(SyntheticSource):
    """Bounded counts for the private counters: ``Binomial(bound, p_j)`` per row and column.

    ``bound=1`` gives 0/1 events (the default bounds of the counters, and the records of
    ``maxsum`` / ``sumselect``); a larger ``bound`` needs the counter's
    ``bounds=(0, bound)``. Column ``j`` of ``d`` has rate ``p_j = 2 p (j + 1) / (d + 1)``
    (mean ``p``; all must stay <= 1). Columns: ``count`` when ``d = 1``, else
    ``c0..c{d-1}``.

    Examples
    --------
    >>> Counts(n=4, d=3, seed=0).column_names()
    ['c0', 'c1', 'c2']
    >>> Counts(n=6, seed=0).rates
    array([0.3])
    """

    def __init__(self, n: int = 10_000, d: int = 1, p: float = 0.3, bound: int = 1, seed: int = 0) -> None:
        super().__init__(n, seed)
        if isinstance(d, bool) or not isinstance(d, int) or d < 1:
            raise StreamError(f"Counts: d must be an integer >= 1, got {d!r}")
        if isinstance(bound, bool) or not isinstance(bound, int) or bound < 1:
            raise StreamError(f"Counts: bound must be an integer >= 1, got {bound!r}")
        self.d, self.p, self.bound = int(d), float(p), int(bound)
        self.rates = 2.0 * self.p * np.arange(1, self.d + 1) / (self.d + 1)
        if not (self.p >= 0 and self.rates.max() <= 1.0):
            raise StreamError(f"Counts: need 0 <= p and every rate 2 p (j+1)/(d+1) <= 1, got p={p}, d={d}")

    def _page(self, rng, n):
        C = rng.binomial(self.bound, self.rates, size=(n, self.d)).astype(np.float64)
        if self.d == 1:
            return {"count": C[:, 0]}
        return {f"c{j}": C[:, j] for j in range(self.d)}


def write_csv(source, path: str | Path, chunk_size: int = 65536) -> Path:
    """Write every row of ``source`` (numeric columns) to a CSV file with a header; floats
    are written with ``repr`` so the file reads back bit for bit.

    Examples
    --------
    >>> import tempfile, os
    >>> p = write_csv(Counts(n=3, seed=0), os.path.join(tempfile.mkdtemp(), "counts.csv"))
    >>> p.read_text().splitlines()[:2]
    ['count', '0.0']
    """
    path = Path(path)
    names = source.column_names()
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(",".join(names) + "\n")
        for chunk in source.chunks(start=0, chunk_size=chunk_size, kinds={c: "float" for c in names}):
            cols = [chunk.columns[c] for c in names]
            for i in range(len(chunk)):
                fh.write(",".join(repr(float(col[i])) for col in cols) + "\n")
    return path

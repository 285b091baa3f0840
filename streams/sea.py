"""Stochastically extended adversarial (SEA) streams with known sigma^2 and Sigma^2.

In the SEA model (Sachs et al. 2022) nature picks a distribution ``D_t`` each round and the
learner suffers ``f_t ~ D_t``. Here ``f_t`` is either the quadratic ``0.5 ||x - xi_t||^2``
or the linear loss ``<xi_t, x>``, with ``xi_t = mu_t + noise_t`` and ``E[xi_t] = mu_t``. For
both losses ``grad f_t - grad F_t = +-(xi_t - mu_t)`` and
``grad F_t - grad F_{t-1} = +-(mu_t - mu_{t-1})`` for every ``x``, so

* ``sigma_t^2 = E ||xi_t - mu_t||^2`` (``d s^2`` for Gaussian noise of scale ``s``), and
* ``Sigma_t^2 = ||mu_t - mu_{t-1}||^2``,

which these streams report exactly (expected) and as realised along the sampled path.
"""

from __future__ import annotations

import math

import numpy as np

from onlinekit.streams.errors import StreamError
from onlinekit.streams.synthetic import _PAGE, SyntheticSource

__all__ = ["SEAStream", "REGIMES"]

REGIMES = ("adversarial", "iid", "corrupted", "random-order", "drift")


class SEAStream(SyntheticSource):
    """SEA instance: ``xi_t = mu_t + noise_t``, for the quadratic or linear loss.

    Regimes (Sachs et al. 2022, Sec. 2.1):

    * ``"adversarial"``: no noise (``sigma = 0``); ``mu_t`` rotates on a circle of radius
      ``mean_norm`` moving ``drift`` per round (``drift = 0``: a fixed loss, ``Sigma = 0``
      after round 1);
    * ``"iid"``: fixed ``mu``, Gaussian noise of scale ``noise`` (``Sigma = 0``);
    * ``"corrupted"``: i.i.d. plus an adversarial shift ``c_t = -corruption_size * u`` in
      the first ``floor(corruption / corruption_size)`` rounds (total ``sum ||c_t|| <=
      corruption``); ``mu_t = mu + c_t``;
    * ``"random-order"``: a fixed family of ``n_items`` points ``mu + noise * z_k`` sampled
      without replacement, reshuffled every pass; ``D_t`` is uniform on the items left in
      the pass, so ``mu_t`` and ``sigma_t`` are the mean and spread of those items;
    * ``"drift"``: the rotating mean of ``"adversarial"`` plus Gaussian noise.

    Columns: ``x0..x{d-1}`` (``xi_t``), ``m0..m{d-1}`` (``mu_t``) and ``sigma2``
    (``sigma_t^2``). Rows depend only on ``seed`` and their index (page-seeded like every
    onlinekit synthetic source).

    Parameters
    ----------
    n
        Number of rounds.
    d
        Dimension.
    regime
        One of :data:`REGIMES`.
    noise
        Noise scale ``s`` (ignored by ``"adversarial"``).
    mean_norm
        ``||mu||``; the direction ``u`` (and a second orthonormal ``v`` for rotations) is
        drawn from ``seed``.
    drift
        Distance ``||mu_t - mu_{t-1}||`` per round for ``"adversarial"`` / ``"drift"``
        (needs ``d >= 2`` and ``drift <= 2 mean_norm``).
    corruption, corruption_size
        Total corruption budget ``C`` and size of each corrupted round.
    n_items
        Family size for ``"random-order"``.
    seed
        Seed.

    Examples
    --------
    >>> from onlinekit.streams.sea import SEAStream
    >>> s = SEAStream(n=1000, d=3, regime="iid", noise=0.5, seed=0)
    >>> xi, mu, var = s.arrays()
    >>> xi.shape, round(s.sigma2_expected(), 2), s.Sigma2()
    ((1000, 3), 750.0, 0.0)
    >>> round(s.sigma2() / s.sigma2_expected(), 1)        # realised vs expected
    1.0
    >>> a = SEAStream(n=101, d=2, regime="adversarial", drift=0.1, mean_norm=1.0)
    >>> round(a.Sigma2(), 6), a.sigma2()
    (1.0, 0.0)
    """

    def __init__(self, n: int = 5000, d: int = 5, regime: str = "iid", noise: float = 0.1,
                 mean_norm: float = 0.5, drift: float = 0.0, corruption: float = 0.0,
                 corruption_size: float = 1.0, n_items: int = 50, seed: int = 0) -> None:
        super().__init__(n, seed)
        if regime not in REGIMES:
            raise StreamError(f"SEAStream: regime must be one of {REGIMES}, got {regime!r}")
        if d < 1 or noise < 0 or mean_norm < 0 or drift < 0 or corruption < 0 or corruption_size <= 0 or n_items < 1:
            raise StreamError("SEAStream: need d >= 1, n_items >= 1, corruption_size > 0 and noise, mean_norm, "
                              "drift, corruption >= 0")
        if drift > 0 and (d < 2 or drift > 2 * mean_norm):
            raise StreamError("SEAStream: drift > 0 needs d >= 2 and drift <= 2 * mean_norm")
        self.d, self.regime, self.noise = int(d), regime, float(noise)
        self.mean_norm, self.drift = float(mean_norm), float(drift)
        self.corruption, self.corruption_size, self.n_items = float(corruption), float(corruption_size), int(n_items)
        r = np.random.default_rng([self.seed, 2**31])
        u = r.normal(size=self.d)
        u /= np.linalg.norm(u)
        v = r.normal(size=self.d)
        v -= (v @ u) * u
        nv = np.linalg.norm(v)
        v = v / nv if nv > 0 else v
        self.u, self.v = u, v
        self.omega = 2.0 * math.asin(self.drift / (2 * self.mean_norm)) if self.drift > 0 else 0.0
        if regime == "random-order":
            self.items = self.mean_norm * u + self.noise * np.random.default_rng([self.seed, 2**31 + 1]).normal(
                size=(self.n_items, self.d))

    # -- the path -----------------------------------------------------------------------
    def _means(self, t: np.ndarray) -> np.ndarray:
        """``mu_t`` for 0-based rounds ``t`` (not for random-order)."""
        if self.regime in ("adversarial", "drift") and self.omega > 0:
            th = self.omega * t
            return self.mean_norm * (np.cos(th)[:, None] * self.u + np.sin(th)[:, None] * self.v)
        mu = np.tile(self.mean_norm * self.u, (len(t), 1))
        if self.regime == "corrupted":
            k = int(self.corruption // self.corruption_size)
            mu[t < k] -= self.corruption_size * self.u
        return mu

    def _random_order(self, t: np.ndarray):
        K = self.n_items
        xi = np.empty((len(t), self.d))
        mu = np.empty((len(t), self.d))
        var = np.empty(len(t))
        passes = t // K
        for p in np.unique(passes):
            perm = np.random.default_rng([self.seed, 2**31 + 2, int(p)]).permutation(K)
            seq = self.items[perm]
            # suffix means / spreads: the distribution of round j in the pass is uniform on seq[j:]
            csum = np.cumsum(seq[::-1], axis=0)[::-1]
            csq = np.cumsum(np.sum(seq * seq, axis=1)[::-1])[::-1]
            cnt = np.arange(K, 0, -1)[:, None]
            smean = csum / cnt
            svar = csq / cnt[:, 0] - np.sum(smean * smean, axis=1)
            sel = passes == p
            j = t[sel] - p * K
            xi[sel] = seq[j]
            mu[sel] = smean[j]
            var[sel] = np.maximum(svar[j], 0.0)
        return xi, mu, var

    def _page_columns(self, k: int) -> dict[str, np.ndarray]:
        lo = k * _PAGE
        m = min(_PAGE, self.n - lo)
        t = np.arange(lo, lo + m)
        if self.regime == "random-order":
            xi, mu, var = self._random_order(t)
        else:
            mu = self._means(t)
            s = 0.0 if self.regime == "adversarial" else self.noise
            xi = mu + s * np.random.default_rng([self.seed, k]).normal(size=(m, self.d)) if s > 0 else mu.copy()
            var = np.full(m, self.d * s * s)
        cols = {f"x{j}": xi[:, j] for j in range(self.d)}
        cols.update({f"m{j}": mu[:, j] for j in range(self.d)})
        cols["sigma2"] = var
        return cols

    def column_names(self) -> list[str]:
        return [f"x{j}" for j in range(self.d)] + [f"m{j}" for j in range(self.d)] + ["sigma2"]

    # -- whole-stream views -------------------------------------------------------------
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(xi, mu, sigma2_t)`` for all rounds: shapes ``(n, d)``, ``(n, d)``, ``(n,)``."""
        pages = [self._page_columns(k) for k in range((self.n + _PAGE - 1) // _PAGE)]
        if not pages:
            return np.zeros((0, self.d)), np.zeros((0, self.d)), np.zeros(0)
        xi = np.vstack([np.column_stack([p[f"x{j}"] for j in range(self.d)]) for p in pages])
        mu = np.vstack([np.column_stack([p[f"m{j}"] for j in range(self.d)]) for p in pages])
        var = np.concatenate([p["sigma2"] for p in pages])
        return xi, mu, var

    def sigma2_expected(self) -> float:
        """``sigma^2_{1:T} = sum_t sigma_t^2`` (the expectation over the stream's randomness)."""
        return float(self.arrays()[2].sum())

    def sigma2(self) -> float:
        """Realised ``sum_t ||xi_t - mu_t||^2`` along the sampled path."""
        xi, mu, _ = self.arrays()
        return float(np.sum((xi - mu) ** 2))

    def Sigma2(self) -> float:  # noqa: N802 - the paper's symbol
        """``Sigma^2_{1:T} = sum_{t >= 2} ||mu_t - mu_{t-1}||^2``.

        The paper's round-1 term ``sup_x ||grad F_1(x)||^2`` (with ``grad F_0 = 0``) depends on
        the domain and is left out.
        """
        mu = self.arrays()[1]
        return float(np.sum(np.diff(mu, axis=0) ** 2))

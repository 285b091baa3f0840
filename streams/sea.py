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

__all__ = ["REGIMES", "SEALogisticStream", "SEAStream", "logistic_variation_sup"]

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


# --------------------------------------------------------------------------------------------
# logistic instance
# --------------------------------------------------------------------------------------------


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def logistic_variation_sup(a_prev, a, q_prev: float, q: float, radius: float, n_r: int = 128,
                           n_phi: int = 1440) -> tuple[float, float]:
    """``sup_{||x|| <= R} ||grad F(x) - grad F'(x)||^2`` for two expected logistic losses.

    ``F(x) = E log(1 + exp(-y <a, x>))`` with ``P(y = +1) = q`` has
    ``grad F(x) = a (s(<a, x>) - q)`` (``s`` the sigmoid); ``F'`` likewise with ``a_prev``,
    ``q_prev``. The difference depends on ``x`` only through its projection on
    ``span{a, a_prev}``, so the supremum is over a disk of radius ``R`` in that plane.

    It is computed numerically (our choice): the maximum over a polar grid (``n_r + 1``
    radii including the centre, ``n_phi`` angles), refined by a bounded local ascent from the
    best grid points. The returned ``value`` is attained at a point of the ball, so it is a
    lower bound of the supremum; ``upper`` is a certified upper bound:
    ``h(x) = ||grad F(x) - grad F'(x)||`` is Lipschitz with the norm bound of the Jacobian
    ``J = a a^T s'(z) - a_prev a_prev^T s'(z')`` (``z = <a, x>``, ``z' = <a_prev, x>``). Two
    bounds hold and we take the smaller: ``max(||a||^2, ||a_prev||^2) / 4`` (a difference of
    positive semidefinite matrices of norms ``<= ||a||^2 / 4``, as ``s' <= 1/4``), and, writing
    ``J = (a a^T - a_prev a_prev^T) s'(z) + a_prev a_prev^T (s'(z) - s'(z'))`` with
    ``|s''| <= 1 / (6 sqrt 3)`` and ``|z - z'| <= R ||a - a_prev||``,
    ``||a - a_prev|| ((||a|| + ||a_prev||) / 4 + ||a_prev||^2 R / (6 sqrt 3))`` (small under small
    drift). Every point of the disk lies within
    ``rho = sqrt((R / (2 n_r))^2 + (pi R / n_phi)^2)`` of a grid point, so
    ``sup h <= max_grid h + L_h rho``.

    Parameters
    ----------
    a_prev, a
        Feature vectors (1-d, same length).
    q_prev, q
        Label probabilities ``P(y = +1)`` in ``[0, 1]``.
    radius
        Ball radius ``R >= 0``.
    n_r, n_phi
        Grid resolution.

    Returns
    -------
    (value, upper)

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.streams.sea import logistic_variation_sup
    >>> v, ub = logistic_variation_sup(np.array([1.0, 0.0]), np.array([1.0, 0.0]), 0.5, 0.8, 1.0)
    >>> round(v, 6), round(ub, 6)          # fixed features: exactly ||a||^2 (q - q_prev)^2
    (0.09, 0.09)
    >>> v, ub = logistic_variation_sup(np.array([1.0, 0.0]), np.array([0.0, 1.0]), 0.5, 0.5, 1.0)
    >>> v <= ub < v + 1e-2
    True
    """
    a_prev = np.asarray(a_prev, dtype=np.float64)
    a = np.asarray(a, dtype=np.float64)
    R = float(radius)
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(a_prev))
    # coordinates in an orthonormal basis (e1, e2) of span{a, a_prev}
    if na > 0:
        e1 = a / na
    elif nb > 0:
        e1 = a_prev / nb
    else:
        return 0.0, 0.0
    w = a_prev - (a_prev @ e1) * e1
    nw = float(np.linalg.norm(w))
    e2 = w / nw if nw > 1e-12 * max(na, nb) else np.zeros_like(e1)
    A = np.array([a @ e1, a @ e2])
    B = np.array([a_prev @ e1, a_prev @ e2])

    def h2(x1, x2):
        u = _sigmoid(A[0] * x1 + A[1] * x2) - q
        v = _sigmoid(B[0] * x1 + B[1] * x2) - q_prev
        d1, d2 = A[0] * u - B[0] * v, A[1] * u - B[1] * v
        return d1 * d1 + d2 * d2

    r = R * np.arange(n_r + 1) / n_r
    phi = 2.0 * np.pi * np.arange(n_phi) / n_phi
    X1 = r[:, None] * np.cos(phi)[None, :]
    X2 = r[:, None] * np.sin(phi)[None, :]
    G = h2(X1, X2)
    best = float(G.max())
    rho = math.hypot(R / (2 * n_r), math.pi * R / n_phi)
    dn = float(np.linalg.norm(a - a_prev))
    lip = min(0.25 * max(na * na, nb * nb), dn * (0.25 * (na + nb) + nb * nb * R / (6.0 * math.sqrt(3.0))))
    upper = (math.sqrt(best) + lip * rho) ** 2
    if best > 0 and R > 0:
        from scipy.optimize import minimize

        flat = np.argsort(G, axis=None)[::-1][:5]
        for i in flat:
            ir, ip = np.unravel_index(i, G.shape)
            res = minimize(lambda p: -h2(p[0] * math.cos(p[1]), p[0] * math.sin(p[1])),
                           np.array([r[ir], phi[ip]]), method="L-BFGS-B",
                           bounds=[(0.0, R), (phi[ip] - np.pi, phi[ip] + np.pi)])
            best = max(best, float(-res.fun))
    return best, max(upper, best)


class SEALogisticStream(SyntheticSource):
    """SEA logistic instance: drifting features, random labels, known sigma^2 and Sigma^2.

    Round ``t`` has the loss ``f_t(x) = log(1 + exp(-y_t <a_t, x>))`` on the Euclidean ball
    ``||x|| <= R``, with ``y_t`` in ``{-1, +1}``, ``P(y_t = +1) = q`` and a deterministic
    feature vector ``a_t``: the mean path of :class:`SEAStream` in the ``"adversarial"`` /
    ``"drift"`` regimes (norm ``mean_norm``, rotating by ``drift`` per round; fixed when
    ``drift = 0``). The labels are stored in ``{0, 1}`` (``b_t = (y_t + 1) / 2``), the
    convention of :class:`onlinekit.oco.LogisticLoss` and :func:`onlinekit.solvers.logistic`.

    Regimes follow from the parameters: ``q`` in ``{0, 1}`` is noiseless (``sigma = 0``),
    ``drift = 0`` is i.i.d. (``Sigma = 0``), both non-trivial is a drifting SEA instance.

    Columns: ``a0..a{d-1}`` (``a_t``), ``y`` (``b_t``) and ``sigma2`` (``sigma_t^2``).

    Parameters
    ----------
    n, d
        Rounds and dimension.
    q
        ``P(y_t = +1)`` in ``[0, 1]`` (our choice: constant over rounds).
    mean_norm
        ``||a_t||``.
    drift
        ``||a_t - a_{t-1}||`` (needs ``d >= 2`` and ``drift <= 2 mean_norm`` when ``> 0``).
    radius
        Radius ``R`` of the domain; ``Sigma`` depends on it.
    seed
        Seed (the feature path is the one of ``SEAStream`` with the same seed).

    Notes
    -----
    With ``z = <a_t, x>`` and ``s`` the sigmoid, ``grad f_t(x) = -y_t a_t s(-y_t z)
    = a_t (s(z) - b_t)``, so ``grad F_t(x) = a_t (s(z) - q)`` and
    ``grad f_t(x) - grad F_t(x) = a_t (q - b_t)`` for every ``x``:

    * ``sigma_t^2 = max_x E ||grad f_t(x) - grad F_t(x)||^2 = ||a_t||^2 q (1 - q)`` (exact,
      no supremum is needed); realised along the path: ``||a_t||^2 (b_t - q)^2``.
    * ``Sigma_t^2 = sup_{||x|| <= R} ||a_t (s(<a_t, x>) - q) - a_{t-1} (s(<a_{t-1}, x>) - q)||^2``.
      With ``drift = 0`` it is 0. Otherwise every pair ``(a_{t-1}, a_t)`` is a rotation of
      ``(a_1, a_2)`` and the ball is rotation invariant, so ``Sigma_t^2`` is the same for all
      ``t >= 2``; it is computed once by :func:`logistic_variation_sup` (numerical: grid plus
      local refinement, a lower bound attained at a point of the ball; the certified upper
      bound is :meth:`Sigma2_bounds`). The features are deterministic, so the expected and
      realised ``Sigma^2_{1:T}`` coincide.

    As in :class:`SEAStream`, the round-1 term ``sup_x ||grad F_1(x)||^2`` is left out of
    ``Sigma^2_{1:T}``. ``F_t`` is convex and ``||a_t||^2 / 4``-smooth, and
    ``||grad f_t|| <= ||a_t||``. The construction (loss, label model, feature path, the
    numerical supremum) is ours; the SEA definitions are Sachs et al. (2022), Def. 1-3.

    Examples
    --------
    >>> from onlinekit.streams.sea import SEALogisticStream
    >>> s = SEALogisticStream(n=2000, d=3, q=0.7, mean_norm=0.5, drift=0.01, seed=0)
    >>> A, y, var = s.arrays()
    >>> A.shape, round(s.sigma2_expected(), 6)          # 2000 * 0.25 * 0.21
    ((2000, 3), 105.0)
    >>> round(s.sigma2() / s.sigma2_expected(), 1)      # realised vs expected
    1.0
    >>> lo, hi = s.Sigma2_bounds()
    >>> lo <= s.Sigma2() <= hi
    True
    """

    def __init__(self, n: int = 5000, d: int = 5, q: float = 0.7, mean_norm: float = 0.5, drift: float = 0.0,
                 radius: float = 1.0, seed: int = 0) -> None:
        super().__init__(n, seed)
        if d < 1 or not 0.0 <= q <= 1.0 or mean_norm < 0 or drift < 0 or radius < 0:
            raise StreamError("SEALogisticStream: need d >= 1, 0 <= q <= 1 and mean_norm, drift, radius >= 0")
        if drift > 0 and (d < 2 or drift > 2 * mean_norm):
            raise StreamError("SEALogisticStream: drift > 0 needs d >= 2 and drift <= 2 * mean_norm")
        self.d, self.q, self.mean_norm = int(d), float(q), float(mean_norm)
        self.drift, self.radius = float(drift), float(radius)
        self.path = SEAStream(n=1, d=self.d, regime="adversarial", mean_norm=self.mean_norm, drift=self.drift,
                              seed=self.seed)
        self._sup = None

    def features(self, t: np.ndarray) -> np.ndarray:
        """``a_t`` for 0-based rounds ``t``."""
        return self.path._means(np.asarray(t))

    def _page_columns(self, k: int) -> dict[str, np.ndarray]:
        lo = k * _PAGE
        m = min(_PAGE, self.n - lo)
        A = self.features(np.arange(lo, lo + m))
        y = (np.random.default_rng([self.seed, k]).random(m) < self.q).astype(np.float64)
        cols = {f"a{j}": A[:, j] for j in range(self.d)}
        cols["y"] = y
        cols["sigma2"] = np.sum(A * A, axis=1) * (self.q * (1.0 - self.q))
        return cols

    def column_names(self) -> list[str]:
        return [f"a{j}" for j in range(self.d)] + ["y", "sigma2"]

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(a, y, sigma2_t)`` for all rounds: shapes ``(n, d)``, ``(n,)`` (0/1), ``(n,)``."""
        pages = [self._page_columns(k) for k in range((self.n + _PAGE - 1) // _PAGE)]
        if not pages:
            return np.zeros((0, self.d)), np.zeros(0), np.zeros(0)
        A = np.vstack([np.column_stack([p[f"a{j}"] for j in range(self.d)]) for p in pages])
        return A, np.concatenate([p["y"] for p in pages]), np.concatenate([p["sigma2"] for p in pages])

    def sigma2_expected(self) -> float:
        """``sigma^2_{1:T} = q (1 - q) sum_t ||a_t||^2``."""
        return float(self.arrays()[2].sum())

    def sigma2(self) -> float:
        """Realised ``sum_t ||grad f_t - grad F_t||^2 = sum_t ||a_t||^2 (b_t - q)^2``."""
        A, y, _ = self.arrays()
        return float(np.sum(np.sum(A * A, axis=1) * (y - self.q) ** 2))

    def _pair_sup(self) -> tuple[float, float]:
        if self._sup is None:
            if self.drift == 0.0 or self.n < 2:
                self._sup = (0.0, 0.0)
            else:
                a = self.features(np.arange(2))
                self._sup = logistic_variation_sup(a[0], a[1], self.q, self.q, self.radius)
        return self._sup

    def Sigma2(self) -> float:
        """``Sigma^2_{1:T} = sum_{t >= 2} Sigma_t^2`` (expected = realised; see Notes)."""
        return max(self.n - 1, 0) * self._pair_sup()[0]

    def Sigma2_bounds(self) -> tuple[float, float]:
        """``(lower, upper)``: the attained value of :meth:`Sigma2` and a certified upper bound."""
        lo, hi = self._pair_sup()
        k = max(self.n - 1, 0)
        return k * lo, k * hi

    def minimisers(self) -> np.ndarray:
        """``u_t = argmin_{||x|| <= R} F_t(x)``, rows for all rounds.

        ``F_t`` depends on ``x`` through ``z = <a_t, x>`` and is minimised at
        ``s(z) = q``, i.e. ``z = logit(q)``, clipped to ``[-R ||a_t||, R ||a_t||]``.
        """
        A = self.features(np.arange(self.n))
        m = np.linalg.norm(A, axis=1)
        with np.errstate(divide="ignore"):
            z = np.log(self.q) - np.log1p(-self.q) if 0.0 < self.q < 1.0 else (math.inf if self.q == 1.0 else -math.inf)
        zc = np.clip(z, -self.radius * m, self.radius * m)
        return A * (zc / np.maximum(m * m, 1e-300))[:, None]

"""Best fixed comparators in hindsight, for regret metrics.

``least_squares`` works from sufficient statistics (so a regret metric can accumulate
``X^T X``, ``X^T y``, ``y^T y`` online) and is exact, including the norm-ball constraint
(a convex trust-region subproblem solved by eigendecomposition plus a secular equation).
``logistic`` uses L-BFGS-B with a Newton polish, the same secular-equation idea for the
ball, and a linear program to detect (quasi-)separable data, whose infimum is not
attained. scipy is imported on first use.
"""

from __future__ import annotations

import math

import numpy as np

from onlinekit.solvers.result import Solution

__all__ = ["least_squares", "logistic", "squared_loss_sufficient_stats"]

_EPS = np.finfo(np.float64).eps


def _nonneg(x, name):
    try:
        x = float(x)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a nonnegative finite number, got {x!r}") from None
    if not (math.isfinite(x) and x >= 0):
        raise ValueError(f"{name} must be a nonnegative finite number, got {x!r}")
    return x


def _radius(radius):
    if radius is None:
        return None
    try:
        r = float(radius)
    except (TypeError, ValueError):
        raise ValueError(f"radius must be None or a positive finite number, got {radius!r}") from None
    if not (math.isfinite(r) and r > 0):
        raise ValueError(f"radius must be None or a positive finite number, got {radius!r}")
    return r


def squared_loss_sufficient_stats(X, y):
    """Sufficient statistics of the squared loss: ``(X^T X, X^T y, y^T y, n)``.

    Statistics of several blocks add up, so they can be accumulated online and passed to
    :func:`least_squares`.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Features (finite).
    y : array_like, shape (n,)
        Targets (finite).

    Returns
    -------
    XtX : numpy.ndarray, shape (d, d)
    Xty : numpy.ndarray, shape (d,)
    yty : float
    n : int

    Raises
    ------
    ValueError
        If shapes disagree or values are not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.solvers import squared_loss_sufficient_stats
    >>> XtX, Xty, yty, n = squared_loss_sufficient_stats(np.eye(2), np.array([1.0, 2.0]))
    >>> print(XtX, Xty, yty, n)
    [[1. 0.]
     [0. 1.]] [1. 2.] 5.0 2
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-d array, got shape {X.shape}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape {(X.shape[0],)}, got {y.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must contain only finite values")
    return X.T @ X, X.T @ y, float(y @ y), int(X.shape[0])


def least_squares(XtX, Xty, yty, n, *, ridge=0.0, radius=None):
    """Best fixed linear predictor for the squared loss, from sufficient statistics.

    Minimises ``f(w) = sum_t (w . x_t - y_t)^2 + ridge * ||w||_2^2`` written as
    ``w^T (XtX + ridge I) w - 2 w^T Xty + yty``, optionally subject to
    ``||w||_2 <= radius``.

    Parameters
    ----------
    XtX : array_like, shape (d, d)
        ``sum_t x_t x_t^T`` (symmetric PSD).
    Xty : array_like, shape (d,)
        ``sum_t y_t x_t``.
    yty : float
        ``sum_t y_t^2``.
    n : int
        Number of events the statistics summarise (``n >= 0``; used for validation).
    ridge : float, default 0.0
        L2 penalty weight (``>= 0``), included in ``value``.
    radius : float, optional
        Radius of the Euclidean ball constraint.

    Returns
    -------
    Solution
        ``value`` is the minimum of ``f``, ``primal`` the minimiser ``w``; with a radius,
        ``duals["radius"]`` is the multiplier ``mu >= 0`` of ``||w||^2 <= radius^2``
        (stationarity: ``(XtX + (ridge + mu) I) w = Xty``). ``iterations`` counts
        root-finding iterations (0 for closed forms). Status ``"unbounded"``
        (``value = -inf``) only when ``Xty`` has a genuine component outside the range
        of ``XtX`` with ``ridge = 0`` and no radius, which valid statistics never have.

    Raises
    ------
    ValueError
        If shapes disagree, values are not finite, ``XtX`` is not symmetric, or
        ``ridge``/``radius``/``n`` are out of range.

    Notes
    -----
    With ``H = XtX + ridge I = Q diag(lam) Q^T`` and ``b = Q^T Xty``, eigenvalues below
    ``10 d eps lam_max`` count as zero and the matching components of ``b`` (rounding
    noise for valid statistics) are dropped, so a singular ``XtX`` gives the
    minimum-norm minimiser (the pseudo-inverse solution, as ``numpy.linalg.lstsq``);
    the value ``yty - sum b_i^2 / lam_i`` is exact either way.

    With a radius this is a trust-region subproblem with a PSD matrix. If the
    minimum-norm minimiser lies in the ball it is optimal (``mu = 0``). This covers the
    *hard case* (``lam_min = 0`` and ``b`` orthogonal to the null space, so the
    secular equation has no root with ``mu > 0``): the optimal set is then
    ``w_mn + z`` for null-space ``z`` keeping ``||w|| <= radius`` and the minimum-norm
    point is returned. Otherwise ``||w(mu)|| = ||b / (lam + mu)||`` decreases from above
    ``radius`` to below it on ``[0, ||b|| / radius]``, and the unique root of the secular
    equation ``1 / ||w(mu)|| = 1 / radius`` is found by Brent's method.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.solvers import least_squares, squared_loss_sufficient_stats
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 3))
    >>> y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=50)
    >>> sol = least_squares(*squared_loss_sufficient_stats(X, y))
    >>> print(sol.status, sol.primal.round(1))
    optimal [ 1.  -2.   0.5]
    >>> ball = least_squares(*squared_loss_sufficient_stats(X, y), radius=1.0)
    >>> print(round(float(np.linalg.norm(ball.primal)), 8), ball.duals["radius"] > 0)
    1.0 True
    """
    H = np.asarray(XtX, dtype=np.float64)
    g = np.asarray(Xty, dtype=np.float64)
    if g.ndim != 1:
        raise ValueError(f"Xty must be a 1-d array, got shape {g.shape}")
    d = g.shape[0]
    if H.shape != (d, d):
        raise ValueError(f"XtX must have shape {(d, d)}, got {H.shape}")
    if not (np.all(np.isfinite(H)) and np.all(np.isfinite(g))):
        raise ValueError("XtX and Xty must contain only finite values")
    scale = max(1.0, float(np.abs(H).max()) if d else 1.0)
    if not np.allclose(H, H.T, rtol=0.0, atol=1e-10 * scale):
        raise ValueError("XtX must be symmetric")
    try:
        yty = float(yty)
    except (TypeError, ValueError):
        raise ValueError(f"yty must be a finite number, got {yty!r}") from None
    if not math.isfinite(yty):
        raise ValueError(f"yty must be a finite number, got {yty!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a nonnegative integer, got {n!r}")
    ridge = _nonneg(ridge, "ridge")
    r = _radius(radius)

    lam, Q = np.linalg.eigh(0.5 * (H + H.T))
    lam = np.clip(lam + ridge, 0.0, None)
    b = Q.T @ g
    lam_max = float(lam.max()) if d else 0.0
    pos = lam > 10.0 * max(d, 1) * _EPS * lam_max
    gnorm = float(np.linalg.norm(g))
    genuine = (~pos) & (np.abs(b) > 1e-6 * max(gnorm, _EPS))
    b = np.where(pos | genuine, b, 0.0)

    def point(mu):
        den = lam + mu
        return np.divide(b, den, out=np.zeros(d), where=b != 0.0)

    def value_at(c):
        return float(np.sum(lam * c * c - 2.0 * b * c) + yty)

    if r is None:
        if genuine.any():
            return Solution(-np.inf, np.full(d, np.nan), {}, "unbounded", "eigh", 0)
        c = point(0.0)
        return Solution(value_at(c), Q @ c, {}, "optimal", "eigh", 0)

    if not genuine.any():
        c = point(0.0)
        if np.linalg.norm(c) <= r:
            return Solution(value_at(c), Q @ c, {"radius": 0.0}, "optimal", "eigh", 0)
        mu_lo = 0.0
    else:
        mu_lo = float(np.abs(b[genuine]).max()) / r
    from scipy.optimize import brentq

    def secular(mu):
        return 1.0 / r - 1.0 / float(np.linalg.norm(point(mu)))

    mu_hi = float(np.linalg.norm(b)) / r
    if secular(mu_lo) <= 0.0:
        mu, iters = mu_lo, 0
    elif secular(mu_hi) >= 0.0:
        mu, iters = mu_hi, 0
    else:
        mu, info = brentq(secular, mu_lo, mu_hi, xtol=1e-300, rtol=4 * _EPS, full_output=True)
        iters = int(info.iterations)
    c = point(mu)
    nrm = float(np.linalg.norm(c))
    if nrm > r:
        c *= r / nrm
    return Solution(value_at(c), Q @ c, {"radius": float(mu)}, "optimal", "eigh+secular", iters)


# ----------------------------------------------------------------------------- logistic


class _Logistic:
    """Objective ``sum_i softplus(z_i . t) - y_i z_i . t + (l2 + mu) ||t * pen||^2``."""

    def __init__(self, Z, y, l2, pen):
        self.Z, self.y, self.l2, self.pen = Z, y, l2, pen

    def fg(self, t, mu):
        m = self.Z @ t
        reg = (self.l2 + mu) * self.pen
        f = float(np.sum(np.logaddexp(0.0, m) - self.y * m) + np.sum(reg * t * t))
        from scipy.special import expit

        grad = self.Z.T @ (expit(m) - self.y) + 2.0 * reg * t
        return f, grad

    def hess(self, t, mu):
        from scipy.special import expit

        s = expit(self.Z @ t)
        return (self.Z.T * (s * (1.0 - s))) @ self.Z + np.diag(2.0 * (self.l2 + mu) * self.pen)

    def minimize(self, mu, t0):
        """L-BFGS-B, then guarded Newton steps to machine precision."""
        from scipy.optimize import minimize

        res = minimize(
            self.fg, t0, args=(mu,), jac=True, method="L-BFGS-B",
            options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-10},
        )
        t, iters = res.x, int(res.nit)
        f, grad = self.fg(t, mu)
        for _ in range(20):
            if not np.linalg.norm(grad) > 0.0:
                break
            step = np.linalg.lstsq(self.hess(t, mu), grad, rcond=None)[0]
            alpha, accepted = 1.0, False
            while alpha > 1e-4:
                t_new = t - alpha * step
                f_new, g_new = self.fg(t_new, mu)
                if f_new < f or (f_new <= f and np.linalg.norm(g_new) < np.linalg.norm(grad)):
                    accepted = True
                    break
                alpha *= 0.5
            if not accepted:
                break
            iters += 1
            done = np.linalg.norm(g_new) >= 0.5 * np.linalg.norm(grad)
            t, f, grad = t_new, f_new, g_new
            if done and np.linalg.norm(grad) < 1e-12 * (1.0 + abs(f)):
                break
        return t, f, iters


def _separated(Z, s):
    """Rows that some direction d separates strictly: ``s_i z_i . d > 0`` (LP).

    Solves ``max sum(t)`` s.t. ``s_i z_i . d >= t_i``, ``0 <= t <= 1``; the optimum has
    ``t_i = 1`` exactly on the rows that can be made positive simultaneously.
    """
    from scipy.optimize import linprog

    n, p = Z.shape
    c = np.concatenate([np.zeros(p), -np.ones(n)])
    A = np.hstack([-(s[:, None] * Z), np.eye(n)])
    bounds = [(None, None)] * p + [(0.0, 1.0)] * n
    res = linprog(c, A_ub=A, b_ub=np.zeros(n), bounds=bounds, method="highs")
    if res.status != 0:  # pragma: no cover - the LP is always feasible and bounded
        return np.zeros(n, dtype=bool), np.zeros(p)
    return res.x[p:] > 0.5, res.x[:p]


def logistic(X, y, *, l2=0.0, radius=None, fit_intercept=False):
    """Best fixed logistic-regression comparator in hindsight.

    Minimises ``F(w, b) = sum_i log(1 + exp(-s_i (x_i . w + b))) + l2 ||w||_2^2`` with
    ``s_i = 2 y_i - 1`` (``b = 0`` unless ``fit_intercept``; the intercept is neither
    penalised nor constrained), optionally subject to ``||w||_2 <= radius``.

    Parameters
    ----------
    X : array_like, shape (n, d)
        Features (finite).
    y : array_like, shape (n,)
        Labels in ``{0, 1}``.
    l2 : float, default 0.0
        Penalty weight (``>= 0``); the penalty is included in ``value``.
    radius : float, optional
        Radius of the Euclidean ball constraint on ``w``.
    fit_intercept : bool, default False
        Whether to fit an unpenalised intercept ``b``.

    Returns
    -------
    Solution
        ``value`` is the minimum (infimum) of ``F``: the sum of log-losses at the optimum
        plus the penalty. ``primal`` is ``w`` (an array) or ``{"coef": w, "intercept": b}``
        with ``fit_intercept``. With a radius, ``duals["radius"]`` is the multiplier of
        ``||w||^2 <= radius^2``. Status ``"unbounded"`` means the infimum is not attained
        (see Notes); then ``value`` is the infimum and ``primal`` a unit direction along
        which ``F`` decreases towards it.

    Raises
    ------
    ValueError
        If shapes disagree, values are not finite, labels are not in ``{0, 1}``, or
        ``l2``/``radius`` are out of range.

    Notes
    -----
    Unconstrained problems are solved by L-BFGS-B followed by guarded Newton steps. For
    the ball, the minimiser of ``F + mu ||w||^2`` has a norm that decreases in ``mu``, and
    Brent's method finds the ``mu`` where it equals ``radius`` (the same secular equation
    as :func:`least_squares`).

    Without ``l2`` and ``radius`` the minimum exists unless the data are separable.
    A linear program finds the largest set ``S`` of rows that one direction ``d``
    separates strictly (``s_i x_i . d > 0``); if ``S`` is non-empty, moving along ``d``
    drives their losses to 0 and leaves the rest unchanged, so the infimum is the
    (attained) minimum of the loss over the remaining rows: ``0`` for completely
    separable data, positive under quasi-complete separation. The status is then
    ``"unbounded"`` (no minimiser) with that infimum as ``value``. All labels equal with
    ``fit_intercept`` makes the intercept run off even with ``l2`` or a radius: infimum 0.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.solvers import logistic
    >>> X = np.array([[1.0], [2.0], [-1.0], [-2.0], [0.5]])
    >>> y = np.array([1, 0, 0, 1, 1])
    >>> sol = logistic(X, y)
    >>> print(sol.status, round(sol.value, 6))
    optimal 3.354643
    >>> sep = logistic(X, (X[:, 0] > 0).astype(int))
    >>> print(sep.status, sep.value)
    unbounded 0.0
    >>> print(logistic(X, (X[:, 0] > 0).astype(int), radius=1.0).status)
    optimal
    """
    X = np.asarray(X, dtype=np.float64)
    yv = np.asarray(y)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-d array, got shape {X.shape}")
    if yv.shape != (X.shape[0],):
        raise ValueError(f"y must have shape {(X.shape[0],)}, got {yv.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X must contain only finite values")
    try:
        yf = yv.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError("y must contain only labels 0 and 1") from None
    if not np.all((yf == 0.0) | (yf == 1.0)):
        raise ValueError("y must contain only labels 0 and 1")
    l2 = _nonneg(l2, "l2")
    r = _radius(radius)
    n, d = X.shape
    Z = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X
    p = Z.shape[1]
    pen = np.ones(p)
    if fit_intercept:
        pen[-1] = 0.0
    s = 2.0 * yf - 1.0

    def pack(t):
        t = np.asarray(t, dtype=np.float64)
        return {"coef": t[:d].copy(), "intercept": float(t[d])} if fit_intercept else t.copy()

    if fit_intercept and n > 0 and np.all(yf == yf[0]):
        direction = np.zeros(p)
        direction[-1] = s[0]
        return Solution(0.0, pack(direction), {}, "unbounded", "closed-form", 0)

    obj = _Logistic(Z, yf, l2, pen)
    solver = "scipy:L-BFGS-B+newton"
    separable = False
    if l2 == 0.0 and n > 0:
        S, direction = _separated(Z, s)
        separable = bool(S.any())
        if separable and r is None:
            keep = ~S
            value, iters = 0.0, 0
            if keep.any():
                sub = _Logistic(Z[keep], yf[keep], 0.0, pen)
                _, value, iters = sub.minimize(0.0, np.zeros(p))
            direction = direction / np.linalg.norm(direction)
            return Solution(value, pack(direction), {}, "unbounded", solver + "+linprog", iters)

    total = 0
    if not separable:
        t, f, total = obj.minimize(0.0, np.zeros(p))
        if r is None:
            return Solution(f, pack(t), {}, "optimal", solver, total)
        if np.linalg.norm(t[:d]) <= r:
            return Solution(f, pack(t), {"radius": 0.0}, "optimal", solver, total)

    # Ball constraint active: find mu >= 0 with ||w(mu)|| = r.
    from scipy.optimize import brentq

    warm = {"t": np.zeros(p)}

    def solve_mu(mu):
        nonlocal total
        t, f, it = obj.minimize(mu, warm["t"])
        total += it
        warm["t"] = t
        return t

    def secular(mu):
        return 1.0 / r - 1.0 / max(float(np.linalg.norm(solve_mu(mu)[:d])), 1e-300)

    mu_hi = float(np.sum(np.linalg.norm(X, axis=1))) / (2.0 * r) + 1e-300
    if separable:
        mu_lo = mu_hi
        while secular(mu_lo) <= 0.0:
            mu_lo *= 0.25
    else:
        mu_lo = 0.0
    mu, info = brentq(secular, mu_lo, mu_hi, xtol=1e-300, rtol=1e-13, full_output=True)
    t = solve_mu(mu)
    nrm = float(np.linalg.norm(t[:d]))
    if nrm > r:
        t = t.copy()
        t[:d] *= r / nrm
    f, _ = obj.fg(t, 0.0)
    return Solution(f, pack(t), {"radius": float(mu)}, "optimal", solver + "+secular", total)

"""Off-policy evaluation of ranking policies on logged slates (IPS and cascade-aware IPS).

A log holds ``n`` slates of ``K`` positions: the items shown, a 0/1 click per position, and
the logging policy's probabilities. Three estimators of the expected number of clicks per
slate (optionally weighted per position) of a target ranking policy:

* :func:`ips` -- standard slate IPS, importance weight ``pi(slate) / mu(slate)``; unbiased
  for any click model, but the weight is a product over all positions (high variance);
* :func:`cascade_ips` -- the click at position ``k`` is weighted by the ratio of the
  probabilities of the *prefix* ``1..k``: unbiased when the click at ``k`` depends only on the
  items at positions ``<= k`` (the cascade model; "RIPS" of McInerney et al. 2020 /
  Kiyohara et al. 2022 uses this factorisation);
* :func:`independent_ips` -- the click at ``k`` is weighted by the ratio of the item-position
  marginals; unbiased when the click at ``k`` depends only on the item at ``k`` (position-based
  model), biased under the cascade model.

:func:`position_ips` is :func:`independent_ips` for logs stored one row per
(impression, position), like the Open Bandit Dataset.

What the estimate means on the Open Bandit Dataset
---------------------------------------------------
OBD logs a 3-slot *horizontal* widget (left, centre, right), one row per slot, with the
logging probability of the item in that slot; the rows of one impression cannot be regrouped
in the public sample, and clicks are recorded in every slot (no stop after the first click).
So only the position-wise estimator applies: :func:`position_ips` estimates, for a target
policy given by its per-slot item probabilities ``pi(item | slot)``, the expected number of
clicks per impression **assuming each slot's click depends only on the item in that slot**
(position-based model; the examination probability of a slot is folded into its click rate).
It is *not* a cascade value: on a cascade log the same estimator over-counts lower slots
(it ignores that a click above stops the scan), and on OBD the cascade-aware estimator
cannot be computed (prefix propensities need whole slates). A cascading-bandit or cascading-RL
policy's OBD estimate is therefore the value of its per-slot marginals under the
position-based model, an approximation of its value, not the value the cascade model would
assign.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from onlinekit.base import InvalidEvent

__all__ = ["OPEResult", "ips", "cascade_ips", "independent_ips", "position_ips", "prefix_match"]


@dataclass(frozen=True)
class OPEResult:
    """An off-policy estimate.

    Attributes
    ----------
    value
        Estimated expected (weighted) clicks per slate under the target policy.
    stderr
        Standard error of the estimate (sample standard deviation / sqrt(n)).
    n
        Number of slates (or, for :func:`position_ips`, impressions) used.
    estimator
        Name of the estimator.

    Examples
    --------
    >>> OPEResult(0.5, 0.1, 10, "ips").ci95()
    (0.304, 0.696)
    """

    value: float
    stderr: float
    n: int
    estimator: str

    def ci95(self) -> tuple[float, float]:
        """Normal-approximation 95% interval, rounded to 1e-12."""
        half = 1.96 * self.stderr
        return (round(self.value - half, 12), round(self.value + half, 12))


def _arr(x, name, ndim, shape=None):
    a = np.asarray(x, dtype=float)
    if a.ndim != ndim:
        raise InvalidEvent(f"must be {ndim}-d, got shape {a.shape}", field=name)
    if shape is not None and a.shape != shape:
        raise InvalidEvent(f"must have shape {shape}, got {a.shape}", field=name)
    return a


def _check_clicks(clicks):
    c = _arr(clicks, "clicks", 2)
    if c.shape[0] == 0 or not np.all((c == 0) | (c == 1)):
        raise InvalidEvent("must be a non-empty 0/1 array of shape (n, K)", field="clicks")
    return c


def _check_probs(p, name, shape, positive):
    a = _arr(p, name, 2, shape)
    if not np.all(np.isfinite(a)) or a.min() < 0 or a.max() > 1:
        raise InvalidEvent("probabilities must lie in [0, 1]", field=name)
    if positive and a.min() <= 0:
        i = int(np.argmin(a.min(axis=1)))
        raise InvalidEvent("logging probabilities must be > 0 (the target must be covered)",
                           field=name, offset=i)
    return a


def _weights(position_weights, K):
    if position_weights is None:
        return np.ones(K)
    w = _arr(position_weights, "position_weights", 1, (K,))
    if not np.all(np.isfinite(w)):
        raise InvalidEvent("must be finite", field="position_weights")
    return w


def _result(per_slate, name):
    n = len(per_slate)
    se = float(per_slate.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return OPEResult(float(per_slate.mean()), se, n, name)


def ips(clicks, p_log, p_target, position_weights=None) -> OPEResult:
    """Standard slate IPS: ``mean_i pi(s_i) / mu(s_i) * sum_k v_k c_ik``.

    Parameters
    ----------
    clicks
        ``(n, K)`` 0/1 clicks.
    p_log, p_target
        ``(n,)`` probabilities of the whole logged slate under the logging and target
        policies.
    position_weights
        ``(K,)`` value of a click per position (default 1).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.cascade.ope import ips
    >>> clicks = np.array([[1, 0], [0, 0], [0, 1], [0, 0]])
    >>> res = ips(clicks, np.full(4, 0.5), np.array([1.0, 1.0, 0.0, 0.0]))
    >>> res.value, res.n
    (0.5, 4)
    """
    c = _check_clicks(clicks)
    n, K = c.shape
    pl = _check_probs(np.asarray(p_log, dtype=float).reshape(-1, 1), "p_log", (n, 1), True)[:, 0]
    pt = _check_probs(np.asarray(p_target, dtype=float).reshape(-1, 1), "p_target", (n, 1), False)[:, 0]
    v = _weights(position_weights, K)
    return _result(pt / pl * (c @ v), "ips")


def cascade_ips(clicks, p_log_prefix, p_target_prefix, position_weights=None) -> OPEResult:
    """Cascade-aware IPS: ``mean_i sum_k v_k c_ik pi(prefix_ik) / mu(prefix_ik)``.

    ``prefix_ik`` is the sequence of items the slate ``i`` shows at positions ``1..k``; the
    probabilities are those of that prefix under each policy (``(n, K)`` arrays).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.cascade.ope import cascade_ips
    >>> clicks = np.array([[1, 0], [0, 1]])
    >>> mu = np.array([[0.5, 0.25], [0.5, 0.25]])
    >>> pi = np.array([[1.0, 1.0], [1.0, 0.0]])
    >>> cascade_ips(clicks, mu, pi).value
    1.0
    """
    c = _check_clicks(clicks)
    pl = _check_probs(p_log_prefix, "p_log_prefix", c.shape, True)
    pt = _check_probs(p_target_prefix, "p_target_prefix", c.shape, False)
    v = _weights(position_weights, c.shape[1])
    return _result((c * pt / pl) @ v, "cascade_ips")


def independent_ips(clicks, p_log_marginal, p_target_marginal, position_weights=None) -> OPEResult:
    """Independent (item-position) IPS: ``mean_i sum_k v_k c_ik pi(a_ik at k) / mu(a_ik at k)``.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.cascade.ope import independent_ips
    >>> clicks = np.array([[1, 0], [0, 1]])
    >>> mu = np.full((2, 2), 0.5)
    >>> pi = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> independent_ips(clicks, mu, pi).value
    2.0
    """
    c = _check_clicks(clicks)
    pl = _check_probs(p_log_marginal, "p_log_marginal", c.shape, True)
    pt = _check_probs(p_target_marginal, "p_target_marginal", c.shape, False)
    v = _weights(position_weights, c.shape[1])
    return _result((c * pt / pl) @ v, "independent_ips")


def position_ips(position, click, p_log, p_target, n_positions: int | None = None) -> OPEResult:
    """Independent IPS for row-per-(impression, position) logs (e.g. the Open Bandit Dataset).

    For each position ``k`` the estimate of the target's click rate there is the mean over
    the rows logged at ``k`` of ``click * pi(item | k) / mu(item | k)``; the value is the sum
    over positions, i.e. the expected clicks per impression under the target policy **if the
    click at each position depends only on the item shown there** (position-based model). The
    standard error combines the per-position ones (rows of different positions treated as
    independent, as the rows cannot be grouped into impressions).

    Parameters
    ----------
    position
        ``(n,)`` 0-based positions.
    click
        ``(n,)`` 0/1 clicks.
    p_log, p_target
        ``(n,)`` probability of the logged item at the logged position under the logging
        and target policies.
    n_positions
        Number of positions (default ``max(position) + 1``).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.cascade.ope import position_ips
    >>> pos = np.array([0, 0, 1, 1]); clk = np.array([1, 0, 0, 1])
    >>> res = position_ips(pos, clk, np.full(4, 0.5), np.array([1.0, 0.0, 0.0, 0.5]))
    >>> res.value, res.n
    (1.5, 2)
    """
    pos = np.asarray(position)
    if pos.ndim != 1 or pos.dtype.kind not in "iu" or len(pos) == 0 or pos.min() < 0:
        raise InvalidEvent("must be a non-empty 1-d array of non-negative integers", field="position")
    n = len(pos)
    c = _check_clicks(np.asarray(click).reshape(-1, 1))[:, 0]
    if len(c) != n:
        raise InvalidEvent(f"must have {n} entries, got {len(c)}", field="click")
    pl = _check_probs(np.asarray(p_log, dtype=float).reshape(-1, 1), "p_log", (n, 1), True)[:, 0]
    pt = _check_probs(np.asarray(p_target, dtype=float).reshape(-1, 1), "p_target", (n, 1), False)[:, 0]
    K = int(pos.max()) + 1 if n_positions is None else int(n_positions)
    if pos.max() >= K:
        raise InvalidEvent(f"positions must be < n_positions={K}", field="position")
    contrib = c * pt / pl
    value, var, counts = 0.0, 0.0, []
    for k in range(K):
        sel = contrib[pos == k]
        if len(sel) == 0:
            raise InvalidEvent(f"no row logged at position {k}", field="position")
        counts.append(len(sel))
        value += float(sel.mean())
        var += float(sel.var(ddof=1)) / len(sel) if len(sel) > 1 else float("nan")
    return OPEResult(value, float(np.sqrt(var)), int(min(counts)), "position_ips")


def prefix_match(logged, target) -> np.ndarray:
    """``(n, K)`` 0/1: does the logged prefix ``1..k`` equal the target's prefix ``1..k``?

    For a deterministic target ranking these are the target prefix probabilities that
    :func:`cascade_ips` needs (and ``prefix_match(...)[:, -1]`` the slate probabilities for
    :func:`ips`).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.cascade.ope import prefix_match
    >>> prefix_match(np.array([[2, 0, 1], [2, 1, 0]]), np.array([[2, 0, 1], [2, 0, 1]])).tolist()
    [[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]]
    """
    lg = np.asarray(logged)
    tg = np.asarray(target)
    if lg.ndim != 2 or lg.shape != tg.shape:
        raise InvalidEvent(f"logged and target must be (n, K) arrays of one shape, got {lg.shape}, {tg.shape}",
                           field="target")
    return np.cumprod(lg == tg, axis=1).astype(float)

"""Unbounded horizon: a private counter restarted on epochs of doubling length (Chan et al. 2011)."""

from __future__ import annotations

import math

import numpy as np

from onlinekit.base import InvalidEvent, Learner
from onlinekit.privacy._common import check_int
from onlinekit.privacy.accounting import gaussian_tail, laplace_sum_tail
from onlinekit.privacy.sqrt_factor import OptimalFactorCounter, SqrtFactorCounter
from onlinekit.privacy.tree import TreeCounter

__all__ = ["DoublingCounter"]

_COUNTERS = {"tree": TreeCounter, "sqrt": SqrtFactorCounter, "optimal": OptimalFactorCounter}


class DoublingCounter(Learner):
    """Unbounded horizon: restart a counter on epochs of doubling length (Chan et al. 2011).

    Epoch ``i`` runs a fresh copy of ``counter`` with horizon ``counter.T * 2**i``; the release
    at a step of epoch ``i`` is the sum of the final releases of epochs ``0..i-1`` plus the
    current epoch's release. Each event enters exactly one epoch's counter and the earlier
    totals are post-processing, so the guarantee is that of one epoch's counter (every epoch is
    calibrated to the same ``privacy`` spec; for ``d_in`` events spread over several epochs the
    per-epoch losses compose to at most the single-counter loss at ``d_in``, since pure eps and
    Gaussian ``Delta/sigma`` are the same in every epoch).

    Parameters
    ----------
    counter
        ``"tree"`` (:class:`TreeCounter`), ``"sqrt"`` (:class:`SqrtFactorCounter`) or
        ``"optimal"`` (:class:`OptimalFactorCounter`).
    params
        Keyword arguments of that counter (default: its defaults); its ``T`` is the first
        epoch's length (default 1: epochs of 1, 2, 4, ... events). With seeded noise, epoch
        ``i`` uses the ``i``-th seed spawned from ``params["seed"]``.
    max_epochs
        Stop (raise on further releases) after this many epochs; None for no limit.

    Attributes
    ----------
    t_, epoch_
        Releases so far and the current epoch.
    offset_
        Sum of the final releases of the finished epochs.
    inner_state_
        State of the current epoch's counter (refreshed by :meth:`state_dict`).

    Examples
    --------
    >>> import numpy as np
    >>> c = DoublingCounter("tree", {"T": 4, "noise": "none"})
    >>> c.release_many(np.ones(10)).tolist()
    [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    >>> c.epoch_, c.t_
    (1, 10)
    >>> s = DoublingCounter("sqrt", {"T": 16, "privacy": ("zcdp", 0.5), "noise": "seeded", "seed": 0})
    >>> kind, rho = s.privacy_loss(1)
    >>> kind, round(rho, 12), s.variance(40).shape
    ('zcdp', 0.5, (40,))

    Notes
    -----
    The error at step t of epoch i is the current epoch's error plus the final-step errors of
    all earlier epochs, so it grows like ``log T`` times the fixed-horizon error (Chan, Shi,
    Song 2011, hybrid mechanism; ours for the closed forms in :meth:`variance`).

    References
    ----------
    Chan, Shi, Song, "Private and Continual Release of Statistics", ACM TISSEC 2011.
    """

    protocol = "release"

    def __init__(self, counter: str = "tree", params: dict | None = None, max_epochs: int | None = None):
        self.counter = counter
        self.params = params
        self.max_epochs = max_epochs
        if counter not in ("tree", "sqrt", "optimal"):
            raise InvalidEvent(f"must be 'tree', 'sqrt' or 'optimal', got {counter!r}", field="counter")
        if params is not None and not isinstance(params, dict):
            raise InvalidEvent(f"must be a dict of counter arguments, got {type(params).__name__}", field="params")
        if max_epochs is not None:
            check_int(max_epochs, "max_epochs")
        self._template = self._cls()(**{"T": 1, **(params or {})})
        self.reset()

    def _cls(self):
        return _COUNTERS[self.counter]

    def _make(self, i: int):
        tpl = self._template
        seed = tpl.seed
        if seed is not None:
            from onlinekit.base import spawn_seeds

            seed = spawn_seeds(seed, i + 1)[i]
        return tpl.clone(T=int(tpl.T) * 2**i, seed=seed)

    def _reset(self) -> None:
        self.t_ = 0
        self.epoch_ = 0
        self.offset_ = np.zeros(self._template.d)
        self._inner = self._make(0)
        self.inner_state_ = self._inner.state_dict()

    def state_dict(self) -> dict:
        """Learned state, with the current epoch's counter state under ``inner_state_``."""
        self.inner_state_ = self._inner.state_dict()
        return super().state_dict()

    def _after_load(self) -> None:
        self._inner = self._make(int(self.epoch_))
        self._inner.load_state_dict(self.inner_state_)

    @property
    def guarantee(self):
        """The privacy map of one epoch's counter (the same for every epoch)."""
        return self._inner.guarantee

    def privacy_loss(self, d_in: float = 1):
        """Privacy spec met on streams that differ in ``d_in`` events."""
        return self._inner.privacy_loss(d_in)

    def check(self, d_in: float, d_out) -> bool:
        """Whether streams at distance ``d_in`` are ``d_out``-indistinguishable."""
        return self._inner.check(d_in, d_out)

    def _capacity(self) -> float:
        if self.max_epochs is None:
            return math.inf
        return int(self._template.T) * (2**self.max_epochs - 1) - self.t_

    def _feed(self, X: np.ndarray) -> np.ndarray:
        outs = []
        i = 0
        while i < X.shape[0]:
            room = int(self._inner.T) - self._inner.t_
            piece = X[i:i + room]
            y = self._inner.release_many(piece)
            y = y.reshape(piece.shape[0], -1) + self.offset_[None, :]
            outs.append(y)
            i += piece.shape[0]
            self.t_ += piece.shape[0]
            if self._inner.t_ == int(self._inner.T) and (
                self.max_epochs is None or self.epoch_ + 1 < self.max_epochs
            ):
                self.offset_ = y[-1].copy()
                self.epoch_ += 1
                self._inner = self._make(self.epoch_)
        return np.concatenate(outs, axis=0)

    def _validated(self, xs, one: bool) -> np.ndarray:
        # the current epoch's counter is never full unless max_epochs is reached (epochs roll
        # over right after their last step), so its own checks give the right errors
        try:
            if one:
                return self._inner._as_one(xs)
            X = self._inner._as_block(xs, horizon=False)
        except InvalidEvent as e:  # offsets of the epoch's counter -> offsets of the stream
            if e.offset is None:
                raise
            raise e.at(self.t_ + e.offset - self._inner.t_) from None
        if X.shape[0] > self._capacity():
            raise InvalidEvent(f"max_epochs={self.max_epochs} reached", field="xs", offset=self.t_)
        return X

    def release(self, x):
        """Consume one input; return the private running sum over all epochs."""
        X = self._validated(x, one=True)
        y = self._feed(X)
        return float(y[0, 0]) if self._template.d == 1 else y[0].copy()

    def release_many(self, xs) -> np.ndarray:
        """``release`` over a block (may span epochs); identical to the loop, bit for bit."""
        X = self._validated(xs, one=False)
        if X.shape[0] == 0:
            return np.empty((0,)) if self._template.d == 1 else np.empty((0, self._template.d))
        y = self._feed(X)
        return y[:, 0].copy() if self._template.d == 1 else y

    def variance(self, n: int) -> np.ndarray:
        """Closed-form ``Var(y_t - S_t)`` for t = 1..n (per coordinate)."""
        out = np.empty(n)
        t, i, carry = 0, 0, 0.0
        while t < n:
            v = self._make(i).variance()
            m = min(len(v), n - t)
            out[t:t + m] = v[:m] + carry
            carry += v[-1]
            t += m
            i += 1
        return out

    def expected_error(self, n: int, beta: float = 0.05) -> dict:
        """Closed-form error summary over the first ``n`` steps (see :meth:`variance`); the
        max-error bound is a union bound over the n steps (Gaussian, or Laplace with the
        largest epoch scale)."""
        if not (0.0 < beta < 1.0):
            raise InvalidEvent(f"must be in (0, 1), got {beta!r}", field="beta")
        v = self.variance(n)
        g = self._make(0).guarantee
        if self._template.noise == "none":
            bound = 0.0
        elif g.noise in ("laplace", "discrete_laplace"):
            last = 0
            while int(self._template.T) * (2 ** (last + 1) - 1) < n:
                last += 1
            c = self._make(last)
            b = c._scale if g.noise == "laplace" else float(c._scale_q) * 2.0**-c.grid_bits
            bound = laplace_sum_tail(float(v.max()), b, beta / n)
        else:
            bound = gaussian_tail(float(v.max()), beta / n)
        return {"max_var": float(v.max()), "mean_var": float(v.mean()), "rmse": math.sqrt(v.mean()),
                "max_error_bound": bound}

    def _check_inputs(self, seed: int) -> list:
        return self._inner._check_inputs(seed)

    def _check_bad_events(self) -> list:
        return [b for b in self._inner._check_bad_events()]

    @classmethod
    def _unit_test_params(cls):
        yield {"counter": "tree", "params": {"T": 8, "privacy": ("zcdp", 0.5), "noise": "seeded", "seed": 1}}
        yield {"counter": "tree", "params": {"T": 4, "privacy": ("pure", 1.0), "d": 2, "honaker": True,
                                             "noise": "seeded", "seed": 2}, "max_epochs": 4}
        yield {"counter": "sqrt", "params": {"T": 5, "noise": "seeded-discrete", "seed": 3, "grid_bits": 10}}

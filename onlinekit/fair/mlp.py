"""Online fair MLP: the one-hidden-layer baseline of Aranyani's paper, with its DP regulariser."""

from __future__ import annotations

import math
import numbers

import numpy as np

from onlinekit.fair.aranyani import check_block

__all__ = ["FairMLP"]


class FairMLP:
    """One-hidden-layer network trained online (batch size 1, Adam) with a DP regulariser.

    ``hid = sigmoid(W1 x + b1)`` with ``H = 2**depth - 1`` hidden units (as many as a tree has
    routing nodes), ``p = softmax(W2^T hid + b2)`` over two classes. Each row: predict
    ``p_1(x)``, then one Adam step on the cross-entropy plus
    ``lambda_ * sign(D) * (G_1 - G_0)``, where ``D = mean(yhat | a = 1) - mean(yhat | a = 0)``
    is the demographic-parity gap of the hard predictions so far and ``G_a`` the running mean,
    over group ``a``'s rows, of ``grad p_1(x)`` evaluated when each row arrived: the gradient of
    ``lambda_ |E_1 p_1 - E_0 p_1|`` estimated from aggregate statistics, as in the official
    baseline (``src/mlp_trainer.py``).

    Parameters
    ----------
    lambda_
        Weight of the regulariser (0: a plain online MLP).
    depth
        Sets ``H = 2**depth - 1`` hidden units (paper: depth 4, 15 units).
    lr, beta1, beta2, eps
        Adam (official: 2e-3 and the Keras defaults).
    seed
        Initialisation: ``W1, b1 ~ N(0, 1)`` (as the official code), ``W2 ~ U(-r, r)`` with
        ``r = sqrt(6 / (H + 2))`` (Keras' Glorot default), ``b2 = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.fair.mlp import FairMLP
    >>> rng = np.random.default_rng(0)
    >>> a = (rng.random(6000) < 0.5).astype(int)
    >>> X = rng.normal(size=(6000, 3)); X[:, 2] += 2.0 * a
    >>> y = (X[:, 0] + X[:, 2] > 1.0).astype(int)
    >>> gaps = {}
    >>> for lam in (0.0, 5.0):
    ...     yhat = FairMLP(lambda_=lam, lr=0.01, seed=0).predict_learn_many(X, y, sensitive=a) > 0.5
    ...     gaps[lam] = abs(yhat[a == 1].mean() - yhat[a == 0].mean())
    >>> bool(gaps[5.0] < 0.5 * gaps[0.0])
    True

    Notes
    -----
    Fixed in ours (the notes, A3): the official trainer differentiates the softmax *vector*,
    whose components sum to one, so its fairness gradient is zero, and it uses ``b0_a1 - b0_a1``
    for the first bias; we differentiate ``p_1``. The hidden layer has no layer norm (the
    official module builds one but never calls it). Binary sensitive attribute; an experiment
    baseline, not a registered learner (no ``state_dict``).
    """

    def __init__(self, lambda_: float = 0.0, depth: int = 4, lr: float = 2e-3, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-7, seed: int | None = None):
        if isinstance(lambda_, bool) or not isinstance(lambda_, numbers.Real) or not math.isfinite(lambda_) \
                or lambda_ < 0:
            raise ValueError(f"lambda_ must be a finite number >= 0, got {lambda_!r}")
        if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or not 1 <= depth <= 12:
            raise ValueError(f"depth must be an integer in [1, 12], got {depth!r}")
        if not (isinstance(lr, numbers.Real) and math.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
        self.lambda_ = float(lambda_)
        self.depth = int(depth)
        self.lr = float(lr)
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.seed = seed
        self.P_ = None

    @property
    def n_hidden(self) -> int:
        """Hidden units, ``2**depth - 1``."""
        return 2 ** self.depth - 1

    def _init(self, d: int) -> None:
        H = self.n_hidden
        rng = np.random.default_rng(self.seed)
        r = math.sqrt(6.0 / (H + 2))
        self.P_ = np.concatenate([rng.standard_normal(H * d), rng.standard_normal(H),
                                  rng.uniform(-r, r, 2 * H), np.zeros(2)])
        self.m_ = np.zeros_like(self.P_)
        self.v_ = np.zeros_like(self.P_)
        self.G_ = np.zeros((2, len(self.P_)))
        self.count_ = np.zeros(2, dtype=np.int64)
        self.yhat_sum_ = np.zeros(2)
        self.step_ = np.zeros(1, dtype=np.int64)
        self.n_features_ = d

    def predict_learn_many(self, X, y, *, sensitive) -> np.ndarray:
        """For each row in order: ``P(y = 1 | x)`` before the update, then one step."""
        from onlinekit.fair import _kernels

        X, yy, a = check_block(X, y, sensitive, None if self.P_ is None else self.n_features_)
        if self.P_ is None:
            self._init(X.shape[1])
        proba = np.empty((X.shape[0], 2))
        _kernels._mlp_run(X, yy, a, self.n_hidden, self.P_, self.m_, self.v_, self.step_, self.count_,
                          self.yhat_sum_, self.G_, self.lambda_, self.lr, self.beta1, self.beta2, self.eps,
                          True, proba)
        return proba[:, 1].copy()

    def predict_proba_many(self, X) -> np.ndarray:
        """``P(y = 1 | x)`` of the current network for each row (no learning)."""
        from onlinekit.fair import _kernels

        X = np.ascontiguousarray(X, dtype=np.float64)
        proba = np.empty((X.shape[0], 2))
        z = np.zeros(X.shape[0], dtype=np.int64)
        _kernels._mlp_run(X, z, z - 1, self.n_hidden, self.P_, self.m_, self.v_, self.step_, self.count_,
                          self.yhat_sum_, self.G_, 0.0, self.lr, self.beta1, self.beta2, self.eps, False, proba)
        return proba[:, 1].copy()

"""Soft oblique decision forest trained online (batch size 1, Adam, closed-form gradients)."""

from __future__ import annotations

import math
import numbers

import numpy as np
from river import base as river_base

from onlinekit.base import InvalidEvent, Learner

__all__ = ["ObliqueForest"]

_N_CLASSES = 2


def _kernels():
    from onlinekit.fair import _kernels

    return _kernels


def _check_real(v, field: str) -> float:
    if not isinstance(v, (numbers.Real, np.bool_)):
        raise InvalidEvent(f"expected a number, got {type(v).__name__}", field=field)
    fv = float(v)
    if not math.isfinite(fv):
        raise InvalidEvent(f"non-finite value {fv!r}", field=field)
    return fv


def check_label(y, field: str = "y") -> int:
    """A binary label (bool, or a number equal to 0 or 1) as an int, or :class:`InvalidEvent`."""
    if isinstance(y, (bool, np.bool_)):
        return int(bool(y))
    if isinstance(y, numbers.Real) and not isinstance(y, complex):
        fv = float(y)
        if fv == 0.0 or fv == 1.0:
            return int(fv)
    raise InvalidEvent(f"expected a binary label (bool, 0 or 1), got {y!r}", field=field)


def check_labels(y, n: int) -> np.ndarray:
    """A block of binary labels as int64, or :class:`InvalidEvent` naming the first bad row."""
    arr = np.asarray(y)
    if arr.shape != (n,):
        raise InvalidEvent(f"expected shape ({n},), got {arr.shape}", field="y")
    if arr.dtype.kind not in "fiub":
        raise InvalidEvent(f"expected numbers or booleans, got dtype {arr.dtype}", field="y")
    bad = (arr != 0) & (arr != 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidEvent(f"expected a binary label (0 or 1), got {arr[i]!r}", field=f"y[{i}]", offset=i)
    return arr.astype(np.int64)


class _ForestBase(Learner):
    """Parameters, feature index, validation and the kernel call shared by the forests."""

    _fair = False

    # -- parameters ------------------------------------------------------------------------
    def _validate_params(self) -> None:
        for name in ("n_trees", "depth"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise InvalidEvent(f"must be an integer, got {v!r}", field=name)
        if not 1 <= self.n_trees <= 1000:
            raise InvalidEvent(f"must be in [1, 1000], got {self.n_trees!r}", field="n_trees")
        if not 2 <= self.depth <= 16:
            raise InvalidEvent(f"must be in [2, 16] (the paper's code asserts depth > 1), got {self.depth!r}",
                               field="depth")
        for name, lo_open, hi in (("lr", True, None), ("beta1", False, 1.0), ("beta2", False, 1.0),
                                  ("eps", True, None)):
            v = getattr(self, name)
            ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
            ok = ok and (v > 0 if lo_open else v >= 0) and (hi is None or v < hi)
            if not ok:
                rng = "> 0" if hi is None else "in [0, 1)"
                raise InvalidEvent(f"must be a finite number {rng}, got {v!r}", field=name)
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral)):
            raise InvalidEvent(f"must be None or an integer, got {self.seed!r}", field="seed")

    @property
    def n_internal(self) -> int:
        """Internal (routing) nodes per tree, ``2**depth - 1``."""
        return 2 ** self.depth - 1

    @property
    def n_leaves(self) -> int:
        """Leaves per tree, ``2**depth``."""
        return 2 ** self.depth

    # -- state -----------------------------------------------------------------------------
    def _state_names(self) -> list[str]:
        params = set(self._param_names())
        return [k for k in super()._state_names() if k not in params]

    def _reset(self) -> None:
        T, n_int, n_leaf = self.n_trees, self.n_internal, self.n_leaves
        # Paper's initialisation: B ~ N(0, 1), leaf logits ~ U[0, 1); W ~ N(0, 1) is drawn
        # column by column as features appear (see _grow).
        self.B_ = self._rng.standard_normal((T, n_int))
        self.theta_ = self._rng.random((T, n_leaf, _N_CLASSES))
        self.W_ = np.zeros((T, n_int, 0))
        self.mW_ = np.zeros((T, n_int, 0))
        self.vW_ = np.zeros((T, n_int, 0))
        self.mB_ = np.zeros((T, n_int))
        self.vB_ = np.zeros((T, n_int))
        self.mT_ = np.zeros((T, n_leaf, _N_CLASSES))
        self.vT_ = np.zeros((T, n_leaf, _N_CLASSES))
        self.step_ = np.zeros(1, dtype=np.int64)
        self.features_: list = []
        self._pos: dict = {}
        self._reset_fair()

    def _reset_fair(self) -> None:
        """Fairness state (overridden)."""

    def _after_load(self) -> None:
        self._pos = {k: i for i, k in enumerate(self.features_)}

    def _feature_arrays(self) -> list[str]:
        """Names of learned arrays whose last axis runs over features."""
        return ["W_", "mW_", "vW_"]

    def _grow(self, new: list) -> None:
        """Append features ``new``: fresh N(0, 1) routing weights, zero moments/statistics."""
        if not new:
            return
        k = len(new)
        T, n_int = self.n_trees, self.n_internal
        cols = self._rng.standard_normal((T, n_int, k))
        self.W_ = np.ascontiguousarray(np.concatenate([self.W_, cols], axis=-1))
        for name in self._feature_arrays():
            if name == "W_":
                continue
            arr = getattr(self, name)
            pad = np.zeros(arr.shape[:-1] + (k,))
            setattr(self, name, np.ascontiguousarray(np.concatenate([arr, pad], axis=-1)))
        for name in new:
            self._pos[name] = len(self.features_)
            self.features_.append(name)

    # -- input -----------------------------------------------------------------------------
    def _vector(self, x, *, grow: bool) -> tuple[np.ndarray, list]:
        """``(vector over known + new features, new feature names)``; nothing is mutated.

        Dict keys never seen are new features (appended in sorted order so the order of a
        dict's keys never matters); on prediction they are ignored. Arrays are positional
        and must keep the length of the first array seen.
        """
        d = len(self.features_)
        if isinstance(x, dict):
            vals = {k: _check_real(v, f"x[{k!r}]") for k, v in x.items()}
            new = [k for k in vals if k not in self._pos] if grow else []
            if new:
                try:
                    new = sorted(new)
                except TypeError:
                    new = sorted(new, key=repr)
            pos_new = {k: d + i for i, k in enumerate(new)}
            v = np.zeros(d + len(new))
            for k, fv in vals.items():
                j = self._pos.get(k, pos_new.get(k))
                if j is not None:
                    v[j] = fv
            return v, new
        arr = np.asarray(x)
        if arr.ndim != 1:
            raise InvalidEvent(f"expected a dict or a 1-d array, got shape {arr.shape}", field="x")
        if arr.dtype.kind not in "fiub":
            raise InvalidEvent(f"expected numbers, got dtype {arr.dtype}", field="x")
        arr = arr.astype(np.float64)
        bad = ~np.isfinite(arr)
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise InvalidEvent(f"non-finite value {arr[j]!r}", field=f"x[{j}]")
        if d:
            if len(arr) != d:
                raise InvalidEvent(f"expected {d} features, got {len(arr)}", field="x")
            return arr, []
        if not grow:
            return np.zeros(0), []
        return arr, [f"x{j}" for j in range(len(arr))]

    def _matrix(self, X) -> tuple[np.ndarray, list]:
        X = np.asarray(X)
        if X.ndim != 2:
            raise InvalidEvent(f"expected a 2-d array, got shape {X.shape}", field="X")
        if X.dtype.kind not in "fiub":
            raise InvalidEvent(f"expected numbers, got dtype {X.dtype}", field="X")
        X = np.ascontiguousarray(X, dtype=np.float64)
        d = len(self.features_)
        if d and X.shape[1] != d:
            raise InvalidEvent(f"expected {d} features, got {X.shape[1]}", field="X")
        fin = np.isfinite(X)
        if not fin.all():
            i, j = map(int, np.argwhere(~fin)[0])
            raise InvalidEvent(f"non-finite value {X[i, j]!r}", field=f"X[{i}, {j}]", offset=i)
        new = [] if d else [f"x{j}" for j in range(X.shape[1])]
        return X, new

    # -- sensitive attribute (overridden by the fair forests) --------------------------------
    def _sensitive_one(self, kwargs: dict) -> int:
        return -1

    def _sensitive_many(self, kwargs: dict, n: int) -> np.ndarray:
        return np.full(n, -1, dtype=np.int64)

    # -- kernel call -----------------------------------------------------------------------
    def _fair_state(self) -> tuple:
        T, n_int, d = self.n_trees, self.n_internal, self.W_.shape[2]
        return (np.zeros(0, dtype=np.int64), np.zeros((0, T, n_int)), np.zeros((0, T, n_int, d)),
                np.zeros((0, T, n_int)), 0.0, 0, 0.0)

    def _run(self, X: np.ndarray, y: np.ndarray | None, a: np.ndarray | None, learn: bool) -> np.ndarray:
        k = _kernels()
        n = X.shape[0]
        proba = np.empty((n, _N_CLASSES))
        yy = y if y is not None else np.zeros(n, dtype=np.int64)
        aa = a if a is not None else np.full(n, -1, dtype=np.int64)
        cnt, Ssum, GW, GB, lam, penalty, delta = self._fair_state()
        k._forest_run(X, yy, aa, self.W_, self.B_, self.theta_, self.mW_, self.vW_, self.mB_,
                      self.vB_, self.mT_, self.vT_, self.step_, cnt, Ssum, GW, GB,
                      float(lam), int(penalty), float(delta), float(self.lr), float(self.beta1),
                      float(self.beta2), float(self.eps), bool(learn), bool(self._fair), proba)
        return proba

    def _predict_vec(self, v: np.ndarray) -> np.ndarray:
        d = self.W_.shape[2]
        if len(v) != d:  # no feature seen yet
            v = np.zeros(d)
        return self._run(v[None, :], None, None, learn=False)[0]

    # -- River API -------------------------------------------------------------------------
    @property
    def _multiclass(self) -> bool:
        return False

    def predict_proba_one(self, x) -> dict:
        """``{False: P(y = 0 | x), True: P(y = 1 | x)}`` under the current forest."""
        v, _ = self._vector(x, grow=False)
        p = self._predict_vec(v)
        return {False: float(p[0]), True: float(p[1])}

    def predict_one(self, x) -> bool:
        """The more likely label (``True`` when ``P(y = 1 | x) > 1/2``)."""
        v, _ = self._vector(x, grow=False)
        p = self._predict_vec(v)
        return bool(p[1] > p[0])

    def learn_one(self, x, y, **kwargs) -> None:
        """One Adam step on ``(x, y)``; a rejected event leaves the state unchanged."""
        yi = check_label(y)
        v, new = self._vector(x, grow=True)
        a = self._sensitive_one(kwargs)
        self._grow(new)
        self._run(v[None, :], np.array([yi], dtype=np.int64), np.array([a], dtype=np.int64), learn=True)

    # -- blocks ----------------------------------------------------------------------------
    def predict_proba_many(self, X) -> np.ndarray:
        """``P(y = 1 | x)`` of the current forest for each row of ``X`` (no learning)."""
        X, _ = self._matrix(X)
        if not len(self.features_):
            X = np.zeros((X.shape[0], 0))
        return self._run(X, None, None, learn=False)[:, 1].copy()

    def predict_many(self, X) -> np.ndarray:
        """Predicted labels (bool) of the current forest for each row of ``X``."""
        return self.predict_proba_many(X) > 0.5

    def predict_learn_many(self, X, y, **kwargs) -> np.ndarray:
        """For each row in order: predict, then learn. Returns ``P(y = 1)`` before each update."""
        X, new = self._matrix(X)
        yy = check_labels(y, X.shape[0])
        a = self._sensitive_many(kwargs, X.shape[0])
        if X.shape[0] == 0:
            return np.zeros(0)
        first = None
        if new and X.shape[0]:
            # the first row is predicted before its features are known (as predict_one would)
            first = self._run(np.zeros((1, self.W_.shape[2])), None, None, learn=False)[0, 1]
        self._grow(new)
        out = self._run(X, yy, a, learn=True)[:, 1].copy()
        if first is not None:
            out[0] = first
        return out

    def learn_many(self, X, y, **kwargs) -> None:
        """``learn_one`` over the rows of ``X`` in order (one kernel call)."""
        self.predict_learn_many(X, y, **kwargs)

    # -- diagnostics -----------------------------------------------------------------------
    def node_outputs(self, x) -> np.ndarray:
        """Routing probabilities ``s[t, i](x)`` (shape ``(n_trees, 2**depth - 1)``)."""
        v, _ = self._vector(x, grow=False)
        if len(v) != self.W_.shape[2]:
            v = np.zeros(self.W_.shape[2])
        z = np.einsum("tij,j->ti", self.W_, v) + self.B_
        return 1.0 / (1.0 + np.exp(-z))

    # -- conformance hooks -----------------------------------------------------------------
    @classmethod
    def _check_data(cls, seed: int, n: int = 60):
        rng = np.random.default_rng(seed)
        a = (rng.random(n) < 0.5).astype(np.int64)
        X = rng.normal(size=(n, 4))
        X[:, 3] += 1.5 * a
        y = (X @ np.array([1.0, -1.0, 0.5, 0.8]) + 0.3 * rng.normal(size=n) > 0.6).astype(np.int64)
        return X, y, a


class ObliqueForest(_ForestBase, river_base.Classifier):
    """Online forest of soft oblique decision trees (binary classification).

    Each tree is a complete binary tree of depth ``depth``. Internal node ``i`` sends ``x``
    left with probability ``s_i(x) = sigmoid(w_i . x + b_i)``; a leaf is reached with the
    product of the routing probabilities on its path and holds a class distribution
    ``softmax(theta_l)``. A tree outputs ``sum_l reach_l(x) softmax(theta_l)`` and the forest
    the mean over trees. Each event: predict with the current parameters, then one Adam step
    on the cross-entropy of that event (batch size 1), with closed-form gradients in a numba
    kernel.

    Parameters
    ----------
    n_trees
        Number of trees (paper: 3).
    depth
        Tree depth ``h >= 2``: ``2**h - 1`` routing nodes and ``2**h`` leaves (paper: 4).
    lr
        Adam learning rate (paper: 2e-3).
    beta1, beta2, eps
        Adam constants (TensorFlow/Keras defaults 0.9, 0.999, 1e-7, as in the official code).
    seed
        Seed of the initialisation (``W, b ~ N(0, 1)``, leaf logits ``~ U[0, 1)``).

    Attributes
    ----------
    W_ : ndarray of shape (n_trees, 2**depth - 1, n_features)
        Routing weights (one column per feature seen).
    B_ : ndarray of shape (n_trees, 2**depth - 1)
        Routing biases.
    theta_ : ndarray of shape (n_trees, 2**depth, 2)
        Leaf logits.
    mW_, vW_, mB_, vB_, mT_, vT_ : ndarray
        Adam first and second moments.
    step_ : ndarray of shape (1,)
        Number of Adam steps taken.
    features_ : list
        Feature names (``x0, x1, ...`` for array input; sorted new keys for dict input).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.fair import ObliqueForest
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(4000, 3))
    >>> y = (X[:, 0] - X[:, 1] > 0).astype(int)
    >>> forest = ObliqueForest(lr=0.01, seed=1)
    >>> p = forest.predict_learn_many(X, y)     # progressive: predict, then learn, per row
    >>> round(float(np.mean((p[-1000:] > 0.5) == y[-1000:])), 2) > 0.9
    True
    >>> forest.predict_one({"x0": 2.0, "x1": -2.0, "x2": 0.0})
    True

    Notes
    -----
    Model and training loop of Aranyani (Basu Roy Chowdhury et al., ICLR 2024) without the
    fairness term, following the official code (``src/fdt.py``, ``src/forest.py``). The
    backward pass is closed form: with ``g = -1 / (T p_y)``,
    ``dL/dtheta_{l,c} = g reach_l q_{l,y} (1[c = y] - q_{l,c})`` and
    ``dL/ds_i = reach_i (A_left - A_right)``, where ``A_node`` is the reach-weighted mean of
    ``g q_{l,y}`` over the leaves below the node (computed bottom-up, no division by ``s``).
    Differences from the official code (ours): no ``1e-8`` is added to each routing factor;
    no second softmax at inference (it does not change the argmax, but we return the
    forest's own probabilities); features that first appear in a dict get fresh
    ``N(0, 1)`` weights (absent features count as 0).

    References
    ----------
    .. [1] S. Basu Roy Chowdhury, N. Monath, A. Beirami, R. Kidambi, A. Dubey, A. Ahmed,
       S. Chaturvedi. Enhancing group fairness in online settings using oblique decision
       forests. ICLR 2024. arXiv:2310.11401.
    """

    protocol = "supervised"

    def __init__(self, n_trees: int = 3, depth: int = 4, lr: float = 2e-3, beta1: float = 0.9,
                 beta2: float = 0.999, eps: float = 1e-7, seed: int | None = None):
        self.n_trees = n_trees
        self.depth = depth
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.seed = seed
        self._validate_params()
        self.reset()

    @classmethod
    def _unit_test_params(cls):
        yield {"seed": 0}
        yield {"n_trees": 2, "depth": 3, "lr": 0.05, "seed": 1}

    def _check_stream(self, seed: int):
        X, y, _ = self._check_data(seed)
        return [(X[i].copy(), int(y[i]), {}) for i in range(len(y))]

    def _check_bad_events(self):
        X, y, _ = self._check_data(0, n=5)
        xn = X[0].copy()
        xn[1] = np.nan
        Xn = X.copy()
        Xn[3, 2] = np.inf
        return [
            ("learn_one", (xn, 1), {}),
            ("learn_one", (X[0], 2), {}),
            ("learn_one", (X[0], 0.5), {}),
            ("learn_one", (np.concatenate([X[0], [1.0]]), 1), {}),
            ("learn_one", ({"x0": "a"}, 1), {}),
            ("learn_many", (Xn, y), {}),
            ("learn_many", (X, np.array([0, 1, 3, 0, 1])), {}),
            ("predict_learn_many", (X[:, :2], y), {}),
        ]

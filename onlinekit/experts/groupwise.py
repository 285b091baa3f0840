"""Groupwise regression: one base learner per group, sleeping experts over the awake groups."""

from __future__ import annotations

import copy
import numbers

import numpy as np
from river import base as river_base

from onlinekit.base import InvalidEvent, Learner
from onlinekit.experts.hedge import _as_bool
from onlinekit.experts.ridge import OnlineRidge, grow_inverse
from onlinekit.oco._features import FeatureIndex, check_matrix, check_target

__all__ = ["GroupwiseRegressor"]

_METAS = {"adanormalhedge": 0, "hedge": 1}
_MODES = {"expected": 0, "average": 1}
ALWAYS_ON = "always_on"


def _kernels():
    from onlinekit.experts import _kernels

    return _kernels


class GroupwiseRegressor(Learner, river_base.Regressor):
    """Online regression with low regret on every group at once (Acharya et al. 2024).

    One copy of the base learner is kept per group (plus one for the ``always_on`` group
    that contains every event). An event belongs to some groups (they may intersect); its
    groups' experts are *awake*, the others sleep. The awake experts forecast, a
    sleeping-experts meta-algorithm (AdaNormalHedge by default) weighs them, and after the
    label arrives only the awake experts and their base learners are updated. Sleeping
    experts are left untouched.

    Parameters
    ----------
    base
        The per-group learner: any onlinekit supervised regressor (``predict_one`` /
        ``learn_one``) or the registered name of one (e.g. ``"ogd"``), cloned once per
        group. ``None`` means
        :class:`~onlinekit.experts.OnlineRidge` with ``l2=1``; an ``OnlineRidge`` base runs
        one numba kernel over whole blocks (the fast path), any other base runs a Python
        loop calling its ``predict_one`` / ``learn_one``.
    groups
        Group names (a sequence of distinct strings), the number of groups (named
        ``g0, g1, ...``), or ``None`` to learn the number from the first event that carries
        a membership array (or the names from the first ``dict`` membership).
    meta
        ``"adanormalhedge"`` (parameter-free, the paper's choice) or ``"hedge"``.
    always_on
        Add an expert that is awake on every event (the paper does; reviewers asked for
        the ablation without it). Without it, an event must belong to at least one group.
    prediction
        ``"expected"``: the meta-algorithm is charged the *expected* loss
        ``sum_e p_e loss_e`` of the randomised forecast that picks expert ``e`` with
        probability ``p_e`` (the paper and its official code). ``"average"``: it is charged
        the loss of the weighted-average forecast ``sum_e p_e yhat_e`` (deterministic; no
        larger for the convex squared loss). In both modes ``predict_one`` returns the
        weighted average, i.e. the mean of the randomised forecast.
    meta_lr
        Learning rate of ``meta="hedge"`` (``None``: anytime ``sqrt(8 ln N / t)``).
        Must be ``None`` with AdaNormalHedge.
    base_params
        Parameters of the base when ``base`` is a registered name.

    Attributes
    ----------
    group_names_ : list of str
        The groups (without ``always_on``).
    R_, C_ : ndarray
        Meta state per expert (sleeping regret and sum of its absolute values); experts are
        the groups in order, then ``always_on``.
    counts_ : ndarray
        Number of events each expert was awake for.
    t_ : int
        Number of events learned.
    features_ : list
        Feature names.
    Ainv_, W_ : ndarray
        (``OnlineRidge`` base) stacked inverse Gram matrices ``(E, d, d)`` and weights
        ``(E, d)`` of the experts.
    experts_ : list
        (other bases) the per-expert base learners.

    Examples
    --------
    Two groups with opposite slopes: each group's ridge learns its own line, and the
    meta-algorithm learns to trust them over the ``always_on`` ridge.

    >>> import numpy as np
    >>> from onlinekit.experts import GroupwiseRegressor
    >>> rng = np.random.default_rng(0)
    >>> n = 2000
    >>> G = np.zeros((n, 2), dtype=bool); G[np.arange(n), rng.integers(0, 2, n)] = True
    >>> X = np.column_stack([rng.uniform(-1, 1, n), np.ones(n)])
    >>> y = np.where(G[:, 0], 2 * X[:, 0], -2 * X[:, 0]) + 0.1 * rng.normal(size=n)
    >>> model = GroupwiseRegressor(groups=["up", "down"])
    >>> preds, loss = model.predict_learn_many(X, y, groups=G, return_loss=True)
    >>> print(round(float(loss[-500:].mean()), 3))
    0.009
    >>> round(model.predict_one(np.array([0.5, 1.0]), groups={"up": True, "down": False}), 1)
    1.0
    >>> round(model.predict_one(np.array([0.5, 1.0]), groups=["down"]), 1)
    -1.0

    Notes
    -----
    Acharya et al. (2024, Thm. 1) reduce groupwise regret to sleeping experts: with
    AdaNormalHedge over the groups' experts, the expected loss on every group ``g``'s
    subsequence exceeds that of the best predictor in hindsight *for that group* by at most
    the base learner's regret on the ``T_g`` rounds of ``g`` plus ``O(sqrt(T_g log |G|))``
    (losses in ``[0, 1]``), with one base-learner call per awake group per round. With
    online ridge as the base, the first term is ``O(d log T_g)``. AdaNormalHedge's
    constants are Luo & Schapire's; ``l2 = 1`` for the ridge base is the official code's.
    The official code does not clip predictions, so losses may exceed 1.

    Without a ``groups=`` keyword, ``predict_one`` / ``learn_one`` treat the event as a
    member of every group (River's ``predict_one(x)`` has no side information).

    References
    ----------
    .. [1] K. Acharya, E. Arunachaleswaran, S. Kannan, A. Roth, J. Ziani. Oracle efficient
       algorithms for groupwise regret. ICLR 2024 (arXiv:2310.04652).
    .. [2] H. Luo and R. E. Schapire. Achieving all with no parameters: AdaNormalHedge.
       COLT 2015.
    """

    protocol = "supervised"

    def __init__(
        self,
        base: Learner | str | None = None,
        groups=None,
        meta: str = "adanormalhedge",
        always_on: bool = True,
        prediction: str = "expected",
        meta_lr: float | None = None,
        base_params: dict | None = None,
    ):
        self.base = base
        self.groups = groups
        self.meta = meta
        self.always_on = always_on
        self.prediction = prediction
        self.meta_lr = meta_lr
        self.base_params = base_params
        self._validate_params()
        self.reset()

    # -- parameters ----------------------------------------------------------------------
    def _validate_params(self) -> None:
        if self.base_params is not None and not (
            isinstance(self.base_params, dict) and all(isinstance(k, str) for k in self.base_params)
        ):
            raise InvalidEvent("must be None or a dict of parameters", field="base_params")
        if self.base_params is not None and not isinstance(self.base, str):
            raise InvalidEvent("only used when base is a registered learner name", field="base_params")
        b = self.base
        if isinstance(b, str):
            from onlinekit.registry import learners

            reg = learners()
            if b not in reg:
                raise InvalidEvent(f"unknown learner {b!r}; known: {', '.join(reg)}", field="base")
            if reg[b].protocol != "supervised":
                raise InvalidEvent(f"learner {b!r} is not supervised ({reg[b].protocol})", field="base")
            if b == "groupwise":
                raise InvalidEvent("a groupwise learner cannot be its own base", field="base")
            try:
                b = reg[b].load()(**(self.base_params or {}))
            except TypeError as exc:
                raise InvalidEvent(str(exc), field="base_params") from None
        if b is not None:
            if not (isinstance(b, Learner) and hasattr(b, "predict_one") and hasattr(b, "learn_one")):
                raise InvalidEvent("must be None, a registered learner name or an onlinekit supervised learner",
                                   field="base")
            if isinstance(b, river_base.Classifier):
                raise InvalidEvent("must be a regressor, got a classifier", field="base")
        self._proto = b
        g = self.groups
        if g is not None:
            if isinstance(g, numbers.Integral) and not isinstance(g, bool):
                if g < 1:
                    raise InvalidEvent(f"must be >= 1, got {g!r}", field="groups")
            elif isinstance(g, (list, tuple)):
                if not g or not all(isinstance(n, str) and n for n in g):
                    raise InvalidEvent("must be a non-empty sequence of group names (strings)", field="groups")
                if len(set(g)) != len(g):
                    raise InvalidEvent("group names must be distinct", field="groups")
                if self.always_on and ALWAYS_ON in g:
                    raise InvalidEvent(f"{ALWAYS_ON!r} is reserved when always_on=True", field="groups")
            else:
                raise InvalidEvent(f"must be None, an int or a list of names, got {g!r}", field="groups")
        if self.meta not in _METAS:
            raise InvalidEvent(f"must be one of {sorted(_METAS)}, got {self.meta!r}", field="meta")
        if self.prediction not in _MODES:
            raise InvalidEvent(f"must be one of {sorted(_MODES)}, got {self.prediction!r}", field="prediction")
        if not isinstance(self.always_on, (bool, np.bool_)):
            raise InvalidEvent(f"must be a boolean, got {self.always_on!r}", field="always_on")
        lr = self.meta_lr
        if lr is not None:
            if self.meta != "hedge":
                raise InvalidEvent("only meta='hedge' has a learning rate", field="meta_lr")
            if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not (np.isfinite(lr) and lr > 0):
                raise InvalidEvent(f"must be None or a finite number > 0, got {lr!r}", field="meta_lr")

    @classmethod
    def _unit_test_params(cls):
        yield {"groups": ["a", "b", "c"]}
        yield {"groups": 2, "meta": "hedge", "prediction": "average", "always_on": False}
        yield {"base": "online-ridge", "base_params": {"l2": 0.5, "vaw": True, "intercept": True}, "groups": None}
        yield {"base": "ogd", "base_params": {"lr": 0.05, "schedule": "sqrt", "radius": 5.0}, "groups": ["a", "b"]}

    # -- state ---------------------------------------------------------------------------
    @property
    def _fast(self) -> bool:
        return self._proto is None or type(self._proto) is OnlineRidge

    def _base_ridge(self) -> OnlineRidge:
        return self._proto if self._proto is not None else OnlineRidge()

    def _reset(self) -> None:
        if isinstance(self.groups, (list, tuple)):
            names = list(self.groups)
        elif isinstance(self.groups, numbers.Integral):
            names = [f"g{j}" for j in range(int(self.groups))]
        else:
            names = []
        self.group_names_ = names
        E = len(names) + (1 if self.always_on else 0)
        self.R_ = np.zeros(E)
        self.C_ = np.zeros(E)
        self.counts_ = np.zeros(E, dtype=np.int64)
        self.t_ = 0
        self._index = FeatureIndex()
        self.features_ = self._index.names
        if self._fast:
            k = 1 if self._base_ridge().intercept else 0
            self.Ainv_ = np.zeros((E, k, k))
            self.Ainv_[:] = np.eye(k) / float(self._base_ridge().l2)
            self.W_ = np.zeros((E, k))
        else:
            self.experts_ = [self._proto.clone() for _ in range(E)]

    def _after_load(self) -> None:
        self._index = FeatureIndex(self.features_)
        self.features_ = self._index.names
        if self._fast:
            self.Ainv_ = np.ascontiguousarray(self.Ainv_, dtype=np.float64)
            self.W_ = np.ascontiguousarray(self.W_, dtype=np.float64)

    def load_state_dict(self, state) -> None:
        """Restore a state from :meth:`state_dict` (the experts are rebuilt to match it)."""
        if not self._fast and "group_names_" in state:
            E = len(state["group_names_"]) + (1 if self.always_on else 0)
            if len(self.experts_) != E:
                self.experts_ = [self._proto.clone() for _ in range(E)]
        super().load_state_dict(state)

    @property
    def n_experts(self) -> int:
        """Number of experts (groups, plus one if ``always_on``)."""
        return len(self.group_names_) + (1 if self.always_on else 0)

    @property
    def expert_names(self) -> list:
        """Expert names: the groups in order, then ``"always_on"`` if enabled."""
        return list(self.group_names_) + ([ALWAYS_ON] if self.always_on else [])

    def _with_groups(self, names: list):
        """The state arrays grown from no groups to ``names`` (nothing is assigned)."""
        G = len(names)
        E = G + (1 if self.always_on else 0)
        old = self.n_experts
        pad = E - old
        # the always_on expert (if any) is last: new group experts go before it
        def grow(a, fill):
            block = np.full((pad,) + a.shape[1:], fill, dtype=a.dtype)
            return np.concatenate([block, a], axis=0)
        out = {"group_names_": list(names), "R_": grow(self.R_, 0.0), "C_": grow(self.C_, 0.0),
               "counts_": grow(self.counts_, 0)}
        if self._fast:
            d = self.Ainv_.shape[1]
            fresh = np.broadcast_to(np.eye(d) / float(self._base_ridge().l2), (pad, d, d))
            out["Ainv_"] = np.ascontiguousarray(np.concatenate([fresh, self.Ainv_], axis=0))
            out["W_"] = np.ascontiguousarray(np.concatenate([np.zeros((pad, d)), self.W_], axis=0))
        else:
            out["experts_"] = [self._proto.clone() for _ in range(pad)] + list(self.experts_)
        return out

    # -- validation of memberships -------------------------------------------------------
    def _membership(self, groups, offset=None):
        """``(mask over the groups, names or None)``; names are set when first learned."""
        names = self.group_names_
        G = len(names)
        if groups is None:
            return np.ones(G, dtype=np.bool_), None
        if isinstance(groups, dict):
            if not names and self.groups is None:
                keys = list(groups)
                if not all(isinstance(k, str) for k in keys):
                    raise InvalidEvent("group names must be strings", field="groups", offset=offset)
                if self.always_on and ALWAYS_ON in keys:
                    raise InvalidEvent(f"{ALWAYS_ON!r} is reserved when always_on=True", field="groups", offset=offset)
                names = keys
            unknown = [k for k in groups if k not in names]
            if unknown:
                raise InvalidEvent(f"unknown group {unknown[0]!r}; known: {names}", field="groups", offset=offset)
            vals = [groups[k] for k in groups]
            for k, v in zip(groups, vals, strict=True):
                if not (isinstance(v, (bool, np.bool_)) or (isinstance(v, numbers.Real) and v in (0, 1))):
                    raise InvalidEvent(f"membership of {k!r} must be a boolean, got {v!r}", field="groups", offset=offset)
            mask = np.zeros(len(names), dtype=np.bool_)
            for k, v in groups.items():
                mask[names.index(k)] = bool(v)
            return mask, (names if names is not self.group_names_ else None)
        if isinstance(groups, (list, tuple, set, frozenset)) and len(groups) == 0:
            return np.zeros(G, dtype=np.bool_), None  # a member of no group
        if isinstance(groups, (list, tuple, set, frozenset)) and all(isinstance(k, str) for k in groups):
            if not names:
                raise InvalidEvent("group names are not known yet: pass groups=[...] to the constructor "
                                   "or give a membership array / dict", field="groups", offset=offset)
            unknown = [k for k in groups if k not in names]
            if unknown:
                raise InvalidEvent(f"unknown group {unknown[0]!r}; known: {names}", field="groups", offset=offset)
            mask = np.zeros(G, dtype=np.bool_)
            for k in groups:
                mask[names.index(k)] = True
            return mask, None
        a = np.asarray(groups)
        if a.ndim != 1:
            raise InvalidEvent(f"expected a membership array of length {G or 'G'}, got shape {a.shape}",
                               field="groups", offset=offset)
        if not names and self.groups is None:
            if a.shape[0] < 1:
                raise InvalidEvent("empty membership array", field="groups", offset=offset)
            names = [f"g{j}" for j in range(a.shape[0])]
            return _as_bool(a, "groups", offset), names
        if a.shape[0] != G:
            raise InvalidEvent(f"expected a membership array of length {G}, got {a.shape[0]}", field="groups",
                               offset=offset)
        return _as_bool(a, "groups", offset), None

    def _awake(self, mask: np.ndarray, offset=None) -> np.ndarray:
        if self.always_on:
            return np.concatenate([mask, [True]])
        if not mask.any():
            raise InvalidEvent("the event belongs to no group and always_on=False", field="groups", offset=offset)
        return mask

    def _membership_matrix(self, groups, n: int):
        """``(awake matrix (n, E), new names or None)`` for a block."""
        if groups is None:
            return np.ones((n, self.n_experts), dtype=np.bool_) if self.n_experts else self._no_expert(), None
        a = np.asarray(groups)
        if a.ndim != 2 or a.shape[0] != n:
            raise InvalidEvent(f"expected a membership matrix of shape ({n}, G), got {a.shape}", field="groups")
        names = None
        G = len(self.group_names_)
        if not G and self.groups is None:
            if a.shape[1] < 1:
                raise InvalidEvent("empty membership matrix", field="groups")
            names = [f"g{j}" for j in range(a.shape[1])]
            G = a.shape[1]
        elif a.shape[1] != G:
            raise InvalidEvent(f"expected {G} group columns, got {a.shape[1]}", field="groups")
        M = _as_bool(a, "groups", None)
        if self.always_on:
            return np.hstack([M, np.ones((n, 1), dtype=np.bool_)]), names
        empty = ~M.any(axis=1)
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise InvalidEvent("the event belongs to no group and always_on=False", field="groups", offset=i)
        return np.ascontiguousarray(M), names

    def _no_expert(self):
        raise InvalidEvent("no group is known and always_on=False: pass groups=", field="groups")

    # -- core ----------------------------------------------------------------------------
    def _event(self, x, groups, need_y=False, y=None):
        """Validate one event; returns everything needed to apply it (nothing mutated)."""
        yv = check_target(y) if need_y else None
        mask, names = self._membership(groups)
        v, new = self._index.vector(x, grow=True)
        d = len(self._index.names) + len(new)
        if len(v) < d:
            v = np.concatenate([v, np.zeros(d - len(v))])
        awake = self._awake(mask)
        return yv, awake, names, v, new

    def _state_for(self, names):
        """Current arrays, or grown copies when ``names`` establishes the groups."""
        if names is not None:
            return self._with_groups(names)
        st = {"R_": self.R_, "C_": self.C_, "counts_": self.counts_}
        if self._fast:
            st["Ainv_"], st["W_"] = self.Ainv_, self.W_
        else:
            st["experts_"] = self.experts_
        return st

    def _fast_arrays(self, st, d_feat: int):
        ridge = self._base_ridge()
        k = 1 if ridge.intercept else 0
        Ainv, W = grow_inverse(st["Ainv_"], st["W_"], d_feat + k, float(ridge.l2))
        return np.ascontiguousarray(Ainv), np.ascontiguousarray(W)

    def _fast_X(self, X: np.ndarray) -> np.ndarray:
        if self._base_ridge().intercept:
            return np.hstack([np.ones((X.shape[0], 1)), X])
        return np.ascontiguousarray(X)

    def _run_fast(self, X, y, A, st, learn: bool, copy_state: bool):
        ridge = self._base_ridge()
        Ainv, W = self._fast_arrays(st, X.shape[1])
        R, C = st["R_"], st["C_"]
        if copy_state:
            Ainv, W, R, C = Ainv.copy(), W.copy(), R.copy(), C.copy()
        n, E = A.shape
        tc = np.array([float(self.t_)])
        pred = np.empty(n)
        loss = np.empty(n)
        P = np.empty((n, E))
        _kernels()._groupwise_ridge(
            self._fast_X(X), y if y is not None else pred, A, Ainv, W, R, C, tc,
            _METAS[self.meta], -1.0 if self.meta_lr is None else float(self.meta_lr),
            _MODES[self.prediction], bool(ridge.vaw), learn, pred, loss, P,
        )
        return pred, loss, P, {"Ainv_": Ainv, "W_": W, "R_": R, "C_": C}

    def _generic_row(self, x, yv, awake, experts, R, C, t, learn: bool):
        """One event through the generic path; mutates ``experts``, ``R``, ``C`` if learning."""
        k = _kernels()
        E = awake.shape[0]
        fc = np.zeros(E)
        for e in range(E):
            if awake[e]:
                fc[e] = float(experts[e].predict_one(x))
        p = np.empty(E)
        eta = k._hedge_eta(-1.0 if self.meta_lr is None else float(self.meta_lr), float(t), E)
        k._meta_probs(R, C, awake, _METAS[self.meta], eta, np.empty(E), p)
        yhat = 0.0
        for e in range(E):
            if awake[e]:
                yhat += p[e] * fc[e]
        if not learn:
            return yhat, 0.0, p
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging base gives inf, as in the kernel
            lo = np.where(awake, (fc - yv) * (fc - yv), 0.0)
            mix = 0.0
            for e in range(E):
                if awake[e]:
                    mix += p[e] * lo[e]
            if self.prediction == "average":
                mix = (yhat - yv) * (yhat - yv)
        k._meta_update(R, C, awake, lo, mix)
        for e in range(E):
            if awake[e]:
                experts[e].learn_one(copy.deepcopy(x) if isinstance(x, dict) else x, yv)
        return yhat, mix, p

    def _commit(self, st: dict, names, new_feats, n_learned: int, awake_counts) -> None:
        if names is not None:
            self.group_names_ = list(names)
        for key in ("R_", "C_", "Ainv_", "W_", "experts_"):
            if key in st:
                setattr(self, key, st[key])
        self.counts_ = st["counts_"] + awake_counts
        self._index.add(new_feats)
        self.t_ += n_learned

    # -- River API -----------------------------------------------------------------------
    def predict_one(self, x, groups=None, **kwargs) -> float:
        """Weighted-average forecast of the awake experts for ``x``.

        ``groups``: the event's memberships -- a boolean array over the groups, a ``dict``
        ``{name: bool}``, or a list/set of the names it belongs to; ``None`` = every group.
        """
        _, awake, names, v, new = self._event(x, groups)
        st = self._state_for(names)
        if self._fast:
            pred, _, _, _ = self._run_fast(v[None, :], None, awake[None, :], st, learn=False, copy_state=True)
            return float(pred[0])
        yhat, _, _ = self._generic_row(x, None, awake, st["experts_"], st["R_"].copy(), st["C_"].copy(),
                                       self.t_, learn=False)
        return float(yhat)

    def learn_one(self, x, y, groups=None, **kwargs) -> None:
        """Learn one event; ``groups`` as in :meth:`predict_one`. Invalid: nothing changes."""
        yv, awake, names, v, new = self._event(x, groups, need_y=True, y=y)
        st = self._state_for(names)
        if self._fast:
            _, _, _, out = self._run_fast(v[None, :], np.array([yv]), awake[None, :], st, learn=True,
                                          copy_state=names is not None)
            st.update(out)
        else:
            R, C = st["R_"].copy(), st["C_"].copy()
            self._generic_row(x, yv, awake, st["experts_"], R, C, self.t_, learn=True)
            st.update({"R_": R, "C_": C})
        self._commit(st, names, new, 1, awake.astype(np.int64))

    # -- blocks --------------------------------------------------------------------------
    def _prepare_block(self, X, y, groups):
        X, y = check_matrix(X, y, n_features=len(self._index.names))
        A, names = self._membership_matrix(groups, X.shape[0])
        new = [] if self._index.names else [f"x{j}" for j in range(X.shape[1])]
        return X, y, A, names, new

    def predict_many(self, X, groups=None) -> np.ndarray:
        """Forecasts of the current state for each row (no learning)."""
        X, _, A, names, _ = self._prepare_block(X, None, groups)
        st = self._state_for(names)
        if self._fast:
            pred, _, _, _ = self._run_fast(X, None, A, st, learn=False, copy_state=True)
            return pred
        R, C = st["R_"].copy(), st["C_"].copy()
        return np.array([self._generic_row(X[i], None, A[i], st["experts_"], R, C, self.t_, False)[0]
                         for i in range(X.shape[0])])

    def predict_learn_many(self, X, y, groups=None, return_loss: bool = False, **kwargs):
        """For each row in order: forecast, then learn (``groups``: ``(n, G)`` membership).

        Returns the forecasts, or ``(forecasts, losses)`` with ``return_loss=True`` where
        ``losses[i]`` is what the meta-algorithm was charged at row ``i`` (the expected
        squared loss for ``prediction="expected"``). Equal to the per-event loop.
        """
        X, y, A, names, new = self._prepare_block(X, y, groups)
        st = self._state_for(names)
        n = X.shape[0]
        if self._fast:
            pred, loss, _, out = self._run_fast(X, y, A, st, learn=True, copy_state=names is not None)
            st.update(out)
        else:
            R, C = st["R_"].copy(), st["C_"].copy()
            pred, loss = np.empty(n), np.empty(n)
            experts = st["experts_"]
            for i in range(n):
                pred[i], loss[i], _ = self._generic_row(X[i], y[i], A[i], experts, R, C, self.t_ + i, True)
            st.update({"R_": R, "C_": C})
        self._commit(st, names, new, n, A.sum(axis=0).astype(np.int64))
        return (pred, loss) if return_loss else pred

    def learn_many(self, X, y, groups=None, **kwargs) -> None:
        """``learn_one`` over the rows of ``X`` in order."""
        self.predict_learn_many(X, y, groups=groups)

    # -- conformance hooks ---------------------------------------------------------------
    def _n_check_groups(self) -> int:
        if isinstance(self.groups, (list, tuple)):
            return len(self.groups)
        if isinstance(self.groups, numbers.Integral):
            return int(self.groups)
        return len(self.group_names_) or 3

    def _check_stream(self, seed):
        """Events with every group awake: River's ``predict_one(x)`` (used by the loop
        checks) sees no memberships, and means 'every group' (sleeping is tested in
        tests/experts)."""
        rng = np.random.default_rng(seed)
        n, G = 60, self._n_check_groups()
        X = rng.normal(size=(n, 4))
        y = X @ np.array([1.0, -1.0, 0.5, 0.0]) + 0.1 * rng.normal(size=n)
        return [(X[i].copy(), float(y[i]), {"groups": np.ones(G, dtype=bool)}) for i in range(n)]

    def _check_bad_events(self):
        G = max(len(self.group_names_), 1)
        x = np.zeros(4)
        ok = np.ones(G, dtype=bool)
        xn = x.copy()
        xn[1] = np.nan
        bad = [
            ("learn_one", (xn, 1.0), {"groups": ok}),
            ("learn_one", (x, float("nan")), {"groups": ok}),
            ("learn_one", (np.zeros(5), 1.0), {"groups": ok}),
            ("learn_one", (x, 1.0), {"groups": np.ones(G + 1, dtype=bool)}),
            ("learn_one", (x, 1.0), {"groups": np.full(G, 2)}),
            ("learn_one", (x, 1.0), {"groups": ["no-such-group"]}),
            ("learn_one", (x, 1.0), {"groups": {"no-such-group": True}}),
        ]
        Xb = np.zeros((5, 4))
        Gb = np.ones((5, G), dtype=bool)
        Xbad = Xb.copy()
        Xbad[3, 2] = np.inf
        bad.append(("learn_many", (Xbad, np.zeros(5)), {"groups": Gb}))
        bad.append(("learn_many", (Xb, np.zeros(5)), {"groups": np.ones((5, G + 1), dtype=bool)}))
        if not self.always_on:
            bad.append(("learn_one", (x, 1.0), {"groups": np.zeros(G, dtype=bool)}))
            Gz = Gb.copy()
            Gz[2] = False
            bad.append(("learn_many", (Xb, np.zeros(5)), {"groups": Gz}))
        return bad

"""Hedge (exponential weights) with sleeping experts, in log space."""

from __future__ import annotations

import numbers

import numpy as np

from onlinekit.base import InvalidEvent, Learner

__all__ = ["Hedge"]


def _kernels():
    from onlinekit.experts import _kernels

    return _kernels


def check_awake(awake, n: int, field: str = "awake", offset: int | None = None) -> np.ndarray:
    """A boolean mask of length ``n`` (``None`` = all awake).

    Booleans, or numbers that are exactly 0 or 1, are accepted; anything else raises
    :class:`InvalidEvent`.
    """
    if awake is None:
        return np.ones(n, dtype=np.bool_)
    a = np.asarray(awake)
    if a.ndim != 1 or a.shape[0] != n:
        raise InvalidEvent(f"expected a mask of length {n}, got shape {a.shape}", field=field, offset=offset)
    return _as_bool(a, field, offset)


def _as_bool(a: np.ndarray, field: str, offset: int | None) -> np.ndarray:
    if a.dtype == np.bool_:
        return np.ascontiguousarray(a)
    if a.dtype.kind not in "iuf":
        raise InvalidEvent(f"expected booleans (or 0/1), got dtype {a.dtype}", field=field, offset=offset)
    ok = (a == 0) | (a == 1)
    if not ok.all():
        bad = np.argwhere(~ok)[0]
        where = offset if offset is not None else (int(bad[0]) if a.ndim == 2 else None)
        raise InvalidEvent(f"expected booleans (or 0/1), got {a[tuple(bad)]!r}", field=field, offset=where)
    return np.ascontiguousarray(a == 1)


class _SleepingExperts(Learner):
    """Shared machinery of :class:`Hedge` and :class:`AdaNormalHedge`."""

    _meta_code = 0

    def _validate_n(self) -> None:
        if isinstance(self.n_experts, bool) or not isinstance(self.n_experts, numbers.Integral) or self.n_experts < 1:
            raise InvalidEvent(f"must be an integer >= 1, got {self.n_experts!r}", field="n_experts")

    def _reset(self) -> None:
        n = int(self.n_experts)
        self.R_ = np.zeros(n)
        self.C_ = np.zeros(n)
        self.t_ = 0

    def _lr(self) -> float:
        return -1.0

    # -- validation ----------------------------------------------------------------------
    @staticmethod
    def _checked_losses(L: np.ndarray, A: np.ndarray, single: bool) -> np.ndarray:
        """``L`` as float64 with sleeping entries zeroed, after the checks of every row.

        The first failing row is reported, as a loop over the rows would: no awake expert,
        else losses that are not numbers, else a non-finite loss of an awake expert.
        """
        n = L.shape[0]
        if n == 0:
            return np.zeros(L.shape)
        asleep = ~A.any(axis=1)
        if L.dtype.kind not in "fiub":
            if asleep[0]:
                raise InvalidEvent("no awake expert", field="awake", offset=None if single else 0)
            raise InvalidEvent(f"expected numbers, got dtype {L.dtype}", field="losses", offset=None if single else 0)
        Lf = L.astype(np.float64)
        bad = A & ~np.isfinite(Lf)
        failing = np.flatnonzero(asleep | bad.any(axis=1))
        if failing.size:
            i = int(failing[0])
            off = None if single else i
            if asleep[i]:
                raise InvalidEvent("no awake expert", field="awake", offset=off)
            j = int(np.flatnonzero(bad[i])[0])
            raise InvalidEvent(f"non-finite loss {Lf[i, j]!r} for an awake expert", field=f"losses[{j}]", offset=off)
        return np.where(A, Lf, 0.0)

    @staticmethod
    def _check_mix(mixture_loss, field="mixture_loss", offset=None) -> float:
        if isinstance(mixture_loss, (bool, np.bool_)) or not isinstance(mixture_loss, numbers.Real):
            raise InvalidEvent(f"expected a number, got {type(mixture_loss).__name__}", field=field, offset=offset)
        v = float(mixture_loss)
        if not np.isfinite(v):
            raise InvalidEvent(f"non-finite value {v!r}", field=field, offset=offset)
        return v

    # -- API -----------------------------------------------------------------------------
    def play(self, awake=None) -> np.ndarray:
        """Probabilities over the experts for a round with the given ``awake`` mask.

        Sleeping experts get probability 0; with no awake expert the result is all zero.
        """
        n = int(self.n_experts)
        mask = check_awake(awake, n)
        k = _kernels()
        p = np.empty(n)
        eta = k._hedge_eta(self._lr(), float(self.t_), n)
        k._meta_probs(self.R_, self.C_, mask, self._meta_code, eta, np.empty(n), p)
        return p

    def update(self, losses, awake=None, mixture_loss=None) -> None:
        """One round: awake experts' losses (sleeping entries are ignored, may be NaN).

        The learner's own loss is the expected loss ``p . losses`` under :meth:`play`'s
        probabilities, or ``mixture_loss`` when given (e.g. the loss of the weighted-average
        prediction for a convex loss). Awake experts' regrets move by
        ``loss_learner - loss_e``; sleeping experts are untouched.
        """
        n = int(self.n_experts)
        L = np.asarray(losses)
        if L.ndim != 1:
            raise InvalidEvent(f"expected {n} losses, got shape {L.shape}", field="losses")
        A = None
        if awake is not None:
            A = np.asarray(awake)
            if A.ndim != 1:
                raise InvalidEvent(f"expected a mask of length {n}, got shape {A.shape}", field="awake")
            A = A[None, :]
        M = None if mixture_loss is None else [self._check_mix(mixture_loss)]
        self.update_many(L[None, :], A, M, _single=True)

    def update_many(self, losses, awake=None, mixture_loss=None, _single=False) -> np.ndarray:
        """:meth:`update` over the rows of ``losses`` (and of the ``awake`` matrix).

        Returns the probabilities played at each row, shape ``(n, n_experts)``. Equal to the
        per-round loop bit for bit (same kernel).
        """
        n_exp = int(self.n_experts)
        L = np.asarray(losses)
        if L.ndim != 2 or L.shape[1] != n_exp:
            shape = L.shape[1:] if _single and L.ndim >= 1 else L.shape
            raise InvalidEvent(f"expected losses of shape (n, {n_exp}), got {shape}", field="losses")
        n = L.shape[0]
        if awake is None:
            A = np.ones((n, n_exp), dtype=np.bool_)
        else:
            A = np.asarray(awake)
            if A.shape != (n, n_exp):
                shape = A.shape[1:] if _single and A.ndim >= 1 else A.shape
                raise InvalidEvent(f"expected a mask of shape {(n, n_exp) if not _single else (n_exp,)}, got {shape}",
                                   field="awake")
            A = _as_bool(A, "awake", 0 if _single else None)
        Lc = self._checked_losses(L, A, _single)
        if mixture_loss is not None:
            M = np.asarray(mixture_loss)
            if M.shape != (n,):
                raise InvalidEvent(f"expected shape ({n},), got {M.shape}", field="mixture_loss")
            M = np.array([self._check_mix(m, offset=None if _single else i) for i, m in enumerate(M)])
        else:
            M = np.zeros(n)
        R, C = self.R_.copy(), self.C_.copy()
        tc = np.array([float(self.t_)])
        P = np.empty((n, n_exp))
        _kernels()._meta_run(Lc, A, M, mixture_loss is not None, R, C, tc, self._meta_code, self._lr(), P)
        self.R_, self.C_, self.t_ = R, C, int(tc[0])
        return P

    # -- conformance hooks ----------------------------------------------------------------
    def _check_grads(self, seed):
        rng = np.random.default_rng(seed)
        return [rng.random(int(self.n_experts)) for _ in range(40)]

    def _check_bad_events(self):
        n = int(self.n_experts)
        nan = np.full(n, 0.5)
        nan[0] = np.nan
        return [
            ("update", (nan,), {}),
            ("update", (np.zeros(n + 1),), {}),
            ("update", (np.zeros(n),), {"awake": np.zeros(n, dtype=bool)}),
            ("update", (np.zeros(n),), {"awake": np.ones(n + 1, dtype=bool)}),
            ("update", (np.zeros(n),), {"mixture_loss": float("inf")}),
            ("update_many", (np.zeros((3, n)),), {"awake": np.array([[True] * n, [False] * n, [True] * n])}),
        ]


class Hedge(_SleepingExperts):
    """Hedge (exponential weights) over ``n_experts`` experts, with sleeping experts.

    Each round the awake experts get probabilities ``p_e ∝ exp(eta_t R_e)``, where ``R_e``
    is expert ``e``'s *sleeping regret*: the sum, over the rounds it was awake, of
    ``loss_learner - loss_e`` (``loss_learner`` = the expected loss ``p . loss`` of those
    rounds). With every expert always awake this is exactly classic Hedge, since
    ``exp(eta R_e) ∝ exp(-eta L_e)``. Weights are normalised in log space (max-shift), so
    no ``R`` overflows.

    Parameters
    ----------
    n_experts
        Number of experts ``N``.
    lr
        Learning rate ``eta``; ``None`` uses the anytime rate ``eta_t = sqrt(8 ln N / t)``
        (``t`` = rounds so far, at least 1).

    Attributes
    ----------
    R_ : ndarray
        Sleeping regret of each expert.
    C_ : ndarray
        Sum of ``|r|`` over each expert's awake rounds (kept for symmetry with
        :class:`AdaNormalHedge`).
    t_ : int
        Rounds played.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.experts import Hedge
    >>> h = Hedge(n_experts=3, lr=0.5)
    >>> for _ in range(20):
    ...     h.update(np.array([0.9, 0.1, 0.5]))
    >>> np.round(h.play(), 3)
    array([0.   , 0.982, 0.018])
    >>> np.round(h.play(awake=np.array([True, False, True])), 3)   # expert 1 asleep
    array([0.018, 0.   , 0.982])

    Notes
    -----
    For losses in ``[0, 1]`` and a constant ``eta``, Hedge's regret to every expert is at
    most ``ln N / eta + eta T / 8`` (Freund & Schapire 1997; Cesa-Bianchi & Lugosi 2006,
    Thm. 2.2); with the anytime rate, ``O(sqrt(T ln N))``. The sleeping-experts form
    (regret measured on the rounds where the expert is awake) follows Freund, Schapire,
    Singer & Warmuth 1997 ("specialists"); the constant 8 in the anytime rate is the
    textbook's, not tuned by us.

    References
    ----------
    .. [1] Y. Freund and R. E. Schapire. A decision-theoretic generalization of on-line
       learning and an application to boosting. JCSS 55(1), 1997.
    .. [2] Y. Freund, R. E. Schapire, Y. Singer, M. K. Warmuth. Using and combining
       predictors that specialize. STOC 1997.
    """

    protocol = "experts"

    _meta_code = 1

    def __init__(self, n_experts: int = 2, lr: float | None = None):
        self.n_experts = n_experts
        self.lr = lr
        self._validate_n()
        if lr is not None and (isinstance(lr, bool) or not isinstance(lr, numbers.Real)
                               or not (np.isfinite(lr) and lr > 0)):
            raise InvalidEvent(f"must be None or a finite number > 0, got {lr!r}", field="lr")
        self.reset()

    def _lr(self) -> float:
        return -1.0 if self.lr is None else float(self.lr)

    @classmethod
    def _unit_test_params(cls):
        yield {"n_experts": 3}
        yield {"n_experts": 5, "lr": 2.0}

"""Online mirror descent and optimistic OMD (the OCO protocol: ``play()`` / ``update()``)."""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from onlinekit.base import InvalidEvent, Learner
from onlinekit.oco import geometry as geo
from onlinekit.oco._codes import HINT_GIVEN as _HINT_GIVEN
from onlinekit.oco._codes import HINTS, SCHEDULES  # noqa: F401  (re-exported)
from onlinekit.oco.losses import LinearLoss, QuadraticLoss, _Loss

__all__ = ["OMD", "OptimisticOMD"]


_K = None
_GRAD_ROUND = None  # entry point of _omd_grad_round without numba's type dispatch


def _kernels():
    global _K, _GRAD_ROUND
    if _K is None:
        from onlinekit.oco import _kernels

        fn = _kernels._omd_grad_round
        if hasattr(fn, "compile"):  # not under NUMBA_DISABLE_JIT
            from onlinekit._numba import entry_point, numba

            f8, i8 = numba.float64, numba.int64
            _GRAD_ROUND = entry_point(fn, (f8[::1], f8[:, ::1], f8[:, ::1], f8[::1], f8[::1], i8[::1]))
        else:
            _GRAD_ROUND = fn
        _K = _kernels
    return _K


def closed_form(mirror, domain) -> bool:
    """Whether the (mirror, domain) step has a numba closed form."""
    if domain.code == geo.DOMAIN_CVXPY:
        return False
    if mirror.code == geo.MIRROR_EUCLIDEAN:
        return True
    if mirror.code == geo.MIRROR_ENTROPY:
        return domain.code == geo.DOMAIN_SIMPLEX
    return domain.code == geo.DOMAIN_FREE


class BregmanProblem:
    """``argmin_{x in X} psi(x) - <theta, x>`` as one DPP CVXPY problem (built once).

    ``theta`` is a :class:`cvxpy.Parameter`; each :meth:`solve` only re-solves. ``n_compiles``
    counts how often CVXPY compiled the problem to solver data (1 when the DPP cache works);
    ``n_inaccurate`` counts solves the solver flagged as inaccurate (accepted, not warned).
    """

    def __init__(self, mirror, domain, n_dims: int, solver: str = "CLARABEL"):
        import cvxpy as cp

        self.x = cp.Variable(n_dims)
        self.theta = cp.Parameter(n_dims)
        obj = mirror._cvx_psi(cp, self.x) - self.theta @ self.x
        self.problem = cp.Problem(cp.Minimize(obj), list(domain.constraints(self.x)))
        if not self.problem.is_dpp():
            raise InvalidEvent("the domain's constraints do not give a DPP problem", field="domain")
        self.solver = solver
        # tight tolerances: the iterates feed back into the next round
        self._options = ({"tol_gap_abs": 1e-10, "tol_gap_rel": 1e-10, "tol_feas": 1e-10}
                         if solver == "CLARABEL" else {})
        self.n_solves = 0
        self.n_inaccurate = 0
        self.n_compiles = 0
        self._prog = None

    def solve(self, theta: np.ndarray) -> np.ndarray:
        import cvxpy as cp

        self.theta.value = theta
        self.n_solves += 1
        try:
            with warnings.catch_warnings():
                # "solution may be inaccurate": counted in n_inaccurate, status checked below
                warnings.simplefilter("ignore", UserWarning)
                self.problem.solve(solver=self.solver, **self._options)
        except cp.error.SolverError as exc:
            raise InvalidEvent(f"CVXPY could not solve the Bregman projection: {exc}", field="domain") from None
        prog = getattr(getattr(self.problem, "_cache", None), "param_prog", None)
        if prog is not None and prog is not self._prog:
            self.n_compiles += 1
            self._prog = prog
        if self.problem.status == "optimal_inaccurate":
            self.n_inaccurate += 1
        if self.problem.status not in ("optimal", "optimal_inaccurate"):
            raise InvalidEvent(f"Bregman projection status {self.problem.status!r} (empty domain?)", field="domain")
        return np.array(self.x.value, dtype=np.float64)


class _OMDBase(Learner):
    """Shared implementation of :class:`OMD` and :class:`OptimisticOMD`."""

    hint = None

    @staticmethod
    def _default_domain():
        return geo.L2Ball()

    # -- parameters ---------------------------------------------------------------------
    def _resolve(self) -> None:
        n = self.n_dims
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise InvalidEvent(f"must be an integer >= 1, got {n!r}", field="n_dims")
        self._configure(int(n))

    def _configure(self, n: int) -> None:
        """Validate the parameters for dimension ``n`` and build the kernel configuration."""
        mirror = geo.Euclidean() if self.mirror is None else self.mirror
        domain = self._default_domain() if self.domain is None else self.domain
        if not isinstance(mirror, geo._Mirror):
            raise InvalidEvent(f"must be a mirror map (Euclidean, NegativeEntropy, PNorm), got {mirror!r}",
                               field="mirror")
        if not isinstance(domain, geo._Domain):
            raise InvalidEvent(f"must be a domain (Simplex, L1Ball, L2Ball, Box, ...), got {domain!r}",
                               field="domain")
        domain.check_dims(int(n))
        if mirror.code == geo.MIRROR_ENTROPY:
            ok = domain.code in (geo.DOMAIN_SIMPLEX, geo.DOMAIN_CVXPY) or (
                domain.code == geo.DOMAIN_BOX and np.all(np.asarray(domain.lo) >= 0))
            if not ok:
                raise InvalidEvent("the negative entropy needs a domain inside the positive orthant "
                                   "(Simplex, a Box with lo >= 0, or a ConvexSet)", field="domain")
        if self.schedule not in SCHEDULES:
            raise InvalidEvent(f"must be one of {sorted(SCHEDULES)}, got {self.schedule!r}", field="schedule")
        if not (callable(self.hint) or (isinstance(self.hint, (str, type(None))) and self.hint in HINTS)):
            raise InvalidEvent(f"must be None, 'last', 'extra-gradient', 'given' or a callable, got {self.hint!r}",
                               field="hint")
        lam = self.strong_convexity
        if self.schedule == "strongly-convex":
            if lam is None or isinstance(lam, bool) or not isinstance(lam, numbers.Real) or not (
                    0 < lam < math.inf):
                raise InvalidEvent(f"schedule 'strongly-convex' needs a finite strong_convexity > 0, got {lam!r}",
                                   field="strong_convexity")
        elif lam is not None and (not isinstance(lam, numbers.Real) or not 0 < lam < math.inf):
            raise InvalidEvent(f"must be None or a finite number > 0, got {lam!r}", field="strong_convexity")
        if isinstance(self.delta, bool) or not isinstance(self.delta, numbers.Real) or not (
                0 < self.delta < math.inf):
            raise InvalidEvent(f"must be a finite number > 0, got {self.delta!r}", field="delta")
        lr = self.lr
        if lr is None:
            if self.schedule == "constant":
                raise InvalidEvent("schedule 'constant' needs an explicit lr", field="lr")
            if self.schedule == "strongly-convex":
                lr = 1.0
            else:
                lr = domain.diameter_of(int(n))
                if not math.isfinite(lr):
                    raise InvalidEvent("lr=None uses the domain's diameter, but the domain is unbounded "
                                       "(or its diameter unknown); give lr or a bounded domain", field="domain")
                if lr == 0.0:
                    lr = 1.0
        elif isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not (0 < lr < math.inf):
            raise InvalidEvent(f"must be None or a finite number > 0, got {lr!r}", field="lr")
        self._mirror, self._domain, self._n = mirror, domain, int(n)
        p = float(getattr(mirror, "p", 2.0))
        q = p / (p - 1.0)
        self._cfg = np.array([float(lr), p, q, domain.radius_param(), float(lam or 0.0), float(self.delta)])
        hint_code = _HINT_GIVEN if callable(self.hint) else HINTS[self.hint]
        self._icfg = np.array([mirror.code, domain.code, SCHEDULES[self.schedule], hint_code, 0, 0],
                              dtype=np.int64)
        self._bounds = np.ascontiguousarray(np.vstack(domain.bounds(int(n))))
        self._closed = closed_form(mirror, domain)
        self._icfg_lin = self._icfg.copy()
        self._icfg_lin[4] = 0
        self._fast = bool(self._closed and hint_code < 2)
        self._shape = (int(n),)
        self._strides = (8,)
        _kernels()
        self._cvx = None
        self._buf_b = np.zeros(1)
        self._buf_v = np.empty(1)
        self._buf_p = np.empty(1)
        self._noH = np.zeros((1, int(n)))

    # -- state --------------------------------------------------------------------------
    def _reset(self) -> None:
        self.iterates_ = self._initial_iterates(self._n)
        eta1 = _kernels()._eta(int(self._icfg[2]), 1.0, 0.0, 0.0, self._cfg)
        self.stats_ = np.array([0.0, eta1, 0.0, 0.0, 0.0])

    def _initial_iterates(self, d: int) -> np.ndarray:
        """``xhat_1 = argmin_X psi`` (and ``x_1 = xhat_1``, ``M_1 = 0``)."""
        V = np.zeros((4, d))
        if self._closed:
            k = _kernels()
            src = np.ones(d) if self._mirror.code == geo.MIRROR_ENTROPY else np.zeros(d)
            k._mirror_step(self._mirror.code, self._domain.code, src, np.zeros(d), 1.0, V[0], self._cfg,
                           self._bounds[0], self._bounds[1], np.empty(d))
        else:
            V[0] = self._solver().solve(np.zeros(d))
        V[1] = V[0]
        return V

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_cvx"] = None
        return state

    def _solver(self) -> BregmanProblem:
        if self._cvx is None:
            self._cvx = BregmanProblem(self._mirror, self._domain, self._n)
        return self._cvx

    @property
    def mirror_point(self) -> np.ndarray:
        """The mirror iterate ``xhat_t`` (a copy)."""
        return self.iterates_[0].copy()

    @property
    def n_rounds(self) -> int:
        """Number of updates so far."""
        return int(self.stats_[0])

    # -- protocol -----------------------------------------------------------------------
    def play(self) -> np.ndarray:
        """The point ``x_t`` to play this round (a copy)."""
        return self.iterates_[1].copy()

    def _as_rows(self, obj, field: str, block: bool):
        """``(loss code, A, b)`` from a gradient (row/rows) or a loss object."""
        if isinstance(obj, _Loss):
            A, b = obj._rows()
            code = obj.code
            if not block and obj.n_rounds != 1:
                raise InvalidEvent(f"holds {obj.n_rounds} rounds; use update_many", field=field)
        else:
            arr = np.asarray(obj)
            if arr.dtype.kind not in "fiu":
                raise InvalidEvent(f"expected a gradient array or a loss object, got {type(obj).__name__}",
                                   field=field)
            want = 2 if block else 1
            if arr.ndim != want:
                raise InvalidEvent(f"expected a {want}-d gradient array, got shape {arr.shape}", field=field)
            A = np.ascontiguousarray(arr.reshape(-1, arr.shape[-1]), dtype=np.float64)
            b = np.zeros(A.shape[0])
            code = LinearLoss.code
        if A.shape[1] != self._n:
            raise InvalidEvent(f"expected dimension {self._n}, got {A.shape[1]}", field=field)
        if not isinstance(obj, _Loss) and self._icfg[3] == HINTS["extra-gradient"]:
            raise InvalidEvent("hint='extra-gradient' needs loss objects, not raw gradients", field=field)
        return code, A, b

    def _hints_for(self, n: int, hints, field: str) -> np.ndarray:
        if callable(self.hint):
            if n != 1:
                raise InvalidEvent("a callable hint is evaluated one round at a time", field="hint")
            hints = self.hint(self.n_rounds + 2)
        if self._icfg[3] != _HINT_GIVEN:
            if hints is not None:
                raise InvalidEvent(f"hints are only accepted with hint='given' or a callable (hint={self.hint!r})",
                                   field=field)
            return self._noH
        if hints is None:
            raise InvalidEvent("hint='given' needs the next hint with every update", field=field)
        H = np.asarray(hints)
        if H.dtype.kind not in "fiu" or H.shape[-1:] != (self._n,) or H.size != n * self._n:
            raise InvalidEvent(f"expected {n} hint(s) of dimension {self._n}, got shape {H.shape}", field=field)
        H = np.ascontiguousarray(H.reshape(n, self._n), dtype=np.float64)
        if not np.all(np.isfinite(H)):
            raise InvalidEvent("non-finite hint", field=field)
        return H

    def update(self, grad, *, hint=None) -> None:
        """Finish the round: ``grad`` is the gradient at the played point or a loss object.

        ``hint`` is the next round's hint when ``hint='given'``. A rejected call (wrong
        shape, non-finite values) raises :class:`~onlinekit.InvalidEvent` and changes nothing.
        """
        if (type(grad) is np.ndarray and self._fast and hint is None and grad.dtype == np.float64
                and grad.shape == self._shape and grad.strides == self._strides):
            # iterates_, stats_ and the configs are always C-contiguous (copies are C-ordered)
            if _GRAD_ROUND(grad, self.iterates_, self._bounds, self.stats_, self._cfg, self._icfg_lin) >= 0:
                raise InvalidEvent("non-finite gradient", field="grad")
            return
        code, A, b = self._as_rows(grad, "grad", block=False)
        H = self._hints_for(1, hint, "hint")
        self._run(code, A, b, H, True)

    def update_many(self, losses, *, hints=None) -> np.ndarray:
        """Play and update for each row of a block of gradients (2-d array) or a block loss.

        Equals calling ``play()`` then ``update(row)`` per row, bit for bit. Returns the loss
        of each round at the played point (``<g_t, x_t>`` for raw gradients).
        """
        code, A, b = self._as_rows(losses, "losses", block=True)
        if callable(self.hint):
            out = np.empty(A.shape[0])
            for i in range(A.shape[0]):
                before = self.state_dict()
                try:
                    out[i] = self._run(code, A[i:i + 1], b[i:i + 1], self._hints_for(1, None, "hint"), True)[0]
                except InvalidEvent as exc:
                    self.load_state_dict(before)
                    raise exc.at(i) from None
            return out
        H = self._hints_for(A.shape[0], hints, "hints")
        return self._run(code, A, b, H, True)

    def loss_at_play(self, loss) -> float:
        """``f(x_t)`` for a loss object (or ``<g, x_t>`` for a gradient), without updating."""
        code, A, b = self._as_rows(loss, "loss", block=False)
        x = self.iterates_[1]
        g = np.empty(self._n)
        return float(_kernels()._loss_eval(code, x, A[0], b[0], self.stats_[4], g)[0])

    # -- engine -------------------------------------------------------------------------
    def _run(self, code, A, b, H, learn) -> np.ndarray:
        n = A.shape[0]
        vals, preds = np.empty(n), np.empty(n)
        if not self._closed:
            return self._run_cvx(code, A, b, H, learn, vals)
        icfg = self._icfg.copy()
        icfg[4] = code
        V, st = self.iterates_.copy(), self.stats_.copy()
        bad = _kernels()._omd_block(A, b, H, V, self._bounds, st, self._cfg, icfg, learn, vals, preds)
        if bad >= 0:
            raise InvalidEvent("non-finite value", field=f"row {bad}", offset=bad)
        self.iterates_, self.stats_ = V, st
        return vals

    def _cvx_step(self, src, g, eta):
        theta = self._mirror.grad(np.maximum(src, 1e-300) if self._mirror.code == geo.MIRROR_ENTROPY else src)
        return self._solver().solve(theta - eta * g)

    def _run_cvx(self, code, A, b, H, learn, vals):
        k = _kernels()
        bad = k._first_bad_row(A, b)
        if bad >= 0:
            raise InvalidEvent("non-finite value", field=f"row {bad}", offset=bad)
        V, st = self.iterates_.copy(), self.stats_.copy()
        cfg, mcode, sched, hint = self._cfg, int(self._icfg[0]), int(self._icfg[2]), int(self._icfg[3])
        d = self._n
        g = np.empty(d)
        for i in range(A.shape[0]):
            val, _, dz = k._loss_eval(code, V[1], A[i], b[i], st[4], g)
            vals[i] = val
            if not learn:
                continue
            eta = st[1]
            V[0] = self._cvx_step(V[0], g, eta)
            st[0] += 1.0
            st[2] += k._dual_norm_sq(mcode, g, cfg)
            st[3] += k._dual_norm_sq(mcode, g - V[3], cfg)
            V[3] = g
            st[1] = k._eta(sched, st[0] + 1.0, st[2], st[3], cfg)
            if hint == 0:
                V[1] = V[0]
                continue
            if hint == 1:
                V[2] = g
            elif hint == 2:
                m = np.empty(d)
                k._loss_eval(code, V[0], A[i], b[i], st[4], m)
                V[2] = m
            else:
                V[2] = H[i]
            V[1] = self._cvx_step(V[0], V[2], st[1])
        self.iterates_, self.stats_ = V, st
        return vals

    # -- conformance hooks --------------------------------------------------------------
    def _check_loss(self, seed, t):
        rng = np.random.default_rng([seed, t])
        if t % 2 == 0 or self._mirror.code == geo.MIRROR_ENTROPY:
            return LinearLoss(rng.normal(size=self._n))
        return QuadraticLoss(rng.normal(scale=0.5, size=self._n))

    def _check_bad_events(self):
        d = self._n
        g = np.ones(d)
        g[0] = np.nan
        return [
            ("update", (g,), {}),
            ("update", (np.ones(d + 1),), {}),
            ("update", (np.ones((2, d)),), {}),
            ("update", ("grad",), {}),
            ("update", (LinearLoss(np.ones(d + 1)),), {}),
            ("update_many", (np.array([np.ones(d), np.full(d, np.inf)]),), {}),
        ]


_PARAMS_DOC = """
    n_dims
        Dimension ``d`` of the decision ``x``.
    mirror
        Mirror map: :class:`~onlinekit.oco.Euclidean` (default), :class:`~onlinekit.oco.NegativeEntropy`
        or :class:`~onlinekit.oco.PNorm`.
    domain
        Feasible set: :class:`~onlinekit.oco.L2Ball` of radius 1 (default),
        :class:`~onlinekit.oco.Simplex`, :class:`~onlinekit.oco.L1Ball`, :class:`~onlinekit.oco.Box`,
        :class:`~onlinekit.oco.Unconstrained`, :class:`~onlinekit.oco.Polytope` or
        :class:`~onlinekit.oco.ConvexSet` (the last two through CVXPY).
    lr
        Base step size (the numerator of every schedule). ``None``: the domain's Euclidean
        diameter ``D`` (``sqrt``, ``adagrad``, ``variation``) or 1 (``strongly-convex``);
        ``constant`` needs an explicit value.
    schedule
        ``eta_t`` for round ``t`` (all use statistics of rounds ``< t`` only, so the
        optimistic play step and the mirror step share ``eta_t``):

        * ``"constant"``: ``lr``;
        * ``"sqrt"``: ``lr / sqrt(t)``;
        * ``"adagrad"``: ``lr / sqrt(delta + sum_{s<t} ||g_s||_*^2)`` (AdaGrad-norm);
        * ``"variation"``: ``lr / sqrt(delta + sum_{s<t} ||g_s - g_{s-1}||_*^2)``, ``g_0 = 0``
          (Chen et al.'s gradient-variation step size);
        * ``"strongly-convex"``: ``lr / (strong_convexity * t)``.

        ``||.||_*`` is the dual norm of the mirror map (2-norm, max-norm, q-norm).
    delta
        Offset under the square root of the adaptive schedules (> 0).
    strong_convexity
        ``lambda`` of the ``"strongly-convex"`` schedule."""


class OMD(_OMDBase):

    protocol = "oco"
    __doc__ = """Online mirror descent: ``x_{t+1} = argmin_{x in X} <eta_t g_t, x> + B_psi(x, x_t)``.

    Protocol: ``x = omd.play()``, observe the loss, ``omd.update(grad)`` (the gradient at
    ``x``) or ``omd.update(loss)`` with a loss object of :mod:`onlinekit.oco.losses`.
    ``update_many`` runs a block of rounds in one numba call.

    Parameters
    ----------""" + _PARAMS_DOC + """

    Attributes
    ----------
    iterates_ : ndarray, shape (4, n_dims)
        Rows: mirror point, play point (equal for OMD), hint (unused) and last gradient.
    stats_ : ndarray, shape (5,)
        ``[t, eta_{t+1}, sum ||g||_*^2, sum ||g_s - g_{s-1}||_*^2, intercept]``.

    Examples
    --------
    Exponentiated gradient (Hedge) over 3 experts with linear losses:

    >>> import numpy as np
    >>> from onlinekit.oco import OMD, NegativeEntropy, Simplex
    >>> hedge = OMD(n_dims=3, mirror=NegativeEntropy(), domain=Simplex(), lr=0.5, schedule="constant")
    >>> for _ in range(20):
    ...     hedge.update(np.array([1.0, 0.0, 0.5]))
    >>> np.round(hedge.play(), 3)
    array([0.   , 0.993, 0.007])

    Projected gradient descent on the unit ball (the default):

    >>> omd = OMD(n_dims=2)
    >>> losses = omd.update_many(np.tile([1.0, 1.0], (100, 1)))   # g_t = (1, 1)
    >>> np.round(omd.play(), 4)
    array([-0.7071, -0.7071])

    Notes
    -----
    With convex losses, ``||g_t||_* <= G`` and a mirror map 1-strongly convex w.r.t. the
    norm, ``schedule="sqrt"`` with ``lr = D`` gives regret ``O(D G sqrt(T))``;
    ``"strongly-convex"`` with ``lr = 1`` gives ``O(G^2 / lambda log T)`` for
    ``lambda``-strongly convex losses (Hazan 2016, Thms. 3.1 and 3.3; Orabona 2019,
    Ch. 6). These are textbook constants; the default ``delta = 1`` is ours.
    :class:`OptimisticOMD` with ``hint=None`` is this class, bit for bit.

    References
    ----------
    .. [1] A. Nemirovski, D. Yudin. Problem complexity and method efficiency in
       optimization. 1983.
    .. [2] E. Hazan. Introduction to online convex optimization. 2016.
    """

    def __init__(self, n_dims: int, mirror=None, domain=None, lr: float | None = None, schedule: str = "sqrt",
                 delta: float = 1.0, strong_convexity: float | None = None):
        self.n_dims = n_dims
        self.mirror = mirror
        self.domain = domain
        self.lr = lr
        self.schedule = schedule
        self.delta = delta
        self.strong_convexity = strong_convexity
        self._resolve()
        self.reset()

    @classmethod
    def _unit_test_params(cls):
        yield {"n_dims": 3}
        yield {"n_dims": 4, "mirror": geo.NegativeEntropy(), "domain": geo.Simplex(), "schedule": "adagrad"}
        yield {"n_dims": 3, "mirror": geo.PNorm(3.0), "domain": geo.Unconstrained(), "lr": 0.1,
               "schedule": "constant"}
        yield {"n_dims": 3, "domain": geo.Box(-0.5, 0.5), "schedule": "strongly-convex", "strong_convexity": 1.0}
        yield {"n_dims": 2, "domain": geo.Polytope(np.array([[1.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]),
                                                  np.array([1.0, 0.0, 0.0])), "lr": 0.5, "schedule": "sqrt"}


class OptimisticOMD(_OMDBase):

    protocol = "oco"
    __doc__ = """Optimistic online mirror descent (two-step form) for the SEA model.

    Round ``t``: play ``x_t = argmin_{x in X} <eta_t M_t, x> + B_psi(x, xhat_t)``, observe
    ``g_t``, then ``xhat_{t+1} = argmin_{x in X} <eta_t g_t, x> + B_psi(x, xhat_t)`` and pick
    the next hint ``M_{t+1}`` (``M_1 = 0``).

    Parameters
    ----------""" + _PARAMS_DOC + """
    hint
        Source of ``M_{t+1}``:

        * ``"last"`` (paper default): the last observed gradient ``g_t``;
        * ``"extra-gradient"``: ``grad f_t(xhat_{t+1})``, a second gradient of the last loss
          at the new mirror point (needs loss objects);
        * ``"given"``: passed by the caller, ``update(g, hint=M)`` / ``update_many(G, hints=H)``;
        * a callable ``hint(t) -> M_t`` (an external predictor);
        * ``None``: no optimism, identical to :class:`OMD` bit for bit.

    Attributes
    ----------
    iterates_ : ndarray, shape (4, n_dims)
        Rows: mirror point ``xhat``, play point ``x``, hint ``M`` and last gradient.
    stats_ : ndarray, shape (5,)
        ``[t, eta_{t+1}, sum ||g||_*^2, sum ||g_s - g_{s-1}||_*^2, intercept]``.

    Examples
    --------
    With a fixed linear loss (``sigma = Sigma = 0``) the hint is exact after one round:

    >>> import numpy as np
    >>> from onlinekit.oco import OptimisticOMD
    >>> oomd = OptimisticOMD(n_dims=2)          # unit ball, variation step size, last-gradient hint
    >>> vals = oomd.update_many(np.tile([0.6, 0.8], (50, 1)))
    >>> np.round(vals[:3], 3), np.round(oomd.play(), 3)
    (array([ 0., -1., -1.]), array([-0.6, -0.8]))

    Notes
    -----
    Chen, Yang, Zhang, Zhao (2023): with ``F_t`` convex and ``L``-smooth, ``||g|| <= G`` and
    diameter ``D``, the Euclidean map with ``eta_t = D / sqrt(delta' + 4 G^2 + sum_{s<t}
    ||g_s - g_{s-1}||^2)`` gives ``E[Regret_T] = O(sqrt(sigma^2_{1:T}) + sqrt(Sigma^2_{1:T}))``;
    here ``lr = D`` (the default) and ``delta`` stands for ``delta' + 4 G^2`` (our default 1,
    not the paper's). For ``lambda``-strongly convex ``F_t`` a step ``eta_t ~ 1/(lambda t)``
    gives ``O((sigma^2_max + Sigma^2_max) / lambda log T)``; the paper's constant in front
    of ``1/(lambda t)`` was not verified by us, ``lr`` sets it (default 1). The analysis
    cancels ``L^2 ||x_t - x_{t-1}||^2`` with OMD's stability terms, so smoothness of ``F_t``
    (not of each ``f_t``) is needed.

    References
    ----------
    .. [1] S. Chen, Y.-J. Yang, L. Zhang, P. Zhao. Optimistic online mirror descent for
       bridging stochastic and adversarial online convex optimization. ICML 2023 (JMLR 2024).
    .. [2] S. Sachs, H. Hadiji, T. van Erven, C. Guzman. Between stochastic and adversarial
       online convex optimization: improved regret bounds via smoothness. NeurIPS 2022.
    .. [3] A. Rakhlin, K. Sridharan. Online learning with predictable sequences. COLT 2013.
    """

    def __init__(self, n_dims: int, mirror=None, domain=None, lr: float | None = None,
                 schedule: str = "variation", hint="last", delta: float = 1.0,
                 strong_convexity: float | None = None):
        self.n_dims = n_dims
        self.mirror = mirror
        self.domain = domain
        self.lr = lr
        self.schedule = schedule
        self.hint = hint
        self.delta = delta
        self.strong_convexity = strong_convexity
        self._resolve()
        self.reset()

    def set_hint(self, hint) -> None:
        """Give the hint ``M_t`` of the coming round before play (``hint='given'``).

        Replaces the hint passed with the previous update and recomputes the play point
        ``x_t = argmin_{x in X} <eta_t M_t, x> + B_psi(x, xhat_t)`` with the same step as the
        update does, so ``set_hint(M); update(g, hint=N)`` then ``set_hint(N)`` leaves the
        state ``update(g, hint=N)`` alone would. A rejected hint changes nothing.

        Examples
        --------
        >>> import numpy as np
        >>> from onlinekit.oco import OptimisticOMD
        >>> o = OptimisticOMD(n_dims=2, hint="given", schedule="constant", lr=0.5)
        >>> o.set_hint(np.array([1.0, 0.0]))
        >>> o.play()
        array([-0.5,  0. ])
        """
        if self._icfg[3] != _HINT_GIVEN or callable(self.hint):
            raise InvalidEvent(f"set_hint needs hint='given' (hint={self.hint!r})", field="hint")
        M = self._hints_for(1, hint, "hint")[0].copy()
        V = self.iterates_.copy()
        V[2] = M
        if self._closed:
            _kernels()._mirror_step(self._mirror.code, self._domain.code, V[0], V[2], self.stats_[1], V[1],
                                    self._cfg, self._bounds[0], self._bounds[1], np.empty(self._n))
        else:
            V[1] = self._cvx_step(V[0], V[2], self.stats_[1])
        self.iterates_ = V

    @classmethod
    def _unit_test_params(cls):
        yield {"n_dims": 3}
        yield {"n_dims": 3, "hint": None, "schedule": "sqrt"}
        yield {"n_dims": 4, "mirror": geo.NegativeEntropy(), "domain": geo.Simplex(), "hint": "extra-gradient"}
        yield {"n_dims": 3, "domain": geo.L1Ball(2.0), "schedule": "adagrad"}

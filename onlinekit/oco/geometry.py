"""Mirror maps and domains for online mirror descent.

A *mirror map* ``psi`` fixes the geometry of an OMD step; a *domain* ``X`` is the convex set
the iterates live in. One OMD step from a point ``y`` along a (sub)gradient ``g`` is

    ``argmin_{x in X} <eta g, x> + B_psi(x, y)  =  argmin_{x in X} psi(x) - <grad psi(y) - eta g, x>``

Closed forms run in numba for: the Euclidean map on every closed-form domain (the Euclidean
projections of :mod:`onlinekit.solvers`), the negative entropy on the simplex (exponentiated
gradient / Hedge) and the p-norm map on the whole space. Every other pair, and every
:class:`ConvexSet` / :class:`Polytope` domain, is solved as one DPP CVXPY problem
``min psi(x) - <theta, x> s.t. x in X`` built once per learner, with ``theta`` a parameter.

Mirror maps and domains are small immutable parameter objects. They subclass
:class:`onlinekit.base.Learner` only to reuse its parameter handling, so a learner holding
them can be cloned and written to an archive (except :class:`ConvexSet`, whose constraint
builder is an arbitrary callable).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from onlinekit.base import InvalidEvent, Learner

__all__ = [
    "Euclidean",
    "NegativeEntropy",
    "PNorm",
    "Unconstrained",
    "Simplex",
    "L1Ball",
    "L2Ball",
    "Box",
    "Polytope",
    "ConvexSet",
]

from onlinekit.oco._codes import (  # noqa: F401  (re-exported: geo.DOMAIN_L2 etc.)
    DOMAIN_BOX,
    DOMAIN_CVXPY,
    DOMAIN_FREE,
    DOMAIN_L1,
    DOMAIN_L2,
    DOMAIN_SIMPLEX,
    MIRROR_ENTROPY,
    MIRROR_EUCLIDEAN,
    MIRROR_PNORM,
)


def _pos_number(value: Any, field: str, *, allow_inf: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidEvent(f"must be a number > 0, got {value!r}", field=field)
    v = float(value)
    if not (v > 0 and (allow_inf or math.isfinite(v))):
        raise InvalidEvent(f"must be a finite number > 0, got {value!r}", field=field)
    return v


class _Spec(Learner):
    """Parameter object: equality and hashing by type and parameters."""

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        a, b = self.get_params(), other.get_params()
        for k in a:
            va, vb = a[k], b[k]
            if isinstance(va, np.ndarray) or isinstance(vb, np.ndarray):
                if not np.array_equal(np.asarray(va), np.asarray(vb)):
                    return False
            elif va is not vb and va != vb:
                return False
        return True

    def __hash__(self) -> int:
        return hash(type(self).__name__)


# --------------------------------------------------------------------------------------------
# Mirror maps
# --------------------------------------------------------------------------------------------


class _Mirror(_Spec):
    code = -1
    p = 2.0

    def _q(self) -> float:
        return self.p / (self.p - 1.0)

    def grad(self, x):
        """The mirror map ``grad psi(x)``."""
        raise NotImplementedError  # abstract

    def grad_conj(self, theta):
        """Inverse mirror map ``grad psi*(theta)`` (unconstrained)."""
        raise NotImplementedError  # abstract

    def value(self, x) -> float:
        """``psi(x)``."""
        raise NotImplementedError  # abstract

    def bregman(self, x, y) -> float:
        """Bregman divergence ``B_psi(x, y) = psi(x) - psi(y) - <grad psi(y), x - y>``."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        return float(self.value(x) - self.value(y) - self.grad(y) @ (x - y))

    def dual_norm_sq(self, g) -> float:
        """Squared dual norm of ``g`` (the norm adaptive step sizes accumulate)."""
        raise NotImplementedError  # abstract

    def _cvx_psi(self, cp, x):
        raise NotImplementedError  # abstract


class Euclidean(_Mirror):
    """Euclidean mirror map ``psi(x) = ||x||_2^2 / 2``: OMD is projected gradient descent.

    Works with every domain; the step is ``Proj_X(y - eta g)``.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.oco import Euclidean
    >>> m = Euclidean()
    >>> m.bregman(np.array([1.0, 2.0]), np.array([0.0, 0.0]))
    2.5
    >>> m.dual_norm_sq(np.array([3.0, 4.0]))
    25.0
    """

    code = MIRROR_EUCLIDEAN

    def __init__(self):
        self.reset()

    def grad(self, x):
        return np.array(x, dtype=np.float64)

    def grad_conj(self, theta):
        return np.array(theta, dtype=np.float64)

    def value(self, x) -> float:
        x = np.asarray(x, dtype=np.float64)
        return float(0.5 * x @ x)

    def dual_norm_sq(self, g) -> float:
        g = np.asarray(g, dtype=np.float64)
        return float(g @ g)

    def _cvx_psi(self, cp, x):
        return 0.5 * cp.sum_squares(x)


class NegativeEntropy(_Mirror):
    """Negative entropy ``psi(x) = sum_i x_i log x_i - x_i``: exponentiated gradient / Hedge.

    On the :class:`Simplex` the step is ``x_i proportional to y_i exp(-eta g_i)`` (closed form);
    on other subsets of the positive orthant it is solved with CVXPY. The Bregman divergence
    is the (unnormalised) KL divergence and the dual norm is the max norm.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.oco import NegativeEntropy
    >>> m = NegativeEntropy()
    >>> round(m.bregman(np.array([0.5, 0.5]), np.array([0.9, 0.1])), 4)   # KL(x || y)
    0.5108
    >>> m.dual_norm_sq(np.array([-3.0, 1.0]))
    9.0
    """

    code = MIRROR_ENTROPY

    def __init__(self):
        self.reset()

    def grad(self, x):
        with np.errstate(divide="ignore"):
            return np.log(np.asarray(x, dtype=np.float64))

    def grad_conj(self, theta):
        return np.exp(np.asarray(theta, dtype=np.float64))

    def value(self, x) -> float:
        x = np.asarray(x, dtype=np.float64)
        pos = x > 0
        return float(np.sum(x[pos] * np.log(x[pos])) - np.sum(x))

    def dual_norm_sq(self, g) -> float:
        g = np.asarray(g, dtype=np.float64)
        return float(np.max(np.abs(g)) ** 2) if g.size else 0.0

    def _cvx_psi(self, cp, x):
        return -cp.sum(cp.entr(x)) - cp.sum(x)


class PNorm(_Mirror):
    """The p-norm mirror map ``psi(x) = ||x||_p^2 / 2`` (Gentile 2003), ``p > 1``.

    ``p = 2`` is :class:`Euclidean`; ``p`` near ``1 + 1/log(d)`` makes OMD behave like
    exponentiated gradient for sparse comparators (Shalev-Shwartz 2012, Sec. 2.8).
    The step is closed form on the whole space (:class:`Unconstrained`) and solved with
    CVXPY on other domains. The dual norm is the ``q``-norm, ``1/p + 1/q = 1``.

    Parameters
    ----------
    p
        Norm exponent, ``p > 1`` (finite).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.oco import PNorm
    >>> m = PNorm(p=3.0)
    >>> x = np.array([0.3, -1.2, 2.0])
    >>> np.allclose(m.grad_conj(m.grad(x)), x)
    True
    >>> round(m.dual_norm_sq(np.array([1.0, 1.0])), 4)   # q = 1.5: (1 + 1)^(2/1.5)
    2.5198
    """

    code = MIRROR_PNORM

    def __init__(self, p: float = 2.0):
        self.p = p
        v = _pos_number(p, "p")
        if v <= 1.0:
            raise InvalidEvent(f"must be > 1, got {p!r}", field="p")
        self.reset()

    @staticmethod
    def _link(x, r):
        nrm = np.sum(np.abs(x) ** r) ** (1.0 / r)
        if nrm == 0.0:
            return np.zeros_like(x)
        return np.sign(x) * np.abs(x) ** (r - 1.0) / nrm ** (r - 2.0)

    def grad(self, x):
        return self._link(np.asarray(x, dtype=np.float64), float(self.p))

    def grad_conj(self, theta):
        return self._link(np.asarray(theta, dtype=np.float64), self._q())

    def value(self, x) -> float:
        x = np.asarray(x, dtype=np.float64)
        return float(0.5 * np.sum(np.abs(x) ** self.p) ** (2.0 / self.p))

    def dual_norm_sq(self, g) -> float:
        g = np.asarray(g, dtype=np.float64)
        return float(np.sum(np.abs(g) ** self._q()) ** (2.0 / self._q()))

    def _cvx_psi(self, cp, x):
        return 0.5 * cp.square(cp.pnorm(x, float(self.p)))


# --------------------------------------------------------------------------------------------
# Domains
# --------------------------------------------------------------------------------------------


class _Domain(_Spec):
    code = DOMAIN_CVXPY
    #: coordinates may be appended (set to 0) without leaving the domain
    extendable = False

    def check_dims(self, n_dims: int) -> None:
        """Raise :class:`InvalidEvent` if the domain cannot live in ``R^n_dims``."""

    def diameter_of(self, n_dims: int) -> float:
        """Euclidean diameter (``inf`` when unbounded or unknown)."""
        return math.inf

    def radius_param(self) -> float:
        return 0.0

    def bounds(self, n_dims: int) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(n_dims), np.zeros(n_dims)

    def contains(self, x, tol: float = 1e-9) -> bool:
        """Whether ``x`` lies in the domain (up to ``tol``)."""
        raise NotImplementedError  # abstract

    def constraints(self, x) -> list:
        """CVXPY constraints describing the domain over the variable ``x``."""
        raise NotImplementedError  # abstract


class Unconstrained(_Domain):
    """The whole space ``R^d`` (no projection; unbounded).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.oco import Unconstrained
    >>> Unconstrained().diameter_of(3)
    inf
    """

    code = DOMAIN_FREE
    extendable = True

    def __init__(self):
        self.reset()

    def contains(self, x, tol: float = 1e-9) -> bool:
        return bool(np.all(np.isfinite(x)))

    def constraints(self, x) -> list:
        return []


class Simplex(_Domain):
    """The simplex ``{x >= 0, sum(x) = z}`` (Euclidean projection: sort-based closed form).

    Parameters
    ----------
    z
        Total mass (> 0).

    Examples
    --------
    >>> from onlinekit.oco import Simplex
    >>> round(Simplex().diameter_of(4), 4)
    1.4142
    """

    code = DOMAIN_SIMPLEX
    extendable = True

    def __init__(self, z: float = 1.0):
        self.z = z
        _pos_number(z, "z")
        self.reset()

    def diameter_of(self, n_dims: int) -> float:
        return float(self.z) * math.sqrt(2.0) if n_dims > 1 else 0.0

    def radius_param(self) -> float:
        return float(self.z)

    def contains(self, x, tol: float = 1e-9) -> bool:
        x = np.asarray(x, dtype=np.float64)
        return bool(np.all(x >= -tol) and abs(x.sum() - self.z) <= tol * max(1.0, self.z) * len(x))

    def constraints(self, x) -> list:
        import cvxpy as cp

        return [x >= 0, cp.sum(x) == float(self.z)]


class _Ball(_Domain):
    """A norm ball ``{||x|| <= radius}``: diameter ``2 radius`` in every dimension."""

    extendable = True

    def __init__(self, radius: float = 1.0):
        self.radius = radius
        _pos_number(radius, "radius")
        self.reset()

    def diameter_of(self, n_dims: int) -> float:
        return 2.0 * float(self.radius)

    def radius_param(self) -> float:
        return float(self.radius)


class L1Ball(_Ball):
    """The L1 ball ``{||x||_1 <= radius}``.

    Examples
    --------
    >>> from onlinekit.oco import L1Ball
    >>> L1Ball(radius=2.0).diameter_of(3)
    4.0
    """

    code = DOMAIN_L1

    def contains(self, x, tol: float = 1e-9) -> bool:
        return bool(np.abs(np.asarray(x, dtype=np.float64)).sum() <= self.radius * (1 + tol))

    def constraints(self, x) -> list:
        import cvxpy as cp

        return [cp.norm1(x) <= float(self.radius)]


class L2Ball(_Ball):
    """The Euclidean ball ``{||x||_2 <= radius}``.

    Examples
    --------
    >>> from onlinekit.oco import L2Ball
    >>> L2Ball(radius=1.5).diameter_of(10)
    3.0
    """

    code = DOMAIN_L2

    def contains(self, x, tol: float = 1e-9) -> bool:
        x = np.asarray(x, dtype=np.float64)
        return bool(math.sqrt(x @ x) <= self.radius * (1 + tol))

    def constraints(self, x) -> list:
        import cvxpy as cp

        return [cp.norm(x, 2) <= float(self.radius)]


class Box(_Domain):
    """The box ``{lo <= x <= hi}`` (bounds: scalars or arrays of length ``d``; finite).

    Examples
    --------
    >>> from onlinekit.oco import Box
    >>> Box(-1.0, 1.0).diameter_of(4)
    4.0
    """

    code = DOMAIN_BOX

    def __init__(self, lo: Any = -1.0, hi: Any = 1.0):
        self.lo = lo
        self.hi = hi
        for name, v in (("lo", lo), ("hi", hi)):
            arr = np.asarray(v)
            if arr.dtype.kind not in "fiu" or arr.ndim > 1 or arr.size == 0:
                raise InvalidEvent(f"must be a number or a 1-d array of numbers, got {v!r}", field=name)
            if not np.all(np.isfinite(arr)):
                raise InvalidEvent("must be finite", field=name)
        lo_a, hi_a = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
        if lo_a.ndim == 1 and hi_a.ndim == 1 and lo_a.shape != hi_a.shape:
            raise InvalidEvent(f"lo and hi have different lengths {lo_a.shape} and {hi_a.shape}", field="hi")
        if np.any(lo_a > hi_a):
            raise InvalidEvent("the box is empty: lo > hi somewhere", field="hi")
        self.extendable = bool(lo_a.ndim == 0 and hi_a.ndim == 0 and lo_a <= 0.0 <= hi_a)
        self.reset()

    def check_dims(self, n_dims: int) -> None:
        for name in ("lo", "hi"):
            arr = np.asarray(getattr(self, name))
            if arr.ndim == 1 and arr.shape[0] != n_dims:
                raise InvalidEvent(f"has length {arr.shape[0]}, expected {n_dims}", field=f"domain.{name}")

    def bounds(self, n_dims: int) -> tuple[np.ndarray, np.ndarray]:
        self.check_dims(n_dims)
        lo = np.ascontiguousarray(np.broadcast_to(np.asarray(self.lo, dtype=np.float64), (n_dims,)))
        hi = np.ascontiguousarray(np.broadcast_to(np.asarray(self.hi, dtype=np.float64), (n_dims,)))
        return lo.copy(), hi.copy()

    def diameter_of(self, n_dims: int) -> float:
        lo, hi = self.bounds(n_dims)
        return float(np.sqrt(np.sum((hi - lo) ** 2)))

    def contains(self, x, tol: float = 1e-9) -> bool:
        x = np.asarray(x, dtype=np.float64)
        lo, hi = self.bounds(len(x))
        return bool(np.all(x >= lo - tol) and np.all(x <= hi + tol))

    def constraints(self, x) -> list:
        lo, hi = self.bounds(x.shape[0])
        return [x >= lo, x <= hi]


class ConvexSet(_Domain):
    """A general convex set given by a CVXPY constraint builder (projection via DPP).

    Parameters
    ----------
    builder
        ``builder(x) -> list`` of CVXPY constraints over the variable ``x``, e.g. the
        builders :func:`onlinekit.solvers.simplex`, :func:`~onlinekit.solvers.l2_ball`,
        :func:`~onlinekit.solvers.polytope`.
    diameter
        Euclidean diameter, if known (needed when a step size defaults to ``D``).

    Notes
    -----
    A learner solves ``min psi(x) - <theta, x>`` over this set with one CVXPY problem built
    at its first use (``theta`` is a :class:`cvxpy.Parameter`), so every later round only
    re-solves. An arbitrary callable cannot be written to an ``npz`` archive; use
    :class:`Polytope` for a set that must be saved with the learner.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.oco import ConvexSet, OMD
    >>> from onlinekit.solvers import l2_ball
    >>> omd = OMD(n_dims=2, domain=ConvexSet(l2_ball(1.0), diameter=2.0), lr=1.0)
    >>> omd.update(np.array([-3.0, -4.0]))
    >>> np.round(omd.play(), 4) + 0.0
    array([0.6, 0.8])
    """

    def __init__(self, builder, diameter: float | None = None):
        self.builder = builder
        self.diameter = diameter
        if not callable(builder):
            raise InvalidEvent("must be callable: builder(x) -> list of cvxpy constraints", field="builder")
        if diameter is not None:
            _pos_number(diameter, "diameter", allow_inf=True)
        self.reset()

    def diameter_of(self, n_dims: int) -> float:
        return math.inf if self.diameter is None else float(self.diameter)

    def contains(self, x, tol: float = 1e-7) -> bool:
        import cvxpy as cp

        v = cp.Variable(len(x))
        cons = list(self.builder(v))
        v.value = np.asarray(x, dtype=np.float64)
        return all(float(np.max(np.atleast_1d(c.violation()))) <= tol for c in cons)

    def constraints(self, x) -> list:
        return list(self.builder(x))


class Polytope(_Domain):
    """The polytope ``{x : A x <= b}`` (projection via a DPP CVXPY problem).

    Unlike :class:`ConvexSet` it holds only arrays, so learners using it can be saved.

    Parameters
    ----------
    A
        Constraint matrix, shape ``(m, d)``.
    b
        Right-hand side, shape ``(m,)``.
    diameter
        Euclidean diameter, if known.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.oco import Polytope
    >>> P = Polytope(np.array([[1.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]), np.array([1.0, 0.0, 0.0]))
    >>> P.contains(np.array([0.2, 0.3])), P.contains(np.array([0.8, 0.8]))
    (True, False)
    """

    def __init__(self, A, b, diameter: float | None = None):
        self.A = A
        self.b = b
        self.diameter = diameter
        Aa, ba = np.asarray(A), np.asarray(b)
        if Aa.ndim != 2 or Aa.dtype.kind not in "fiu" or not np.all(np.isfinite(Aa)):
            raise InvalidEvent("must be a finite 2-d array", field="A")
        if ba.shape != (Aa.shape[0],) or ba.dtype.kind not in "fiu" or not np.all(np.isfinite(ba)):
            raise InvalidEvent(f"must be a finite array of shape ({Aa.shape[0]},)", field="b")
        if diameter is not None:
            _pos_number(diameter, "diameter", allow_inf=True)
        self.reset()

    def diameter_of(self, n_dims: int) -> float:
        return math.inf if self.diameter is None else float(self.diameter)

    def check_dims(self, n_dims: int) -> None:
        if np.asarray(self.A).shape[1] != n_dims:
            raise InvalidEvent(f"A has {np.asarray(self.A).shape[1]} columns, expected {n_dims}", field="domain.A")

    def contains(self, x, tol: float = 1e-9) -> bool:
        x = np.asarray(x, dtype=np.float64)
        return bool(np.all(np.asarray(self.A, dtype=float) @ x <= np.asarray(self.b, dtype=float) + tol))

    def constraints(self, x) -> list:
        return [np.asarray(self.A, dtype=np.float64) @ x <= np.asarray(self.b, dtype=np.float64)]

"""Loss objects for the OCO protocol: ``learner.update(loss)`` uses their value and gradient.

Each loss holds one round's data (1-d ``a``) or a block of rounds (2-d ``a``, one row per
round; use it with ``update_many``). The learner evaluates the gradient at the point it
played, inside its numba kernel; :meth:`value` and :meth:`grad` are the same formulas in
numpy, for users and tests.

=====================  ===================================================  ===================
loss                   ``f_t(x)``                                            ``a``, ``b``
=====================  ===================================================  ===================
:class:`LinearLoss`    ``<c, x>``                                            ``c``
:class:`QuadraticLoss` ``0.5 ||x - xi||^2`` (the SEA quadratic)              ``xi``
:class:`SquaredLoss`   ``0.5 (<a, x> - y)^2``                                features, target
:class:`LogisticLoss`  ``log(1 + exp(<a, x>)) - y <a, x>``, ``y`` in {0, 1}  features, label
:class:`HingeLoss`     ``max(0, 1 - y <a, x>)``, ``y`` in {-1, +1}           features, label
=====================  ===================================================  ===================
"""

from __future__ import annotations

import numpy as np

from onlinekit.base import InvalidEvent

__all__ = ["LinearLoss", "QuadraticLoss", "SquaredLoss", "LogisticLoss", "HingeLoss"]

# codes shared with onlinekit.oco._kernels
from onlinekit.oco._codes import LOSS_HINGE, LOSS_LINEAR, LOSS_LOG, LOSS_QUADRATIC, LOSS_SQ  # noqa: F401


def _data(a, field: str) -> np.ndarray:
    arr = np.asarray(a)
    if arr.dtype.kind not in "fiu" or arr.ndim not in (1, 2) or arr.shape[-1] == 0:
        raise InvalidEvent(f"expected a non-empty 1-d or 2-d array of numbers, got shape {arr.shape}", field=field)
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        idx = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise InvalidEvent("non-finite value", field=f"{field}{list(idx)}")
    return arr


class _Loss:
    code = -1
    _needs_target = False

    def __init__(self, a, y=None):
        self.a = _data(a, "a")
        n = self.a.shape[0] if self.a.ndim == 2 else None
        if self._needs_target:
            yv = np.asarray(y)
            shape = (n,) if n is not None else ()
            if yv.shape != shape or yv.dtype.kind not in "fiub":
                raise InvalidEvent(f"expected shape {shape}, got {yv.shape}", field="y")
            yv = yv.astype(np.float64)
            if not np.all(np.isfinite(yv)):
                raise InvalidEvent("non-finite target", field="y")
            self._check_labels(yv)
            self.y = yv
        else:
            self.y = np.zeros(n) if n is not None else np.zeros(())

    def _check_labels(self, y) -> None:
        pass

    @property
    def n_rounds(self) -> int:
        """Number of rounds held (1 for 1-d data)."""
        return self.a.shape[0] if self.a.ndim == 2 else 1

    def _rows(self) -> tuple[np.ndarray, np.ndarray]:
        if self.a.ndim == 1:
            return self.a[None, :], np.atleast_1d(self.y).astype(np.float64)
        return self.a, np.ascontiguousarray(self.y, dtype=np.float64)

    def _score(self, x):
        return self.a @ np.asarray(x, dtype=np.float64)

    def value(self, x):
        """``f_t(x)`` (an array for a block)."""
        raise NotImplementedError  # abstract

    def grad(self, x):
        """``grad f_t(x)`` (rows for a block)."""
        raise NotImplementedError  # abstract


class LinearLoss(_Loss):
    """Linear loss ``f(x) = <c, x>`` (its gradient is ``c`` everywhere).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.oco import LinearLoss
    >>> f = LinearLoss(np.array([1.0, -2.0]))
    >>> f.value(np.array([0.5, 0.5])), f.grad(np.zeros(2))
    (-0.5, array([ 1., -2.]))
    """

    code = LOSS_LINEAR

    def __init__(self, c):
        super().__init__(c)

    def value(self, x):
        return self._score(x) if self.a.ndim == 2 else float(self._score(x))

    def grad(self, x):
        return self.a.copy()


class QuadraticLoss(_Loss):
    """The SEA quadratic ``f(x) = 0.5 ||x - xi||^2`` (1-smooth, 1-strongly convex).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.oco import QuadraticLoss
    >>> f = QuadraticLoss(np.array([1.0, 1.0]))
    >>> f.value(np.zeros(2)), f.grad(np.zeros(2))
    (1.0, array([-1., -1.]))
    """

    code = LOSS_QUADRATIC

    def __init__(self, xi):
        super().__init__(xi)

    def value(self, x):
        r = np.asarray(x, dtype=np.float64) - self.a
        v = 0.5 * np.sum(r * r, axis=-1)
        return v if self.a.ndim == 2 else float(v)

    def grad(self, x):
        return np.asarray(x, dtype=np.float64) - self.a


class SquaredLoss(_Loss):
    """Squared loss of a linear prediction, ``f(x) = 0.5 (<a, x> - y)^2``.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.oco import SquaredLoss
    >>> f = SquaredLoss(np.array([1.0, 2.0]), 1.0)
    >>> f.value(np.array([1.0, 1.0])), f.grad(np.array([1.0, 1.0]))
    (2.0, array([2., 4.]))
    """

    code = LOSS_SQ
    _needs_target = True

    def value(self, x):
        r = self._score(x) - self.y
        return 0.5 * r * r if self.a.ndim == 2 else float(0.5 * r * r)

    def grad(self, x):
        r = self._score(x) - self.y
        return r[..., None] * self.a if self.a.ndim == 2 else r * self.a


class LogisticLoss(_Loss):
    """Logistic loss ``f(x) = log(1 + exp(z)) - y z`` with ``z = <a, x>``, ``y`` in {0, 1}.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.oco import LogisticLoss
    >>> f = LogisticLoss(np.array([1.0, 0.0]), 1)
    >>> round(f.value(np.zeros(2)), 4), f.grad(np.zeros(2)) + 0.0
    (0.6931, array([-0.5,  0. ]))
    """

    code = LOSS_LOG
    _needs_target = True

    def _check_labels(self, y) -> None:
        if not np.all((y == 0.0) | (y == 1.0)):
            raise InvalidEvent("logistic labels must be 0 or 1", field="y")

    def value(self, x):
        z = self._score(x)
        v = np.logaddexp(0.0, z) - self.y * z
        return v if self.a.ndim == 2 else float(v)

    def grad(self, x):
        z = self._score(x)
        r = 1.0 / (1.0 + np.exp(-z)) - self.y
        return r[..., None] * self.a if self.a.ndim == 2 else r * self.a


class HingeLoss(_Loss):
    """Hinge loss ``f(x) = max(0, 1 - y <a, x>)``, ``y`` in {-1, +1} (convex, not smooth).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.oco import HingeLoss
    >>> f = HingeLoss(np.array([1.0, 2.0]), -1)
    >>> f.value(np.array([0.5, 0.0])), f.grad(np.array([0.5, 0.0]))
    (1.5, array([1., 2.]))
    """

    code = LOSS_HINGE
    _needs_target = True

    def _check_labels(self, y) -> None:
        if not np.all((y == -1.0) | (y == 1.0)):
            raise InvalidEvent("hinge labels must be -1 or +1", field="y")

    def value(self, x):
        v = np.maximum(0.0, 1.0 - self.y * self._score(x))
        return v if self.a.ndim == 2 else float(v)

    def grad(self, x):
        active = (self.y * self._score(x) < 1.0).astype(np.float64)
        s = -self.y * active
        return s[..., None] * self.a if self.a.ndim == 2 else s * self.a


def loss_rows(obj, n_dims: int, field: str, block: bool) -> tuple[int, np.ndarray, np.ndarray]:
    """``(loss code, A, b)`` for a gradient (array: the linear loss) or a loss object.

    ``block=False`` accepts one round (a 1-d gradient or a one-round loss); ``block=True`` a
    2-d array of gradients or a multi-round loss. Shapes are checked against ``n_dims``.

    >>> code, A, b = loss_rows(np.array([1.0, 2.0]), 2, "grad", False)
    >>> A.tolist(), b.tolist(), code == LinearLoss.code
    ([[1.0, 2.0]], [0.0], True)
    """
    if isinstance(obj, _Loss):
        A, b = obj._rows()
        if not block and obj.n_rounds != 1:
            raise InvalidEvent(f"holds {obj.n_rounds} rounds; use update_many", field=field)
        code = obj.code
    else:
        arr = np.asarray(obj)
        if arr.dtype.kind not in "fiu" or arr.ndim != (2 if block else 1):
            raise InvalidEvent(f"expected a {2 if block else 1}-d gradient array or a loss object", field=field)
        A = np.ascontiguousarray(arr.reshape(-1, arr.shape[-1]), dtype=np.float64)
        b = np.zeros(A.shape[0])
        code = LinearLoss.code
    if A.shape[1] != n_dims:
        raise InvalidEvent(f"expected dimension {n_dims}, got {A.shape[1]}", field=field)
    return code, A, b

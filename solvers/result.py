"""The result record every solver in :mod:`onlinekit.solvers` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["STATUSES", "Solution"]

#: The statuses a :class:`Solution` may carry.
STATUSES = ("optimal", "optimal_inaccurate", "infeasible", "unbounded", "error")


@dataclass(frozen=True, eq=False)
class Solution:
    """Outcome of a convex solve: optimal value, primal point, duals and status.

    Infeasibility and unboundedness are statuses, not exceptions: callers check
    :attr:`ok` (or :attr:`status`) instead of catching errors.

    Parameters
    ----------
    value : float
        Optimal objective value (``inf`` when infeasible, the infimum when unbounded,
        ``nan`` on error).
    primal : numpy.ndarray or dict
        The minimiser (``dict`` of arrays / floats when there are several blocks of
        variables, such as ``{"coef": w, "intercept": b}``).
    duals : dict
        Lagrange multipliers by constraint name (possibly empty).
    status : str
        One of ``"optimal"``, ``"optimal_inaccurate"``, ``"infeasible"``,
        ``"unbounded"``, ``"error"``.
    solver : str
        Name of the method or backend that produced the result.
    iterations : int or None
        Iterations the method used, when it reports them.

    Attributes
    ----------
    ok : bool
        ``True`` when ``status`` is ``"optimal"`` or ``"optimal_inaccurate"``.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.solvers import Solution
    >>> s = Solution(1.5, np.zeros(2), {}, "optimal", "closed-form", None)
    >>> s.ok
    True
    >>> Solution(float("inf"), np.full(2, np.nan), {}, "infeasible", "cvxpy", 3).ok
    False
    """

    value: float
    primal: np.ndarray | dict[str, Any]
    duals: dict[str, Any] = field(default_factory=dict)
    status: str = "optimal"
    solver: str = ""
    iterations: int | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        object.__setattr__(self, "value", float(self.value))

    @property
    def ok(self) -> bool:
        """Whether the solve produced a (possibly inaccurate) optimal point."""
        return self.status in ("optimal", "optimal_inaccurate")

"""Differential privacy under continual observation: private counters, MaxSum, SumSelect.

Names are imported lazily so ``import onlinekit.privacy`` does not compile kernels.
Privacy is specified as data (``("pure", eps)``, ``("zcdp", rho)``, ``("approx", eps,
delta)``; see :mod:`onlinekit.privacy.accounting`); neighbouring streams differ by the
replacement of one event. The default noise is exact discrete noise from the OS CSPRNG
(compiled samplers of :mod:`onlinekit.privacy.noise`); seeded noise (``noise="seeded"``) is
for tests and experiments and gives no privacy. Several mechanisms on one stream compose
through :class:`~onlinekit.privacy.budget.Budget` / :func:`~onlinekit.privacy.budget.compose`.
"""

from onlinekit._lazy import lazy_exports

_EXPORTS = {
    "TreeCounter": "onlinekit.privacy.tree",
    "DoublingCounter": "onlinekit.privacy.doubling",
    "SqrtFactorCounter": "onlinekit.privacy.sqrt_factor",
    "OptimalFactorCounter": "onlinekit.privacy.sqrt_factor",
    "MaxSum": "onlinekit.privacy.maxsum",
    "SumSelect": "onlinekit.privacy.maxsum",
    "Guarantee": "onlinekit.privacy.accounting",
    "check_privacy": "onlinekit.privacy.accounting",
    "Budget": "onlinekit.privacy.budget",
    "BudgetExceeded": "onlinekit.privacy.budget",
    "compose": "onlinekit.privacy.budget",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)

"""Differential privacy under continual observation: private counters, MaxSum, SumSelect.

Names are imported lazily so ``import onlinekit.privacy`` does not compile kernels.
Privacy is specified as data (``("pure", eps)``, ``("zcdp", rho)``, ``("approx", eps,
delta)``; see :mod:`onlinekit.privacy.accounting`); neighbouring streams differ by the
replacement of one event. The default noise is exact discrete noise from the OS CSPRNG;
seeded noise (``noise="seeded"``) is for tests and experiments and gives no privacy.
"""

import importlib

_EXPORTS = {
    "TreeCounter": "onlinekit.privacy.tree",
    "DoublingCounter": "onlinekit.privacy.tree",
    "SqrtFactorCounter": "onlinekit.privacy.sqrt_factor",
    "OptimalFactorCounter": "onlinekit.privacy.sqrt_factor",
    "MaxSum": "onlinekit.privacy.maxsum",
    "SumSelect": "onlinekit.privacy.maxsum",
    "Guarantee": "onlinekit.privacy.accounting",
    "check_privacy": "onlinekit.privacy.accounting",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'onlinekit.privacy' has no attribute {name!r}")


def __dir__():
    return __all__

"""Lazy package exports: names are imported from their modules on first access.

Family packages use it so that ``import onlinekit.<family>`` (and listing learners) never
imports numba, cvxpy or river, and never compiles a kernel.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable, Callable, list[str]]:
    """``(__getattr__, __dir__, __all__)`` for ``package`` exporting ``{name: module}``.

    >>> ga, _, names = lazy_exports("demo", {"sqrt": "math"})
    >>> ga("sqrt")(9.0), names
    (3.0, ['sqrt'])
    """
    names = sorted(exports)

    def __getattr__(name: str):
        if name in exports:
            return getattr(importlib.import_module(exports[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return list(names)

    return __getattr__, __dir__, names

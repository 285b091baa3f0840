"""The one place numba is configured for onlinekit kernels.

Kernels are compiled with ``cache=True`` (set ``NUMBA_CACHE_DIR`` to choose where the cache
lives) and ``nogil=True``. No thread counts or other process-wide numba settings are changed.
Importing this module imports numba, so learner modules import their ``_kernels`` lazily.
"""

from __future__ import annotations

import numba

__all__ = ["njit", "numba"]


def njit(*args, **kwargs):
    """``numba.njit`` with onlinekit's defaults (``cache=True``, ``nogil=True``)."""
    kwargs.setdefault("cache", True)
    kwargs.setdefault("nogil", True)
    return numba.njit(*args, **kwargs)

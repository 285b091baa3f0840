"""The one place numba is configured for onlinekit kernels.

Kernels are compiled with ``cache=True`` (set ``NUMBA_CACHE_DIR`` to choose where the cache
lives) and ``nogil=True``. numba's cache is keyed on the file that defines a kernel and does
not notice edits to kernels it calls from other files: after changing a shared kernel during
development, clear the cache (or touch the calling module). Installed releases are unaffected
(installing rewrites every file). No thread counts or other process-wide numba settings are changed.
Importing this module imports numba, so learner modules import their ``_kernels`` lazily.
"""

from __future__ import annotations

import numba

__all__ = ["njit", "numba", "entry_point"]


def njit(*args, **kwargs):
    """``numba.njit`` with onlinekit's defaults (``cache=True``, ``nogil=True``)."""
    kwargs.setdefault("cache", True)
    kwargs.setdefault("nogil", True)
    return numba.njit(*args, **kwargs)


def entry_point(dispatcher, signature):
    """The compiled function for ``signature``, callable without numba's type dispatch.

    Per-event APIs call their kernels a million times a second; skipping argument-type
    resolution halves the call overhead. The caller must pass arguments of exactly the
    given types (e.g. C-contiguous float64 arrays): guard the call site accordingly.
    """
    if not hasattr(dispatcher, "compile"):  # NUMBA_DISABLE_JIT=1: a plain Python function
        return dispatcher
    return dispatcher.compile(tuple(signature))

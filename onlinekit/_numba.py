"""The one place numba is configured for onlinekit kernels.

Kernels are compiled with ``cache=True`` and ``nogil=True``. The cache never goes inside the
installed package (numba's default is a ``__pycache__`` beside each module, which a later
install of the same package, e.g. an editable one, would then find and import from): it goes
to ``$NUMBA_CACHE_DIR`` when that is set, else to a per-user cache folder
(``platformdirs.user_cache_dir("onlinekit")/numba``, e.g. ``~/.cache/onlinekit/numba``). numba's cache is keyed on the file that defines a kernel and does
not notice edits to kernels it calls from other files: after changing a shared kernel during
development, clear the cache (or touch the calling module). Installed releases are unaffected
(installing rewrites every file). No thread counts or other process-wide numba settings are changed.
Importing this module imports numba, so learner modules import their ``_kernels`` lazily.
"""

from __future__ import annotations

import os


def cache_dir() -> str:
    """Where compiled kernels are cached: ``$NUMBA_CACHE_DIR``, else the per-user cache folder.

    >>> import os
    >>> cache_dir() == os.environ["NUMBA_CACHE_DIR"]
    True
    """
    env = os.environ.get("NUMBA_CACHE_DIR")
    if env:
        return env
    import platformdirs

    return os.path.join(platformdirs.user_cache_dir("onlinekit", appauthor=False), "numba")


os.environ["NUMBA_CACHE_DIR"] = cache_dir()  # read by numba's config when it is first imported

import numba  # noqa: E402

numba.config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]  # in case numba was imported before us

__all__ = ["njit", "numba", "entry_point", "cache_dir"]


def njit(*args, **kwargs):
    """``numba.njit`` with onlinekit's defaults (``nogil=True``; ``cache=True`` for kernels of
    the installed ``onlinekit`` package).

    A kernel imported under another module name (a source file imported by path, e.g.
    ``pytest --doctest-modules streams/``, makes ``streams._kernels``) is not cached: numba
    keys its cache on the file, so such an entry would be found later by ``onlinekit.streams``
    and fail to load (``No module named 'streams'``).
    """
    kwargs.setdefault("nogil", True)

    def wrap(fn):
        kw = dict(kwargs)
        kw.setdefault("cache", str(getattr(fn, "__module__", "")).startswith("onlinekit."))
        return numba.njit(*args, **kw)(fn) if args else numba.njit(**kw)(fn)

    if len(args) == 1 and callable(args[0]):  # bare @njit
        fn, args = args[0], ()
        return wrap(fn)
    return wrap


def entry_point(dispatcher, signature):
    """The compiled function for ``signature``, callable without numba's type dispatch.

    Per-event APIs call their kernels a million times a second; skipping argument-type
    resolution halves the call overhead. The caller must pass arguments of exactly the
    given types (e.g. C-contiguous float64 arrays): guard the call site accordingly.
    """
    if not hasattr(dispatcher, "compile"):  # NUMBA_DISABLE_JIT=1: a plain Python function
        return dispatcher
    return dispatcher.compile(tuple(signature))

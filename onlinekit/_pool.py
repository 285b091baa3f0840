"""Process pools whose workers run one math-library thread each.

A pool of ``jobs`` workers on ``jobs`` cores is oversubscribed when each worker also starts
a full set of BLAS/OpenMP threads (every worker then fights every other for the cores). The
workers made here set ``OMP_NUM_THREADS`` and friends to 1 (for libraries loaded later and
for their own subprocesses) and cap the thread pools already loaded (numpy's OpenBLAS or MKL,
OpenMP) to one thread with threadpoolctl.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor

__all__ = ["worker_pool", "limit_threads", "blas_threads"]

_THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")
_limits = None  # keeps threadpoolctl's limiter alive in the worker


def limit_threads() -> None:
    """One math-library thread in this process (a pool worker's initializer).

    Examples
    --------
    Changes the calling process, so not run as a doctest::

        limit_threads(); assert blas_threads() in (0, 1)
    """
    global _limits
    for name in _THREAD_ENV:
        os.environ[name] = "1"
    from threadpoolctl import threadpool_limits

    _limits = threadpool_limits(limits=1)


def blas_threads() -> int:
    """The largest thread count among the loaded BLAS libraries (0 when none is loaded).

    Examples
    --------
    >>> import numpy  # loads its BLAS
    >>> blas_threads() >= 1
    True
    """
    from threadpoolctl import threadpool_info

    return max((int(i["num_threads"]) for i in threadpool_info() if i.get("user_api") == "blas"), default=0)


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    """A :class:`~concurrent.futures.ProcessPoolExecutor` of ``jobs`` workers, each limited
    to one math-library thread (:func:`limit_threads`).

    Examples
    --------
    >>> with worker_pool(1) as pool:
    ...     pool.submit(blas_threads).result()
    1
    """
    return ProcessPoolExecutor(max_workers=int(jobs), initializer=limit_threads)

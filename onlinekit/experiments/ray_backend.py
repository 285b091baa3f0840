"""Run experiment seeds (or any independent tasks) as Ray tasks (extra ``onlinekit[ray]``).

Each ``(config, seed)`` is one Ray task. A task that raises is retried (``max_retries``
times, application errors included); a seed that still fails is *reported* with its error,
never silently dropped, and the other seeds' results survive. Results come back in seed
order and are the same objects the local backend computes (each task runs the same pure
function of ``(config, seed)``), so the two backends agree bit for bit.

Without an ``address`` a local Ray instance starts with the machine's CPUs (unless Ray is
already initialised in this process, which is then used as is); with one (``"auto"``,
``"ray://host:10001"``, ``"host:6379"``), ``ray.init(address=...)`` joins that cluster.
Ray is imported only when a function here runs.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["run_seeds", "map_tasks", "ensure_ray", "ray_available"]


def ray_available() -> bool:
    """Whether Ray is installed (``pip install "onlinekit[ray]"``).

    Examples
    --------
    >>> isinstance(ray_available(), bool)
    True
    """
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def ensure_ray(address: str | None = None, num_cpus: int | None = None):
    """The ``ray`` module, initialised: joins ``address`` or starts a local instance.

    A Ray already initialised in this process is reused as is (``address`` and ``num_cpus``
    are then ignored). A local instance gets ``num_cpus`` (default: ``os.cpu_count()``).

    Examples
    --------
    Needs Ray, so not run as a doctest::

        ray = ensure_ray()                    # local instance with all CPUs
        ray = ensure_ray("ray://head:10001")  # join a cluster
    """
    try:
        import ray
    except ImportError as exc:
        raise ImportError('the Ray backend needs Ray: pip install "onlinekit[ray]"') from exc
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=int(num_cpus or os.cpu_count() or 1), include_dashboard=False, log_to_driver=False)
    return ray


def _apply(fn: Callable, shared: tuple, args: tuple) -> Any:
    return fn(*shared, *args)


def _own(obj: Any) -> Any:
    """Writable copies of the read-only arrays Ray's zero-copy deserialisation returns."""
    if isinstance(obj, np.ndarray):
        return obj if obj.flags.writeable else obj.copy()
    if isinstance(obj, dict):
        return {k: _own(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_own(v) for v in obj]
    if isinstance(obj, tuple) and type(obj) is tuple:
        return tuple(_own(v) for v in obj)
    return obj


def _describe(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)  # RayTaskError carries the original exception
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text.splitlines()[-1] if text else type(exc).__name__


def map_tasks(
    fn: Callable,
    arg_tuples: Sequence[tuple],
    *,
    shared: tuple = (),
    address: str | None = None,
    progress: bool = False,
    max_retries: int = 2,
    num_cpus: int | None = None,
    desc: str = "tasks",
) -> tuple[list[Any], list[dict]]:
    """``fn(*shared, *args)`` for each tuple ``args`` of ``arg_tuples``, one Ray task each.

    Parameters
    ----------
    fn
        A module-level function (workers import it by name).
    arg_tuples
        One argument tuple per task.
    shared
        Leading arguments common to every task (put in the object store once).
    address, num_cpus
        See :func:`ensure_ray`.
    progress
        A progress bar over finished tasks.
    max_retries
        Retries per task, for worker crashes and for exceptions raised by ``fn``.

    Returns
    -------
    results : list
        ``fn``'s result per task, in input order; ``None`` where the task failed.
    failures : list of dict
        ``{"index": i, "error": "Type: message"}`` per failed task, in input order.

    Examples
    --------
    Needs Ray, so not run as a doctest::

        results, failures = map_tasks(pow, [(2, 3), (3, 2)])   # ([8, 9], [])
    """
    ray = ensure_ray(address, num_cpus)
    remote = ray.remote(max_retries=int(max_retries), retry_exceptions=True)(_apply)
    fn_ref = ray.put(fn)
    shared_ref = ray.put(tuple(shared))
    refs = [remote.remote(fn_ref, shared_ref, tuple(a)) for a in arg_tuples]
    where = {ref: i for i, ref in enumerate(refs)}
    results: list[Any] = [None] * len(refs)
    failures: list[dict] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(refs), desc=desc, unit="task")
    pending = list(refs)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                i = where[ref]
                try:
                    results[i] = _own(ray.get(ref))
                except Exception as exc:  # the task's error after its retries
                    failures.append({"index": i, "error": _describe(exc)})
                if bar:
                    bar.update(1)
    finally:
        if bar:
            bar.close()
    failures.sort(key=lambda f: f["index"])
    return results, failures


def run_seeds(
    fn: Callable,
    config: Any,
    seeds: Sequence[int],
    address: str | None = None,
    progress: bool = False,
    *,
    max_retries: int = 2,
    num_cpus: int | None = None,
) -> tuple[list[dict | None], list[dict]]:
    """``fn(config, seed)`` for every seed, one Ray task per seed.

    Parameters
    ----------
    fn
        An experiment's ``run`` (module-level, pure in ``(config, seed)``).
    config
        The experiment config (sent once to the object store).
    seeds
        Integer seeds, e.g. :func:`onlinekit.base.spawn_seeds`.
    address, progress, max_retries, num_cpus
        See :func:`map_tasks`.

    Returns
    -------
    results : list
        One result per seed, in seed order; ``None`` for a seed that failed.
    failures : list of dict
        ``{"index": i, "seed": s, "error": "Type: message"}`` per failed seed.

    Examples
    --------
    Needs Ray, so not run as a doctest::

        from onlinekit.base import spawn_seeds
        from onlinekit.experiments import load_experiment
        mod = load_experiment("ogd-regret")
        results, failures = run_seeds(mod.run, mod.Config.quick(), spawn_seeds(0, 100))
    """
    seeds = [int(s) for s in seeds]
    results, failures = map_tasks(fn, [(s,) for s in seeds], shared=(config,), address=address, progress=progress,
                                  max_retries=max_retries, num_cpus=num_cpus, desc="seeds")
    for f in failures:
        f["seed"] = seeds[f["index"]]
    return results, failures

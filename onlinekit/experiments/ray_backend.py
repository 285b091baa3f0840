"""Run experiment seeds (or any independent tasks) as Ray tasks (extra ``onlinekit[ray]``).

Each ``(config, seed)`` is one Ray task. A task lost to a system failure (a crashed worker,
a lost node) is retried ``max_retries`` times; an exception the task raises is deterministic
in ``(config, seed)`` and is not retried (except transient I/O, :data:`RETRY_EXCEPTIONS`).
A seed that fails is *reported* with its error,
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

__all__ = ["run_seeds", "map_tasks", "ensure_ray", "probe_address", "ray_available", "RETRY_EXCEPTIONS"]


def ray_available() -> bool:
    """Whether Ray is installed (``pip install "onlinekit[ray]"``).

    Examples
    --------
    >>> isinstance(ray_available(), bool)
    True
    """
    import importlib.util

    return importlib.util.find_spec("ray") is not None


#: Seconds to wait for a cluster's address to answer before giving up.
PROBE_TIMEOUT_S = 5.0

#: Application exceptions worth retrying (transient I/O); anything else a task raises is
#: deterministic in ``(config, seed)`` and fails at once. Worker, node and object-store losses
#: are system failures that Ray retries on its own (``max_retries``).
RETRY_EXCEPTIONS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)

# HTTP/2 client preface and an empty SETTINGS frame: a gRPC server (the Ray GCS, the Ray
# Client server) answers with its own SETTINGS frame (type 0x4) before anything else.
_H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def _split_address(address: str) -> tuple[str, int]:
    rest = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"Ray address {address!r} must look like HOST:PORT or ray://HOST:PORT")
    return host.strip("[]"), int(port)


def probe_address(address: str, timeout: float = PROBE_TIMEOUT_S) -> None:
    """Check that a Ray cluster answers at ``address`` within ``timeout`` seconds.

    ``ray.init`` retries an unreachable address for ever; this fails at once instead, with
    a :class:`ConnectionError` (one line) saying what was found there. ``"auto"`` is left
    to Ray (it looks for a cluster started on this machine and fails fast without one).
    ``ray://`` addresses need Ray Client (``grpcio``, installed by the ``ray`` extra).

    Examples
    --------
    >>> probe_address("127.0.0.1:9", timeout=0.5)  # nothing listens on the discard port
    Traceback (most recent call last):
    ...
    ConnectionError: no Ray cluster at 127.0.0.1:9: ...
    """
    import socket

    if address == "auto":
        return
    if address.startswith("ray://"):
        try:
            import grpc  # noqa: F401
        except ImportError as exc:
            raise ImportError(f'{address}: ray:// addresses need Ray Client: pip install "onlinekit[ray]" '
                              '(or "ray[client]")') from exc
    elif "://" in address:
        raise ValueError(f"Ray address {address!r}: use HOST:PORT (the GCS) or ray://HOST:PORT (Ray Client)")
    host, port = _split_address(address)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        why = f"nothing answered in {timeout:g} s" if isinstance(exc, TimeoutError) else (
            exc.strerror or str(exc) or type(exc).__name__)
        raise ConnectionError(f"no Ray cluster at {address}: {why}; start one with `ray start --head` "
                              "or check the address") from None
    try:
        sock.settimeout(timeout)
        sock.sendall(_H2_PREFACE)
        head = sock.recv(9)
    except OSError:
        head = b""
    finally:
        sock.close()
    if len(head) < 9 or head[3] != 0x04:
        raise ConnectionError(f"no Ray cluster at {address}: the port is open but does not answer as Ray "
                              f"(gRPC) within {timeout:g} s; give the head's GCS port (`ray start --head --port`)"
                              " or ray://HOST:10001")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def ensure_ray(address: str | None = None, num_cpus: int | None = None):
    """The ``ray`` module, initialised: joins ``address`` or starts a local instance.

    A Ray already initialised in this process is reused as is (``address`` and ``num_cpus``
    are then ignored). A local instance gets ``num_cpus`` (default: ``os.cpu_count()``).
    An address is probed first (:func:`probe_address`), so a wrong one fails in seconds
    with a :class:`ConnectionError`; a cluster that wants token authentication gives a
    ``ConnectionError`` saying to set ``RAY_AUTH_MODE=token`` and the token. Ray's own log
    lines (its workers' output, its start-up messages) are kept off the driver's output.

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
    if ray.is_initialized():
        return ray
    import logging

    quiet = {"log_to_driver": False, "logging_level": logging.ERROR, "configure_logging": True}
    if address:
        probe_address(address)
        try:
            ray.init(address=address, **quiet)
        except Exception as exc:
            msg = _one_line(exc)
            auth = type(exc).__name__ == "AuthenticationError" or any(
                w in msg.lower() for w in ("unauthenticated", "authentication", "auth token"))
            if auth:
                raise ConnectionError(f"the Ray cluster at {address} needs token authentication: set "
                                      "RAY_AUTH_MODE=token and RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH) to the "
                                      f"cluster's token ({msg})") from None
            if isinstance(exc, (ConnectionError, TimeoutError)):
                raise ConnectionError(f"could not join the Ray cluster at {address}: {msg}") from None
            raise
    else:
        ray.init(num_cpus=int(num_cpus or os.cpu_count() or 1), include_dashboard=False, **quiet)
    _raylet_notices_to_stderr()
    return ray


def _raylet_notices_to_stderr() -> None:
    """Ray's driver prints the cluster's error notices (``(raylet) Task ... failed. There are
    2 retries remaining ...`` with a traceback) on *stdout*, from a background thread, even
    with ``log_to_driver=False``; there they interleave with the table a command prints.
    Send their first line to stderr instead (final failures are reported by
    :func:`map_tasks`)."""
    import sys

    try:
        from ray._private import worker
    except ImportError:  # pragma: no cover - Ray's layout changed; leave it as it is
        return
    orig = getattr(worker, "print_to_stdstream", None)
    if orig is None or getattr(orig, "_onlinekit", False):
        return

    def to_stderr(data, *args, **kwargs):
        if data.get("pid") == "raylet" and not data.get("is_err"):
            for line in data.get("lines", []):
                first = str(line).strip().splitlines()
                if first:
                    print(f"ray: {first[0]}", file=sys.stderr)
            return None
        return orig(data, *args, **kwargs)

    to_stderr._onlinekit = True
    worker.print_to_stdstream = to_stderr


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
    max_in_flight: int | None = None,
    on_result: Callable[[int, Any], None] | None = None,
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
        Retries per task after a system failure (worker crash, lost node or object) or an
        exception in :data:`RETRY_EXCEPTIONS`; any other exception ``fn`` raises is
        deterministic and fails the task at once.
    max_in_flight
        At most this many tasks submitted at a time (``None``: all at once, Ray schedules
        them on the cluster's CPUs).
    on_result
        ``on_result(i, result)`` in the driver as soon as task ``i`` succeeds (e.g. to write
        it to disk), in finishing order.

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
    if max_in_flight is not None and int(max_in_flight) < 1:
        raise ValueError(f"max_in_flight must be >= 1, got {max_in_flight}")
    ray = ensure_ray(address, num_cpus)
    remote = ray.remote(max_retries=int(max_retries), retry_exceptions=list(RETRY_EXCEPTIONS))(_apply)
    fn_ref = ray.put(fn)
    shared_ref = ray.put(tuple(shared))
    todo = [(i, tuple(a)) for i, a in enumerate(arg_tuples)]
    todo.reverse()
    window = len(todo) if max_in_flight is None else int(max_in_flight)
    results: list[Any] = [None] * len(todo)
    failures: list[dict] = []
    where: dict = {}
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc=desc, unit="task")
    pending: list = []
    try:
        while todo or pending:
            while todo and len(pending) < window:
                i, a = todo.pop()
                ref = remote.remote(fn_ref, shared_ref, a)
                where[ref] = i
                pending.append(ref)
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                i = where.pop(ref)
                try:
                    results[i] = _own(ray.get(ref))
                except Exception as exc:  # the task's error after its retries
                    failures.append({"index": i, "error": _describe(exc)})
                else:
                    if on_result is not None:
                        on_result(i, results[i])
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
    max_in_flight: int | None = None,
    on_result: Callable[[int, Any], None] | None = None,
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
    address, progress, max_retries, num_cpus, max_in_flight, on_result
        See :func:`map_tasks` (``on_result(i, result)`` with ``i`` the seed's index).

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
                                  max_retries=max_retries, num_cpus=num_cpus, desc="seeds",
                                  max_in_flight=max_in_flight, on_result=on_result)
    for f in failures:
        f["seed"] = seeds[f["index"]]
    return results, failures

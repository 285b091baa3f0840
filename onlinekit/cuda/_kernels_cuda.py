"""numba.cuda kernels of the batch APIs: one GPU thread per run (private).

Imported only when a batch API is called with ``device="cuda"``. The per-run bodies are the
ones of :mod:`onlinekit.cuda._bodies`, compiled as device functions, so the arithmetic is the
CPU path's (up to fused multiply-adds and the GPU's ``exp``/``log``). Each launcher below
has the signature of the CPU kernel of the same name and the same host arrays in and out.

Layout. On the device every per-run array has the run as its *last* (fastest-varying) axis:
run ``r``'s weights are ``W[:, r]`` of a ``(d, R)`` array, its stream ``X[:, s]`` of a
``(T, S)`` one. Thread ``r`` reads ``W[j, r]`` while thread ``r + 1`` reads ``W[j, r + 1]``,
the neighbouring address, so the loads of a warp coalesce into few transactions (with one
row per run they were ``d`` or ``T`` elements apart). Inputs shared by all runs (``X``,
``G``) are read at the same address by every thread (a broadcast) and keep their layout.
The launchers transpose on the host, where it costs one pass over memory.

Launch. Kernels loop over runs with a grid stride, so any grid is correct; the grid is sized
to fill the device: at least one block per multiprocessor when there are runs enough, with
blocks of 32 to 256 threads (:func:`launch_shape`).

Inputs that stay on the device across calls: a :class:`~onlinekit.cuda.batch.Resident` input
carries its device copy, made on first use and reused by every later call.

Run the tests of this module without a GPU under the simulator (``NUMBA_ENABLE_CUDASIM=1``).
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from onlinekit.cuda import _bodies

MAX_THREADS = 256
MIN_THREADS = 32

_ogd_run = cuda.jit(device=True)(_bodies.ogd_run)
_entropic_run = cuda.jit(device=True)(_bodies.entropic_run)
_tree_run = cuda.jit(device=True)(_bodies.tree_run)
_best_perm_run = cuda.jit(device=True)(_bodies.best_perm_run)


@cuda.jit
def _ogd_kernel(X, y, lrs, schedule, loss, radius, l2, intercept, W, BT, total):
    for r in range(cuda.grid(1), lrs.shape[0], cuda.gridsize(1)):
        total[r] = _ogd_run(X, y, lrs[r], schedule, loss, radius, l2, intercept, W[:, r], BT[:, r])


@cuda.jit
def _entropic_kernel(G, lrs, schedule, z, Xs, TMP, BUF, U, use_u, expected, realized):
    for r in range(cuda.grid(1), lrs.shape[0], cuda.gridsize(1)):
        e, s = _entropic_run(G, lrs[r], schedule, z, Xs[:, r], TMP[:, r], BUF[:, r], U[:, r if use_u else 0], use_u)
        expected[r] = e
        realized[r] = s


@cuda.jit
def _tree_kernel(X, noise, scale, w, honaker, LE, LS, out, write_out, max_err, sq_err):
    for s in range(cuda.grid(1), X.shape[1], cuda.gridsize(1)):
        a, b = _tree_run(X[:, s], noise[:, s], scale, w, honaker, LE[:, s], LS[:, s], out[:, s if write_out else 0],
                         write_out)
        max_err[s] = a
        sq_err[s] = b


@cuda.jit
def _best_perm_kernel(Q, W, w_bot, m, tol, F, order, values, lists, lengths):
    for s in range(cuda.grid(1), Q.shape[1], cuda.gridsize(1)):
        v, ln = _best_perm_run(Q[:, s], W[:, s], w_bot[s], m, tol, F[:, :, s], order[:, s], lists[:, s])
        values[s] = v
        lengths[s] = ln


def _multiprocessors() -> int:
    try:
        return max(1, int(getattr(cuda.get_current_device(), "MULTIPROCESSOR_COUNT", 1)))
    except Exception:  # pragma: no cover - the simulator or an odd driver
        return 1


def launch_shape(n_runs: int, n_sm: int | None = None) -> tuple[int, int]:
    """``(blocks, threads)`` for ``n_runs`` runs on a device with ``n_sm`` multiprocessors.

    Threads per block: the largest power of two in ``[32, 256]`` that still gives every
    multiprocessor a block (so few runs spread over the device instead of filling a few
    blocks); blocks: enough for one thread per run.

    Examples
    --------
    >>> launch_shape(1000, n_sm=132), launch_shape(10**6, n_sm=132), launch_shape(5, n_sm=132)
    ((32, 32), (3907, 256), (1, 32))
    """
    sm = _multiprocessors() if n_sm is None else int(n_sm)
    threads = MAX_THREADS
    while threads > MIN_THREADS and (n_runs + threads - 1) // threads < sm:
        threads //= 2
    return max(1, (n_runs + threads - 1) // threads), threads


def _dev(a: np.ndarray):
    return cuda.to_device(np.ascontiguousarray(a))


def _shared(a):
    """Device copy of an input shared by all runs (a Resident's kept copy when given)."""
    return a.on_device() if hasattr(a, "on_device") else _dev(a)


def _per_run(a):
    """Device copy of a run-first ``(R, …)`` input in run-last layout ``(…, R)``."""
    return a.on_device(run_last=True) if hasattr(a, "on_device") else _dev(np.moveaxis(a, 0, -1))


def _back_T(dev, host) -> None:
    """Copy a run-last ``(…, R)`` device array into a run-first host array."""
    host[...] = np.moveaxis(dev.copy_to_host(), -1, 0)


def ogd_many(X, y, lrs, schedule, loss, radius, l2, intercept, W, BT, total):
    R = lrs.shape[0]
    dW, dBT, dtot = _dev(W.T), _dev(BT.T), _dev(total)
    _ogd_kernel[launch_shape(R)](_shared(X), _shared(y), _dev(lrs), schedule, loss, radius, l2, intercept,
                                 dW, dBT, dtot)
    _back_T(dW, W)
    _back_T(dBT, BT)
    total[...] = dtot.copy_to_host()


def entropic_many(G, lrs, schedule, z, Xs, U, use_u, expected, realized):
    R, d = Xs.shape
    dX, de, dr = _dev(Xs.T), _dev(expected), _dev(realized)
    TMP = cuda.device_array((d, R), dtype=np.float64)
    BUF = cuda.device_array((d, R), dtype=np.float64)
    _entropic_kernel[launch_shape(R)](_shared(G), _dev(lrs), schedule, z, dX, TMP, BUF, _dev(U.T), use_u, de, dr)
    _back_T(dX, Xs)
    expected[...] = de.copy_to_host()
    realized[...] = dr.copy_to_host()


def tree_many(X, noise, scale, w, honaker, L, out, write_out, max_err, sq_err):
    S = X.shape[0]
    LE = cuda.to_device(np.zeros((L, S)))
    LS = cuda.to_device(np.zeros((L, S)))
    dout, dm, ds = _dev(out.T), _dev(max_err), _dev(sq_err)
    _tree_kernel[launch_shape(S)](_per_run(X), _per_run(noise), scale, _dev(w), honaker, LE, LS, dout, write_out, dm, ds)
    if write_out:
        _back_T(dout, out)
    max_err[...] = dm.copy_to_host()
    sq_err[...] = ds.copy_to_host()


def best_perm_many(Q, W, w_bot, m, tol, values, lists, lengths):
    S, n = Q.shape
    F = cuda.device_array((n + 1, m + 1, S), dtype=np.float64)
    order = cuda.device_array((max(n, 1), S), dtype=np.int64)
    dv, dl, dn = _dev(values), _dev(lists.T), _dev(lengths)
    _best_perm_kernel[launch_shape(S)](_per_run(Q), _per_run(W), _dev(w_bot), m, tol, F, order, dv, dl, dn)
    values[...] = dv.copy_to_host()
    _back_T(dl, lists)
    lengths[...] = dn.copy_to_host()

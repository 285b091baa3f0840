"""numba.cuda kernels of the batch APIs: one GPU thread per run (private).

Imported only when a batch API is called with ``device="cuda"``. The per-run bodies are the
ones of :mod:`onlinekit.cuda._bodies`, compiled as device functions, so the arithmetic is the
CPU path's (up to fused multiply-adds and the GPU's ``exp``/``log``). Each launcher below
has the signature of the CPU kernel of the same name: it copies the inputs to the device,
launches one thread per run and copies the outputs back into the given host arrays. Run the
tests of this module without a GPU under the simulator (``NUMBA_ENABLE_CUDASIM=1``).
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from onlinekit.cuda import _bodies

THREADS = 128

_ogd_run = cuda.jit(device=True)(_bodies.ogd_run)
_entropic_run = cuda.jit(device=True)(_bodies.entropic_run)
_tree_run = cuda.jit(device=True)(_bodies.tree_run)
_best_perm_run = cuda.jit(device=True)(_bodies.best_perm_run)


@cuda.jit
def _ogd_kernel(X, y, lrs, schedule, loss, radius, l2, intercept, W, BT, total):
    r = cuda.grid(1)
    if r < lrs.shape[0]:
        total[r] = _ogd_run(X, y, lrs[r], schedule, loss, radius, l2, intercept, W[r], BT[r])


@cuda.jit
def _entropic_kernel(G, lrs, schedule, z, Xs, TMP, BUF, U, use_u, expected, realized):
    r = cuda.grid(1)
    if r < lrs.shape[0]:
        e, s = _entropic_run(G, lrs[r], schedule, z, Xs[r], TMP[r], BUF[r], U[r if use_u else 0], use_u)
        expected[r] = e
        realized[r] = s


@cuda.jit
def _tree_kernel(X, noise, scale, w, honaker, LE, LS, out, write_out, max_err, sq_err):
    s = cuda.grid(1)
    if s < X.shape[0]:
        a, b = _tree_run(X[s], noise[s], scale, w, honaker, LE[s], LS[s], out[s if write_out else 0], write_out)
        max_err[s] = a
        sq_err[s] = b


@cuda.jit
def _best_perm_kernel(Q, W, w_bot, m, tol, F, order, values, lists, lengths):
    s = cuda.grid(1)
    if s < Q.shape[0]:
        v, ln = _best_perm_run(Q[s], W[s], w_bot[s], m, tol, F[s], order[s], lists[s])
        values[s] = v
        lengths[s] = ln


def _grid(n: int) -> tuple[int, int]:
    return max(1, (n + THREADS - 1) // THREADS), THREADS


def _back(dev, host) -> None:
    host[...] = dev.copy_to_host()


def ogd_many(X, y, lrs, schedule, loss, radius, l2, intercept, W, BT, total):
    dW, dBT, dtot = cuda.to_device(W), cuda.to_device(BT), cuda.to_device(total)
    _ogd_kernel[_grid(lrs.shape[0])](cuda.to_device(X), cuda.to_device(y), cuda.to_device(lrs), schedule, loss,
                                     radius, l2, intercept, dW, dBT, dtot)
    _back(dW, W)
    _back(dBT, BT)
    _back(dtot, total)


def entropic_many(G, lrs, schedule, z, Xs, U, use_u, expected, realized):
    R, d = Xs.shape
    dX, de, dr = cuda.to_device(Xs), cuda.to_device(expected), cuda.to_device(realized)
    TMP = cuda.device_array((R, d), dtype=np.float64)
    BUF = cuda.device_array((R, d), dtype=np.float64)
    _entropic_kernel[_grid(R)](cuda.to_device(G), cuda.to_device(lrs), schedule, z, dX, TMP, BUF,
                               cuda.to_device(U), use_u, de, dr)
    _back(dX, Xs)
    _back(de, expected)
    _back(dr, realized)


def tree_many(X, noise, scale, w, honaker, L, out, write_out, max_err, sq_err):
    S = X.shape[0]
    LE = cuda.to_device(np.zeros((S, L)))
    LS = cuda.to_device(np.zeros((S, L)))
    dout, dm, ds = cuda.to_device(out), cuda.to_device(max_err), cuda.to_device(sq_err)
    _tree_kernel[_grid(S)](cuda.to_device(X), cuda.to_device(noise), scale, cuda.to_device(w), honaker, LE, LS,
                           dout, write_out, dm, ds)
    if write_out:
        _back(dout, out)
    _back(dm, max_err)
    _back(ds, sq_err)


def best_perm_many(Q, W, w_bot, m, tol, values, lists, lengths):
    S, n = Q.shape
    F = cuda.device_array((S, n + 1, m + 1), dtype=np.float64)
    order = cuda.device_array((S, max(n, 1)), dtype=np.int64)
    dv, dl, dn = cuda.to_device(values), cuda.to_device(lists), cuda.to_device(lengths)
    _best_perm_kernel[_grid(S)](cuda.to_device(Q), cuda.to_device(W), cuda.to_device(w_bot), m, tol, F, order,
                                dv, dl, dn)
    _back(dv, values)
    _back(dl, lists)
    _back(dn, lengths)

"""The numba.cuda kernels under the CUDA simulator (tiny sizes), compared with the CPU path.

The simulator must be switched on before ``numba.cuda`` is first imported, so the checks run
in a subprocess with ``NUMBA_ENABLE_CUDASIM=1`` (this file run as a script); the test process
itself never imports ``numba.cuda``. Under the simulator the device code runs as Python with
the same arithmetic, so results must be equal bit for bit.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest


def _checks() -> dict:
    from onlinekit.cuda import best_perm_many, cuda_available, hedge_many, ogd_many, tree_counter_many, tree_noise

    rng = np.random.default_rng(7)
    out = {"available": cuda_available()}
    X = rng.normal(size=(25, 5))
    y = X @ rng.normal(size=5)
    lrs = np.array([0.01, 0.05, 0.1])
    for name, kw, yy in [("ogd", {"schedule": "sqrt", "radius": 1.0, "l2": 0.01}, y),
                         ("ogd_logistic", {"loss": "logistic", "intercept": False}, (y > 0).astype(float))]:
        a, b = ogd_many(X, yy, lrs, **kw), ogd_many(X, yy, lrs, device="cuda", **kw)
        out[name] = all(np.array_equal(a[k], b[k]) for k in a)
    G = rng.random((15, 4))
    G[3] = [0.0, 400.0, 800.0, 900.0]  # exercises the log-space fallback at large steps
    U = rng.random((3, 15))
    a = hedge_many(G, [0.5, 2.0, 9.0], schedule="sqrt", uniforms=U)
    b = hedge_many(G, [0.5, 2.0, 9.0], schedule="sqrt", uniforms=U, device="cuda")
    out["hedge"] = all(np.array_equal(a[k], b[k]) for k in a)
    ha = a
    Xs = rng.random((3, 11))
    Z = tree_noise([1, 2, 3], 11)
    ok = True
    for hon in (False, True):
        for rel in (False, True):
            a = tree_counter_many(Xs, Z, scale=0.8, honaker=hon, releases=rel)
            b = tree_counter_many(Xs, Z, scale=0.8, honaker=hon, releases=rel, device="cuda")
            ok &= all((a[k] is None and b[k] is None) or np.array_equal(a[k], b[k]) for k in a)
    out["tree"] = bool(ok)
    Q, W = rng.random((6, 5)), rng.random((6, 5))
    wb = rng.random(6) * 0.3
    W[0] = 0.0  # no candidate
    W[1, :3] = 0.5  # ties
    a, b = best_perm_many(Q, W, wb, 3), best_perm_many(Q, W, wb, 3, device="cuda")
    out["best_perm"] = all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    # inputs kept on the device: one copy, reused by later calls, same results
    from onlinekit.cuda import resident

    Gr = resident(G)
    b1 = hedge_many(Gr, [0.5, 2.0, 9.0], schedule="sqrt", uniforms=U, device="cuda")
    first = Gr.on_device()
    b2 = hedge_many(Gr, [0.3, 1.0, 4.0], device="cuda")
    a2 = hedge_many(G, [0.3, 1.0, 4.0])
    Zr = resident(Z)
    t1 = tree_counter_many(Xs, Zr, scale=0.8, device="cuda")
    t0 = tree_counter_many(Xs, Z, scale=0.8)
    out["resident"] = bool(Gr.on_device() is first and all(np.array_equal(ha[k], b1[k]) for k in ha)
                           and all(np.array_equal(a2[k], b2[k]) for k in a2)
                           and all(np.array_equal(t0[k], t1[k]) for k in t0)
                           and sorted(Gr._device) == [False] and sorted(Zr._device) == [True])
    # runs along the last axis; more runs than threads launched: the grid-stride loop covers all
    from onlinekit.cuda import _kernels_cuda

    layout = _kernels_cuda._per_run(np.zeros((3, 5))).shape == (5, 3)
    real = _kernels_cuda.launch_shape
    _kernels_cuda.launch_shape = lambda n: (2, 4)
    try:
        many = np.geomspace(1e-3, 0.1, 19)
        a, b = ogd_many(X, y, many), ogd_many(X, y, many, device="cuda")
    finally:
        _kernels_cuda.launch_shape = real
    out["grid_stride"] = bool(layout and all(np.array_equal(a[k], b[k]) for k in a))
    return out


@pytest.fixture(scope="module")
def sim_results():
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    r = subprocess.run([sys.executable, __file__], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_simulator_is_on(sim_results):
    assert sim_results["available"] is True


@pytest.mark.parametrize("kernel", ["ogd", "ogd_logistic", "hedge", "tree", "best_perm", "resident",
                                    "grid_stride"])
def test_cuda_kernel_equals_cpu_under_simulator(sim_results, kernel):
    assert sim_results[kernel] is True


if __name__ == "__main__":
    import warnings

    warnings.simplefilter("error")
    print(json.dumps(_checks()))

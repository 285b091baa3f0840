"""GPU check: the CUDA batch kernels against the CPU path on fresh seeds, and their speed.

Run wherever a CUDA GPU is lent (``pip install -e ".[cuda]"``)::

    python benchmarks/gpu_check.py                 # fresh seed, printed; < 5 minutes
    python benchmarks/gpu_check.py --seed 123      # repeat a run
    NUMBA_ENABLE_CUDASIM=1 python benchmarks/gpu_check.py --simulator   # tiny sizes, no GPU

For each kernel (OGD, Hedge with sampling, the tree counter, BestPerm) it draws inputs from
the seed, runs every run on the GPU and a slice of the runs on the CPU (the reference), and
checks agreement: bit for bit under the simulator, relative error <= 1e-9 on a GPU (which may
fuse multiply-adds and has its own ``exp``/``log``); BestPerm's lists must be identical. It
reports runs per second on each device (the GPU figure includes the host<->device copies;
compile time is excluded: each kernel is warmed on a tiny call first). Writes
``benchmarks/results/gpu_check.json``. Exit status: 0 when everything agrees (or when there
is no GPU: it says so and skips), 1 when a kernel disagrees.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

RTOL = 1e-9
#: (runs on the GPU, CPU runs, size) per kernel; the simulator gets tiny sizes. Host memory at
#: GPU sizes: Hedge's uniforms 0.3 GB, the tree's streams and noise 0.4 GB.
SIZES = {
    "gpu": {"ogd": (8192, 128, 20_000), "hedge": (4096, 128, 10_000), "tree": (4096, 256, 4096),
            "best_perm": (200_000, 20_000, 20)},
    "simulator": {"ogd": (40, 40, 30), "hedge": (40, 40, 30), "tree": (24, 24, 19), "best_perm": (30, 30, 6)},
}


def _simulator() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = np.maximum(np.abs(b), 1e-300)
    return float(np.max(np.abs(a - b) / scale)) if a.size else 0.0


def _agree(gpu: dict, cpu: dict, exact: bool) -> tuple[bool, float]:
    worst = 0.0
    ok = True
    for k, v in cpu.items():
        if v is None:
            continue
        g = np.asarray(gpu[k])[: len(v)]
        if exact or v.dtype.kind in "iu":
            ok &= bool(np.array_equal(g, v))
        worst = max(worst, _rel(g, v))
    return ok and (exact or worst <= RTOL), worst


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def check(seed: int, sizes: dict, exact: bool) -> dict:
    from onlinekit.cuda import best_perm_many, hedge_many, ogd_many, resident, tree_counter_many, tree_noise

    rng = np.random.default_rng(seed)
    out: dict = {}

    def record(name, R, Rc, tg, tc, gres, cres, extra=None):
        ok, worst = _agree(gres, cres, exact)
        out[name] = {"runs": R, "cpu_runs": Rc, "agree": ok, "max_rel_diff": worst, "gpu_runs_per_s": R / tg,
                     "cpu_runs_per_s": Rc / tc, "speedup": (R / tg) / (Rc / tc), **(extra or {})}
        print(f"{name:<10} agree={ok} max_rel_diff={worst:.2e} gpu {R / tg:,.0f} runs/s, cpu {Rc / tc:,.0f} runs/s",
              flush=True)

    # OGD: R step sizes over one stream (kept on the device)
    R, Rc, n = sizes["ogd"]
    d = 10
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 0.1 * rng.normal(size=n)
    lrs = np.geomspace(1e-5, 1e-2, R)
    Xr, yr = resident(X), resident(y, ndim=1, field="y")
    ogd_many(X[:4], y[:4], lrs[:2], device="cuda")
    ogd_many(X[:4], y[:4], lrs[:2])
    tg, g = _timed(lambda: ogd_many(Xr, yr, lrs, schedule="sqrt", radius=5.0, device="cuda"))
    idx = np.linspace(0, R - 1, Rc).astype(int)
    tc, c = _timed(lambda: ogd_many(X, y, lrs[idx], schedule="sqrt", radius=5.0))
    record("ogd", R, Rc, tg, tc, {k: v[idx] for k, v in g.items()}, c, {"rounds": n, "d": d})
    # Hedge with sampling: R (step size, seed) pairs
    R, Rc, T = sizes["hedge"]
    k = 8
    G = rng.random((T, k))
    lrs = np.geomspace(1e-3, 1.0, R)
    U = rng.random((R, T))
    hedge_many(G[:4], lrs[:2], uniforms=U[:2, :4], device="cuda")
    hedge_many(G[:4], lrs[:2], uniforms=U[:2, :4])
    tg, g = _timed(lambda: hedge_many(resident(G), lrs, uniforms=U, device="cuda"))
    idx = np.linspace(0, R - 1, Rc).astype(int)
    tc, c = _timed(lambda: hedge_many(G, lrs[idx], uniforms=U[idx]))
    record("hedge", R, Rc, tg, tc, {kk: v[idx] for kk, v in g.items()}, c, {"rounds": T, "d": k})
    # tree counter: S streams with seeded noise
    S, Sc, T = sizes["tree"]
    Xs = rng.random((S, T))
    Z = tree_noise(rng.integers(0, 2**32, size=S).tolist(), T)
    tree_counter_many(Xs[:2, :3], Z[:2], scale=1.0, device="cuda")
    tree_counter_many(Xs[:2, :3], Z[:2], scale=1.0)
    tg, g = _timed(lambda: tree_counter_many(Xs, Z, scale=3.0, honaker=True, releases=False, device="cuda"))
    tc, c = _timed(lambda: tree_counter_many(Xs[:Sc], Z[:Sc], scale=3.0, honaker=True, releases=False))
    record("tree", S, Sc, tg, tc, g, c, {"T": T})
    # BestPerm over many states
    S, Sc, N = sizes["best_perm"]
    m = 4
    Q, W, wb = rng.random((S, N)), rng.random((S, N)), rng.random(S) * 0.3
    best_perm_many(Q[:2], W[:2], wb[:2], m, device="cuda")
    best_perm_many(Q[:2], W[:2], wb[:2], m)
    tg, g = _timed(lambda: best_perm_many(Q, W, wb, m, device="cuda"))
    tc, c = _timed(lambda: best_perm_many(Q[:Sc], W[:Sc], wb[:Sc], m))
    names = ("values", "lists", "lengths")
    record("best_perm", S, Sc, tg, tc, dict(zip(names, g, strict=True)), dict(zip(names, c, strict=True)),
           {"N": N, "m": m})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=None, help="root seed (default: fresh, printed)")
    ap.add_argument("--simulator", action="store_true", help="run under NUMBA_ENABLE_CUDASIM=1 at tiny sizes")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from onlinekit.cuda import cuda_available

    sim = _simulator()
    if sim and not args.simulator:
        print("gpu_check: skipped: the CUDA simulator is on (NUMBA_ENABLE_CUDASIM=1); add --simulator for a "
              "tiny-size run, or unset it on a machine with a GPU")
        return 0
    if args.simulator and not sim:
        print("gpu_check: --simulator needs NUMBA_ENABLE_CUDASIM=1 in the environment", file=sys.stderr)
        return 2
    if not cuda_available():
        print("gpu_check: skipped: no CUDA GPU here (numba.cuda.is_available() is False); "
              'run it where a GPU is lent, after pip install -e ".[cuda]"')
        return 0
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 2**63)
    mode = "simulator" if sim else "gpu"
    device = "CUDA simulator"
    if not sim:
        from numba import cuda

        device = cuda.get_current_device().name
        device = device.decode() if isinstance(device, bytes) else str(device)
    print(f"gpu_check: seed {seed}, {mode} sizes, device {device}", flush=True)
    t0 = time.perf_counter()
    res = check(seed, SIZES[mode], exact=sim)
    doc = {"seed": seed, "mode": mode, "device": device, "rtol": 0.0 if sim else RTOL,
           "wall_s": time.perf_counter() - t0, "kernels": res}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"gpu_check{'-simulator' if sim else ''}.json").write_text(json.dumps(doc, indent=2))
    bad = [k for k, v in res.items() if not v["agree"]]
    print(f"gpu_check: {'FAILED: ' + ', '.join(bad) if bad else 'all kernels agree'} ({doc['wall_s']:.1f} s)")
    return 1 if bad else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

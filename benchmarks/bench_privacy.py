"""Speed of the private counters vs plain numpy implementations of the same mechanisms.

* Tree counter, block mode (``release_many`` over the whole horizon, seeded Gaussian noise,
  d = 1): releases per second, with and without Honaker; the peer is a vectorised numpy
  implementation (node sums level by level with reshape, prefix answers by summing the
  dyadic decomposition) run in the same process.
* Square-root factorization at T = 2**20 (replay mode: one FFT for the whole horizon's
  correlated noise + running sums): seconds; the peer is the same computation in plain numpy
  (``np.fft`` convolution, ``np.cumsum``) without the class.
* Streaming square-root path (O(t) per step): releases/s.
* MaxSum / SumSelect block release (sparse-vector route, seeded noise): records/s against the
  per-row loop it replaced (same releases, checked), as a ratio.
* Secure path (exact discrete noise from ``os.urandom``): discrete Gaussian and discrete
  Laplace samples/s for a 200k vector at a small and a large scale, against OpenDP's exact
  samplers (``make_gaussian`` / ``make_laplace`` on ``i64`` vectors) at the same scale in the
  same run (the ``opendp`` entry says "not run" without OpenDP); and the tree counter's block
  release at T = 2**20 on the secure path (discrete Gaussian, rho = 1/2, grid_bits = 20).

Library peers run in their own virtual environments (they pull jax / tensorflow, which the
project does not depend on), in a subprocess of the same benchmark run, when these environment
variables name their Python interpreters:

* ``ONLINEKIT_BENCH_JAX_PYTHON`` -- a Python with ``jax-privacy``: the square-root
  factorization noise at T = 2**20 from ``jax_privacy.matrix_factorization.toeplitz``'s
  coefficients, convolved with ``jnp.fft`` under ``jax.jit`` (float64). Its own
  ``toeplitz.multiply`` is a direct O(T^2) convolution and is timed at T = 2**14 only.
* ``ONLINEKIT_BENCH_TF_PYTHON`` -- a Python with ``tensorflow-privacy``: the tree noise of
  ``tree_aggregation.TreeAggregator`` (``get_cumsum_and_update`` per step, eager: its state
  changes structure across steps, which AutoGraph refuses to loop over), releases per second.

Without them the ``peers`` entry says so. Numbers are best of 3 runs on a machine shared with
other jobs (2 cores), so absolute figures are noisy.
"""

from __future__ import annotations

import time

import numpy as np


_CPU: dict = {}


def _best(fn, repeats, key=None):
    """Best wall time of ``repeats`` runs; the best process CPU time is kept under ``key``
    (on a shared, overloaded machine the CPU time is the steadier figure)."""
    best = cpu = float("inf")
    out = None
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        best = min(best, time.perf_counter() - t)
        cpu = min(cpu, time.process_time() - c)
    if key is not None:
        _CPU[key] = cpu
    return best, out


def _numpy_tree(x: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Plain-numpy binary-tree counter (no Honaker) over a full horizon T = 2**k."""
    T = x.shape[0]
    L = T.bit_length()
    levels = []
    for h in range(L):
        w = 2**h
        n = T // w
        node = x[: n * w].reshape(n, w).sum(axis=1) + sigma * rng.standard_normal(n)
        levels.append(node)
    t = np.arange(1, T + 1)
    out = np.zeros(T)
    for h in range(L):
        bit = ((t >> h) & 1).astype(bool)
        # node index at level h covering the block that ends at (t >> (h+1) << (h+1)) + 2^h
        k = (t >> (h + 1)) * 2
        out[bit] += levels[h][k[bit]]
    return out


def _numpy_sqrt(x: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    T = x.shape[0]
    k = np.arange(1, T)
    c = np.ones(T)
    c[1:] = np.cumprod((2 * k - 1) / (2 * k))
    z = sigma * rng.standard_normal(T)
    n = 1 << (2 * T - 1).bit_length()
    w = np.fft.irfft(np.fft.rfft(c, n) * np.fft.rfft(z, n), n)[:T]
    return np.cumsum(x) + w


_JAX_CODE = """
import json, time, jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
from jax_privacy.matrix_factorization import toeplitz
T = 2**20
def noise(key):
    c = toeplitz.optimal_max_error_strategy_coefs(T)
    z = jax.random.normal(key, (T,))
    n = 2 * T
    return jnp.fft.irfft(jnp.fft.rfft(c, n) * jnp.fft.rfft(z, n), n)[:T]
def release(x, key):
    return jnp.cumsum(x) + noise(key)
f = jax.jit(release)
x = jax.random.uniform(jax.random.key(1), (T,))
f(x, jax.random.key(0)).block_until_ready()
best = 1e9
for i in range(3):
    t = time.perf_counter(); f(x, jax.random.key(i)).block_until_ready(); best = min(best, time.perf_counter() - t)
n2 = 2**14
c2 = toeplitz.optimal_max_error_strategy_coefs(n2)
z2 = jax.random.normal(jax.random.key(0), (n2,))
g = jax.jit(lambda c, z: toeplitz.multiply(c, z, skip_checks=True))
g(c2, z2).block_until_ready()
t = time.perf_counter(); g(c2, z2).block_until_ready(); tm = time.perf_counter() - t
s2 = float(toeplitz.sensitivity_squared(toeplitz.optimal_max_error_strategy_coefs(1024)))
print(json.dumps({"jax_sqrt_fft_T2^20_seconds": best, "jax_toeplitz_multiply_T2^14_seconds": tm,
                  "jax_sensitivity_squared_T1024": s2}))
"""

_TF_CODE = """
import json, time, os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import importlib.util
import tensorflow as tf
# tensorflow_privacy 0.9.0's package __init__ imports tensorflow_estimator, which fails with
# recent TensorFlow; the tree module itself needs only tensorflow, so load it by path.
spec = importlib.util.find_spec("tensorflow_privacy")
path = os.path.join(os.path.dirname(spec.origin), "privacy", "dp_query", "tree_aggregation.py")
ms = importlib.util.spec_from_file_location("tf_tree_aggregation", path)
ta = importlib.util.module_from_spec(ms)
ms.loader.exec_module(ta)
T = int(os.environ.get("BENCH_T", "4096"))
agg = ta.TreeAggregator(ta.GaussianNoiseGenerator(1.0, tf.TensorSpec([]), seed=0))
def run(xs):  # eager: the tree state changes structure across steps, so no tf.function loop
    state = agg.init_state()
    out = []
    s = tf.constant(0.0)
    for i in range(T):
        s = s + xs[i]
        noise, state = agg.get_cumsum_and_update(state)
        out.append(s + noise)
    return tf.stack(out)
xs = tf.random.uniform([T])
best = 1e9
for _ in range(2):
    t = time.perf_counter(); run(xs).numpy(); best = min(best, time.perf_counter() - t)
print(json.dumps({"tf_tree_releases_per_s": T / best, "tf_tree_T": T}))
"""


def _run_peer(var: str, code: str, env_extra: dict | None = None) -> dict:
    import json
    import os
    import subprocess

    py = os.environ.get(var)
    if not py:
        return {"status": f"not run ({var} not set)"}
    try:
        r = subprocess.run([py, "-c", code], capture_output=True, text=True, timeout=900,
                           env={**os.environ, **(env_extra or {})})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"status": f"failed: {exc}"}
    if r.returncode != 0:
        return {"status": "failed", "stderr": r.stderr[-500:]}
    return {"status": "ok", **json.loads(r.stdout.strip().splitlines()[-1])}


def _peers(quick: bool) -> dict:
    return {
        "jax_privacy": _run_peer("ONLINEKIT_BENCH_JAX_PYTHON", _JAX_CODE),
        "tensorflow_privacy": _run_peer("ONLINEKIT_BENCH_TF_PYTHON", _TF_CODE,
                                        {"BENCH_T": "512" if quick else "2048"}),
    }


def _opendp_sampler(kind: str, scale: float):
    try:
        import opendp.prelude as dp
    except ImportError:
        return None
    dp.enable_features("contrib")
    dom = dp.vector_domain(dp.atom_domain(T="i64"))
    if kind == "gaussian":
        return dp.m.make_gaussian(dom, dp.l2_distance(T="i64"), scale=scale)
    return dp.m.make_laplace(dom, dp.l1_distance(T="i64"), scale=scale)


def _secure(x: np.ndarray, repeats: int) -> dict:
    """Secure-path sampling vs OpenDP, and the secure tree counter at T = 2**20."""
    from fractions import Fraction

    from onlinekit.privacy import TreeCounter
    from onlinekit.privacy.noise import SecureBitStream

    out: dict = {}
    n = 200_000
    zeros = [0] * n
    bits = SecureBitStream()
    bits.discrete_gaussian(Fraction(4), 10)  # compile
    bits.discrete_laplace(Fraction(2), 10)
    for kind in ("gaussian", "laplace"):
        for scale in (10.0, 2.0**20):
            tag = f"secure_{kind}_scale{int(scale)}"
            if kind == "gaussian":
                def ours(scale=scale):
                    return bits.discrete_gaussian(Fraction(scale) ** 2, n)
            else:
                def ours(scale=scale):
                    return bits.discrete_laplace(Fraction(scale), n)
            t, _ = _best(ours, repeats, tag)
            out[tag + "_samples_per_s"] = n / t
            out[tag + "_samples_per_s_cpu"] = n / _CPU[tag]
            m = _opendp_sampler(kind, scale)
            if m is None:
                out["opendp"] = "not run (opendp not installed)"
                continue
            t, _ = _best(lambda m=m: m(zeros), repeats, "odp" + tag)
            out["opendp_" + tag[len("secure_"):] + "_samples_per_s"] = n / t
            out["opendp_" + tag[len("secure_"):] + "_samples_per_s_cpu"] = n / _CPU["odp" + tag]
            out[tag + "_speedup_vs_opendp"] = (n / _CPU[tag]) / (n / _CPU["odp" + tag])
    T = 2**20
    TreeCounter(T=8).release_many(np.zeros(8))  # compile
    for hon in (False, True):
        key = f"tree{'_honaker' if hon else ''}_secure_T2^20"
        t, _ = _best(lambda hon=hon: TreeCounter(T=T, privacy=("zcdp", 0.5), honaker=hon).release_many(x[:T]),
                     repeats, key)
        out[key + "_releases_per_s"] = T / t
        out[key + "_releases_per_s_cpu"] = T / _CPU[key]
    try:
        import opendp

        out["opendp_version"] = opendp.__version__
    except (ImportError, AttributeError):
        pass
    return out


def _selectors(quick: bool, repeats: int) -> dict:
    """MaxSum / SumSelect, sparse-vector route, seeded noise: records per second of the block
    release (windows of gaps and test noises) and of the per-row loop it replaced (the same
    releases, bit for bit) on one stream whose leading column changes twice."""
    from onlinekit.privacy import MaxSum, SumSelect

    T, d = (30_000, 8) if quick else (200_000, 8)
    rng = np.random.default_rng(3)
    p = np.linspace(0.8, 0.2, d)
    X = np.vstack([rng.random((T // 10, d)) < p, rng.random((T // 2, d)) < p[::-1],
                   rng.random((T - T // 10 - T // 2, d)) < p]).astype(float)
    out: dict = {"selector_T": T, "selector_d": d}
    for cls in (MaxSum, SumSelect):
        name = cls.__name__.lower()

        def make(cls=cls):
            return cls(T=T, d=d, privacy=("zcdp", 1.0), route="svt", noise="seeded", seed=0)

        t_block, y_block = _best(lambda make=make: make().release_many(X), repeats)
        m = make()
        t_rows, y_rows = _best(lambda make=make: np.array(make()._run_svt_rows(m._as_block(X, "xs"))), 1)
        assert np.array_equal(y_block, y_rows), f"{name}: block release differs from the row loop"
        out[f"{name}_block_records_per_s"] = T / t_block
        out[f"{name}_row_loop_records_per_s"] = T / t_rows
        out[f"{name}_block_speedup"] = t_rows / t_block
    return out


def run(quick: bool = False) -> dict:
    from onlinekit.privacy import SqrtFactorCounter, TreeCounter

    repeats = 2 if quick else 3
    T_tree = 2**20 if quick else 2**22
    x = np.random.default_rng(0).random(T_tree)
    res: dict = {"T_tree": T_tree}
    TreeCounter(T=8, noise="seeded", seed=0).release_many(np.zeros(8))  # compile
    for hon in (False, True):
        def ours(hon=hon):
            return TreeCounter(T=T_tree, privacy=("zcdp", 0.5), honaker=hon, noise="seeded", seed=0).release_many(x)
        key = f"tree{'_honaker' if hon else ''}_releases_per_s"
        t, _ = _best(ours, repeats, key)
        res[key] = T_tree / t
        res[key + "_cpu"] = T_tree / _CPU[key]
    sigma = TreeCounter(T=T_tree, privacy=("zcdp", 0.5), noise="seeded")._scale
    t, _ = _best(lambda: _numpy_tree(x, sigma, np.random.default_rng(0)), repeats, "np_tree")
    res["numpy_tree_releases_per_s"] = T_tree / t
    res["numpy_tree_releases_per_s_cpu"] = T_tree / _CPU["np_tree"]
    res["tree_speedup_vs_numpy"] = res["tree_releases_per_s"] / res["numpy_tree_releases_per_s"]
    res["tree_speedup_vs_numpy_cpu"] = res["tree_releases_per_s_cpu"] / res["numpy_tree_releases_per_s_cpu"]

    T = 2**20
    xs = x[:T]
    t, _ = _best(lambda: SqrtFactorCounter(T=T, privacy=("zcdp", 0.5), noise="seeded", seed=0).release_many(xs),
                 repeats, "sqrt")
    res["sqrt_T2^20_seconds"] = t
    res["sqrt_T2^20_seconds_cpu"] = _CPU["sqrt"]
    s_sigma = SqrtFactorCounter(T=T, privacy=("zcdp", 0.5), noise="seeded")._scale
    t, _ = _best(lambda: _numpy_sqrt(xs, s_sigma, np.random.default_rng(0)), repeats, "np_sqrt")
    res["numpy_sqrt_T2^20_seconds"] = t
    res["numpy_sqrt_T2^20_seconds_cpu"] = _CPU["np_sqrt"]
    res["sqrt_ratio_vs_numpy"] = res["sqrt_T2^20_seconds"] / t

    Ts = 2**12 if quick else 2**14
    SqrtFactorCounter(T=4, mode="streaming", noise="seeded", seed=0).release_many(np.zeros(4))
    t, _ = _best(lambda: SqrtFactorCounter(T=Ts, mode="streaming", noise="seeded", seed=0).release_many(x[:Ts]), 1)
    res[f"sqrt_streaming_T{Ts}_releases_per_s"] = Ts / t
    res.update(_selectors(quick, repeats))
    res.update(_secure(x, repeats))
    peers = _peers(quick)
    res["peers"] = peers
    jp = peers["jax_privacy"]
    if jp.get("status") == "ok":
        res["sqrt_ratio_vs_jax_fft"] = res["sqrt_T2^20_seconds"] / jp["jax_sqrt_fft_T2^20_seconds"]
    tp = peers["tensorflow_privacy"]
    if tp.get("status") == "ok":
        res["tree_speedup_vs_tf_privacy"] = res["tree_releases_per_s"] / tp["tf_tree_releases_per_s"]
    return res


if __name__ == "__main__":
    import json

    print(json.dumps(run(quick=True), indent=2, default=str))

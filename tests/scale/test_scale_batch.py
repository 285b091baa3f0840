"""CPU batch kernels of onlinekit.cuda: equal to the single-run learners of the families (bit
for bit) and to slow references."""

import numpy as np
import pytest
import scale_reference as ref

from onlinekit.base import InvalidEvent
from onlinekit.cuda import best_perm_many, cuda_available, hedge_many, ogd_many, tree_counter_many, tree_noise

RNG = np.random.default_rng(20261123)
X = RNG.normal(size=(400, 6))
Y = X @ RNG.normal(size=6) + 0.1 * RNG.normal(size=400)
LRS = np.array([0.002, 0.02, 0.08])


@pytest.mark.parametrize("kw", [{}, {"schedule": "sqrt", "radius": 1.5, "l2": 0.01}, {"intercept": False},
                                {"loss": "logistic", "schedule": "sqrt"}])
def test_ogd_many_equals_ogd_bit_for_bit(kw):
    from onlinekit.oco import OGD

    y = (Y > 0).astype(float) if kw.get("loss") == "logistic" else Y
    res = ogd_many(X, y, LRS, **kw)
    for r, lr in enumerate(LRS):
        model = OGD(lr=float(lr), **kw)
        model.predict_learn_many(X, y)
        assert np.array_equal(model.w_, res["w"][r])
        assert model.b_ == res["b"][r]
        w, b, total = ref.ogd(X, y, float(lr), **kw)
        np.testing.assert_allclose(res["w"][r], w, rtol=1e-10, atol=1e-12)
        assert res["loss"][r] == pytest.approx(total, rel=1e-10)


def test_ogd_many_loss_is_the_progressive_loss():
    from onlinekit.oco import OGD

    res = ogd_many(X, Y, LRS)
    for r, lr in enumerate(LRS):
        preds = OGD(lr=float(lr)).predict_learn_many(X, Y)
        total = 0.0
        for p, y in zip(preds.tolist(), Y.tolist(), strict=True):
            total += 0.5 * (p - y) * (p - y)
        assert res["loss"][r] == total


@pytest.mark.parametrize("schedule", ["constant", "sqrt"])
def test_hedge_many_equals_entropic_omd_bit_for_bit(schedule):
    from onlinekit.oco import OMD, NegativeEntropy, Simplex

    G = RNG.random((300, 5))
    lrs = np.array([0.05, 0.5, 3.0])
    res = hedge_many(G, lrs, schedule=schedule, z=2.0)
    for r, lr in enumerate(lrs):
        omd = OMD(n_dims=5, mirror=NegativeEntropy(), domain=Simplex(2.0), lr=float(lr), schedule=schedule)
        vals = omd.update_many(G)
        total = 0.0
        for v in vals.tolist():
            total += v
        assert np.array_equal(omd.play(), res["x"][r])
        assert res["loss"][r] == total


def test_hedge_many_sampled_loss_matches_reference():
    G = RNG.random((200, 4))
    lrs = np.array([0.1, 0.1, 1.0, 1.0])
    U = np.vstack([np.random.default_rng(s).random(200) for s in range(4)])
    res = hedge_many(G, lrs, schedule="sqrt", uniforms=U)
    for r in range(4):
        x, expected, sampled = ref.hedge(G, lrs[r], "sqrt", 1.0, U[r])
        np.testing.assert_allclose(res["x"][r], x, rtol=1e-9)
        assert res["loss"][r] == pytest.approx(expected, rel=1e-10)
        assert res["sampled_loss"][r] == pytest.approx(sampled, rel=1e-12)
    # the sampled loss is an unbiased estimate of the expected loss: over the rows' seeds
    # the mean difference stays within a few standard errors (each round's variance <= 1/4)
    U = np.vstack([np.random.default_rng(100 + s).random(200) for s in range(64)])
    res = hedge_many(G, np.full(64, 0.1), uniforms=U)
    diff = res["sampled_loss"] - res["loss"]
    assert abs(diff.mean()) < 4 * np.sqrt(200 * 0.25 / 64)


def test_hedge_underflow_uses_log_space():
    G = np.array([[0.0, 1000.0, 2000.0]] * 3)
    res = hedge_many(G, [5.0])
    assert np.isfinite(res["x"]).all() and res["x"][0].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("privacy,kind", [(("zcdp", 0.5), "gaussian"), (("pure", 1.0), "laplace")])
@pytest.mark.parametrize("honaker", [False, True])
def test_tree_counter_many_equals_tree_counter(privacy, kind, honaker):
    from onlinekit.privacy import TreeCounter

    T, seeds = 45, [11, 12, 13]
    Xs = RNG.random((3, T))
    counters = [TreeCounter(T=T, privacy=privacy, noise="seeded", seed=s, honaker=honaker) for s in seeds]
    scale = counters[0].guarantee.scale
    res = tree_counter_many(Xs, tree_noise(seeds, T, kind), scale=scale, honaker=honaker)
    for s, c in enumerate(counters):
        out = c.release_many(Xs[s])
        assert np.array_equal(out, res["releases"][s])
        np.testing.assert_allclose(out, ref.tree(Xs[s], tree_noise([seeds[s]], T, kind)[0], scale, honaker),
                                   rtol=1e-10, atol=1e-10)
        err = out - np.cumsum(Xs[s])
        assert res["max_abs_error"][s] == pytest.approx(np.abs(err).max(), rel=1e-12)
        assert res["mse"][s] == pytest.approx(np.mean(err**2), rel=1e-9)


def test_tree_counter_without_noise_gives_prefix_sums_and_summaries_only():
    Xs = RNG.integers(0, 2, size=(4, 33)).astype(float)
    res = tree_counter_many(Xs, np.zeros((4, 70)), scale=0.0)
    assert np.array_equal(res["releases"], np.cumsum(Xs, axis=1))
    small = tree_counter_many(Xs, tree_noise(range(4), 33), scale=1.0, releases=False)
    full = tree_counter_many(Xs, tree_noise(range(4), 33), scale=1.0)
    assert small["releases"] is None and np.array_equal(small["mse"], full["mse"])


def test_best_perm_many_equals_cascade_and_brute_force():
    from onlinekit.cascade import best_perm_batch

    S, N, m = 300, 6, 3
    Q = RNG.random((S, N))
    W = RNG.random((S, N))
    wb = RNG.random(S) * 0.4
    W[:20] = 0.1
    wb[:20] = 0.5  # no candidate beats w_bot: best single item
    W[20:40, :3] = 0.7  # ties in w
    Q[40:50, 0] = 1.0
    values, lists, lengths = best_perm_many(Q, W, wb, m)
    v2, l2, n2 = best_perm_batch(Q, W, wb, m)
    assert np.array_equal(lists, l2) and np.array_equal(lengths, n2)
    np.testing.assert_allclose(values, v2, rtol=0, atol=1e-12)
    for s in range(0, S, 7):
        assert values[s] == pytest.approx(ref.best_value(Q[s], W[s], wb[s], m), abs=1e-12)
        items = lists[s, :lengths[s]]
        assert ref.cascade_value(items, Q[s], W[s], wb[s]) == pytest.approx(values[s], abs=1e-12)


def test_best_perm_many_larger_instances_match_cascade():
    from onlinekit.cascade import best_perm_batch

    Q, W = RNG.random((100, 40)), RNG.random((100, 40))
    wb = RNG.random(100) * 0.3
    a, b = best_perm_many(Q, W, wb, 4), best_perm_batch(Q, W, wb, 4)
    assert np.array_equal(a[1], b[1]) and np.allclose(a[0], b[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("call,field", [
    (lambda: ogd_many(X, Y[:-1], LRS), "y"),
    (lambda: ogd_many(X, Y, [0.1, -1.0]), "lrs"),
    (lambda: ogd_many(X, Y, LRS, loss="logistic"), "y"),
    (lambda: ogd_many(X, Y, LRS, device="tpu"), "device"),
    (lambda: hedge_many(np.full((3, 2), np.nan), [0.1]), "losses[0, 0]"),
    (lambda: hedge_many(np.ones((3, 2)), [0.1], uniforms=np.ones((1, 3))), "uniforms"),
    (lambda: tree_counter_many(np.ones((2, 8)), np.zeros((2, 14))), "noise"),
    (lambda: best_perm_many(np.full((1, 3), 2.0), np.ones((1, 3)), 0.0, 2), "Q"),
    (lambda: best_perm_many(np.ones((1, 3)), np.ones((1, 3)), 0.0, 0), "m"),
])
def test_bad_input_names_the_field(call, field):
    with pytest.raises(InvalidEvent) as info:
        call()
    assert info.value.field == field


def test_cuda_device_without_gpu_says_so():
    if cuda_available():
        pytest.skip("a CUDA device (or the simulator) is available here")
    with pytest.raises(RuntimeError, match="CUDA"):
        ogd_many(X, Y, LRS, device="cuda")


def test_import_is_light():
    import subprocess
    import sys

    code = ("import sys, onlinekit.cuda as c; c.__all__; "
            "print(any(m.startswith('numba') for m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"

"""Forest kernels vs the slow references: leaf probabilities, gradients, full online runs."""

import sys
from pathlib import Path

import numpy as np
import pytest

from onlinekit.fair import _kernels as K

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import fair_reference as ref  # noqa: E402


def _params(seed, T=3, depth=4, d=5, C=2):
    rng = np.random.default_rng(seed)
    n_int = 2 ** depth - 1
    W = rng.normal(size=(T, n_int, d))
    B = rng.normal(size=(T, n_int))
    Th = rng.random((T, n_int + 1, C)) * 2.0
    return W, B, Th


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_leaf_probabilities_are_ancestor_products(depth):
    W, B, Th = _params(depth, depth=depth)
    x = np.random.default_rng(9).normal(size=W.shape[2])
    _, _, _, _, s, reach = K._forest_grads(x, 1, W, B, Th)
    n_int = 2 ** depth - 1
    leaves = reach[:, n_int:]
    np.testing.assert_allclose(leaves, ref.leaf_probs(x, W, B), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(leaves.sum(axis=1), 1.0, rtol=1e-13)
    np.testing.assert_allclose(s, ref.node_outputs(x, W, B), rtol=1e-14)


def test_ancestor_paths_follow_heap_layout():
    # depth 2: leaves 0, 1 under node 1 (left of root), leaves 2, 3 under node 2
    assert ref.ancestors(0, 2) == [(0, True), (1, True)]
    assert ref.ancestors(1, 2) == [(0, True), (1, False)]
    assert ref.ancestors(3, 2) == [(0, False), (2, False)]


@pytest.mark.parametrize("y", [0, 1])
def test_gradients_match_reference_and_finite_differences(y):
    W, B, Th = _params(3, T=2, depth=3, d=4)
    x = np.random.default_rng(4).normal(size=4)
    loss, gW, gB, gT, _, _ = K._forest_grads(x, y, W, B, Th)
    assert loss == pytest.approx(ref.loss(x, y, W, B, Th), rel=1e-13)
    rW, rB, rT = ref.grads(x, y, W, B, Th)
    np.testing.assert_allclose(gW, rW, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gB, rB, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(gT, rT, rtol=1e-10, atol=1e-14)
    h = 1e-6
    for arr, g in ((W, gW), (B, gB), (Th, gT)):
        fd = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + h
            lp = ref.loss(x, y, W, B, Th)
            arr[idx] = old - h
            lm = ref.loss(x, y, W, B, Th)
            arr[idx] = old
            fd[idx] = (lp - lm) / (2 * h)
        # central differences: error O(h^2 * f''') + O(eps / h) ~ 1e-9
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


def _stream(seed, n=40, d=5, groups=2):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, groups, size=n)
    X = rng.normal(size=(n, d)) + 0.8 * a[:, None]
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0.4).astype(np.int64)
    return X, y, a.astype(np.int64)


def _run_kernel(X, y, a, W, B, Th, lam, penalty, delta, G, lr=0.05, fair=True):
    W, B, Th = W.copy(), B.copy(), Th.copy()
    T, n_int, d = W.shape
    z = [np.zeros_like(W), np.zeros_like(W), np.zeros_like(B), np.zeros_like(B), np.zeros_like(Th),
         np.zeros_like(Th)]
    step = np.zeros(1, dtype=np.int64)
    cnt = np.zeros(G if fair else 0, dtype=np.int64)
    S = np.zeros((len(cnt), T, n_int))
    GW = np.zeros((len(cnt), T, n_int, d))
    GB = np.zeros((len(cnt), T, n_int))
    proba = np.empty((len(y), 2))
    K._forest_run(X, y, a, W, B, Th, *z, step, cnt, S, GW, GB, lam, penalty, delta, lr, 0.9, 0.999, 1e-7,
                  True, fair, proba)
    return proba[:, 1], W, B, Th, (cnt, S, GW, GB)


@pytest.mark.parametrize(
    "lam,penalty,G,fair",
    [(0.0, "official", 2, False), (3.0, "official", 2, True), (3.0, "huber", 2, True), (2.0, "official", 3, True)],
)
def test_online_run_matches_reference(lam, penalty, G, fair):
    W, B, Th = _params(11, T=2, depth=3, d=5)
    X, y, a = _stream(5, groups=G)
    if fair:
        a[7] = -1  # an event of unknown group
    code = {"official": K.PENALTY_OFFICIAL, "huber": K.PENALTY_HUBER}[penalty]
    # delta = 0.2 so both branches of the penalty are exercised
    p, W1, B1, T1, (cnt, S, GW, GB) = _run_kernel(X, y, a, W, B, Th, lam, code, 0.2, G, fair=fair)
    rp, rW, rB, rT, (rn, rS, rGW, rGB) = ref.aranyani_run(X, y, a, W, B, Th, lam=lam, penalty=penalty, delta=0.2,
                                                          n_groups=G, lr=0.05, fair=fair)
    np.testing.assert_allclose(p, rp, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(W1, rW, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(B1, rB, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(T1, rT, rtol=1e-8, atol=1e-10)
    if fair:
        assert cnt.tolist() == list(rn)
        np.testing.assert_allclose(S, np.array(rS), rtol=1e-9)
        np.testing.assert_allclose(GW, np.array(rGW), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(GB, np.array(rGB), rtol=1e-9, atol=1e-12)
    assert not np.allclose(W1, W)


def test_reservoir_run_matches_reference():
    W, B, Th = _params(2, T=2, depth=2, d=3)
    X, y, a = _stream(8, n=30, d=3)
    u = np.random.default_rng(1).random(len(y))
    K_res = 4
    T, n_int, d = W.shape
    Wk, Bk, Tk = W.copy(), B.copy(), Th.copy()
    z = [np.zeros_like(W), np.zeros_like(W), np.zeros_like(B), np.zeros_like(B), np.zeros_like(Th),
         np.zeros_like(Th)]
    seen = np.zeros(2, dtype=np.int64)
    R = np.zeros((2, K_res, d))
    proba = np.empty((len(y), 2))
    K._reservoir_run(X, y, a, u, Wk, Bk, Tk, *z, np.zeros(1, dtype=np.int64), seen, R, 2.0, 0.05, 0.9, 0.999,
                     1e-7, True, proba)
    rp, rW, rres = ref.reservoir_run(X, y, a, u, W, B, Th, lam=2.0, K=K_res, lr=0.05)
    np.testing.assert_allclose(proba[:, 1], rp, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(Wk, rW, rtol=1e-8, atol=1e-10)
    for g in range(2):
        np.testing.assert_array_equal(R[g, : len(rres[g])], np.array(rres[g]))
    assert seen.tolist() == [int((a == 0).sum()), int((a == 1).sum())]


def _huber(F, delta):
    return np.where(np.abs(F) <= delta, 0.5 * F * F, delta * (np.abs(F) - 0.5 * delta))


@pytest.mark.parametrize("G", [2, 3])
def test_fairness_gradient_is_gradient_of_huber_penalty_at_fixed_parameters(G):
    """With frozen parameters the running statistics are exact group means, so the kernel's
    fairness gradient must equal the gradient of lam * sum_nodes Huber(F) (finite differences)."""
    W, B, Th = _params(6, T=2, depth=2, d=3)
    X, y, a = _stream(3, n=50, d=3, groups=G)
    lam, delta = 1.7, 0.05
    # lr = 0: the parameters stay fixed while the statistics accumulate
    _, _, _, _, (cnt, S, GW, GB) = _run_kernel(X, y, a, W, B, Th, 0.0, K.PENALTY_HUBER, delta, G, lr=0.0)
    gW = np.zeros_like(W)
    gB = np.zeros_like(B)
    K._add_fairness_grad(cnt, S, GW, GB, lam, K.PENALTY_HUBER, delta, gW, gB)

    def penalty(Wv, Bv):
        s = 1.0 / (1.0 + np.exp(-(np.einsum("tij,nj->nti", Wv, X) + Bv[None])))
        means = np.array([s[a == g].mean(axis=0) for g in range(G)])
        if G == 2:
            F = means[1] - means[0]
            return lam * _huber(F, delta).sum()
        pooled = s.mean(axis=0)
        return lam * sum(_huber(means[g] - pooled, delta).sum() for g in range(G))

    h = 1e-6
    for arr, g in ((W, gW), (B, gB)):
        fd = np.zeros_like(arr)
        for idx in np.ndindex(arr.shape):
            old = arr[idx]
            arr[idx] = old + h
            lp = penalty(W, B)
            arr[idx] = old - h
            lm = penalty(W, B)
            arr[idx] = old
            fd[idx] = (lp - lm) / (2 * h)
        np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-9)
    assert np.abs(gW).max() > 1e-4


def test_official_multiplier_matches_the_code():
    d = 0.01
    assert K._multiplier(0.004, K.PENALTY_OFFICIAL, d) == 0.004
    assert K._multiplier(0.02, K.PENALTY_OFFICIAL, d) == 1.0  # no delta factor (official code)
    assert K._multiplier(-0.02, K.PENALTY_OFFICIAL, d) == -1.0
    assert K._multiplier(0.02, K.PENALTY_HUBER, d) == pytest.approx(0.01)
    assert K._multiplier(-0.3, K.PENALTY_ABS, d) == -1.0

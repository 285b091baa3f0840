"""Experts kernels against the slow references in tests/reference/experts_reference.py."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import experts_reference as ref  # noqa: E402

from onlinekit.experts import _kernels as k  # noqa: E402


def _mask(rng, n, E, p=0.5):
    A = rng.random((n, E)) < p
    A[~A.any(axis=1), rng.integers(0, E)] = True
    return A


@pytest.mark.parametrize("R,C", [(0.0, 0.0), (-1.0, 3.0), (-0.5, 1.0), (0.3, 2.0), (2.0, 5.0), (7.5, 40.0)])
def test_anh_logw_matches_formula(R, C):
    w = ref.anh_weight(R, C)
    lw = k._anh_logw(R, C)
    if w == 0.0:
        assert lw == -np.inf
    else:
        assert np.isclose(np.exp(lw), w, rtol=1e-12)


@pytest.mark.parametrize("meta,lr", [("anh", None), ("hedge", 0.7), ("hedge", None)])
def test_meta_run_matches_reference(meta, lr):
    rng = np.random.default_rng(1)
    n, E = 80, 5
    L = rng.random((n, E))
    A = _mask(rng, n, E)
    R, C, tc, P = np.zeros(E), np.zeros(E), np.zeros(1), np.empty((n, E))
    code = k.META_ANH if meta == "anh" else k.META_HEDGE
    k._meta_run(L, A, np.zeros(n), False, R, C, tc, code, -1.0 if lr is None else lr, P)
    P2, R2, C2 = ref.meta_run(L, A, meta, lr)
    np.testing.assert_allclose(P, P2, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(R, R2, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(C, C2, rtol=1e-10, atol=1e-12)
    assert tc[0] == n


def test_meta_run_with_mixture_loss():
    rng = np.random.default_rng(2)
    n, E = 30, 3
    L, M = rng.random((n, E)), rng.random(n)
    A = _mask(rng, n, E)
    R, C, tc, P = np.zeros(E), np.zeros(E), np.zeros(1), np.empty((n, E))
    k._meta_run(L, A, M, True, R, C, tc, k.META_ANH, -1.0, P)
    P2, R2, _ = ref.meta_run(L, A, "anh", None, M=M)
    np.testing.assert_allclose(P, P2, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(R, R2, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("vaw", [False, True])
def test_ridge_kernel_matches_normal_equations(vaw):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 4))
    y = X @ rng.normal(size=4) + 0.3 * rng.normal(size=60)
    Ainv, w, out = np.eye(4) / 0.7, np.zeros(4), np.empty(60)
    k._ridge_predict_learn(X, y, Ainv, w, vaw, True, out)
    np.testing.assert_allclose(out, ref.ridge(X, y, 0.7, vaw), rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(Ainv, np.linalg.inv(0.7 * np.eye(4) + X.T @ X), rtol=1e-9, atol=1e-12)
    assert np.array_equal(Ainv, Ainv.T)  # kept exactly symmetric


@pytest.mark.parametrize("meta,mode,vaw", [("anh", "expected", False), ("anh", "average", True),
                                           ("hedge", "expected", False)])
def test_groupwise_kernel_matches_reference(meta, mode, vaw):
    rng = np.random.default_rng(4)
    n, d, E = 70, 3, 4
    X = rng.normal(size=(n, d))
    y = X @ rng.normal(size=d) + 0.2 * rng.normal(size=n)
    A = _mask(rng, n, E)
    Ainv = np.ascontiguousarray(np.broadcast_to(np.eye(d), (E, d, d)))
    W, R, C, tc = np.zeros((E, d)), np.zeros(E), np.zeros(E), np.zeros(1)
    pred, loss, P = np.empty(n), np.empty(n), np.empty((n, E))
    k._groupwise_ridge(X, y, A, Ainv, W, R, C, tc, k.META_ANH if meta == "anh" else k.META_HEDGE, -1.0,
                       k.MODE_EXPECTED if mode == "expected" else k.MODE_AVERAGE, vaw, True, pred, loss, P)
    p2, l2, P2 = ref.groupwise(X, y, A, 1.0, meta, None, mode, vaw)
    np.testing.assert_allclose(pred, p2, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(loss, l2, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(P, P2, rtol=1e-9, atol=1e-12)

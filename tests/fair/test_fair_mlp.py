"""Fair online MLP baseline: gradients by finite differences, the whole update loop against a numpy reference."""

import numpy as np
import pytest

from onlinekit.fair.mlp import FairMLP


def _unpack(P, d, H):
    W1 = P[:H * d].reshape(H, d)
    b1 = P[H * d:H * d + H]
    W2 = P[H * d + H:H * d + 3 * H].reshape(H, 2)
    b2 = P[H * d + 3 * H:]
    return W1, b1, W2, b2


def _proba(P, x, H):
    W1, b1, W2, b2 = _unpack(P, len(x), H)
    h = 1.0 / (1.0 + np.exp(-(W1 @ x + b1)))
    z = W2.T @ h + b2
    e = np.exp(z - z.max())
    return e / e.sum()


def _num_grad(f, P, h=1e-6):
    g = np.zeros_like(P)
    for k in range(len(P)):
        e = np.zeros_like(P)
        e[k] = h
        g[k] = (f(P + e) - f(P - e)) / (2 * h)
    return g


def test_backward_matches_finite_differences():
    from onlinekit.fair import _kernels

    rng = np.random.default_rng(3)
    d, H = 4, 7
    P = rng.normal(size=H * d + 3 * H + 2)
    x = rng.normal(size=d)
    hid = np.empty(H)
    pr = np.empty(2)
    _kernels._mlp_forward(x, P, H, hid, pr)
    np.testing.assert_allclose(pr, _proba(P, x, H), rtol=1e-12)
    for yi in (0, 1):
        g = np.empty_like(P)
        _kernels._mlp_backward(x, H, P, hid, pr[0] - (yi == 0), pr[1] - (yi == 1), g)
        np.testing.assert_allclose(g, _num_grad(lambda Q: -np.log(_proba(Q, x, H)[yi]), P), atol=1e-7)
    r = pr[0] * pr[1]
    g = np.empty_like(P)
    _kernels._mlp_backward(x, H, P, hid, -r, r, g)
    np.testing.assert_allclose(g, _num_grad(lambda Q: _proba(Q, x, H)[1], P), atol=1e-8)


def _reference(X, y, a, lam, depth, lr, seed, b1=0.9, b2=0.999, eps=1e-7):
    """Slow numpy reference of the documented update (gradients by finite differences)."""
    H = 2 ** depth - 1
    model = FairMLP(lambda_=lam, depth=depth, lr=lr, seed=seed)
    model._init(X.shape[1])
    P = model.P_.copy()
    m = np.zeros_like(P)
    v = np.zeros_like(P)
    G = np.zeros((2, len(P)))
    cnt = np.zeros(2)
    yh = np.zeros(2)
    out = []
    for t, (x, yi, ai) in enumerate(zip(X, y, a, strict=True), start=1):
        p = _proba(P, x, H)
        out.append(p[1])
        g = _num_grad(lambda Q: -np.log(_proba(Q, x, H)[yi]), P)
        cnt[ai] += 1
        yh[ai] += p[1] > 0.5
        G[ai] += (_num_grad(lambda Q: _proba(Q, x, H)[1], P) - G[ai]) / cnt[ai]
        if lam and cnt.min() > 0:
            g = g + lam * np.sign(yh[1] / cnt[1] - yh[0] / cnt[0]) * (G[1] - G[0])
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        P = P - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * m / (np.sqrt(v) + eps)
    return np.array(out), P


@pytest.mark.parametrize("lam", [0.0, 3.0])
def test_update_loop_matches_reference(lam):
    rng = np.random.default_rng(5)
    n, d = 40, 3
    a = (rng.random(n) < 0.5).astype(int)
    X = rng.normal(size=(n, d)) + a[:, None]
    y = (X[:, 0] > 0.5).astype(int)
    model = FairMLP(lambda_=lam, depth=2, lr=0.05, seed=1)
    p = model.predict_learn_many(X, y, sensitive=a)
    p_ref, P_ref = _reference(X, y, a, lam, 2, 0.05, 1)
    np.testing.assert_allclose(p, p_ref, atol=1e-6)
    np.testing.assert_allclose(model.P_, P_ref, atol=1e-5)


def test_regulariser_sabotage_changes_the_model():
    """lambda > 0 must move the parameters away from the lambda = 0 run (the term is not dropped)."""
    rng = np.random.default_rng(6)
    a = (rng.random(400) < 0.5).astype(int)
    X = rng.normal(size=(400, 3)) + a[:, None]
    y = (X[:, 0] > 0.5).astype(int)
    m0, m1 = FairMLP(seed=0), FairMLP(lambda_=1.0, seed=0)
    m0.predict_learn_many(X, y, sensitive=a)
    m1.predict_learn_many(X, y, sensitive=a)
    assert np.abs(m0.P_ - m1.P_).max() > 1e-3


def test_bad_input():
    m = FairMLP(seed=0)
    with pytest.raises(ValueError, match="lambda_"):
        FairMLP(lambda_=-1.0)
    with pytest.raises(Exception, match="sensitive"):
        m.predict_learn_many(np.zeros((2, 2)), [0, 1], sensitive=[0, 2])
    assert m.P_ is None  # a rejected block leaves the model untouched
    m.predict_learn_many(np.zeros((2, 2)), [0, 1], sensitive=[0, 1])
    with pytest.raises(ValueError, match="features"):
        m.predict_learn_many(np.zeros((2, 3)), [0, 1], sensitive=[0, 1])

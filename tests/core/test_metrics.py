import numpy as np
import pytest

from onlinekit.metrics import Accuracy, CumulativeLoss, Grouped, Regret, pointwise_loss


def _brute_regret_squared(X, y, pred, intercept):
    Z = np.hstack([X, np.ones((len(X), 1))]) if intercept else X
    w, *_ = np.linalg.lstsq(Z, y, rcond=None)
    return float(np.sum((pred - y) ** 2) - np.sum((Z @ w - y) ** 2))


@pytest.mark.parametrize("intercept", [True, False])
def test_regret_squared_matches_lstsq(intercept):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    y = X @ np.array([1.0, 0.5, -1.0]) + 0.3 + rng.normal(size=500)
    pred = rng.normal(size=500)
    m = Regret("squared", intercept=intercept)
    for lo in range(0, 500, 37):
        m.update(y[lo:lo + 37], pred[lo:lo + 37], X[lo:lo + 37])
    assert m.get()["regret"] == pytest.approx(_brute_regret_squared(X, y, pred, intercept), rel=1e-9)


def test_regret_partition_independent_bitwise():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    y = rng.normal(size=300)
    p = rng.normal(size=300)
    a, b = Regret("squared"), Regret("squared")
    a.update(y, p, X)
    cuts = [0, 1, 50, 51, 299, 300]
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        b.update(y[lo:hi], p[lo:hi], X[lo:hi])
    assert a.get() == b.get()


def test_regret_log_is_nonnegative_against_constant_predictor():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 2))
    y = (X[:, 0] > 0).astype(float)
    m = Regret("log")
    m.update(y, np.full(400, 0.5), X)
    r = m.get()
    # the comparator beats the constant 1/2 predictor (loss 400 log 2)
    assert r["comparator_loss"] < 400 * np.log(2)
    assert r["regret"] == pytest.approx(400 * np.log(2) - r["comparator_loss"])


def test_losses_and_accuracy():
    y = np.array([0.0, 1.0, 1.0])
    p = np.array([0.2, 0.7, 0.4])
    assert pointwise_loss("log", y, p) == pytest.approx(-np.log([0.8, 0.7, 0.4]))
    assert pointwise_loss("zero_one", y, p).tolist() == [0.0, 0.0, 1.0]
    a = Accuracy()
    a.update(y, p)
    assert a.get()["accuracy"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        CumulativeLoss("cubic")


def test_grouped_equals_masked_metrics():
    rng = np.random.default_rng(3)
    y = rng.normal(size=200)
    p = rng.normal(size=200)
    X = rng.normal(size=(200, 2))
    G = rng.random((200, 3)) < 0.4
    g = Grouped(Regret("squared"), ("a", "b", "c"))
    g.update(y[:90], p[:90], X[:90], G[:90])
    g.update(y[90:], p[90:], X[90:], G[90:])
    out = g.get()
    for j, name in enumerate("abc"):
        m = G[:, j]
        assert out[f"regret[{name}]"] == pytest.approx(_brute_regret_squared(X[m], y[m], p[m], True), rel=1e-9)


def test_fairness_gaps_match_brute_force():
    from onlinekit.metrics import Fairness

    rng = np.random.default_rng(5)
    y = (rng.random(500) < 0.4).astype(float)
    p = rng.random(500)
    a = rng.choice(np.array(["f", "m", "x"], dtype=object), 500)
    m = Fairness()
    for lo in range(0, 500, 77):
        m.update(y[lo:lo + 77], p[lo:lo + 77], sensitive=a[lo:lo + 77])
    r = m.get()
    yh = p >= 0.5
    rates = {k: [] for k in ("dp", "tpr", "fpr")}
    for g in ("f", "m", "x"):
        s = a == g
        rates["dp"].append(yh[s].mean())
        rates["tpr"].append(yh[s & (y == 1)].mean())
        rates["fpr"].append(yh[s & (y == 0)].mean())
    for k in rates:
        assert r[f"{k}_gap"] == pytest.approx(max(rates[k]) - min(rates[k]), abs=1e-12)
    assert r["accuracy[fairness=m]"] == pytest.approx(((p >= 0.5) == (y == 1))[a == "m"].mean())

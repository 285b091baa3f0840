"""FAHT: the fair information gain against brute force on raw rows, the Hoeffding split rule in closed form."""

import math

import numpy as np
import pytest

from onlinekit.fair.faht import FAHT, discrimination, fair_information_gain


def _counts(y, a):
    c = np.zeros((2, 2))
    for yi, ai in zip(y, a, strict=True):
        c[yi, ai] += 1
    return c


def _brute(y, a, go_left):
    """IG, FG and FIG straight from the definitions, over lists of rows."""
    def H(ys):
        if not ys:
            return 0.0
        p = sum(ys) / len(ys)
        return -sum(q * math.log2(q) for q in (p, 1 - p) if q > 0)

    def disc(ys, as_):
        g1 = [yi for yi, ai in zip(ys, as_, strict=True) if ai == 1]
        g0 = [yi for yi, ai in zip(ys, as_, strict=True) if ai == 0]
        return (sum(g1) / len(g1) - sum(g0) / len(g0)) if g1 and g0 else 0.0

    parts = [[i for i in range(len(y)) if go_left[i]], [i for i in range(len(y)) if not go_left[i]]]
    ig = H(list(y)) - sum(len(p) / len(y) * H([y[i] for i in p]) for p in parts)
    fg = abs(disc(list(y), list(a))) - sum(len(p) / len(y) * abs(disc([y[i] for i in p], [a[i] for i in p]))
                                           for p in parts)
    return ig, fg, (ig * fg if fg != 0 else ig)


@pytest.mark.parametrize("seed", range(6))
def test_fair_information_gain_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = 60
    a = (rng.random(n) < 0.4).astype(int)
    y = (rng.random(n) < 0.3 + 0.3 * a).astype(int)
    go_left = rng.random(n) < 0.5
    if seed == 5:
        go_left = a == 1  # split on the group itself: children have one group each (Disc 0)
    P = _counts(y, a)
    L = _counts(y[go_left], a[go_left])
    ig, fg, fig = _brute(list(y), list(a), list(go_left))
    assert float(fair_information_gain(P, L, P - L)) == pytest.approx(fig, abs=1e-12)
    assert float(discrimination(P)) == pytest.approx(y[a == 1].mean() - y[a == 0].mean(), abs=1e-12)


def test_fg_zero_falls_back_to_information_gain():
    """A split by the label itself in a parity-fair parent: every partition has Disc 0, so FG = 0
    and FIG is the information gain, 1 bit."""
    y = [0] * 20 + [1] * 20 + [0] * 20 + [1] * 20
    a = [0] * 40 + [1] * 40
    ig, fg, fig = _brute(y, a, [yi == 0 for yi in y])
    assert fg == 0 and fig == ig == pytest.approx(1.0)
    P = _counts(np.array(y), np.array(a))
    L = np.array([[20.0, 20.0], [0.0, 0.0]])
    assert float(fair_information_gain(P, L, P - L)) == pytest.approx(1.0)


def test_tie_splits_exactly_when_the_hoeffding_bound_drops_below_tau():
    """Two copies of one feature tie (FIG_1 = FIG_2): the leaf splits at the first check with
    eps = sqrt(ln(1/delta) / (2 n)) < tau, i.e. n > ln(1/delta) / (2 tau^2) -- closed form."""
    rng = np.random.default_rng(0)
    n = 6000
    a = (rng.random(n) < 0.5).astype(int)
    x = rng.normal(size=n) + a
    y = (x > 0.5).astype(int)
    X = np.column_stack([x, x])
    grace, delta, tau = 200, 1e-7, 0.05
    n_split = math.log(1 / delta) / (2 * tau**2)
    first = grace * math.ceil(n_split / grace)
    tree = FAHT(grace_period=grace, delta=delta, tau=tau)
    tree.predict_learn_many(X[:first - 1], y[:first - 1], sensitive=a[:first - 1])
    assert tree.n_leaves == 1
    tree.predict_learn_many(X[first - 1:first], y[first - 1:first], sensitive=a[first - 1:first])
    assert tree.n_leaves == 2
    # with a noise feature beside it, the root splits earlier, and on the informative feature
    X2 = np.column_stack([rng.normal(size=n), x])
    t2 = FAHT(grace_period=grace, delta=delta, tau=tau)
    t2.predict_learn_many(X2[:first - grace], y[:first - grace], sensitive=a[:first - grace])
    assert t2.n_leaves >= 2 and t2.nodes_[0][0] == 1


def test_no_split_that_raises_discrimination():
    """A feature that separates the labels but makes every child more discriminating (FG < 0)
    has FIG < 0: FAHT never splits on it, while its information gain is large."""
    rng = np.random.default_rng(1)
    n = 2000
    a = (rng.random(n) < 0.5).astype(int)
    u = rng.random(n)
    # the label is group-independent overall, but within each side of x0 > 0 it tracks the group
    x0 = rng.normal(size=n)
    y = np.where(x0 > 0, a, 1 - a)
    tree = FAHT(grace_period=200)
    p = tree.predict_learn_many(x0[:, None], y, sensitive=a)
    assert tree.n_leaves == 1 and set(np.unique(p)) <= {0.0, 1.0}
    left = x0 <= 0
    ig, fg, fig = _brute(list(y), list(a), list(left))
    assert fg < 0 and fig <= 0
    del u


def test_bad_input():
    with pytest.raises(ValueError, match="grace_period"):
        FAHT(grace_period=0)
    with pytest.raises(ValueError, match="delta"):
        FAHT(delta=2.0)
    t = FAHT()
    with pytest.raises(Exception, match="sensitive"):
        t.predict_learn_many(np.zeros((2, 2)), [0, 1], sensitive=[0, 5])
    assert t.d_ is None

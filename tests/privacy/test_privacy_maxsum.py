"""MaxSum / SumSelect: routes, error bounds, accounting, noise-free limit, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from onlinekit.base import InvalidEvent
from onlinekit.privacy import MaxSum, SumSelect, TreeCounter


def _stream(T, d, seed, p=None):
    rng = np.random.default_rng(seed)
    p = np.linspace(0.9, 0.1, d) if p is None else p
    return (rng.random((T, d)) < p).astype(float)


@pytest.mark.parametrize("privacy", [("zcdp", 1.0), ("pure", 2.0), ("approx", 1.0, 1e-6)])
def test_svt_error_within_bound(privacy):
    T, d = 400, 5
    X = _stream(T, d, 0)
    true = np.cumsum(X, axis=0).max(axis=1)
    fails = 0
    for seed in range(20):
        m = MaxSum(T=T, d=d, privacy=privacy, route="svt", noise="seeded", seed=seed)
        ys = m.release_many(X)
        fails += np.abs(ys - true).max() > m.expected_error()["max_error_bound"]
        assert m.rounds_ <= m.expected_error()["max_rounds"]
    assert fails <= 20 * 0.05 + 3  # beta = 0.05 per run, binomial margin


def test_sumselect_gap_within_bound():
    T, d = 400, 6
    X = _stream(T, d, 1)
    S = np.cumsum(X, axis=0)
    for seed in range(5):
        s = SumSelect(T=T, d=d, privacy=("zcdp", 1.0), route="svt", noise="seeded", seed=seed)
        js = s.release_many(X)
        gap = S.max(axis=1) - S[np.arange(T), js]
        assert gap.max() <= s.expected_error()["max_error_bound"]


def test_noise_free_svt_tracks_max_within_threshold():
    T, d = 300, 3
    X = _stream(T, d, 2)
    true = np.cumsum(X, axis=0).max(axis=1)
    m = MaxSum(T=T, d=d, route="svt", noise="none")
    ys = m.release_many(X)
    a = m.expected_error()["threshold"]
    assert np.all(true - ys < a + 1) and np.all(ys <= true)
    # re-released exactly when the gap reached the threshold
    assert m.rounds_ == int(true[-1] // math.ceil(a)) or m.rounds_ == int(true[-1] // a)


def test_counters_route_is_max_of_a_tree_counter():
    T, d = 64, 4
    X = _stream(T, d, 3)
    m = MaxSum(T=T, d=d, route="counters", noise="seeded", seed=7)
    c = TreeCounter(T=T, d=d, privacy=("zcdp", 0.5), noise="seeded", seed=7)
    np.testing.assert_array_equal(m.release_many(X), c.release_many(X).max(axis=1))
    s = SumSelect(T=T, d=d, route="counters", noise="none")
    np.testing.assert_array_equal(s.release_many(X), np.cumsum(X, axis=0).argmax(axis=1))


def test_auto_route_picks_smaller_bound_and_regimes():
    for T, d in [(10**4, 2), (10**4, 10**4), (10**3, 50)]:
        m = MaxSum(T=T, d=d, noise="seeded")
        e = m.expected_error()
        assert m.chosen_route == ("counters" if e["counters_bound"] <= e["svt_bound"] else "svt")
    # T^(1/3) regime: the sparse-vector bound grows like T^(1/3) up to logs
    b = [MaxSum(T=T, d=2, route="svt", noise="seeded").expected_error()["svt_bound"] for T in (10**4, 10**6)]
    assert 100 ** (1 / 3) < b[1] / b[0] < 100 ** (1 / 3) * 2.5


def test_accounting_composes_rounds():
    m = MaxSum(T=500, d=3, privacy=("pure", 1.0), route="svt", noise="seeded")
    assert m.privacy_loss(1) == ("pure", pytest.approx(1.0))
    z = SumSelect(T=500, d=3, privacy=("zcdp", 0.5), route="svt", noise="seeded")
    assert z.privacy_loss(1) == ("zcdp", pytest.approx(0.5)) and z.privacy_loss(2)[1] == pytest.approx(2.0)
    a = MaxSum(T=500, d=3, privacy=("approx", 1.0, 1e-6), route="svt", noise="seeded")
    assert a.check(1, ("approx", 1.0, 1e-6)) and not a.check(1, ("approx", 0.9, 1e-6))


def test_bad_input_and_params():
    m = MaxSum(T=3, d=2, noise="seeded", seed=0)
    for bad in ([0.5, 1.0], [1.0], [[1.0, 0.0]], "ab", [np.nan, 0.0]):
        with pytest.raises(InvalidEvent):
            m.release(bad)
    m.release_many([[1, 0], [0, 1], [1, 1]])
    with pytest.raises(InvalidEvent, match="horizon"):
        m.release([0, 0])
    for kw in [{"privacy": ("pure", 0)}, {"route": "x"}, {"counter": "x"}, {"beta": 1.5}, {"seed": 1}]:
        with pytest.raises(InvalidEvent):
            SumSelect(T=5, d=2, **kw)


def _row_loop(m, X, sizes):
    """The per-row sparse-vector loop (the oracle of the block path), over blocks of ``sizes``."""
    out, k = [], 0
    for n in sizes:
        out.extend(m._run_svt_rows(m._as_block(X[k:k + n], "xs")))
        k += n
    return np.array(out, dtype=m._out_dtype)


def _svt_state(m):
    return (m.t_, m.rounds_, m.theta_, m.S_.tolist(), getattr(m, "r_", None), getattr(m, "j_", None),
            m._rng.bit_generator.state["state"])


class _NoRewind:
    """A generator whose state cannot be set back: the block path then keeps a window's
    surplus test draws past a firing test (the sabotage of the rewind)."""

    def __init__(self, rng):
        self._rng = rng
        self.bit_generator = self

    @property
    def state(self):
        return self._rng.bit_generator.state

    @state.setter
    def state(self, value):
        pass  # the rewind is lost

    def laplace(self, *args, **kwargs):
        return self._rng.laplace(*args, **kwargs)


def _switching(T, d, seed):
    """Records whose leading column changes twice: the released max (and the selected index)
    go stale, so the sparse-vector tests fire."""
    p = np.linspace(0.8, 0.2, d)
    a, b = T // 10, T // 10 + (T - T // 10) // 2
    return np.vstack([_stream(a, d, seed, p=p), _stream(b - a, d, seed + 50, p=p[::-1]),
                      _stream(T - b, d, seed + 60, p=p)])


@pytest.mark.parametrize("cls", [MaxSum, SumSelect])
@pytest.mark.parametrize("noise", ["seeded", "none"])
@pytest.mark.parametrize("rounds", [None, 1, 2])
def test_block_path_equals_the_row_loop(cls, noise, rounds):
    """Windows of gaps and test noises give the row loop's releases and state, bit for bit:
    tests firing inside and at the edges of windows, and a round budget that runs out."""
    fired = []
    for seed, (T, d, rho) in enumerate([(3000, 4, 50.0), (1500, 8, 1.0), (700, 1, 0.2), (2000, 3, 1000.0)]):
        X = _switching(T, d, seed)
        a = cls(T=T, d=d, privacy=("zcdp", rho), route="svt", noise=noise, seed=seed)
        if rounds is not None:
            a._k = rounds
        b = a.clone()
        b._k = a._k
        ya = a.release_many(X)
        sizes = np.random.default_rng(seed).integers(1, 400, size=T)
        sizes = sizes[: np.searchsorted(np.cumsum(sizes), T)].tolist()
        yb = _row_loop(b, X, [*sizes, T - sum(sizes)])
        np.testing.assert_array_equal(ya, yb)
        assert _svt_state(a) == _svt_state(b)
        fired.append(a.rounds_)
    if rounds is not None:
        assert rounds in fired  # the budget ran out in some stream: its later rows drew nothing
    else:
        assert max(fired) >= 2  # several tests fired inside a stream


def test_block_path_check_catches_a_missing_rewind():
    """The equality above fails for a block path that keeps a window's surplus draws."""
    T, d = 3000, 4
    X = _switching(T, d, 0)
    a = MaxSum(T=T, d=d, privacy=("zcdp", 50.0), route="svt", noise="seeded", seed=0)
    b = a.clone()
    a._rng = _NoRewind(a._rng)
    ya = a.release_many(X)
    yb = _row_loop(b, X, [T])
    assert a.rounds_ >= 2
    assert not np.array_equal(ya, yb) or _svt_state(a) != _svt_state(b)


def test_counters_route_block_equals_rows():
    for cls in (MaxSum, SumSelect):
        X = _stream(200, 3, 4)
        a = cls(T=200, d=3, route="counters", noise="seeded", seed=5)
        b = a.clone()
        ya = a.release_many(X)
        yb = np.array([b.release(x) for x in X])
        np.testing.assert_array_equal(ya, yb)
        c = a.clone()
        noisy = c.counter_.release_many(X).reshape(200, 3)
        expect = noisy.max(axis=1) if cls is MaxSum else np.argmax(noisy, axis=1)
        np.testing.assert_array_equal(ya, expect)  # the max / argmax of the noisy counts, row by row
        assert a.S_.tolist() == X.sum(axis=0).astype(int).tolist() and a.t_ == 200

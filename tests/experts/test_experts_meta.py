"""Hedge and AdaNormalHedge with sleeping experts."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from onlinekit.base import InvalidEvent
from onlinekit.experts import AdaNormalHedge, Hedge


def test_hedge_all_awake_is_classic_hedge():
    rng = np.random.default_rng(0)
    L = rng.random((50, 4))
    h = Hedge(n_experts=4, lr=0.3)
    for t in range(50):
        p = h.play()
        cum = L[:t].sum(axis=0)
        w = np.exp(-0.3 * (cum - cum.min()))
        np.testing.assert_allclose(p, w / w.sum(), rtol=1e-10)
        h.update(L[t])


def test_hedge_regret_bound():
    """Constant eta: regret to the best expert <= ln N / eta + eta T / 8 (losses in [0, 1])."""
    rng = np.random.default_rng(1)
    T, N, eta = 2000, 8, 0.05
    L = rng.random((T, N)) * np.linspace(0.6, 1.0, N)
    h = Hedge(n_experts=N, lr=eta)
    P = h.update_many(L)
    regret = float(np.sum(P * L) - L.sum(axis=0).min())
    assert regret <= np.log(N) / eta + eta * T / 8


def test_sleeping_experts_are_untouched_and_get_zero_probability():
    for cls in (Hedge, AdaNormalHedge):
        m = cls(n_experts=3)
        m.update(np.array([0.2, 0.5, 0.9]))
        R, C = m.R_.copy(), m.C_.copy()
        awake = np.array([True, False, True])
        p = m.play(awake)
        assert p[1] == 0.0 and np.isclose(p.sum(), 1.0)
        m.update(np.array([0.1, np.nan, 0.3]), awake=awake)  # sleeping entry ignored
        assert m.R_[1] == R[1] and m.C_[1] == C[1]
        assert m.R_[0] != R[0] and m.R_[2] != R[2]


def test_anh_zero_weights_fall_back_to_uniform_over_awake():
    m = AdaNormalHedge(n_experts=3)
    m.R_[:] = [-2.0, -1.0, 5.0]
    np.testing.assert_allclose(m.play(np.array([True, True, False])), [0.5, 0.5, 0.0])
    np.testing.assert_allclose(m.play(), [0.0, 0.0, 1.0])


def test_log_space_no_overflow():
    m = AdaNormalHedge(n_experts=2)
    m.R_[:] = [1e8, 1e8 - 1e3]
    m.C_[:] = [1.0, 1.0]
    h = Hedge(n_experts=2, lr=10.0)
    h.R_[:] = [1e6, 1e6 - 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p, q = m.play(), h.play()
    assert np.all(np.isfinite(p)) and p[0] == 1.0
    np.testing.assert_allclose(q, [1 / (1 + np.exp(-10.0)), np.exp(-10.0) / (1 + np.exp(-10.0))])


def test_anh_sleeping_regret_is_small_for_each_expert():
    """Every expert's sleeping regret grows like sqrt(T_e) (Luo & Schapire, Thm. 1)."""
    rng = np.random.default_rng(2)
    T, N = 4000, 6
    A = rng.random((T, N)) < 0.5
    A[~A.any(axis=1), 0] = True
    L = rng.random((T, N)) * np.linspace(0.5, 1.0, N)
    m = AdaNormalHedge(n_experts=N)
    P = m.update_many(L, awake=A)
    mix = np.sum(P * L, axis=1)
    for e in range(N):
        on = A[:, e]
        regret = float(np.sum(mix[on] - L[on, e]))
        assert regret <= 3.0 * np.sqrt(on.sum() * np.log(N)) + 5.0


@pytest.mark.parametrize("cls", [Hedge, AdaNormalHedge])
def test_update_many_equals_loop(cls):
    rng = np.random.default_rng(3)
    L = rng.random((40, 4))
    A = rng.random((40, 4)) < 0.6
    A[~A.any(axis=1), 1] = True
    a, b = cls(n_experts=4), cls(n_experts=4)
    P = a.update_many(L, awake=A)
    for i in range(40):
        assert np.array_equal(b.play(A[i]), P[i])
        b.update(L[i], awake=A[i])
    assert np.array_equal(a.R_, b.R_) and np.array_equal(a.C_, b.C_) and a.t_ == b.t_


def test_bad_input_names_field_and_offset():
    m = AdaNormalHedge(n_experts=3)
    with pytest.raises(InvalidEvent, match="no awake expert") as exc:
        m.update_many(np.zeros((3, 3)), awake=np.array([[1, 0, 0], [0, 0, 0], [1, 1, 1]]))
    assert exc.value.offset == 1
    with pytest.raises(InvalidEvent, match="n_experts"):
        Hedge(n_experts=0)
    with pytest.raises(InvalidEvent, match="lr"):
        Hedge(n_experts=2, lr=-1.0)
    with pytest.raises(InvalidEvent, match="awake"):
        m.update(np.zeros(3), awake=np.array([0, 2, 1]))
    assert m.t_ == 0 and not m.R_.any()


def _first_refusal_of_the_loop(cls, L, A):
    """Slow reference: ``update`` row by row on a copy; the first refusal, with its row."""
    m = cls(n_experts=L.shape[1])
    for i in range(L.shape[0]):
        try:
            m.update(L[i], awake=A[i])
        except InvalidEvent as err:
            return i, err.field, str(err).split(": ", 2)[-1]
    return None


@pytest.mark.parametrize("cls", [Hedge, AdaNormalHedge])
def test_block_refuses_the_row_the_per_round_loop_refuses(cls):
    """update_many's vectorised checks report the same first row, field and message as a loop
    of update() calls, and leave the state unchanged."""
    _check_block_refusals(cls)


def test_block_refusal_check_catches_checks_run_from_the_last_row(monkeypatch):
    """Sabotage: the block reports its last failing row (a reversed scan) -- the check fails."""
    real = Hedge._checked_losses

    def reversed_scan(L, A, single):
        return real(L[::-1], A[::-1], single)[::-1]

    monkeypatch.setattr(Hedge, "_checked_losses", staticmethod(reversed_scan))
    with pytest.raises(AssertionError):
        _check_block_refusals(Hedge)


def _check_block_refusals(cls):
    rng = np.random.default_rng(5)
    faults = 0
    for trial in range(120):
        n, k = int(rng.integers(1, 7)), 4
        L = rng.random((n, k))
        A = rng.random((n, k)) < 0.7
        if trial % 4 == 1:
            L[rng.integers(n), rng.integers(k)] = (np.nan, np.inf, -np.inf)[trial % 3]
        if trial % 5 == 2:
            A[rng.integers(n)] = False
        if trial % 9 == 3:
            L = L.astype(object)
        m = cls(n_experts=k)
        m.update_many(rng.random((2, k)))
        before = (m.R_.copy(), m.C_.copy(), m.t_)
        want = _first_refusal_of_the_loop(cls, L, A)
        try:
            m.update_many(L, awake=A)
        except InvalidEvent as err:
            faults += 1
            assert want == (err.offset, err.field, str(err).split(": ", 2)[-1]), (trial, want, str(err))
            assert np.array_equal(m.R_, before[0]) and np.array_equal(m.C_, before[1]) and m.t_ == before[2]
        else:
            assert want is None, (trial, want)
    assert faults > 30  # the draw exercises the refusals

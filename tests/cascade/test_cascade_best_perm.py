"""BestPerm and the list-value kernels against brute force and slow references."""

import sys
from pathlib import Path

import numpy as np
import pytest

from onlinekit.base import InvalidEvent
from onlinekit.cascade import best_perm, best_perm_batch, exhaustive_best_perm, list_value
from onlinekit.cascade import _kernels as K

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import cascade_reference as ref  # noqa: E402


def _instance(rng, it):
    if it % 3 == 0:  # more than 4 m candidates: the dominance pruning is active
        N, m = int(rng.integers(9, 14)), int(rng.integers(1, 3))
    else:
        N, m = int(rng.integers(1, 7)), int(rng.integers(1, 5))
    q = rng.random(N)
    w = rng.random(N)
    w_bot = float(rng.random() * 0.8)
    if it % 5 == 0:  # attraction 1 makes every completion below it optimal
        q[rng.random(N) < 0.3] = 1.0
    if it % 6 == 0:
        q[rng.random(N) < 0.3] = 0.0
    if it % 7 == 0:  # coarse grid: many exact ties
        q, w = np.round(q, 1), np.round(w, 1)
    if it % 11 == 0:
        w[:] = 0.5
    return q, w, w_bot, m


def test_best_perm_equals_brute_force_on_random_instances():
    rng = np.random.default_rng(2024)
    for it in range(1500):
        q, w, w_bot, m = _instance(rng, it)
        v_ref, A_ref = ref.canonical_best(q, w, w_bot, m)
        v, A = best_perm(q, w, w_bot, m)
        assert v == pytest.approx(v_ref, abs=1e-12), it
        assert A.tolist() == A_ref, it
        # the returned list attains the value
        assert ref.list_value(A.tolist(), q, w, w_bot) == pytest.approx(v, abs=1e-12)
        # and Algorithm 1 written independently gives the same value
        assert ref.best_perm_dp(q, w, w_bot, m) == pytest.approx(v, abs=1e-12)


def test_exhaustive_equals_brute_force_and_best_perm():
    rng = np.random.default_rng(7)
    for it in range(600):
        q, w, w_bot, m = _instance(rng, it)
        v_ref, A_ref = ref.canonical_best(q, w, w_bot, m)
        v, A = exhaustive_best_perm(q, w, w_bot, m)
        assert v == pytest.approx(v_ref, abs=1e-12)
        assert A.tolist() == A_ref


def test_structure_of_the_optimal_list():
    """Lemma 1: items beat w_bot and come in descending w; lists are never empty."""
    rng = np.random.default_rng(3)
    for _ in range(300):
        N = int(rng.integers(2, 30))
        q, w = rng.random(N), rng.random(N)
        w_bot = float(rng.random())
        m = int(rng.integers(1, 6))
        v, A = best_perm(q, w, w_bot, m)
        assert 1 <= len(A) <= m and len(set(A.tolist())) == len(A)
        if (w > w_bot).any():
            assert np.all(w[A] > w_bot)
            assert np.all(np.diff(w[A]) <= 0)
            assert v >= w_bot
        else:
            assert len(A) == 1 and v <= w_bot


def test_optimal_value_is_monotone_in_q_and_w():
    """The optimum (not a fixed list's value) is non-decreasing in q and w elementwise.

    In q this needs an item with ``w > w_bot``: lists are non-empty, so when every item is
    below ``w_bot`` a more attractive item only lowers the value.
    """
    rng = np.random.default_rng(11)
    for _ in range(300):
        N = int(rng.integers(1, 12))
        q, w = rng.random(N), rng.random(N)
        w_bot = float(rng.random() * 0.5)
        m = int(rng.integers(1, 4))
        w[0] = max(w[0], w_bot + 0.01)
        v, _ = best_perm(q, w, w_bot, m)
        q2 = np.minimum(q + rng.random(N) * 0.3, 1.0)
        w2 = w + rng.random(N) * 0.3
        assert best_perm(q2, w, w_bot, m)[0] >= v - 1e-12
        assert best_perm(q, w2, w_bot, m)[0] >= v - 1e-12


def test_batch_equals_rows():
    rng = np.random.default_rng(5)
    Q, W = rng.random((40, 9)), rng.random((40, 9))
    wb = rng.random(40) * 0.6
    values, lists, lengths = best_perm_batch(Q, W, wb, 3)
    for s in range(40):
        v, A = best_perm(Q[s], W[s], wb[s], 3)
        assert values[s] == v
        assert lists[s, : lengths[s]].tolist() == A.tolist()
        assert np.all(lists[s, lengths[s]:] == -1)


def test_large_instance_against_reference_dp():
    rng = np.random.default_rng(8)
    q, w = rng.random(300) * 0.3, rng.random(300)
    v, A = best_perm(q, w, 0.1, 10)
    assert v == pytest.approx(ref.best_perm_dp(q, w, 0.1, 10), abs=1e-12)
    assert len(A) == 10


def test_list_value_and_box_value_kernels():
    rng = np.random.default_rng(9)
    for _ in range(200):
        N = int(rng.integers(1, 8))
        q, w = rng.random(N), rng.random(N)
        w_bot = float(rng.random())
        A = rng.permutation(N)[: int(rng.integers(1, N + 1))]
        assert list_value(A, q, w, w_bot) == pytest.approx(ref.list_value(A.tolist(), q, w, w_bot), abs=1e-12)
        lo = q * rng.random(N)
        hi = np.minimum(q + rng.random(N) * 0.3, 1.0)
        a64 = A.astype(np.int64)
        for upper in (False, True):
            got = K.box_value(lo, hi, w, w_bot, a64, len(a64), upper)
            assert got == pytest.approx(ref.box_value(A.tolist(), lo, hi, w, w_bot, upper), abs=1e-12)


@pytest.mark.parametrize("args,field", [
    (([0.5, 1.2], [1.0, 1.0], 0.0, 2), "q"),
    (([0.5, np.nan], [1.0, 1.0], 0.0, 2), "q"),
    (([0.5, 0.5], [1.0, np.inf], 0.0, 2), "w"),
    (([0.5, 0.5], [1.0], 0.0, 2), "q"),
    (([0.5, 0.5], [1.0, 1.0], np.nan, 2), "w_bot"),
    (([0.5, 0.5], [1.0, 1.0], 0.0, 0), "m"),
    (([0.5, 0.5], [1.0, 1.0], 0.0, 1.5), "m"),
])
def test_best_perm_rejects_bad_input(args, field):
    with pytest.raises(InvalidEvent) as exc:
        best_perm(*args)
    assert exc.value.field == field


def test_list_value_rejects_bad_lists():
    for items in ([0, 0], [2], [], [0.5]):
        with pytest.raises(InvalidEvent):
            list_value(items, [0.5, 0.5], [1.0, 1.0], 0.0)


def test_best_perm_equals_exhaustive_on_tie_heavy_larger_instances():
    """N up to 21 (dominance pruning active), attraction 1 / coarse grids: same canonical list."""
    rng = np.random.default_rng(1)
    for it in range(800):
        N, m = int(rng.integers(5, 22)), int(rng.integers(1, 4))
        kind = it % 4
        if kind == 0:
            q, w = rng.choice([0.0, 0.5, 1.0], N), np.round(rng.random(N), 1)
        elif kind == 1:
            q, w = np.ones(N), rng.random(N)
        elif kind == 2:
            q, w = rng.random(N) * 0.3, np.round(rng.random(N) * 3) / 3
        else:
            q, w = rng.random(N), rng.random(N)
        w_bot = float(np.round(rng.random() * 0.5, 1))
        v1, a1 = best_perm(q, w, w_bot, m)
        v2, a2 = exhaustive_best_perm(q, w, w_bot, m)
        assert a1.tolist() == a2.tolist(), it
        assert v1 == pytest.approx(v2, abs=1e-12)

"""Groupwise regret metric against lstsq on every prefix."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reference"))
import experts_reference as ref  # noqa: E402

from onlinekit.experts.groupwise_metrics import checkpoints, groupwise_regret, hindsight_sse  # noqa: E402


@pytest.mark.parametrize("n,k", [(1, 100), (20, 100), (574, 100), (1338, 100), (1000, 7)])
def test_checkpoints_follow_the_official_grid(n, k):
    kk = min(k, n)
    if kk > 1:
        expected = np.linspace(n // kk, n - 1, dtype=int, num=kk)
        np.testing.assert_array_equal(checkpoints(n, k), expected)
    assert checkpoints(n, k)[-1] == n - 1


@pytest.mark.parametrize("paper_compat", [False, True])
def test_hindsight_matches_lstsq_with_collinear_columns(paper_compat):
    rng = np.random.default_rng(0)
    n = 300
    cat = rng.integers(0, 3, n)
    X = np.column_stack([rng.random(n), np.eye(3)[cat], np.ones(n)])  # one-hot + constant: rank deficient
    y = X[:, 0] * 2 + cat * 0.3 + 0.1 * rng.normal(size=n)
    pos = checkpoints(n, 25)
    np.testing.assert_allclose(hindsight_sse(X, y, pos, paper_compat=paper_compat),
                               ref.hindsight_sse(X, y, pos, paper_compat), rtol=1e-8, atol=1e-10)


def test_groupwise_regret_per_group_subsequences():
    rng = np.random.default_rng(1)
    n = 200
    X = rng.normal(size=(n, 2))
    y = X @ np.array([1.0, 2.0]) + rng.normal(size=n)
    G = np.column_stack([rng.random(n) < 0.3, np.ones(n, bool)])
    loss = rng.random(n)
    res = groupwise_regret({"m": loss}, G, X, y, group_names=["a", "all"], k=10)
    idx = np.flatnonzero(G[:, 0])
    r = res["a"]
    assert r["n"] == len(idx)
    np.testing.assert_allclose(r["cumloss"]["m"], np.cumsum(loss[idx])[r["positions"]])
    np.testing.assert_allclose(r["hindsight"], ref.hindsight_sse(X[idx], y[idx], r["positions"]), rtol=1e-9)
    np.testing.assert_allclose(r["regret"]["m"], r["cumloss"]["m"] - r["hindsight"])
    with pytest.raises(ValueError):
        groupwise_regret({"m": loss[:-1]}, G, X, y)

"""The continual-counting experiment (quick config), the example and the benchmark's peers."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def test_continual_counting_quick(tmp_path):
    from onlinekit.experiments import run_experiment

    r = run_experiment("continual-counting", quick=True, n_seeds=1, out=str(tmp_path))
    assert r.failures == []
    rows = r.table
    assert {row["method"] for row in rows if row["part"] == "counter"} == {"tree", "tree+honaker", "sqrt"}
    assert {row["method"] for row in rows if row["part"] == "counter-small-T"} == {"tree", "sqrt", "optimal"}
    # closed forms order the methods: optimal <= sqrt < tree+honaker < tree in mean error
    by = {(row["part"], row["method"], row["T"]): row["mse_closed_form_mean"] for row in rows
          if row["part"].startswith("counter")}
    assert by[("counter", "sqrt", "64")] < by[("counter", "tree+honaker", "64")] < by[("counter", "tree", "64")]
    assert by[("counter-small-T", "optimal", "64")] <= by[("counter-small-T", "sqrt", "64")]
    assert any(p.suffix == ".png" for p in r.files)


def test_benchmark_numpy_peers_are_the_same_mechanisms():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_privacy as b

    x = np.random.default_rng(0).random(64)
    np.testing.assert_allclose(b._numpy_tree(x, 0.0, np.random.default_rng(0)), np.cumsum(x), atol=1e-12)
    np.testing.assert_allclose(b._numpy_sqrt(x, 0.0, np.random.default_rng(0)), np.cumsum(x), atol=1e-12)

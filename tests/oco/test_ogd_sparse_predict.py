"""A dict event on a wide OGD model is scored over its own keys, equal to the dense kernel."""

from __future__ import annotations

import numpy as np
import pytest

from onlinekit.base import InvalidEvent
from onlinekit.oco import OGD, OGDClassifier, _ogd_kernels


def _dense(m, x):
    v, _ = m._index.vector(x, grow=False)
    return _ogd_kernels._predict_one(np.ascontiguousarray(v), m.w_, m.bt_, m._hp)


@pytest.mark.parametrize("cls", [OGD, OGDClassifier])
def test_sparse_score_equals_the_dense_kernel_bit_for_bit(cls):
    rng = np.random.default_rng(1)
    m = cls(lr=0.05)
    m.grow_features([f"f{i}" for i in range(3000)])
    for _ in range(2000):
        x = {f"f{k}": float(rng.normal()) for k in rng.choice(3000, size=6, replace=False)}
        x["unknown"] = 1.0  # not a feature: ignored by both paths
        assert np.float64(m._score_one(x)).tobytes() == np.float64(_dense(m, x)).tobytes()
        m.learn_one({k: v for k, v in x.items() if k != "unknown"},
                    float(rng.normal()) if cls is OGD else bool(rng.random() < 0.5))


def test_summing_in_event_order_instead_of_column_order_is_caught():
    """Sabotage: the dense kernel sums in column order; a sparse sum in the dict's own order
    rounds differently on some events, which the bit-for-bit check above would flag."""
    rng = np.random.default_rng(2)
    m = OGD(lr=0.05)
    m.grow_features([f"f{i}" for i in range(1000)])
    m.w_ = rng.normal(size=1000) * 10.0 ** rng.uniform(-8, 8, size=1000)
    differs = 0
    for _ in range(500):
        keys = rng.choice(1000, size=8, replace=False)
        x = {f"f{k}": float(rng.normal()) for k in keys}
        z = float(m.bt_[0])
        for k, v in x.items():  # event order
            z += float(m.w_[int(k[1:])]) * v
        differs += z != _dense(m, x)
    assert differs > 0


def test_sparse_path_refuses_bad_values_naming_the_key():
    m = OGD(lr=0.1)
    m.grow_features([f"f{i}" for i in range(100)])
    with pytest.raises(InvalidEvent, match="non-finite"):
        m.predict_one({"f1": float("nan")})
    with pytest.raises(InvalidEvent, match="expected a number"):
        m.predict_one({"f1": "a"})

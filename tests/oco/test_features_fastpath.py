"""``FeatureIndex.vector`` on dict events (its all-float, all-known fast path included) against a
plain reference written here: one value at a time, new names appended in order."""

from __future__ import annotations

import math
import numbers

import numpy as np
import pytest

from onlinekit.base import InvalidEvent
from onlinekit.oco._features import FeatureIndex

st = pytest.importorskip("hypothesis.strategies")
from hypothesis import given, settings  # noqa: E402


def _reference(names: list, x: dict, grow: bool):
    pos = {k: i for i, k in enumerate(names)}
    new, cols = [], {}
    for k, val in x.items():
        if not isinstance(val, numbers.Real):  # booleans are numbers here (check_value's contract)
            return ("error", f"x[{k!r}]")
        fv = float(val)
        if not math.isfinite(fv):
            return ("error", f"x[{k!r}]")
        j = pos.get(k)
        if j is None:
            if not grow:
                continue
            j = len(names) + len(new)
            new.append(k)
        cols[j] = fv
    v = np.zeros(len(names) + len(new))
    for j, fv in cols.items():
        v[j] = fv
    return ("ok", v, new)


_names = st.sampled_from(["a", "b", "c", "d", "e"])
_val = st.one_of(st.floats(width=64), st.integers(-10**6, 10**6), st.booleans(), st.just("1"),
                 st.just(1e308), st.just(-1e308))


@settings(max_examples=500, deadline=None)
@given(known=st.lists(_names, unique=True, min_size=1, max_size=5), data=st.data(), grow=st.booleans())
def test_vector_matches_the_one_value_at_a_time_reference(known, data, grow):
    keys = st.sampled_from(known) if data.draw(st.booleans()) else _names  # often only known names
    vals = st.floats(width=64) if data.draw(st.booleans()) else _val       # often only floats
    x = data.draw(st.dictionaries(keys, vals, max_size=5))
    idx = FeatureIndex(known)
    want = _reference(known, x, grow)
    try:
        v, new = idx.vector(x, grow=grow)
        got = ("ok", v, new)
    except InvalidEvent as exc:
        got = ("error", exc.field)
    assert got[0] == want[0], (x, got, want)
    if want[0] == "error":
        assert got[1] == want[1]
    else:
        assert got[2] == want[2]
        assert got[1].dtype == np.float64 and np.array_equal(got[1], want[1])
        assert got[1].tobytes() == want[1].tobytes()  # bit for bit (signed zeros too)
    assert idx.names == known  # vector() never changes the index

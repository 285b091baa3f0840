"""The state archive's zip writer (``onlinekit.base._write_npz``) against ``np.savez``: every
array reads back from both with the same dtype, shape and values."""

from __future__ import annotations

import io

import numpy as np
import pytest

from onlinekit.base import _write_npz

ARRAYS = [
    np.array(3.5), np.zeros((0, 3)), np.array(["ab", "c"]), np.arange(10, dtype=">i4"),
    np.ones((3, 4), order="F")[:, ::2], np.array([True, False]), np.array([1 + 2j]),
    np.zeros((2, 3), dtype=[("a", "<f8"), ("b", "<i2")]), np.frombuffer(b"[\"a\", \"b\"]", dtype=np.uint8),
    np.random.default_rng(0).normal(size=(7, 5, 3)), np.arange(6, dtype=np.uint16).reshape(2, 3).T,
]


def _load(data: bytes) -> dict:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def test_archives_read_back_as_savez_archives():
    ours, theirs = io.BytesIO(), io.BytesIO()
    named = {f"a{i}": a for i, a in enumerate(ARRAYS)}
    _write_npz(ours, named)
    np.savez(theirs, **named)
    got, want = _load(ours.getvalue()), _load(theirs.getvalue())
    assert got.keys() == want.keys() == named.keys()
    for k in named:
        assert got[k].dtype == want[k].dtype and got[k].shape == want[k].shape, k
        assert np.array_equal(got[k], want[k]), k


def test_object_arrays_are_refused():
    with pytest.raises(TypeError, match="object array"):
        _write_npz(io.BytesIO(), {"o": np.array([{}, []], dtype=object)})


def test_the_comparison_sees_a_wrong_byte_order():
    """The comparison above is sensitive to the bytes: the same bytes under the other byte
    order (a writer that dropped the dtype's byte order) read back as other numbers."""
    a = np.arange(4, dtype="<i4")
    buf = io.BytesIO()
    _write_npz(buf, {"a": a.view(">i4")})
    assert not np.array_equal(_load(buf.getvalue())["a"], a)

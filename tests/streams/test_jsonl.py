"""JSONLSource: values, kinds, chunking, start=, errors."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onlinekit.streams import StreamError
from onlinekit.streams.errors import MissingDataError
from onlinekit.streams.jsonl import JSONLSource


def write(path, objs, gz=False, extra=""):
    text = "".join((o if isinstance(o, str) else json.dumps(o)) + "\n" for o in objs) + extra
    if gz:
        with gzip.open(path, "wt") as f:
            f.write(text)
    else:
        path.write_text(text)
    return path


def collect(src, **kw):
    chunks = list(src.chunks(**kw))
    cols = {}
    for ch in chunks:
        for k, v in ch.columns.items():
            cols.setdefault(k, []).append(v)
    return {k: np.concatenate(v) for k, v in cols.items()}, chunks


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    xs=st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1, max_size=30),
    chunk_size=st.sampled_from([1, 7, 1000]),
    start=st.integers(0, 35),
)
def test_values_chunks_and_start(tmp_path, xs, chunk_size, start):
    p = write(tmp_path / "a.jsonl", [{"x": x, "s": f"v{i}"} for i, x in enumerate(xs)])
    cols, chunks = collect(JSONLSource(p), start=start, chunk_size=chunk_size, kinds={"x": "float", "s": "str"})
    if xs[start:]:
        assert cols["x"].view(np.int64).tolist() == np.array(xs[start:]).view(np.int64).tolist()
        assert cols["s"].tolist() == [f"v{i}" for i in range(start, len(xs))]
        assert chunks[0].offset == start and chunks[-1].end == len(xs)
        assert chunks[0].lines[0] == start + 1
    else:
        assert chunks == []


def test_gzip_inference_and_extra_keys(tmp_path):
    p = write(tmp_path / "a.jsonl.gz", [{"a": 1, "b": "x"}, {"a": 2.5, "b": "y", "zz": 1}], gz=True)
    src = JSONLSource(p)
    assert src.column_names() == ["a", "b"]
    cols, _ = collect(src)
    assert cols["a"].tolist() == [1.0, 2.5] and cols["a"].dtype == np.float64
    assert cols["b"].tolist() == ["x", "y"] and cols["b"].dtype == object


BAD = [{"a": 1, "b": "x"}, {"a": True, "b": "y"}, {"b": "z"}, "", "[1, 2]", "{not json", {"a": None, "b": "w"}, {"a": 7, "b": "ok"}]


def test_errors_raise(tmp_path):
    p = write(tmp_path / "bad.jsonl", BAD)
    with pytest.raises(StreamError, match=r"bad.jsonl, line 2, column 'a': cannot parse true as a number"):
        collect(JSONLSource(p), kinds={"a": "float"})


def test_errors_skip(tmp_path):
    p = write(tmp_path / "bad.jsonl", BAD)
    src = JSONLSource(p, errors="skip")
    cols, chunks = collect(src, chunk_size=3, kinds={"a": "float", "b": "str"})
    # null is a missing cell (NaN here; the schema or an encoder's missing policy decides)
    assert cols["a"][[0, 2]].tolist() == [1.0, 7.0] and np.isnan(cols["a"][1])
    assert cols["b"].tolist() == ["x", "w", "ok"]
    assert src.skipped == 4
    reasons = [str(b) for b in src.bad_rows]
    assert reasons[0].endswith("line 2, column 'a': cannot parse true as a number")
    assert reasons[1].endswith("line 3, column 'a': missing key")
    assert "line 5: expected a JSON object" in reasons[2]
    assert "line 6: invalid JSON" in reasons[3]
    assert [(c.offset, c.end) for c in chunks] == [(0, 3), (3, 6), (6, 7)]
    assert np.concatenate([c.lines for c in chunks]).tolist() == [1, 7, 8]


def test_empty_and_missing(tmp_path):
    p = tmp_path / "e.jsonl"
    p.write_text("")
    src = JSONLSource(p)
    assert src.column_names() == [] and list(src.chunks()) == []
    with pytest.raises(MissingDataError):
        JSONLSource(tmp_path / "nope.jsonl")
    with pytest.raises(StreamError, match="no column"):
        list(JSONLSource(write(tmp_path / "o.jsonl", [{"a": 1}])).chunks(kinds={"q": "float"}))

"""ParquetSource: values, row groups, start=, nulls."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

from onlinekit.streams import StreamError
from onlinekit.streams.errors import MissingDataError

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

from onlinekit.streams.parquet import ParquetSource  # noqa: E402


def collect(src, **kw):
    chunks = list(src.chunks(**kw))
    cols = {}
    for ch in chunks:
        for k, v in ch.columns.items():
            cols.setdefault(k, []).append(v)
    return {k: np.concatenate(v) for k, v in cols.items()}, chunks


@pytest.fixture
def table_path(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    t = pa.table({"x": x, "k": rng.integers(0, 5, 50), "b": rng.random(50) < 0.5, "s": [f"s{i}" for i in range(50)]})
    p = tmp_path / "t.parquet"
    pq.write_table(t, p, row_group_size=16)
    return p, t


@pytest.mark.parametrize("chunk_size", [1, 7, 1000])
@pytest.mark.parametrize("start", [0, 5, 16, 33, 49, 50, 70])
def test_values_and_start(table_path, chunk_size, start):
    p, t = table_path
    cols, chunks = collect(ParquetSource(p), start=start, chunk_size=chunk_size)
    if start >= 50:
        assert chunks == []
        return
    assert cols["x"].tolist() == t["x"].to_pylist()[start:]
    assert cols["k"].dtype == np.float64 and cols["k"].tolist() == [float(v) for v in t["k"].to_pylist()[start:]]
    assert cols["b"].tolist() == [float(v) for v in t["b"].to_pylist()[start:]]
    assert cols["s"].dtype == object and cols["s"].tolist() == t["s"].to_pylist()[start:]
    assert chunks[0].offset == start and chunks[-1].end == 50
    assert all(len(c) <= chunk_size for c in chunks)
    assert all(a.end == b.offset for a, b in zip(chunks, chunks[1:]))


def test_nulls_are_missing_cells(tmp_path):
    p = tmp_path / "n.parquet"
    pq.write_table(pa.table({"x": [1.0, None, 3.0], "y": [1, 2, None], "s": ["a", None, "c"]}), p)
    cols, _chunks = collect(ParquetSource(p))
    assert cols["x"][[0, 2]].tolist() == [1.0, 3.0] and np.isnan(cols["x"][1])
    assert np.isnan(cols["y"][2]) and cols["s"].tolist() == ["a", "", "c"]
    from onlinekit.streams import Schema, Stream

    with pytest.raises(StreamError, match=r"n.parquet, row 1, column 'x': non-finite value nan"):
        list(Stream(ParquetSource(p), Schema(target="y", features=("x",))).blocks())


def test_errors_and_missing(tmp_path, table_path):
    p, _ = table_path
    with pytest.raises(StreamError, match="not a number"):
        list(ParquetSource(p).chunks(kinds={"s": "float"}))
    with pytest.raises(StreamError, match="no column"):
        list(ParquetSource(p).chunks(kinds={"zz": "float"}))
    with pytest.raises(MissingDataError):
        ParquetSource(tmp_path / "nope.parquet")
    bad = tmp_path / "bad.parquet"
    bad.write_text("hello")
    with pytest.raises(StreamError, match="not a readable Parquet"):
        ParquetSource(bad)


def test_missing_pyarrow_message(monkeypatch, table_path):
    real = builtins.__import__

    def fake(name, *a, **k):
        if name.startswith("pyarrow"):
            raise ImportError("no pyarrow")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match=r'pip install "onlinekit\[parquet\]"'):
        ParquetSource(table_path[0])

"""Parquet source (needs the ``parquet`` extra: pyarrow), read in record batches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from onlinekit.streams.block import Chunk
from onlinekit.streams.errors import MissingDataError, StreamError
from onlinekit.streams.source import BadRow, Source, check_errors_mode, requested_kinds

__all__ = ["ParquetSource"]



def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError(
            'reading Parquet files needs pyarrow: pip install "onlinekit[parquet]"'
        ) from None
    return pa, pq


class ParquetSource(Source):
    """A Parquet file read batch by batch with ``pyarrow.parquet.ParquetFile.iter_batches``.

    Numeric and boolean columns are numeric (``float64``; booleans as 0/1); string columns
    are text. A null is a missing cell: NaN in a numeric column, ``""`` in a text one (the
    schema rejects a NaN as non-finite unless a feature encoder's ``missing`` policy handles
    it). Messages name the row (``row 17``, counting data rows from 0).

    Parameters
    ----------
    path
        File path.
    errors
        ``"raise"`` (default) or ``"skip"`` (malformed rows counted in :attr:`skipped`).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> import pyarrow as pa, pyarrow.parquet as pq
    >>> rng = np.random.default_rng(0)
    >>> path = os.path.join(tempfile.mkdtemp(), "data.parquet")
    >>> pq.write_table(pa.table({"x": rng.integers(0, 10, 5), "g": list("abcab")}), path)
    >>> src = ParquetSource(path)
    >>> src.column_names()
    ['x', 'g']
    >>> [c.columns["x"].tolist() for c in src.chunks(chunk_size=2)]
    [[8.0, 6.0], [5.0, 2.0], [3.0]]
    >>> next(src.chunks(start=3, kinds={"g": "str"})).columns["g"].tolist()
    ['a', 'b']
    """

    def __init__(self, path, *, errors: str = "raise") -> None:
        super().__init__()
        _pa, pq = _pyarrow()
        self.path = Path(path)
        self.name = str(path)
        self.errors = check_errors_mode(errors)
        if not self.path.exists():
            raise MissingDataError(f"no such file: {self.name}")
        try:
            self._file = pq.ParquetFile(self.path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise StreamError(f"{self.name}: not a readable Parquet file ({exc})") from None
        self._schema = self._file.schema_arrow

    def column_names(self) -> list[str]:
        return list(self._schema.names)

    def _numeric_type(self, c: str) -> bool:
        pa, _ = _pyarrow()
        t = self._schema.field(c).type
        return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t) or pa.types.is_decimal(t)

    def _resolve(self, kinds) -> dict[str, str]:
        names = self.column_names()
        want = requested_kinds(self.name, names, kinds)
        out = {}
        for c, k in want.items():
            if k == "str_or_float":
                k = "float" if self._numeric_type(c) else "str"
            if k == "float" and not self._numeric_type(c):
                raise StreamError(
                    f"{self.name}, column {c!r}: has type {self._schema.field(c).type}, not a number"
                )
            out[c] = k
        return out

    def _column(self, arr, kind: str) -> tuple[np.ndarray, np.ndarray]:
        pa, _ = _pyarrow()
        import pyarrow.compute as pc

        nulls = arr.is_null().to_numpy(zero_copy_only=False) if arr.null_count else None
        if kind == "float":
            if pa.types.is_boolean(arr.type) or pa.types.is_decimal(arr.type):
                arr = pc.cast(arr, pa.float64())
            vals = arr.to_numpy(zero_copy_only=False)
            if vals.dtype == object:
                vals = np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
            vals = np.asarray(vals, dtype=np.float64)
        else:
            if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
                arr = pc.cast(arr, pa.string())
            vals = np.empty(len(arr), dtype=object)
            vals[:] = ["" if v is None else v for v in arr.to_pylist()]
        return vals, (np.zeros(len(vals), dtype=bool) if nulls is None else nulls)

    def chunks(self, start: int = 0, chunk_size: int = 65536, kinds=None) -> Iterator[Chunk]:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        if start < 0:
            raise ValueError(f"start must be >= 0, got {start}")
        resolved = self._resolve(None if kinds is None else dict(kinds))
        cols = list(resolved)
        # skip whole row groups before start without reading them
        md = self._file.metadata
        groups: list[int] = []
        first = cum = 0
        for g in range(md.num_row_groups):
            n = md.row_group(g).num_rows
            if cum + n > start:
                if not groups:
                    first = cum
                groups.append(g)
            cum += n
        if not groups:
            return
        pos = first
        for batch in self._file.iter_batches(batch_size=chunk_size, row_groups=groups, columns=cols):
            n = batch.num_rows
            lo = max(0, start - pos)
            if lo >= n:
                pos += n
                continue
            offset = pos + lo
            arrays = {}
            for c in cols:  # a null is a missing cell: NaN / "" (see the class doc)
                vals, _nulls = self._column(batch.column(c), resolved[c])
                arrays[c] = vals[lo:]
            yield Chunk(offset, arrays, None, self.name, pos + n)
            pos += n

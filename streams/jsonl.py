"""JSON Lines source: one JSON object per line, streamed in chunks."""

from __future__ import annotations

import gzip
import itertools
import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from onlinekit.streams.block import Chunk
from onlinekit.streams.errors import MissingDataError, StreamError
from onlinekit.streams.source import BadRow, Source, check_errors_mode, requested_kinds

__all__ = ["JSONLSource"]

#: Objects looked at to decide whether an undeclared column is numeric.
_PROBE_ROWS = 65536


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class JSONLSource(Source):
    """A JSON Lines file (optionally gzip-compressed): one JSON object per line.

    Column names are the keys of the first object. Later objects may carry extra keys
    (ignored); a missing key, a line that is not a JSON object, a non-number in a numeric
    column (booleans are not numbers) or a non-string in a text column make the row
    malformed. ``null`` is a missing cell: NaN in a numeric column, ``""`` in a text one
    (rejected as non-finite later unless a feature encoder's ``missing`` policy handles it).
    Blank lines are skipped.

    Parameters
    ----------
    path
        File path; a ``.gz`` suffix means gzip.
    errors
        ``"raise"`` (default): a malformed row raises
        :class:`~onlinekit.streams.errors.StreamError` naming file, line and column;
        ``"skip"``: the row is dropped and counted in :attr:`skipped` / :attr:`bad_rows`.

    Examples
    --------
    >>> import json, os, tempfile
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> path = os.path.join(tempfile.mkdtemp(), "events.jsonl")
    >>> with open(path, "w") as f:
    ...     for v in rng.integers(0, 10, size=4).tolist():
    ...         _ = f.write(json.dumps({"x": v, "tag": f"t{v}"}) + "\\n")
    >>> src = JSONLSource(path)
    >>> src.column_names()
    ['x', 'tag']
    >>> [c.columns["x"].tolist() for c in src.chunks(chunk_size=3)]
    [[8.0, 6.0, 5.0], [2.0]]
    >>> next(src.chunks(start=1, kinds={"tag": "str"})).columns["tag"].tolist()
    ['t6', 't5', 't2']
    """

    def __init__(self, path, *, errors: str = "raise", encoding: str = "utf-8") -> None:
        super().__init__()
        self.path = Path(path)
        self.name = str(path)
        self.errors = check_errors_mode(errors)
        self.encoding = encoding
        self._gzip = self.path.suffix.lower() == ".gz"
        if not self.path.exists():
            raise MissingDataError(f"no such file: {self.name}")
        if self.path.is_dir():
            raise StreamError(f"{self.name}: is a directory, not a JSON Lines file")
        self._names: list[str] | None = None
        self._inferred: dict[str, bool] = {}
        self.column_names()

    def _open(self):
        if self._gzip:
            return gzip.open(self.path, "rt", encoding=self.encoding, newline="")
        return open(self.path, encoding=self.encoding, newline="")

    def _rows(self) -> Iterator[tuple[int, object, str | None]]:
        """``(line, object or None, error)`` for each non-blank line."""
        with self._open() as f:
            lineno = 0
            while True:
                try:
                    text = f.readline()
                except UnicodeDecodeError as exc:
                    raise StreamError(f"{self.name}, line {lineno + 1}: cannot decode ({exc})") from None
                if not text:
                    return
                lineno += 1
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except ValueError as exc:
                    yield lineno, None, f"invalid JSON ({exc})"
                    continue
                if not isinstance(obj, dict):
                    yield lineno, None, f"expected a JSON object, got {type(obj).__name__}"
                    continue
                yield lineno, obj, None

    def column_names(self) -> list[str]:
        if self._names is None:
            names: list[str] = []
            for line, obj, err in self._rows():
                if err is not None:
                    raise StreamError(f"{self.name}, line {line}: {err}")
                names = [str(k) for k in obj]
                break
            self._names = names
        return list(self._names)

    def _resolve(self, kinds) -> dict[str, str]:
        names = self.column_names()
        want = requested_kinds(self.name, names, kinds)
        todo = [c for c, k in want.items() if k == "str_or_float" and c not in self._inferred]
        if todo:
            numeric = dict.fromkeys(todo, True)
            for _line, obj, err in itertools.islice(self._rows(), _PROBE_ROWS):
                if err is not None or any(c not in obj for c in names):
                    continue
                for c in todo:
                    if numeric[c] and not (_is_number(obj[c]) or obj[c] is None):
                        numeric[c] = False
            self._inferred.update(numeric)
        return {
            c: (("float" if self._inferred[c] else "str") if k == "str_or_float" else k)
            for c, k in want.items()
        }

    def _convert(self, obj: dict, kinds: dict[str, str], infer: set) -> tuple[list, str | None, str | None]:
        vals = []
        for c in self._names:
            if c not in obj:
                return vals, c, "missing key"
        for c, k in kinds.items():
            v = obj[c]
            if v is None:  # a missing cell: NaN / "" (an encoder's missing policy decides)
                vals.append(math.nan if k == "float" else "")
                continue
            if k == "float":
                if not _is_number(v):
                    why = f"cannot parse {json.dumps(v)} as a number"
                    if c in infer:
                        why += f" (the column is numeric in the first {_PROBE_ROWS} rows)"
                    return vals, c, why
                try:
                    vals.append(float(v))
                except OverflowError:
                    vals.append(math.copysign(math.inf, v))
            else:
                if not isinstance(v, str):
                    return vals, c, f"expected a string, got {json.dumps(v)}"
                vals.append(v)
        return vals, None, None

    def chunks(self, start: int = 0, chunk_size: int = 65536, kinds=None) -> Iterator[Chunk]:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        if start < 0:
            raise ValueError(f"start must be >= 0, got {start}")
        resolved = self._resolve(None if kinds is None else dict(kinds))
        infer = {c for c in resolved if kinds is None or kinds.get(c) == "str_or_float"}
        cols = list(resolved)
        rows = itertools.islice(self._rows(), start, None)
        pos = start
        while True:
            batch = list(itertools.islice(rows, chunk_size))
            if not batch:
                return
            out: dict[str, list] = {c: [] for c in cols}
            lines: list[int] = []
            for line, obj, err in batch:
                col = None
                if err is None:
                    vals, col, err = self._convert(obj, resolved, infer)
                if err is not None:
                    bad = BadRow(f"{self.name}, line {line}", col, err)
                    if self.errors == "raise":
                        raise StreamError(str(bad))
                    self._record_bad(bad)
                    continue
                for c, v in zip(cols, vals, strict=True):
                    out[c].append(v)
                lines.append(line)
            arrays = {}
            for c in cols:
                if resolved[c] == "float":
                    arrays[c] = np.array(out[c], dtype=np.float64)
                else:
                    a = np.empty(len(out[c]), dtype=object)
                    a[:] = out[c]
                    arrays[c] = a
            yield Chunk(pos, arrays, np.array(lines, dtype=np.int64), self.name, pos + len(batch))
            pos += len(batch)

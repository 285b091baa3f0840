"""Open a source from a string: a file path, ``river:NAME`` or ``synthetic:NAME?k=v&...``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

from onlinekit.streams.errors import MissingDataError, StreamError
from onlinekit.streams.source import Source

__all__ = ["open_source", "file_kind", "SOURCE_KINDS"]

#: Source kinds with a one-line description (``onlinekit streams`` lists them).
SOURCE_KINDS = {
    "CSV": "PATH.csv / .tsv (optionally .gz): header row, streamed in blocks",
    "JSONL": "PATH.jsonl / .ndjson (optionally .gz): one JSON object per line",
    "Parquet": "PATH.parquet: needs the 'parquet' extra (pyarrow)",
    "river": "river:NAME: a dataset shipped inside the river wheel, e.g. river:Phishing",
    "synthetic": "synthetic:NAME?k=v&...: a seeded generator, e.g. synthetic:linear?n=1000&d=5&seed=0",
}


def _coerce(v: str):
    for t in (int, float):
        try:
            return t(v)
        except ValueError:
            pass
    return v


#: File extension (after a ``.gz``) -> source kind.
_FILE_KINDS = {".csv": "csv", ".tsv": "csv", ".txt": "csv", ".data": "csv",
               ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".parquet": "parquet"}


def _extension(spec: str) -> str:
    suffixes = [s.lower() for s in Path(spec).suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return suffixes[-1] if suffixes else ""


def file_kind(spec: str) -> str | None:
    """``"csv"``, ``"jsonl"`` or ``"parquet"`` for a file path (by its extension, looking
    through ``.gz``); ``None`` for ``river:`` / ``synthetic:`` specs and unknown extensions.

    >>> file_kind("logs/events.tsv.gz"), file_kind("e.ndjson"), file_kind("river:Phishing")
    ('csv', 'jsonl', None)
    """
    if spec.startswith(("synthetic:", "river:")):
        return None
    return _FILE_KINDS.get(_extension(spec))


def open_source(spec: str, *, errors: str = "raise", **kwargs) -> Source:
    """Build a source from ``spec``.

    Examples
    --------
    >>> src = open_source("synthetic:linear?n=10&d=3&seed=0")
    >>> src.column_names()
    ['x0', 'x1', 'x2', 'y']
    """
    if spec.startswith("synthetic:"):
        from onlinekit.streams.synthetic import make_generator

        name, _, query = spec[len("synthetic:"):].partition("?")
        params = {k: _coerce(v) for k, v in parse_qsl(query, keep_blank_values=True)}
        try:
            return make_generator(name, **params)
        except TypeError as exc:
            raise StreamError(f"{spec}: {exc}") from None
    if spec.startswith("river:"):
        from onlinekit.streams.river_data import RiverSource

        return RiverSource(spec[len("river:"):], **kwargs)
    path = Path(spec)
    ext = _extension(spec)
    if not path.exists():
        hint = ""
        if not ext and "/" not in spec:
            from onlinekit.streams.river_data import list_river_datasets

            if spec in list_river_datasets():
                hint = f" (did you mean river:{spec}?)"
        raise MissingDataError(f"no such file: {spec}{hint}")
    kind = _FILE_KINDS.get(ext)
    if kind == "csv":
        from onlinekit.streams.csv import CSVSource

        return CSVSource(path, errors=errors, **kwargs)
    if kind == "jsonl":
        from onlinekit.streams.jsonl import JSONLSource

        return JSONLSource(path, errors=errors, **kwargs)
    if kind == "parquet":
        from onlinekit.streams.parquet import ParquetSource

        return ParquetSource(path, errors=errors, **kwargs)
    raise StreamError(f"{spec}: unknown file type {ext!r}; expected .csv, .tsv, .jsonl or .parquet")

"""Open a source from a string: a file path, ``river:NAME`` or ``synthetic:NAME?k=v&...``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

from onlinekit.streams.errors import MissingDataError, StreamError
from onlinekit.streams.source import Source

__all__ = ["open_source", "SOURCE_KINDS"]

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
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    if not path.exists():
        hint = ""
        if not suffixes and "/" not in spec:
            from onlinekit.streams.river_data import list_river_datasets

            if spec in list_river_datasets():
                hint = f" (did you mean river:{spec}?)"
        raise MissingDataError(f"no such file: {spec}{hint}")
    if ext in (".csv", ".tsv", ".txt", ".data"):
        from onlinekit.streams.csv import CSVSource

        return CSVSource(path, errors=errors, **kwargs)
    if ext in (".jsonl", ".ndjson", ".json"):
        from onlinekit.streams.jsonl import JSONLSource

        return JSONLSource(path, errors=errors, **kwargs)
    if ext == ".parquet":
        from onlinekit.streams.parquet import ParquetSource

        return ParquetSource(path, errors=errors, **kwargs)
    raise StreamError(f"{spec}: unknown file type {ext!r}; expected .csv, .tsv, .jsonl or .parquet")

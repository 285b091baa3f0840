"""Datasets that ship inside the river wheel (no download), as sources."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator

import numpy as np

from onlinekit.streams.block import Chunk
from onlinekit.streams.errors import StreamError
from onlinekit.streams.source import Source

__all__ = ["RiverSource", "list_river_datasets"]

#: river.datasets classes whose data file is inside the installed package and whose
#: target is a single value (multi-output SolarFlare and Yeast are left out).
_BUNDLED = (
    "AirlinePassengers",
    "Bananas",
    "ChickWeights",
    "ImageSegments",
    "Phishing",
    "Shuttle",
    "SP500Stocks",
    "TrumpApproval",
    "WaterFlow",
)


def _dataset_class(name: str):
    from river import datasets

    cls = getattr(datasets, name, None)
    if cls is None or not isinstance(cls, type) or not issubclass(cls, datasets.base.FileDataset):
        return None
    return cls


def list_river_datasets() -> dict[str, str]:
    """Bundled river datasets: name to a one-line description.

    Examples
    --------
    >>> ds = list_river_datasets()
    >>> "Phishing" in ds and "TrumpApproval" in ds
    True
    """
    out = {}
    for name in _BUNDLED:
        cls = _dataset_class(name)
        if cls is None:  # an older/newer river without it
            continue
        doc = (cls.__doc__ or "").strip().splitlines()
        out[name] = doc[0].rstrip(".") if doc else name
    return out


def _value(v):
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return float(v)
    if isinstance(v, (_dt.datetime, _dt.date)):
        return v.isoformat()
    return str(v)


class RiverSource(Source):
    """A dataset shipped inside the river wheel, e.g. ``Phishing`` or ``TrumpApproval``.

    Columns are river's feature names plus ``"y"`` (boolean targets become 0/1). Numbers
    and booleans are numeric; strings (and dates, as ISO text) are text. The whole dataset
    is small and is loaded on first use.

    Parameters
    ----------
    name
        A key of :func:`list_river_datasets`.

    Examples
    --------
    >>> src = RiverSource("Phishing")
    >>> src.column_names()[:2], src.column_names()[-1], len(src)
    (['empty_server_form_handler', 'popup_window'], 'y', 1250)
    >>> chunk = next(src.chunks(start=10, chunk_size=4, kinds={"y": "float"}))
    >>> chunk.offset, chunk.columns["y"].tolist()
    (10, [0.0, 1.0, 1.0, 1.0])
    """

    def __init__(self, name: str) -> None:
        super().__init__()
        known = list_river_datasets()
        if name not in known:
            raise StreamError(
                f"unknown river dataset {name!r}: the datasets shipped inside the river wheel are "
                f"{sorted(known)} (others need a download and are not supported)"
            )
        self.dataset = name
        self.name = f"river:{name}"
        self._cols: dict[str, np.ndarray] | None = None

    def _load(self) -> dict[str, np.ndarray]:
        if self._cols is None:
            rows = list(_dataset_class(self.dataset)())
            names: list[str] = []
            for x, _y in rows[:1]:
                names = [str(k) for k in x]
            if "y" in names:
                raise StreamError(f"{self.name}: a feature is already called 'y'")
            raw: dict[str, list] = {c: [] for c in [*names, "y"]}
            for x, y in rows:
                for c in names:
                    raw[c].append(_value(x.get(c)))
                raw["y"].append(_value(y))
            cols = {}
            for c, vals in raw.items():
                if all(isinstance(v, float) for v in vals):
                    cols[c] = np.array(vals, dtype=np.float64)
                else:
                    a = np.empty(len(vals), dtype=object)
                    a[:] = [str(v) for v in vals]
                    cols[c] = a
            self._cols = cols
        return self._cols

    def __len__(self) -> int:
        return len(self._load()["y"])

    def column_names(self) -> list[str]:
        return list(self._load())

    def chunks(self, start: int = 0, chunk_size: int = 65536, kinds=None) -> Iterator[Chunk]:
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        cols = self._load()
        names = list(cols) if kinds is None else list(kinds)
        missing = [c for c in names if c not in cols]
        if missing:
            raise StreamError(f"{self.name}: no column(s) {missing}; have {list(cols)}")
        out = {}
        for c in names:
            kind = "str_or_float" if kinds is None else kinds[c]
            v = cols[c]
            if kind == "float" and v.dtype == object:
                raise StreamError(f"{self.name}, column {c!r}: is text, not a number")
            if kind == "str" and v.dtype != object:
                v = np.array([repr(float(t)) for t in v], dtype=object)
            out[c] = v
        n = len(cols["y"])
        for lo in range(start, n, chunk_size):
            hi = min(lo + chunk_size, n)
            yield Chunk(lo, {c: v[lo:hi] for c, v in out.items()}, None, self.name, hi)

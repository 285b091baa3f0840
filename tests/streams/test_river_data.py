"""RiverSource: bundled river datasets as sources."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from onlinekit.streams import StreamError, open_source
from onlinekit.streams.river_data import RiverSource, list_river_datasets


def test_list_has_bundled_only():
    ds = list_river_datasets()
    assert {"Phishing", "Bananas", "TrumpApproval", "ChickWeights"} <= set(ds)
    assert "Elec2" not in ds and "Higgs" not in ds  # download-only
    assert all(isinstance(v, str) and v for v in ds.values())


@pytest.mark.parametrize("name", ["Phishing", "TrumpApproval", "Bananas", "ChickWeights"])
def test_matches_river(name):
    from river import datasets

    src = RiverSource(name)
    rows = list(getattr(datasets, name)())
    feats = list(rows[0][0])
    assert src.column_names() == [*feats, "y"]
    chunks = list(src.chunks(chunk_size=100))
    assert sum(len(c) for c in chunks) == len(rows) == len(src)
    y = np.concatenate([c.columns["y"] for c in chunks])
    assert y.tolist() == [float(t) for _, t in rows]
    x0 = np.concatenate([c.columns[feats[0]] for c in chunks])
    assert x0.tolist() == [float(x[feats[0]]) for x, _ in rows]


def test_start_and_kinds():
    src = RiverSource("Phishing")
    whole = np.concatenate([c.columns["y"] for c in src.chunks()])
    part = list(src.chunks(start=1000, chunk_size=64, kinds={"y": "float"}))
    assert part[0].offset == 1000 and part[-1].end == 1250
    assert np.concatenate([c.columns["y"] for c in part]).tolist() == whole[1000:].tolist()
    assert list(part[0].columns) == ["y"]


def test_text_columns():
    src = RiverSource("ImageSegments")
    ch = next(src.chunks(chunk_size=5))
    assert ch.columns["y"].dtype == object and isinstance(ch.columns["y"][0], str)
    with pytest.raises(StreamError, match="not a number"):
        next(src.chunks(kinds={"y": "float"}))


def test_unknown_and_download_only():
    for name in ("Elec2", "NoSuchThing"):
        with pytest.raises(StreamError, match="Phishing"):
            RiverSource(name)


def test_open_source_river():
    src = open_source("river:TrumpApproval")
    assert isinstance(src, RiverSource)
    assert len(list(itertools.islice(src.chunks(chunk_size=10), 3))) == 3

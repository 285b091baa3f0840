"""Class-label targets: codes in order of first appearance, no class from a dropped row."""

from __future__ import annotations

import numpy as np
import pytest

from onlinekit.streams import ArraySource, Schema, Stream
from onlinekit.streams.encode import FeatureEncoder
from onlinekit.streams.errors import StreamError


def _src(labels, x=None):
    x = np.arange(len(labels), dtype=float) if x is None else x
    return ArraySource(columns={"x": x, "y": np.array(labels, dtype=object)})


def test_codes_follow_first_appearance_across_blocks():
    labels = ["b", "a", "b", "c", "a", "d", "c"]
    enc = FeatureEncoder(target="label")
    ys = np.concatenate([b.y for b in Stream(_src(labels), Schema(target="y"), block_size=3, encoder=enc).blocks()])
    first: dict = {}
    assert ys.tolist() == [float(first.setdefault(v, len(first))) for v in labels]  # brute force
    assert enc.labels_ == ["b", "a", "c", "d"]


def test_a_skipped_row_adds_no_class_and_a_missing_label_is_an_error():
    labels = ["a", "zzz", "b"]
    x = np.array([0.0, np.nan, 1.0])
    enc = FeatureEncoder(target="label", missing="skip")
    ys = np.concatenate([b.y for b in Stream(_src(labels, x), Schema(target="y"), encoder=enc).blocks()])
    assert ys.tolist() == [0.0, 1.0] and enc.labels_ == ["a", "b"]
    with pytest.raises(StreamError, match="missing class label"):
        list(Stream(_src(["a", "", "b"]), Schema(target="y"), encoder=FeatureEncoder(target="label")).blocks())


def test_integral_numbers_are_one_class_and_state_round_trips():
    enc = FeatureEncoder(target="label")
    enc.label_codes(np.array([3.0, 1.5, 3.0]))
    assert enc.labels_ == [3, 1.5]
    twin = FeatureEncoder(target="label")
    twin.load_state_dict(enc.state_dict())
    assert twin.label_codes(np.array([1.5, 7.0])).tolist() == [1.0, 2.0]
    assert twin.labels_ == [3, 1.5, 7]

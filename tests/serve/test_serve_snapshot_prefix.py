"""Snapshots copy an append-only name list as its length under the lock and slice it later:
the copy must still be exactly the state at the offset recorded under the lock, while learn
requests keep adding new features (oracle: a fresh OGD replaying the log prefix)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from serve_helpers import PARAMS, assert_same_state, oracle

import onlinekit.base as base_mod
import onlinekit.serve.service as service_mod
from onlinekit.base import state_from_bytes
from onlinekit.serve.service import LearnerService, Request
from onlinekit.serve.snapshots import SnapshotStore


def growing_events(n: int, seed: int) -> list[dict]:
    """Events that each bring two new feature names (plus one shared feature)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        a, b, c = rng.normal(size=3)
        out.append({"x": {"shared": float(a), f"n{i}a": float(b), f"n{i}b": float(c)},
                    "y": float(a - b + 0.5 * c)})
    return out


def probe(events: list[dict]) -> dict:
    """A dict naming every feature of ``events`` (for comparing predictions)."""
    keys = {k for ev in events for k in ev["x"]}
    return {k: 1.0 + (hash(k) % 7) / 7.0 for k in sorted(keys)}


def check_against_replay(learner, events: list[dict], offset: int) -> None:
    """``learner`` is bit for bit a fresh OGD fed ``events[:offset]`` (state and predictions)."""
    want = oracle(events[:offset])
    assert_same_state(learner, want)
    x = probe(events)
    assert learner.predict_one(x) == want.predict_one(x)


def sabotaged_materialized(state: dict, *, pause: bool = False) -> dict:
    """The copy without the recorded length: the whole list as it is when sliced."""
    return {k: (list(v.items) if type(v) is service_mod._Prefix else v) for k, v in state.items()}


def copy_then_grow(tmp_path, codec=None) -> tuple:
    """Take the lock-side copy at offset 30, learn 30 more events (new features), then encode
    the copy as a snapshot and read it back; also a multi-event request refused at its last
    event after its first ones added features (rolled back from the same kind of copy).
    ``codec``: encode the names through this :class:`_NamesCodec` as the writer thread does."""
    events = growing_events(60, seed=5)
    svc = LearnerService(tmp_path, "ogd", PARAMS, snapshot_every=0)
    try:
        svc.process([Request("learn", [ev]) for ev in events[:10]])
        svc.process([Request("learn", events[10:30], batch=True)])
        with svc.lock:
            offset, state = svc.offset, svc._state_copy()
        names = state["features_"]
        assert type(names) is service_mod._Prefix and names.n == 1 + 2 * 30
        bad = [*events[30:33], {"x": {"shared": 1.0, "late": 1.0}, "y": "no"}]
        out = svc.process([Request("learn", bad, batch=True)])
        assert out[0].status == 422
        after_refusal = svc.learner.state_dict()
        svc.process([Request("learn", [ev]) for ev in events[30:]])
        # the hazard is real: the list sliced below grew after the copy was taken
        assert len(names.items) > names.n
        if codec is not None:
            state = codec.encoded(state)
            assert type(state["features_"]) is base_mod.EncodedStrings
        data = SnapshotStore.encode(svc._rebuilt(service_mod._materialized(state, pause=True)), offset)[1]
        restored, extra = state_from_bytes(data)
        assert extra["offset"] == offset
        return offset, restored, events, after_refusal
    finally:
        svc.close(snapshot=False)


@pytest.mark.parametrize("codec", [False, True], ids=["sliced-list", "encoded-pieces"])
def test_copy_taken_under_the_lock_is_the_state_at_its_offset(tmp_path, monkeypatch, codec):
    if codec:  # small pieces: 61 names make 8 full pieces and a partial one
        monkeypatch.setattr(base_mod, "_STR_PIECE", 7)
        monkeypatch.setattr(base_mod, "_STR_ARRAY_MIN", 20)
    codec = service_mod._NamesCodec() if codec else None
    offset, restored, events, after_refusal = copy_then_grow(tmp_path, codec)
    assert offset == 30
    check_against_replay(restored, events, offset)
    # the refused request was undone exactly (its new names dropped from the list)
    want = oracle(events[:30]).state_dict()
    assert after_refusal["features_"] == want["features_"]
    assert np.array_equal(after_refusal["w_"], want["w_"])


def test_the_check_fails_when_the_recorded_length_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setattr(service_mod, "_materialized", sabotaged_materialized)
    with pytest.raises(AssertionError):
        offset, restored, events, after_refusal = copy_then_grow(tmp_path / "a")
        check_against_replay(restored, events, offset)
    # the rollback alone catches it too: the refused request's names stay behind
    monkeypatch.setattr(service_mod, "_materialized", sabotaged_materialized)
    svc = LearnerService(tmp_path / "b", "ogd", PARAMS, snapshot_every=0)
    try:
        events = growing_events(6, seed=9)
        svc.process([Request("learn", events[:3], batch=True)])
        bad = [*events[3:5], {"x": {"shared": 1.0}, "y": "no"}]
        assert svc.process([Request("learn", bad, batch=True)])[0].status == 422
        assert svc.learner.features_ != oracle(events[:3]).features_
    finally:
        svc.close(snapshot=False)


class WholeListCodec(service_mod._NamesCodec):
    """Sabotage: encodes the list as it is when encoded, not the length recorded under the lock."""

    def _encode(self, key, prefix, base):
        return super()._encode(key, service_mod._Prefix(prefix.items, len(prefix.items)), base)


def test_the_check_fails_when_the_codec_ignores_the_recorded_length(tmp_path, monkeypatch):
    monkeypatch.setattr(base_mod, "_STR_PIECE", 7)
    monkeypatch.setattr(base_mod, "_STR_ARRAY_MIN", 20)
    offset, restored, events, _ = copy_then_grow(tmp_path / "a", service_mod._NamesCodec())
    check_against_replay(restored, events, offset)
    with pytest.raises(AssertionError):
        offset, restored, events, _ = copy_then_grow(tmp_path / "b", WholeListCodec())
        check_against_replay(restored, events, offset)


@pytest.mark.parametrize("codec", [True, False], ids=["encoded-pieces", "sliced-list"])
def test_snapshots_while_learn_requests_add_features(tmp_path, monkeypatch, codec):
    """Real threads: a writer adds features (and has requests refused, which replaces the
    name list) while snapshots are taken and written; every snapshot restores to the replay
    of the log up to its offset. Small piece sizes: many pieces, appends land between them,
    and the names go through the writer's kept pieces (``codec``) or the sliced list."""
    monkeypatch.setattr(service_mod, "_PREFIX_PIECE", 5)
    monkeypatch.setattr(base_mod, "_STR_PIECE", 7)
    monkeypatch.setattr(base_mod, "_STR_ARRAY_MIN", 50 if codec else 10**9)
    events = growing_events(400, seed=11)
    svc = LearnerService(tmp_path, "ogd", PARAMS, snapshot_every=0, keep_snapshots=100)
    stop = threading.Event()
    errors: list = []

    def writer():
        try:
            i = 20
            while i < len(events) and not stop.is_set():
                k = 1 + i % 3  # single events and small batches (the copy-backed path)
                out = svc.process([Request("learn", events[i:i + k], batch=k > 1)])
                assert out[0].status == 200, out[0].body
                i += k
                if i % 25 < 3:  # refused after adding names: rolled back, a new list object
                    bad = [*events[i:i + 2], {"x": {"shared": 1.0, "gone": 1.0}, "y": "no"}]
                    assert svc.process([Request("learn", bad, batch=True)])[0].status == 422
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    th = threading.Thread(target=writer)
    try:
        svc.process([Request("learn", events[:20], batch=True)])
        th.start()
        offsets = []
        while th.is_alive() and len(offsets) < 8:
            offsets.append(svc.snapshot())
        stop.set()
        th.join(60)
        assert not errors, errors
        assert len(set(offsets)) >= 2, offsets
        assert bool(svc._names_codec._lists) == codec
        for off in offsets:
            data = svc.snapshots.path_for(off).read_bytes()
            restored, extra = state_from_bytes(data)
            assert extra["offset"] == off
            check_against_replay(restored, events, off)
    finally:
        stop.set()
        th.join(60)
        svc.close(snapshot=False)


def codec_mismatches(codec) -> list:
    """Encode growing prefixes of a list (and of a replacement list of the same length) with
    ``codec``; oracle: ``_strings_to_array`` of the plain prefix. Returns the steps that differ."""
    lst = [f"name{i}" for i in range(10)]
    steps = []
    for grow in (3, 0, 1, 9, 4, 12, 0):
        lst.extend(f"name{len(lst) + j}" for j in range(grow))
        steps.append((lst, len(lst)))
    other = [f"other{i}" for i in range(len(lst))]  # a new list object (a rollback), same length
    steps += [(other, len(other)), (other, len(other) - 3)]
    bad = []
    for items, n in steps:
        enc = codec.encoded({"features_": service_mod._Prefix(items, n), "w_": np.zeros(2)})
        want = base_mod._strings_to_array(items[:n]).tobytes()
        if type(enc["features_"]) is not base_mod.EncodedStrings or enc["features_"].data.tobytes() != want:
            bad.append(n)
    return bad


class KeyOnlyCodec(service_mod._NamesCodec):
    """Sabotage: keeps the pieces of a key across a replaced list (trusts the key, not the list)."""

    def _encode(self, key, prefix, base):
        held = self._lists.get(key)
        if held is not None:
            self._lists[key] = (prefix.items, held[1])
        return super()._encode(key, prefix, base)


def test_kept_pieces_equal_a_fresh_encoding(monkeypatch):
    monkeypatch.setattr(base_mod, "_STR_PIECE", 4)
    monkeypatch.setattr(base_mod, "_STR_ARRAY_MIN", 5)
    assert codec_mismatches(service_mod._NamesCodec()) == []
    assert codec_mismatches(KeyOnlyCodec()) != []
    # short lists and lists holding a non-string are left to the plain copy
    codec = service_mod._NamesCodec()
    assert type(codec.encoded({"f": service_mod._Prefix(["a"] * 4, 4)})["f"]) is service_mod._Prefix
    assert type(codec.encoded({"f": service_mod._Prefix(["a"] * 9 + [1], 10)})["f"]) is service_mod._Prefix


def test_streamed_snapshot_file_equals_the_encoded_archive(tmp_path):
    """``write_learner`` streams the archive into the file: same archive as ``encode`` (up to
    the zip entries' timestamps), its side file the SHA-256 of the file, and it loads back."""
    import hashlib

    events = growing_events(20, seed=3)
    learner = oracle(events)
    store = SnapshotStore(tmp_path / "s")
    path = store.write_learner(learner, 20)
    data = path.read_bytes()
    assert path.with_suffix(".sha256").read_text() == hashlib.sha256(data).hexdigest()
    a, extra_a = state_from_bytes(data)
    b, extra_b = state_from_bytes(SnapshotStore.encode(learner, 20)[1])
    assert extra_a == extra_b == {"offset": 20}
    assert_same_state(a, b)
    assert_same_state(a, learner)
    snap = store.load_newest()
    assert snap.offset == 20 and not store.skipped
    assert_same_state(snap.learner, learner)
    # the side file is checked: a flipped byte makes the snapshot skipped
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert store.load_newest() is None and store.skipped


@pytest.mark.parametrize("name,params,label", [
    ("ogd-classifier", {"lr": 0.1}, lambda v: int(v > 0)),
    ("omd-regressor", {"lr": 0.05}, float),
    ("ogd-multiclass", {"lr": 0.1}, lambda v: ["a", "b", "c"][int(abs(v) * 3) % 3]),
])
def test_other_append_only_learners_snapshot_their_offset(tmp_path, name, params, label):
    """The other learners declaring ``features_`` append-only: the copy taken under the lock,
    encoded after more features came, is a fresh learner fed the log prefix (bit for bit)."""
    events = [{"x": ev["x"], "y": label(ev["y"])} for ev in growing_events(40, seed=21)]
    svc = LearnerService(tmp_path, name, params, snapshot_every=0)
    try:
        svc.process([Request("learn", events[:20], batch=True)])
        with svc.lock:
            offset, state = svc.offset, svc._state_copy()
        assert type(state["features_"]) is service_mod._Prefix
        svc.process([Request("learn", [ev]) for ev in events[20:]])
        assert len(state["features_"].items) > state["features_"].n
        data = SnapshotStore.encode(svc._rebuilt(service_mod._materialized(state)), offset)[1]
        restored, _ = state_from_bytes(data)
        want = svc._fresh()
        for ev in events[:offset]:
            want.learn_one(ev["x"], ev["y"])
        assert offset == 20
        assert_same_state(restored, want)
    finally:
        svc.close(snapshot=False)

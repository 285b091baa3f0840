"""Recovery repeats the secure noise a release drew (recorded entropy), never fresh noise.

Oracle: the state a service holds before a crash (no snapshot since the first event) equals
the state rebuilt from its log. Sabotage: the same restart with the recorded bits erased
from the log rebuilds a different state, so the comparison can fail.
"""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from onlinekit.privacy import MaxSum, SqrtFactorCounter, TreeCounter
from onlinekit.privacy.entropy import EntropyMismatch, Tape, recording, replaying
from onlinekit.privacy.noise import SecureBitStream
from onlinekit.serve.service import LearnerService, Request


def _same_state(a, b) -> bool:
    """Equal states, ignoring OS-seeded generator states (``_rng``), which differ per object."""
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(_same_state(a[k], b[k]) for k in a if k != "_rng")
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and not (
            a and isinstance(a[0], (int, float))):
        return len(a) == len(b) and all(_same_state(x, y) for x, y in zip(a, b, strict=True))
    return np.array_equal(np.asarray(a), np.asarray(b))


@pytest.mark.parametrize("make, value", [
    (lambda: TreeCounter(T=512), lambda t: float(t % 2)),
    (lambda: TreeCounter(T=512, privacy=("zcdp", 0.5)), lambda t: float(t % 2)),
    (lambda: SqrtFactorCounter(T=256), lambda t: float(t % 2)),
    (lambda: MaxSum(T=256, d=3), lambda t: np.array([t % 2, 1, 0], dtype=float)),
])
def test_replayed_draws_rebuild_the_same_state(make, value):
    a, b, fresh = make(), make(), make()
    a._bits = SecureBitStream(chunk_bytes=64)  # tiny buffer: draws straddle many refills
    blobs, outs = [], []
    for t in range(200):
        with recording() as tape:
            outs.append(a.release(value(t)))
        blobs.append(tape.to_bytes())
    for t in range(200):
        with replaying(blobs[t]):
            assert np.array_equal(np.asarray(b.release(value(t))), np.asarray(outs[t]))
        fresh.release(value(t))
    assert _same_state(a.state_dict(), b.state_dict())
    assert not _same_state(a.state_dict(), fresh.state_dict())  # fresh noise differs: the check can fail


def test_a_replay_that_does_not_match_its_recording_is_refused():
    c = TreeCounter(T=64)
    with recording() as tape:
        c.release(1.0)
    with pytest.raises(EntropyMismatch), replaying(b""):
        TreeCounter(T=64).release(1.0)
    with pytest.raises(EntropyMismatch), replaying(tape.to_bytes() * 2):
        TreeCounter(T=64).release(1.0)
    with pytest.raises(ValueError, match="entropy record"):
        Tape.segments_from(np.array([70, 1, 5], dtype=np.int64).tobytes())


def test_serve_recovery_repeats_the_acknowledged_noise(tmp_path):
    d = tmp_path / "svc"
    svc = LearnerService(d, "tree-counter", {"T": 1024}, snapshot_every=0, warm=False)
    acked = [svc.process([Request("release", [{"x": float(t % 2)}])])[0].body["estimate"] for t in range(60)]
    before = svc.learner.state_dict()
    svc.close(snapshot=False)  # a crash: only the log holds the 60 releases

    again = LearnerService(d, warm=False)
    assert again.offset == 60 and _same_state(before, again.learner.state_dict())
    again.close(snapshot=False)

    with sqlite3.connect(d / "events.db") as db:  # sabotage: forget the recorded bits
        db.execute("UPDATE events SET entropy = NULL")
    broken = LearnerService(d, warm=False)
    assert not _same_state(before, broken.learner.state_dict())
    broken.close(snapshot=False)
    assert len(acked) == 60


def test_a_log_from_before_recorded_entropy_still_opens(tmp_path):
    d = tmp_path / "old"
    d.mkdir()
    with sqlite3.connect(d / "events.db") as db:
        db.execute("CREATE TABLE events (offset INTEGER PRIMARY KEY, op TEXT NOT NULL, body TEXT NOT NULL)")
    svc = LearnerService(d, "ogd", {"lr": 0.1}, warm=False)
    assert svc.process([Request("learn", [{"x": [1.0], "y": 1.0}])])[0].status == 200
    svc.close()


def test_an_unseeded_learner_snapshots_its_initial_random_state(tmp_path):
    svc = LearnerService(tmp_path / "s", "tree-counter", {"T": 64, "noise": "seeded"}, snapshot_every=0, warm=False)
    est = [svc.process([Request("release", [{"x": 1.0}])])[0].body["estimate"] for _ in range(5)]
    before = svc.learner.state_dict()
    svc.close(snapshot=False)
    again = LearnerService(tmp_path / "s", warm=False)
    assert again.snapshots.offsets() == [0]
    assert _same_state(before, again.learner.state_dict()) and len(est) == 5
    again.close(snapshot=False)

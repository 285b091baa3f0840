"""Service guards: updates that would make the state non-finite are refused, the model's
feature count is capped, ``/act`` vs ``/act/batch`` keys, log compaction and key TTL, and
batches through the learner's block path (bit-identical to the per-event loop)."""

from __future__ import annotations

import numpy as np
import pytest
from serve_helpers import PARAMS, assert_same_state, make_events, oracle

from onlinekit.serve._schema import Limits, RequestError, validate_event
from onlinekit.serve.service import LearnerService, Request

POISON = {"x": {"a": 1e200, "b": 1.0}, "y": 1e200}


def _copy_state(svc):
    return svc.learner.clone(include_attributes=True)


def test_poison_is_really_poison():
    """Oracle: OGD refuses the poison event itself (Diverged: its weights would be non-finite);
    OMD, which has no such refusal, ends with non-finite weights (what the service refuses)."""
    from onlinekit import Diverged
    from onlinekit.oco import OMDRegressor

    with pytest.raises(Diverged):
        oracle(make_events(5, seed=1) + [POISON])
    m = OMDRegressor()
    for ev in make_events(5, seed=1) + [POISON]:
        m.learn_one(ev["x"], ev["y"])
    assert not all(np.isfinite(np.asarray(v, dtype=float)).all() for v in m.state_dict().values()
                   if isinstance(v, np.ndarray))


def test_the_service_refuses_a_learner_going_non_finite(tmp_path):
    # a learner without its own refusal (OMD): the service's finiteness check catches the update
    good = make_events(6, seed=3)
    svc = LearnerService(tmp_path, "omd-regressor", {}, snapshot_every=0)
    svc.process([Request("learn", [ev]) for ev in good[:3]])
    before, offset = _copy_state(svc), svc.offset
    out = svc.process([Request("learn", [POISON])])[0]
    assert out.status == 422 and out.body["error"]["field"] == "event"
    assert "non-finite" in out.body["error"]["message"] and svc.offset == offset
    assert_same_state(svc.learner, before)
    svc.close()


@pytest.mark.parametrize("batch", [False, True])
def test_non_finite_update_is_refused_and_changes_nothing(tmp_path, batch):
    good = make_events(10, seed=1)
    svc = LearnerService(tmp_path, "ogd", PARAMS, snapshot_every=0)
    svc.process([Request("learn", [ev], key=f"g{i}") for i, ev in enumerate(good[:5])])
    before, offset, keys = _copy_state(svc), svc.offset, svc.log.count_keys()
    evs = [good[5], POISON, good[6]] if batch else [POISON]
    out = svc.process([Request("learn", evs, key="poison", batch=batch)])[0]
    assert out.status == 422
    # OGD refuses the diverging update itself: the field names the event (and its target)
    assert out.body["error"]["field"] == ("events[1].y" if batch else "y")
    assert "non-finite" in out.body["error"]["message"]
    assert (svc.offset, svc.log.count_keys()) == (offset, keys)
    assert_same_state(svc.learner, before)
    # the service goes on, and a restart replays no poison
    svc.process([Request("learn", [ev]) for ev in good[5:]])
    assert_same_state(svc.learner, oracle(good))
    assert np.isfinite(svc.predict([good[0]["x"]])[0]["prediction"])
    svc.close(snapshot=False)
    svc = LearnerService(tmp_path)
    assert_same_state(svc.learner, oracle(good))
    svc.close()


def test_non_finite_refusal_through_the_block_path(tmp_path):
    good = make_events(8, seed=2, kind="list")
    svc = LearnerService(tmp_path, "ogd", PARAMS, snapshot_every=0)
    svc.process([Request("learn", good[:3], batch=True)])
    before = _copy_state(svc)
    bad = good[3:5] + [{"x": [1e200, 1e200, 1.0], "y": 1e200}] + good[5:]
    out = svc.process([Request("learn", bad, batch=True)])[0]
    assert out.status == 422 and out.body["error"]["field"].startswith("events[2]")
    assert svc.offset == 3
    assert_same_state(svc.learner, before)
    svc.close()


def test_value_bound_refuses_large_values():
    lim = Limits(max_abs_value=1e6)
    with pytest.raises(RequestError) as ei:
        validate_event("learn", POISON, lim)
    assert ei.value.status == 422 and ei.value.field == "x['a']"
    with pytest.raises(RequestError) as ei:
        validate_event("learn", {"x": [1.0], "y": -2e6}, lim)
    assert ei.value.field == "y"
    assert validate_event("learn", {"x": [1e6], "y": -1e6}, lim) == {"x": [1e6], "y": -1e6}
    with pytest.raises(ValueError, match="max_abs_value"):
        Limits(max_abs_value=float("inf"))


def test_total_feature_cap(tmp_path):
    svc = LearnerService(tmp_path, "ogd", PARAMS, snapshot_every=0, max_total_features=50)

    def ev(names):
        return {"x": {n: 1.0 for n in names}, "y": 1.0}

    a = [f"a{i}" for i in range(20)]
    b = [f"b{i}" for i in range(20)]
    c = [f"c{i}" for i in range(20)]
    assert [o.status for o in svc.process([Request("learn", [ev(a)]), Request("learn", [ev(b)])])] == [200, 200]
    before = _copy_state(svc)
    out = svc.process([Request("learn", [ev(c)])])[0]
    assert out.status == 422 and out.body["error"]["field"] == "x"
    assert "40 features" in out.body["error"]["message"] and "20 new" in out.body["error"]["message"]
    assert_same_state(svc.learner, before) and svc.offset == 2
    # known names and up to the cap are fine; a batch crossing it names the event
    out = svc.process([Request("learn", [ev(a[:5] + c[:10])])])[0]
    assert out.status == 200 and len(svc.learner.features_) == 50
    out = svc.process([Request("learn", [ev(a), ev(["z"])], batch=True)])[0]
    assert out.status == 422 and out.body["error"]["field"] == "events[1].x"
    assert len(svc.learner.features_) == 50 and svc.offset == 3
    svc.close()


def test_act_and_act_batch_do_not_share_a_key(tmp_path):
    svc = LearnerService(tmp_path, "cascade-ucb1", {"n_items": 4, "m": 2})
    one = svc.process([Request("act", [{"obs": None}], key="k")])[0]
    assert one.status == 200 and "action" in one.body
    again = svc.process([Request("act", [{"obs": None}], key="k", batch=True)])[0]
    assert again.status == 409 and again.body["error"]["field"] == "Idempotency-Key"
    same = svc.process([Request("act", [{"obs": None}], key="k")])[0]
    assert same.replayed and same.body == one.body
    svc.close()


def test_log_compaction_keeps_every_kept_snapshot_recoverable(tmp_path, monkeypatch):
    events = make_events(45, seed=3)
    svc = LearnerService(tmp_path, "ogd", PARAMS, snapshot_every=0, keep_snapshots=2, compact_log=True)
    for i in range(0, 40, 10):
        svc.process([Request("learn", [ev]) for ev in events[i:i + 10]])
        svc.snapshot()
    assert svc.snapshots.complete_offsets() == [40, 30]
    assert svc.log.first_offset() == 20  # compacted below the oldest snapshot kept at that time
    # the next snapshot fails to write after compacting: both kept snapshots must stay usable
    svc.process([Request("learn", [ev]) for ev in events[40:]])

    def broken(learner, offset):
        raise OSError("disk full")

    monkeypatch.setattr(svc.snapshots, "write_learner", broken)
    svc.snapshot()
    assert svc.stats.snapshot_errors == 1 and svc.log.first_offset() == 30
    svc.close(snapshot=False)
    (tmp_path / "snapshots" / "snapshot-00000000000000000040.npz").write_bytes(b"torn")
    svc = LearnerService(tmp_path)  # falls back to snapshot 30 + the kept log tail
    assert svc.offset == 45 and svc.snapshot_offset == 30
    assert_same_state(svc.learner, oracle(events))
    svc.close(snapshot=False)


def test_key_ttl_forgets_old_keys(tmp_path):
    ev = make_events(3, seed=4)
    svc = LearnerService(tmp_path, "ogd", PARAMS, snapshot_every=0, key_ttl=3600)
    svc.process([Request("learn", [ev[0]], key="old")])
    svc.snapshot()
    assert svc.log.lookup("old") is not None  # younger than the TTL: kept
    svc.key_ttl = 1e-9
    svc.process([Request("learn", [ev[1]], key="new")])
    svc.snapshot()
    assert svc.log.lookup("old") is None and svc.log.lookup("new") is None
    svc.close()


# -- block path ------------------------------------------------------------------------------------
def test_batches_use_the_block_path_bit_identically(tmp_path, monkeypatch):
    events = make_events(300, seed=5, kind="list")
    for ev in events[::7]:
        ev["y"] = int(round(ev["y"]))  # integer targets take the same path
    svc = LearnerService(tmp_path, "ogd", PARAMS, snapshot_every=0)
    calls = []
    real = type(svc.learner).learn_many

    def spy(self, X, y, **kw):
        calls.append(len(X))
        return real(self, X, y, **kw)

    monkeypatch.setattr(type(svc.learner), "learn_many", spy)
    outs = svc.process([Request("learn", events[i:i + 100], batch=True) for i in range(0, 300, 100)])
    assert [o.body["offset"] for o in outs] == [0, 100, 200]
    assert calls == [100, 100, 100]
    assert_same_state(svc.learner, oracle(events))  # oracle: the learn_one loop
    svc.close(snapshot=False)
    monkeypatch.undo()
    svc = LearnerService(tmp_path)  # replay (per event) gives the same state bit for bit
    assert_same_state(svc.learner, oracle(events))
    svc.close()


def test_block_path_refusal_names_the_event(tmp_path):
    events = make_events(6, seed=6, kind="list")
    svc = LearnerService(tmp_path, "ogd", PARAMS, snapshot_every=0)
    svc.process([Request("learn", events[:2], batch=True)])
    before = _copy_state(svc)
    bad = events[2:4] + [{"x": [1.0, 2.0, 3.0, 4.0], "y": 1.0}]  # wrong width: not a block
    out = svc.process([Request("learn", bad, batch=True)])[0]
    assert out.status == 422 and out.body["error"]["field"] == "events[2].x"
    assert_same_state(svc.learner, before) and svc.offset == 2
    svc.close()


def test_kernels_are_warm_after_start(tmp_path):
    import onlinekit.oco.ogd as ogd_mod

    svc = LearnerService(tmp_path, "ogd", PARAMS)
    assert ogd_mod._LEARN is not None and ogd_mod._PREDICT is not None
    assert svc.offset == 0 and svc.learner.t_ == 0  # warmed on a copy, not on the live learner
    svc.close()


@pytest.mark.parametrize("name,params,op,ev", [
    ("ogd", PARAMS, "learn", {"x": {"a": 1.0, "b": -2.0}, "y": 0.5}),
    ("cascade-ucb1", {"n_items": 4, "m": 2}, "act", {"obs": None}),
    ("tree-counter", {"T": 16, "noise": "seeded", "seed": 3}, "release", {"x": 1.0}),
])
def test_fast_state_copy_equals_state_dict(tmp_path, name, params, op, ev):
    """Oracle: the learner's own state_dict; the snapshot copy must restore the same learner."""
    from onlinekit.serve.service import _materialized

    svc = LearnerService(tmp_path, name, params, snapshot_every=0)
    svc.process([Request(op, [ev]) for _ in range(3)])
    a = svc._fresh()
    a.load_state_dict(_materialized(svc._state_copy()))
    assert_same_state(a, svc.learner)
    b = svc._fresh()
    b.load_state_dict(svc.learner.state_dict())
    assert_same_state(a, b)
    svc.close()


def _hostile_events(seed: int, n: int = 300):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        scale = 10.0 ** rng.uniform(0, 300)
        x = rng.normal(size=3) * scale
        yield x, float(rng.normal() * scale)


def _keeps_finite(learner, seed: int, label=None) -> bool:
    """Oracle for the ``refuses_nonfinite`` claim: after every hostile event (accepted or
    refused) the generic scan finds no NaN or infinity in the state."""
    from onlinekit.base import InvalidEvent
    from onlinekit.serve.service import _nonfinite

    for x, y in _hostile_events(seed):
        try:
            learner.learn_one(x, y if label is None else label(y))
        except InvalidEvent:
            pass
        if _nonfinite(learner) is not None:
            return False
    return True


@pytest.mark.parametrize("make", [lambda: __import__("onlinekit.oco", fromlist=["OGD"]).OGD(lr=0.5),
                                  lambda: __import__("onlinekit.oco", fromlist=["OGD"]).OGD(lr=0.5, l2=0.1)])
def test_learners_that_skip_the_service_scan_really_refuse_non_finite_updates(make):
    assert type(make()).refuses_nonfinite
    assert all(_keeps_finite(make(), seed) for seed in range(3))


def test_the_multiclass_learner_refuses_non_finite_updates():
    from onlinekit.oco.softmax import OGDMulticlass

    assert OGDMulticlass.refuses_nonfinite
    assert all(_keeps_finite(OGDMulticlass(lr=1e10, schedule="constant"), seed, label=lambda y: "abc"[int(y > 0) + int(y > 1e100)])
               for seed in range(3))


def test_a_false_refuses_nonfinite_claim_is_caught():
    """Sabotage: a learner that claims the flag but applies overflowing updates fails the check."""
    from onlinekit.oco import OMDRegressor

    class Claims(OMDRegressor):
        refuses_nonfinite = True

    assert not all(_keeps_finite(Claims(lr=0.5), seed) for seed in range(3))

"""HTTP API in-process (Starlette TestClient): routes, validation, auth, limits, idempotency."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx2", reason="starlette's TestClient needs httpx2")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from serve_helpers import PARAMS, assert_same_state, make_events, oracle  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from onlinekit.serve import LearnerService, Limits, create_app  # noqa: E402

TOKEN = "s3cret-token-0123456789"


@pytest.fixture
def svc(tmp_path):
    s = LearnerService(tmp_path / "state", "ogd", PARAMS, snapshot_every=0)
    yield s
    s.close(snapshot=False)


@pytest.fixture
def client(svc):
    with TestClient(create_app(svc, limits=Limits(max_body=4096, max_batch=8, max_features=16))) as c:
        yield c


def _fingerprint(svc):
    """Everything a bad request must leave alone: log offset, keys, learner state."""
    return svc.offset, svc.log.count_keys(), svc.state_bytes()


def test_learn_predict_batch_roundtrip(client, svc):
    events = make_events(12, seed=0)
    for ev in events[:4]:
        r = client.post("/learn", json=ev)
        assert r.status_code == 200
    r = client.post("/learn/batch", json={"events": events[4:12]})
    assert r.status_code == 200 and r.json() == {"offset": 4, "count": 8}
    ref = oracle(events)
    assert_same_state(svc.learner, ref)
    x = events[0]["x"]
    assert client.post("/predict", json={"x": x}).json()["prediction"] == ref.predict_one(x)
    res = client.post("/predict/batch", json={"events": [{"x": e["x"]} for e in events[:3]]}).json()["results"]
    assert [r["prediction"] for r in res] == [ref.predict_one(e["x"]) for e in events[:3]]
    h = client.get("/health").json()
    assert h == {"status": "ok", "learner": "ogd", "kind": "supervised", "offset": 12, "snapshot_offset": 0}
    assert client.post("/snapshot").json() == {"offset": 12}
    assert client.get("/health").json()["snapshot_offset"] == 12


def test_idempotency_over_http(client, svc):
    ev = make_events(2, seed=1)
    r1 = client.post("/learn", json=ev[0], headers={"Idempotency-Key": "a-1"})
    r2 = client.post("/learn", json=ev[0], headers={"Idempotency-Key": "a-1"})
    assert r1.json() == r2.json() and r2.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in r1.headers
    r3 = client.post("/learn", json=ev[1], headers={"Idempotency-Key": "a-1"})
    assert r3.status_code == 409 and r3.json()["error"]["field"] == "Idempotency-Key"
    assert svc.offset == 1
    r4 = client.post("/learn", json=ev[1], headers={"Idempotency-Key": "x" * 500})
    assert r4.status_code == 400 and r4.json()["error"]["field"] == "Idempotency-Key"


@pytest.mark.parametrize("body,status,field", [
    (b"{not json", 400, "body"),
    (b"", 400, "body"),
    (b'{"x": {"a": NaN}, "y": 1}', 400, "body"),
    (b'{"x": {"a": 1}, "y": Infinity}', 400, "body"),
    (b'{"x": {"a": 1e999}, "y": 1}', 422, "x['a']"),
    (b'{"x": {"a": 1}, "x": {"a": 2}, "y": 1}', 400, "body"),
    (b'\xff\xfe', 400, "body"),
    (b'[1, 2]', 422, "body"),
    (b'{"x": {"a": 1}}', 422, "y"),
    (b'{"y": 1}', 422, "x"),
    (b'{"x": {"a": "1"}, "y": 1}', 422, "x['a']"),
    (b'{"x": {"a": true}, "y": 1}', 422, "x['a']"),
    (b'{"x": [1, null], "y": 1}', 422, "x[1]"),
    (b'{"x": "abc", "y": 1}', 422, "x"),
    (b'{"x": {"a": 1}, "y": "2"}', 422, "y"),
    (b'{"x": {"a": 1}, "y": 1, "weight": 2}', 422, "weight"),
    (b'{"x": {"a": 1}, "y": 1, "groups": [1, 0]}', 422, "groups"),
    (b'{"x": {"a": 1}, "y": 123456789012345678901234567890}', 422, "y"),
    (b'[' * 5000 + b']' * 5000, 413, "body"),
])
def test_bad_learn_requests_leave_state_and_log_unchanged(client, svc, body, status, field):
    client.post("/learn", json=make_events(1)[0])
    before = _fingerprint(svc)
    r = client.post("/learn", content=body, headers={"Content-Type": "application/json", "Idempotency-Key": "bad"})
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["field"] == field and err["status"] == status and err["message"]
    assert _fingerprint(svc) == before


def test_learner_refusal_is_422_and_changes_nothing(client, svc):
    client.post("/learn", json={"x": [1.0, 2.0], "y": 1.0})
    before = _fingerprint(svc)
    r = client.post("/learn", json={"x": [1.0, 2.0, 3.0], "y": 1.0})  # wrong width: OGD refuses
    assert r.status_code == 422 and r.json()["error"]["field"] == "x"
    r = client.post("/learn/batch", json={"events": [{"x": [1.0, 2.0], "y": 1.0}, {"x": [1.0], "y": 1.0}]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "events[1].x"
    assert _fingerprint(svc) == before


def test_limits(client, svc):
    before = _fingerprint(svc)
    big = {"x": {f"f{i}": 1.0 for i in range(400)}, "y": 1.0}
    r = client.post("/learn", json=big)
    assert r.status_code == 413 and r.json()["error"]["field"] == "body"
    many = {"x": {f"f{i}": 1.0 for i in range(17)}, "y": 1.0}
    assert client.post("/learn", json=many).json()["error"]["field"] == "x"
    r = client.post("/learn/batch", json={"events": make_events(9)})
    assert r.status_code == 413 and r.json()["error"]["field"] == "events"
    assert client.post("/learn/batch", json={"events": []}).json()["error"]["field"] == "events"
    assert client.post("/learn/batch", json={"evts": []}).json()["error"]["field"] == "evts"

    def chunks():  # no Content-Length: the streamed size is enforced
        for _ in range(10):
            yield b" " * 1000

    r = client.post("/learn", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert _fingerprint(svc) == before


def test_unknown_routes_and_methods(client, svc):
    r = client.get("/nope")
    assert r.status_code == 404 and r.json()["error"]["field"] == "route"
    r = client.get("/learn")
    assert r.status_code == 405 and r.json()["error"]["field"] == "method"
    r = client.post("/act", json={})  # a supervised learner has no /act
    assert r.status_code == 404 and r.json()["error"]["field"] == "route"
    assert svc.offset == 0


def test_bearer_token(svc):
    app = create_app(svc, token=TOKEN)
    with TestClient(app) as c:
        ev = make_events(1)[0]
        assert c.get("/health").status_code == 200  # liveness needs no token
        r = c.post("/learn", json=ev)
        assert r.status_code == 401 and r.json()["error"]["field"] == "Authorization"
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        for auth in ("Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer", "Bearer \u00e9t\u00e9".encode("utf-8")):
            assert c.post("/learn", json=ev, headers={"Authorization": auth}).status_code == 401
        assert c.get("/metrics").status_code == 401
        assert c.post("/snapshot").status_code == 401
        assert svc.offset == 0
        assert c.post("/learn", json=ev, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert svc.offset == 1


def test_metrics_exposition(client, svc):
    client.post("/learn", json=make_events(1)[0])
    client.post("/learn", content=b"{", headers={"Content-Type": "application/json"})
    client.get("/nope/123")
    text = client.get("/metrics").text
    assert 'onlinekit_requests_total{route="/learn",status="200"} 1' in text
    assert 'onlinekit_requests_total{route="/learn",status="400"} 1' in text
    assert 'onlinekit_requests_total{route="other",status="404"} 1' in text  # no raw paths as labels
    assert 'onlinekit_events_total{op="learn"} 1' in text
    assert 'onlinekit_request_duration_seconds_count{route="/learn"} 2' in text
    assert 'onlinekit_errors_total{kind="client"} 2' in text
    assert "onlinekit_log_offset 1" in text
    # every sample line parses as name{labels} value
    for line in text.splitlines():
        if not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])


# -- fuzz: anything invalid gets a 4xx and changes nothing -------------------------------------
_bad_scalar = st.one_of(st.text(max_size=5), st.booleans(), st.none(), st.lists(st.integers(), max_size=2),
                        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
                        st.integers(min_value=2**60, max_value=2**70))
_bad_event = st.one_of(
    st.fixed_dictionaries({"x": st.dictionaries(st.text(max_size=4), _bad_scalar, min_size=1, max_size=3),
                           "y": st.floats(allow_nan=False, allow_infinity=False)}),
    st.fixed_dictionaries({"x": st.lists(st.floats(-5, 5), min_size=1, max_size=3), "y": _bad_scalar}),
    st.fixed_dictionaries({"x": _bad_scalar, "y": st.floats(-5, 5)}),
    st.dictionaries(st.sampled_from(["x", "y", "z", "groups", "sensitive", "obs"]), _bad_scalar, max_size=4),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ev=_bad_event, raw=st.binary(max_size=64))
def test_fuzz_bad_events_change_nothing(client, svc, ev, raw):
    if svc.offset == 0:
        assert client.post("/learn", json={"x": [0.5, -0.5], "y": 1.0}).status_code == 200
    before = _fingerprint(svc)
    ref = svc.learner.clone(include_attributes=True)
    r = client.post("/learn", content=json.dumps(ev).encode(), headers={"Content-Type": "application/json"})
    if r.status_code == 200:  # a valid event by chance (e.g. no features): OGD itself must take it
        x = np.asarray(ev["x"], dtype=np.float64) if isinstance(ev["x"], list) else ev["x"]
        ref.learn_one(x, ev["y"])
        assert svc.offset == before[0] + 1
        assert_same_state(svc.learner, ref)
        return
    assert 400 <= r.status_code < 500 and r.json()["error"]["field"]
    r = client.post("/learn/batch", content=raw, headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500
    assert _fingerprint(svc) == before


# -- other learner kinds ----------------------------------------------------------------------
def test_release_learner(tmp_path):
    params = {"T": 64, "noise": "seeded", "seed": 1}
    s = LearnerService(tmp_path, "tree-counter", params)
    with TestClient(create_app(s, close_service=True)) as c:
        ests = [c.post("/release", json={"x": 1.0}).json()["estimate"] for _ in range(5)]
        r = c.post("/release/batch", json={"events": [{"x": 1.0}, {"x": 0.0}]}).json()
        assert r["offset"] == 5 and len(r["results"]) == 2
        assert c.post("/learn", json={"x": [1.0], "y": 1.0}).status_code == 404
        assert c.post("/release", json={"x": "one"}).json()["error"]["field"] == "x"
    from onlinekit.registry import get_learner_class

    ref = get_learner_class("tree-counter")(**params)
    assert ests == [float(ref.release(1.0)) for _ in range(5)]
    s2 = LearnerService(tmp_path)  # the release stream (noise state included) resumes exactly
    assert s2.offset == 7
    ref.release(1.0), ref.release(0.0)
    assert_same_state(s2.learner, ref)
    s2.close()


def test_decision_learner(tmp_path):
    params = {"n_items": 4, "m": 2}
    s = LearnerService(tmp_path, "cascade-ucb1", params)
    actions = []
    with TestClient(create_app(s, close_service=True)) as c:
        for t in range(6):
            a = c.post("/act", json={}).json()
            assert a["offset"] == 2 * t and len(a["action"]) == 2
            actions.append(a["action"])
            r = c.post("/feedback", json={"action": a["action"], "feedback": [t % 2, None]})
            assert r.status_code == 200, r.text
        r = c.post("/feedback", json={"action": [0, 0], "feedback": [None, None]})
        assert r.status_code == 422 and r.json()["error"]["field"] == "action"
        assert c.post("/act", json={"obz": 1}).json()["error"]["field"] == "obz"
    from onlinekit.registry import get_learner_class

    ref = get_learner_class("cascade-ucb1")(**params)
    for t in range(6):
        assert ref.act(None) == actions[t]
        ref.update(None, actions[t], (t % 2, None))
    s2 = LearnerService(tmp_path)
    assert s2.offset == 12
    assert_same_state(s2.learner, ref)
    s2.close()

"""Serving the experts and OCO protocols: ``/play`` and ``/update`` (and their ``/batch``).

Oracles: the same learner class driven in-process through its own API (``play`` /
``update`` / ``set_hint``) gives the decisions the service answered, bit for bit, and the
protocol's log replay (:func:`onlinekit.protocols.replay_log` over the same rounds as columns,
a block path: ``update_many``) gives the served learner's final state, bit for bit. Recovery
(snapshot + log replay, in process and after ``kill -9`` of a real server) restores exactly
that state. Bad requests get 4xx naming the field and change neither the learner nor the log.
A sabotaged route (dropping the awake mask) is caught by the oracle check.
"""

from __future__ import annotations

import signal
import sys

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx2", reason="starlette's TestClient needs httpx2")

from serve_helpers import assert_same_state  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from onlinekit.protocols import replay_log  # noqa: E402
from onlinekit.registry import learners as registry  # noqa: E402
from onlinekit.serve import LearnerService, create_app  # noqa: E402
from onlinekit.streams import ArraySource  # noqa: E402

N_EXP = 4
D = 3
T = 40


def _new(name: str, params: dict):
    return registry()[name].load()(**params)


def _fingerprint(svc):
    """Everything a refused request must leave alone: log offset, keys, learner state."""
    return svc.offset, svc.log.count_keys(), svc.state_bytes()


# -- experts -----------------------------------------------------------------------------------------
def _expert_rounds(seed: int = 0):
    rng = np.random.default_rng(seed)
    L = rng.random((T, N_EXP)) * np.array([1.0, 0.6, 0.9, 0.8])
    A = rng.random((T, N_EXP)) < 0.6
    A[np.arange(T), rng.integers(0, N_EXP, T)] = True  # at least one expert awake each round
    return L, A


def _expert_update(L_t, A_t, nulls: bool) -> dict:
    """The round as a request: a sleeping expert's loss is sent as null (unknown) when ``nulls``."""
    losses = [None if nulls and not a else float(v) for v, a in zip(L_t, A_t, strict=True)]
    return {"losses": losses, "awake": [int(a) for a in A_t]}


def _serve_experts(tmp_path, name: str, params: dict, L, A, nulls: bool = True):
    """Serve the rounds (half one request per round, half in batches): (plays, service state)."""
    svc = LearnerService(tmp_path / "state", name, params, snapshot_every=0)
    plays = []
    half = T // 2
    with TestClient(create_app(svc, close_service=True)) as c:
        for t in range(half):
            r = c.post("/play", json={"awake": [bool(a) for a in A[t]]})
            assert r.status_code == 200, r.text
            plays.append(r.json()["probabilities"])
            r = c.post("/update", json=_expert_update(L[t], A[t], nulls), headers={"Idempotency-Key": f"u{t}"})
            assert r.status_code == 200 and r.json() == {"offset": t, "count": 1}, r.text
        for s in range(half, T, 7):
            e = min(s + 7, T)
            r = c.post("/play/batch", json={"events": [{"awake": [int(a) for a in A[t]]} for t in range(s, e)]})
            assert r.status_code == 200, r.text
            plays.append([row["probabilities"] for row in r.json()["results"]])
            r = c.post("/update/batch", json={"events": [_expert_update(L[t], A[t], nulls) for t in range(s, e)]})
            assert r.status_code == 200 and r.json() == {"offset": s, "count": e - s}, r.text
        assert svc.offset == T  # plays are reads: nothing logged for them
        state = svc.learner.state_dict()
    return plays, state


def _check_experts_oracle(tmp_path, name: str, params: dict, nulls: bool = True) -> None:
    L, A = _expert_rounds()
    plays, state = _serve_experts(tmp_path, name, params, L, A, nulls)
    # decisions: the learner's own API, one round at a time
    m = _new(name, params)
    half = T // 2
    for t in range(half):
        p = m.play(awake=A[t])
        assert np.array_equal(np.array(plays[t]), p), (t, plays[t], p)
        m.update(L[t], awake=A[t])
    for k, s in enumerate(range(half, T, 7)):
        e = min(s + 7, T)
        want = [m.play(awake=A[t]) for t in range(s, e)]  # every play of a batch sees its start state
        assert np.array_equal(np.array(plays[half + k]), np.array(want)), (s, plays[half + k], want)
        for t in range(s, e):
            m.update(L[t], awake=A[t])
    served = _new(name, params)
    served.load_state_dict(state)
    assert_same_state(served, m)
    # final state: the protocol's log replay (update_many over the rounds as columns)
    cols = {f"e{j}": np.where(A[:, j], L[:, j], np.nan) for j in range(N_EXP)}
    cols.update({f"a{j}": A[:, j].astype(np.float64) for j in range(N_EXP)})
    replayed = _new(name, params)
    replay_log(replayed, ArraySource(columns=cols),
               {"experts": tuple(f"e{j}" for j in range(N_EXP)), "awake": tuple(f"a{j}" for j in range(N_EXP))})
    assert_same_state(served, replayed)


@pytest.mark.parametrize(("name", "params"), [("hedge", {"n_experts": N_EXP}),
                                              ("hedge", {"n_experts": N_EXP, "lr": 2.0}),
                                              ("adanormalhedge", {"n_experts": N_EXP})])
def test_served_experts_equal_in_process_learner_and_log_replay(tmp_path, name, params):
    _check_experts_oracle(tmp_path, name, params)


def _drop_from_updates(monkeypatch, field: str) -> None:
    """Sabotage the service: every validated /update event loses ``field``."""
    import onlinekit.serve._schema as schema

    real = schema.validate_round

    def dropped(kind, op, ev, limits, prefix=""):
        out = real(kind, op, ev, limits, prefix)
        if op == "update":
            out.pop(field, None)
        return out

    monkeypatch.setattr(schema, "validate_round", dropped)

def test_oracle_catches_a_route_that_drops_the_awake_mask(tmp_path, monkeypatch):
    """Sabotage: /update forgets the awake mask (every expert then counts as awake)."""
    _check_experts_oracle(tmp_path / "ok", "hedge", {"n_experts": N_EXP}, nulls=False)  # the check passes
    _drop_from_updates(monkeypatch, "awake")
    with pytest.raises(AssertionError):
        _check_experts_oracle(tmp_path / "sabotaged", "hedge", {"n_experts": N_EXP}, nulls=False)


def test_mixture_loss_is_passed_on(tmp_path):
    """``mixture_loss`` (the learner's own loss, e.g. of the weighted-average prediction)
    replaces the expected loss in the regrets, as ``update(..., mixture_loss=)`` does."""
    L, A = _expert_rounds(seed=3)
    mix = np.random.default_rng(4).random(T)
    svc = LearnerService(tmp_path / "state", "adanormalhedge", {"n_experts": N_EXP}, snapshot_every=0)
    with TestClient(create_app(svc)) as c:
        for t in range(T):
            ev = {**_expert_update(L[t], A[t], True), "mixture_loss": float(mix[t])}
            assert c.post("/update", json=ev).status_code == 200
    m, plain = _new("adanormalhedge", {"n_experts": N_EXP}), _new("adanormalhedge", {"n_experts": N_EXP})
    for t in range(T):
        m.update(L[t], awake=A[t], mixture_loss=float(mix[t]))
        plain.update(L[t], awake=A[t])
    assert_same_state(svc.learner, m)
    assert not np.array_equal(svc.learner.R_, plain.R_)  # the field made a difference
    svc.close(snapshot=False)


@pytest.fixture
def hedge(tmp_path):
    s = LearnerService(tmp_path / "state", "hedge", {"n_experts": 3}, snapshot_every=0)
    with TestClient(create_app(s)) as c:
        r = c.post("/update", json={"losses": [0.2, 0.5, 0.9]})
        assert r.status_code == 200
        yield s, c
    s.close(snapshot=False)


@pytest.mark.parametrize(("route", "body", "status", "field"), [
    ("/update", {"losses": [0.1, 0.2]}, 422, "losses"),                            # wrong length
    ("/update", {"losses": [0.1, 0.2, 0.3, 0.4]}, 422, "losses"),
    ("/update", b'{"losses": [0.1, NaN, 0.3]}', 400, "body"),                      # NaN literal
    ("/update", b'{"losses": [0.1, 1e400, 0.3]}', 422, "losses[1]"),               # overflows to inf
    ("/update", {"losses": [0.1, True, 0.3]}, 422, "losses[1]"),                   # booleans are no numbers
    ("/update", {"losses": [0.1, "0.2", 0.3]}, 422, "losses[1]"),
    ("/update", {"losses": "0.1"}, 422, "losses"),
    ("/update", {"losses": [0.1, None, 0.3]}, 422, "losses[1]"),                   # null for an awake expert
    ("/update", {"losses": [0.1, None, 0.3], "awake": [1, 1, 0]}, 422, "losses[1]"),
    ("/update", {"losses": [0.1, 0.2, 0.3], "awake": [1, 2, 0]}, 422, "awake[1]"),  # out-of-range mask
    ("/update", {"losses": [0.1, 0.2, 0.3], "awake": [1, 0.5, 0]}, 422, "awake[1]"),
    ("/update", {"losses": [0.1, 0.2, 0.3], "awake": [1, 0]}, 422, "awake"),         # mask length
    ("/update", {"losses": [0.1, 0.2, 0.3], "awake": [0, 0, 0]}, 422, "awake"),      # all asleep
    ("/update", {"losses": [0.1, 0.2, 0.3], "awake": None}, 422, "awake"),
    ("/update", {"losses": [0.1, 0.2, 0.3], "mixture_loss": "a"}, 422, "mixture_loss"),
    ("/update", {"losses": [0.1, 0.2, 0.3], "gradient": [1.0]}, 422, "gradient"),   # OCO's field
    ("/update", {"awake": [1, 1, 1]}, 422, "losses"),                              # missing
    ("/update", [0.1, 0.2, 0.3], 422, "body"),
    ("/update/batch", {"events": [{"losses": [0.1, 0.2, 0.3]}, {"losses": [0.1, 0.2]}]}, 422, "events[1].losses"),
    ("/update/batch", {"events": [{"losses": [0.1, 0.2, 0.3]}, {"losses": [0.1, 0.2, 0.3], "awake": [0, 0, 0]}]},
     422, "events[1].awake"),
    ("/update/batch", {"events": []}, 422, "events"),
    ("/update/batch", {}, 422, "events"),
    ("/update/batch", {"events": {"losses": [0.1, 0.2, 0.3]}}, 422, "events"),
    ("/update/batch", {"events": [{"losses": [0.1, 0.2, 0.3]}], "key": 1}, 422, "key"),
    ("/update/batch", {"events": [{"losses": [0.1, 0.2, 0.3]}] * 1001}, 413, "events"),
    ("/update/batch", [{"losses": [0.1, 0.2, 0.3]}], 422, "body"),
    ("/play", {"awake": [0, 0, 0]}, 422, "awake"),
    ("/play", {"awake": [1, -1, 0]}, 422, "awake[1]"),
    ("/play", {"awake": [1, 1]}, 422, "awake"),
    ("/play", {"hint": [1.0, 0.0, 0.0]}, 422, "hint"),
    ("/play/batch", {"events": [{}, {"awake": [0, 0, 0]}]}, 422, "events[1].awake"),
    ("/learn", {"x": [1.0], "y": 1.0}, 404, "route"),
    ("/act", {}, 404, "route"),
])
def test_bad_expert_requests_are_refused_and_change_nothing(hedge, route, body, status, field):
    svc, c = hedge
    before = _fingerprint(svc)
    state = svc.learner.state_dict()
    if isinstance(body, bytes):
        r = c.post(route, content=body, headers={"Content-Type": "application/json", "Idempotency-Key": "bad"})
    else:
        r = c.post(route, json=body, headers={"Idempotency-Key": "bad"})
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["field"] == field and err["status"] == status and err["message"]
    assert _fingerprint(svc) == before
    assert_same_state(svc.learner, _loaded(svc, state))


def _loaded(svc, state):
    m = svc._template.clone()
    m.load_state_dict(state)
    return m


def test_expert_update_idempotency(hedge):
    svc, c = hedge
    body = {"losses": [0.3, 0.1, 0.4], "awake": [1, 1, 0]}
    r1 = c.post("/update", json=body, headers={"Idempotency-Key": "k"})
    after_one = _fingerprint(svc)
    r2 = c.post("/update", json=body, headers={"Idempotency-Key": "k"})
    assert r1.status_code == r2.status_code == 200 and r1.json() == r2.json() == {"offset": 1, "count": 1}
    assert r2.headers["Idempotent-Replayed"] == "true" and _fingerprint(svc) == after_one
    r3 = c.post("/update", json={"losses": [0.3, 0.1, 0.5]}, headers={"Idempotency-Key": "k"})
    assert r3.status_code == 409 and r3.json()["error"]["field"] == "Idempotency-Key"
    assert _fingerprint(svc) == after_one


# -- OCO -----------------------------------------------------------------------------------------------
OCO_CASES = [
    ("omd", {"n_dims": D}),
    ("omd", {"n_dims": D, "schedule": "adagrad"}),
    ("optimistic-omd", {"n_dims": D}),
    ("optimistic-omd", {"n_dims": D, "hint": "given"}),
    ("optimistic-ftrl", {"n_dims": D}),
    ("ons", {"n_dims": D}),
    ("dynamic-omd", {"n_dims": D, "horizon": T}),
]


def _oco_rounds(seed: int = 1):
    rng = np.random.default_rng(seed)
    G = rng.normal(loc=[0.4, -0.2, 0.1], size=(T, D))
    H = G + 0.3 * rng.normal(size=(T, D))  # hints: noisy gradients
    return G, H


def _serve_oco(svc, c, G, H, given: bool, start: int = 0, stop: int = T) -> list:
    """Rounds ``start:stop``: two thirds one request per round, the rest in update batches.

    With given hints the round's hint goes with the play (a logged write) or, every third
    round, with the update instead (no play then)."""
    points = []
    single = start + 2 * (stop - start) // 3
    for t in range(start, single):
        hint_with_update = given and t % 3 == 2
        if not hint_with_update:
            r = c.post("/play", json={"hint": H[t].tolist()} if given else {})
            assert r.status_code == 200, r.text
            points.append((t, r.json()["point"]))
        ev = {"gradient": G[t].tolist()}
        if hint_with_update:
            ev["hint"] = H[t].tolist()
        r = c.post("/update", json=ev, headers={"Idempotency-Key": f"g{t}"})
        assert r.status_code == 200 and r.json()["count"] == 1, r.text
    for s in range(single, stop, 5):
        e = min(s + 5, stop)
        evs = [{"gradient": G[t].tolist(), **({"hint": H[t].tolist()} if given else {})} for t in range(s, e)]
        r = c.post("/update/batch", json={"events": evs})
        assert r.status_code == 200 and r.json()["count"] == e - s, r.text
    return points


def _oco_oracle(name, params, G, H, given: bool) -> tuple[dict, object]:
    """The learner's own API, one round at a time: {t: x_t} and the learner."""
    m = _new(name, params)
    xs = {}
    for t in range(T):
        if given:
            m.set_hint(H[t])
        xs[t] = m.play()
        if given:
            m.update(G[t], hint=H[t + 1] if t + 1 < T else H[t])
        else:
            m.update(G[t])
    return xs, m


def _oco_replayed(name, params, G, H, given: bool):
    cols = {f"g{j}": G[:, j] for j in range(D)}
    roles = {"gradient": tuple(f"g{j}" for j in range(D))}
    if given:
        cols.update({f"h{j}": H[:, j] for j in range(D)})
        roles["hint"] = tuple(f"h{j}" for j in range(D))
    m = _new(name, params)
    replay_log(m, ArraySource(columns=cols), roles)
    return m


@pytest.mark.parametrize(("name", "params"), OCO_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(OCO_CASES)])
def test_served_oco_equals_in_process_learner_and_log_replay(tmp_path, name, params):
    _check_oco_oracle(tmp_path, name, params)


def test_oracle_catches_an_update_route_that_drops_the_hint(tmp_path, monkeypatch):
    """Sabotage: /update forgets the round's hint (the learner keeps the previous one)."""
    _drop_from_updates(monkeypatch, "hint")
    with pytest.raises(AssertionError):
        _check_oco_oracle(tmp_path, "optimistic-omd", {"n_dims": D, "hint": "given"})


def _check_oco_oracle(tmp_path, name, params) -> None:
    G, H = _oco_rounds()
    given = params.get("hint") == "given"
    svc = LearnerService(tmp_path / "state", name, params, snapshot_every=0)
    try:
        _check_served_oco(svc, name, params, G, H, given)
    finally:
        svc.close(snapshot=False)


def _check_served_oco(svc, name, params, G, H, given) -> None:
    with TestClient(create_app(svc)) as c:
        points = _serve_oco(svc, c, G, H, given)
        before = svc.offset
        r = c.post("/play/batch", json={"events": [{}, {}]})  # without a hint a play only reads
        assert r.status_code == 200 and svc.offset == before
        final_point = r.json()["results"][0]["point"]
        metrics = c.get("/metrics").text
    n_logged_plays = len(points) if given else 0
    assert f'onlinekit_events_total{{op="update"}} {T}' in metrics
    assert f'onlinekit_events_total{{op="play"}} {n_logged_plays}' in metrics
    xs, m = _oco_oracle(name, params, G, H, given)
    assert len(points) >= T // 3
    for t, p in points:
        assert np.array_equal(np.array(p), xs[t]), (t, p, xs[t])
    assert np.array_equal(np.array(final_point), m.play())
    assert_same_state(svc.learner, m)
    assert_same_state(svc.learner, _oco_replayed(name, params, G, H, given))
    # every update is logged, and a play only when it carried a hint
    assert svc.offset == T + n_logged_plays


@pytest.fixture
def given_omd(tmp_path):
    s = LearnerService(tmp_path / "state", "optimistic-omd", {"n_dims": 2, "hint": "given"}, snapshot_every=0)
    with TestClient(create_app(s)) as c:
        assert c.post("/play", json={"hint": [0.5, 0.5]}).status_code == 200
        assert c.post("/update", json={"gradient": [1.0, -1.0]}).status_code == 200
        yield s, c
    s.close(snapshot=False)


@pytest.mark.parametrize(("route", "body", "status", "field"), [
    ("/update", {"gradient": [1.0]}, 422, "gradient"),
    ("/update", {"gradient": [1.0, 2.0, 3.0]}, 422, "gradient"),
    ("/update", {"gradient": [1.0, None]}, 422, "gradient[1]"),
    ("/update", b'{"gradient": [Infinity, 1.0]}', 400, "body"),
    ("/update", b'{"gradient": [1e999, 1.0]}', 422, "gradient[0]"),
    ("/update", {"gradient": [1.0, False]}, 422, "gradient[1]"),
    ("/update", {"gradient": [1.0, 2.0], "hint": [1.0]}, 422, "hint"),
    ("/update", {"gradient": [1.0, 2.0], "hint": [1.0, "x"]}, 422, "hint[1]"),
    ("/update", {"gradient": [1.0, 2.0], "losses": [1.0, 2.0]}, 422, "losses"),  # experts' field
    ("/update", {"hint": [1.0, 2.0]}, 422, "gradient"),
    ("/update", {"gradient": [1e308, 1e308]}, 422, "event"),  # would overflow the state
    ("/update/batch", {"events": [{"gradient": [1.0, 2.0]}, {"gradient": [1e308, -1e308]}]}, 422, "events[1]"),
    ("/update/batch", {"events": [{"gradient": [1.0, 2.0], "hint": [0.0, 1.0]}, {"gradient": [1.0]}]}, 422,
     "events[1].gradient"),
    ("/play", {"hint": [1.0, 2.0, 3.0]}, 422, "hint"),
    ("/play", {"hint": [1.0, None]}, 422, "hint[1]"),
    ("/play", {"awake": [1, 1]}, 422, "awake"),
    ("/play/batch", {"events": [{"hint": [1.0, 2.0]}, {"hint": [1.0]}]}, 422, "events[1].hint"),
    ("/predict", {"x": [1.0, 2.0]}, 404, "route"),
])
def test_bad_oco_requests_are_refused_and_change_nothing(given_omd, route, body, status, field):
    svc, c = given_omd
    before = _fingerprint(svc)
    state = svc.learner.state_dict()
    if isinstance(body, bytes):
        r = c.post(route, content=body, headers={"Content-Type": "application/json"})
    else:
        r = c.post(route, json=body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["field"] == field and err["status"] == status and err["message"]
    assert _fingerprint(svc) == before
    assert_same_state(svc.learner, _loaded(svc, state))


def test_hint_refused_by_a_learner_without_given_hints(tmp_path):
    svc = LearnerService(tmp_path / "state", "optimistic-omd", {"n_dims": 2}, snapshot_every=0)  # hint="last"
    with TestClient(create_app(svc)) as c:
        c.post("/update", json={"gradient": [1.0, 0.0]})
        before = _fingerprint(svc)
        for route, body in (("/play", {"hint": [1.0, 0.0]}), ("/update", {"gradient": [1.0, 0.0], "hint": [1.0, 0.0]})):
            r = c.post(route, json=body)
            assert r.status_code == 422 and r.json()["error"]["field"] == "hint", r.text
        assert _fingerprint(svc) == before
    svc.close(snapshot=False)


# -- recovery ------------------------------------------------------------------------------------------
def test_restart_replays_updates_and_logged_plays(tmp_path):
    """Snapshots every 7 events, no final snapshot: the restart loads the newest snapshot and
    replays the log tail (updates and the plays that set a hint) to the uninterrupted state."""
    _check_restart(tmp_path)


def test_restart_check_catches_a_recovery_that_skips_logged_plays(tmp_path, monkeypatch):
    """Sabotage: recovery replays the updates but not the plays that set a hint."""
    from onlinekit.serve.log import EventLog

    real = EventLog.read

    def no_plays(self, *args, **kwargs):
        return (row for row in real(self, *args, **kwargs) if row[1] != "play")

    monkeypatch.setattr(EventLog, "read", no_plays)
    with pytest.raises(AssertionError):
        _check_restart(tmp_path)


def _check_restart(tmp_path) -> None:
    """First half with snapshots every 7 events, a restart, the second half and a last play
    with the next round's hint (no snapshot after the restart): the final restart replays
    the whole second half. A hint moves only the play point (``x``, not ``xhat``), so the
    last logged play is what shows whether plays are replayed."""
    G, H = _oco_rounds(seed=5)
    nxt = (H[-1] + 0.5).tolist()
    params = {"n_dims": D, "hint": "given"}
    state = tmp_path / "state"
    svc = LearnerService(state, "optimistic-omd", params, snapshot_every=7)
    with TestClient(create_app(svc)) as c:
        _serve_oco(svc, c, G, H, True, 0, T // 2)
    offset = svc.offset
    svc.close(snapshot=False)
    svc = LearnerService(state, snapshot_every=0)  # recovers; then the second half
    assert svc.offset == offset
    with TestClient(create_app(svc)) as c:
        _serve_oco(svc, c, G, H, True, T // 2, T)
        r = c.post("/update", json={"gradient": G[3].tolist()}, headers={"Idempotency-Key": "g3"})  # a retry
        assert r.headers.get("Idempotent-Replayed") == "true"
        r = c.post("/play", json={"hint": nxt})
        assert r.status_code == 200
        point = r.json()["point"]
    live = svc.learner.state_dict()
    svc.close(snapshot=False)
    restarted = LearnerService(state)
    try:
        assert 0 < restarted.snapshot_offset <= offset < restarted.offset  # a snapshot, then the log after it
        assert np.array_equal(restarted.learner.play(), np.array(point))
        assert_same_state(restarted.learner, _loaded(restarted, live))
        oracle = _oco_replayed("optimistic-omd", params, G, H, True)
        oracle.set_hint(np.array(nxt))
        assert_same_state(restarted.learner, oracle)
    finally:
        restarted.close(snapshot=False)


def test_kill_9_then_restart_restores_the_experts_state(tmp_path, monkeypatch):
    """A real server (subprocess) killed with SIGKILL mid-run; the restart answers the same
    play and holds the same state as an uninterrupted in-process run."""
    import serve_helpers
    from serve_helpers import call, free_port, start_server

    L, A = _expert_rounds(seed=9)
    state = tmp_path / "state"
    params = {"n_experts": N_EXP}

    def cmd(state_dir, port, *extra):
        return [sys.executable, "-m", "onlinekit.serve.server_cli", "serve", "--learner", "adanormalhedge",
                "-p", f"n_experts={N_EXP}", "--state", str(state_dir), "--port", str(port), *extra]

    monkeypatch.setattr(serve_helpers, "serve_cmd", cmd)
    port = free_port()
    proc = start_server(state, port, "--snapshot-every", "15")
    try:
        for t in range(T):
            status, body = call(port, "POST", "/update", _expert_update(L[t], A[t], True),
                                {"Idempotency-Key": f"u{t}"})
            assert status == 200 and body["offset"] == t
        status, before_kill = call(port, "POST", "/play", {"awake": [1, 0, 1, 1]})
        assert status == 200
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    port = free_port()
    proc = start_server(state, port)
    try:
        status, after = call(port, "POST", "/play", {"awake": [1, 0, 1, 1]})
        assert status == 200 and after == before_kill
        status, body = call(port, "POST", "/update", _expert_update(L[T - 1], A[T - 1], True),
                            {"Idempotency-Key": f"u{T - 1}"})  # a client's retry after the crash
        assert status == 200 and body["offset"] == T - 1
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    svc = LearnerService(state)
    m = _new("adanormalhedge", params)
    for t in range(T):
        m.update(L[t], awake=A[t])
    assert svc.offset == T
    assert np.array_equal(np.array(before_kill["probabilities"]), m.play(awake=np.array([1, 0, 1, 1], dtype=bool)))
    assert_same_state(svc.learner, m)
    svc.close(snapshot=False)


# -- Redis stream source -------------------------------------------------------------------------------
def test_redis_consumer_applies_expert_updates_and_dead_letters_bad_ones(tmp_path, redis_url):
    """``update`` is the default operation of an experts stream; refused entries go to the
    dead-letter stream with the field, and the state equals the in-process learner's."""
    import json

    from onlinekit.serve.consumer import RedisConsumer

    url, client = redis_url
    L, A = _expert_rounds(seed=13)
    poison = [({"event": json.dumps({"losses": [0.1, 0.2]})}, "losses: expected 4 losses"),
              ({"event": json.dumps({"losses": [0.1] * N_EXP, "awake": [0] * N_EXP})}, "awake: no awake expert"),
              ({"op": "play", "event": "{}"}, "op: a play that stores nothing only reads"),
              ({"op": "learn", "event": "{}"}, "op: operation 'learn' not served")]
    pipe = client.pipeline()
    for t in range(T):
        if t % 10 == 3:
            pipe.xadd("events", poison[t // 10][0])
        pipe.xadd("events", {"event": json.dumps(_expert_update(L[t], A[t], True))})
    pipe.execute()
    svc = LearnerService(tmp_path / "state", "hedge", {"n_experts": N_EXP})
    cons = RedisConsumer(svc, url, "g", count=16, block_ms=50)
    n = cons.run(idle_timeout=0.3)
    assert (n, cons.applied, cons.dead) == (T + len(poison), T, len(poison))
    reasons = sorted(d[b"error"].decode() for _, d in client.xrange("events:dead"))
    assert [any(r.startswith(want) for r in reasons) for _, want in poison] == [True] * len(poison), reasons
    m = _new("hedge", {"n_experts": N_EXP})
    for t in range(T):
        m.update(L[t], awake=A[t])
    assert_same_state(svc.learner, m)
    svc.close()


def test_redis_consumer_logs_plays_that_set_a_hint(tmp_path, redis_url):
    import json

    from onlinekit.serve.consumer import RedisConsumer

    url, client = redis_url
    G, H = _oco_rounds(seed=17)
    params = {"n_dims": D, "hint": "given"}
    pipe = client.pipeline()
    for t in range(T):
        pipe.xadd("events", {"op": "play", "event": json.dumps({"hint": H[t].tolist()})})
        pipe.xadd("events", {"event": json.dumps({"gradient": G[t].tolist()})})
    pipe.execute()
    svc = LearnerService(tmp_path / "state", "optimistic-omd", params)
    cons = RedisConsumer(svc, url, "g", count=16, block_ms=50)
    assert cons.run(idle_timeout=0.3) == 2 * T and cons.applied == 2 * T and svc.offset == 2 * T
    assert_same_state(svc.learner, _oco_replayed("optimistic-omd", params, G, H, True))
    svc.close()

"""State compatibility: archives written by an earlier onlinekit load and continue identically.

``tests/data/golden/<learner>.npz`` were written by ``tests/data/golden/make_golden.py``
before the learner protocols changed any learner's internals (the oracle: the outputs the
uninterrupted learner of that code produced on the next events, stored in the archive).
"""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pytest

from onlinekit.base import Learner, state_from_bytes, state_to_bytes
from onlinekit.checks._compare import same
from onlinekit.registry import learners

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
_spec = importlib.util.spec_from_file_location("make_golden", GOLDEN / "make_golden.py")
mg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mg)


def _continue(learner, golden: dict) -> list:
    """The outputs ``learner`` produces on the archived continuation."""
    if "rounds" in golden:
        return mg._plain(mg.decide(learner, golden["rounds"]))
    start, n = int(golden["start"]), len(golden["outputs"])
    events = golden["events"] if golden["events"] is not None else [None] * n
    return mg._plain(mg.advance(learner, [None] * start + list(events), start, start + n))


def _meta(data: bytes) -> dict:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return json.loads(bytes(z["__meta__"]).decode("utf-8"))


def _with_meta(data: bytes, edit) -> bytes:
    """The archive with its JSON document changed by ``edit(doc)``."""
    meta = _meta(data)
    edit(meta)
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "__meta__"}
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8), **arrays)
    return buf.getvalue()


def test_every_registered_learner_has_a_golden_archive():
    have = {p.stem for p in GOLDEN.glob("*.npz")}
    assert set(learners()) <= have, f"no golden archive for {sorted(set(learners()) - have)}"


#: learners built from LAPACK factorizations (eigh, Cholesky) computed at construction: the
#: factor's last bits depend on the CPU's BLAS kernels, so their archived outputs are
#: compared exactly with this machine's uninterrupted run (``make_golden.build``) and with
#: the archive's outputs to LAPACK's rounding (relative 1e-12)
_FACTORED = {"optimal-factor-counter"}


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDEN.glob("*.npz")))
def test_golden_archive_loads_and_continues(name):
    data = (GOLDEN / f"{name}.npz").read_bytes()
    meta = _meta(data)
    assert meta["onlinekit_version"] and isinstance(meta["state_version"], int)
    learner, extra = state_from_bytes(data)
    golden = extra["golden"]
    assert type(learner) is learners()[name].load()
    got = _continue(learner, golden)
    if name in _FACTORED:
        _, here = mg.build(name)  # the uninterrupted learner on this machine, no archive involved
        assert same(got, here["outputs"]), f"{name}: continued outputs differ from an uninterrupted run"
        np.testing.assert_allclose(np.asarray(got, float), np.asarray(golden["outputs"], float), rtol=1e-12, atol=0)
        return
    assert same(got, golden["outputs"]), f"{name}: continued outputs differ from the archived ones"


def test_golden_check_of_a_factored_learner_fails_on_a_perturbed_state():
    """Sabotage for the comparison with the uninterrupted run: a moved state number shows."""
    name = "optimal-factor-counter"
    learner, extra = state_from_bytes(_perturbed((GOLDEN / f"{name}.npz").read_bytes()))
    _, here = mg.build(name)
    assert not same(_continue(learner, extra["golden"]), here["outputs"])


def _perturbed(data: bytes) -> bytes:
    """The same archive with the first entry of each float array of the state moved."""
    learner, extra = state_from_bytes(data)
    state = learner.state_dict()

    def bump(d) -> int:
        n = 0
        for k, v in sorted(d.items()):
            if isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.size and np.isfinite(v).all():
                d[k] = v.copy()
                d[k].flat[0] += 0.25  # one entry: a shift of all could cancel (normalised weights)
                n += 1
            elif isinstance(v, dict):
                n += bump(v)
        return n

    assert bump(state), "no float array in the state"
    learner.load_state_dict(state)
    return state_to_bytes(learner, extra)


@pytest.mark.parametrize("name", ["ogd", "hedge", "omd", "online-ridge"])
def test_golden_check_fails_on_a_perturbed_state(name):
    """Sabotage: a moved state number must show as a mismatch (the check can fail)."""
    learner, extra = state_from_bytes(_perturbed((GOLDEN / f"{name}.npz").read_bytes()))
    assert not same(_continue(learner, extra["golden"]), extra["golden"]["outputs"])


class _Counter(Learner):
    """A layout change: version 1 kept ``total_`` as a float, version 2 as ``sums_`` [total]."""

    state_version = 2

    def __init__(self, start=0.0):
        self.start = start
        self.reset()

    def _reset(self):
        self.sums_ = np.array([float(self.start)])

    def migrate(self, state, from_version):
        assert from_version == 1
        return {"sums_": np.array([state.pop("total_")])}


def test_older_state_version_goes_through_migrate(monkeypatch):
    m = _Counter()
    m.sums_[0] = 5.0
    data = state_to_bytes(m)
    assert _meta(data)["state_version"] == 2
    # the same learner written by the version-1 layout
    monkeypatch.setattr(_Counter, "state_version", 1)
    monkeypatch.setattr(_Counter, "state_dict", lambda self: {"total_": float(self.sums_[0])})
    old = state_to_bytes(m)
    monkeypatch.undo()
    import onlinekit.base as base

    monkeypatch.setattr(base, "_make_learner", lambda q, params, allowed: _Counter(**params))
    back, _ = state_from_bytes(old)
    assert back.sums_.tolist() == [5.0]
    newer = _with_meta(old, lambda d: d.update(state_version=9))
    with pytest.raises(ValueError, match="newer"):
        state_from_bytes(newer)


def test_archive_without_state_version_reads_as_layout_1():
    m = learners()["ogd"].load()(lr=0.1)
    m.learn_one(np.array([1.0, 2.0]), 3.0)
    old = _with_meta(state_to_bytes(m), lambda d: [d.pop("state_version"), d.pop("onlinekit_version")])
    back, _ = state_from_bytes(old)
    assert back.predict_one(np.array([1.0, 2.0])) == m.predict_one(np.array([1.0, 2.0]))

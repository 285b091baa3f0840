import pickle

import numpy as np
import pytest

from onlinekit.base import (
    InvalidEvent,
    Learner,
    load_state,
    save_state,
    spawn_seeds,
    state_from_bytes,
    state_to_bytes,
)
from onlinekit.oco import OGD


class Noisy(Learner):
    """A tiny stochastic learner used to test the base class."""

    def __init__(self, scale=1.0, seed=None, tags=("a",)):
        self.scale = scale
        self.seed = seed
        self.tags = tags
        self.reset()

    def _reset(self):
        self.total_ = 0.0
        self.hist_ = np.zeros(3)
        self.meta_ = {"n": 0, "names": []}

    def learn_one(self, x, y):
        self.total_ += self._rng.normal() * self.scale + y
        self.hist_[int(y) % 3] += 1
        self.meta_["n"] += 1
        self.meta_["names"].append(str(y))

    def predict_one(self, x):
        return self.total_ + self._rng.normal()


def test_invalid_event_message_and_pickle():
    e = InvalidEvent("is NaN", field="x[1]", offset=4)
    assert str(e) == "event 4: field 'x[1]': is NaN"
    assert str(pickle.loads(pickle.dumps(e))) == str(e)
    assert str(e.at(9)).startswith("event 9")


def test_spawn_seeds_distinct_and_stable():
    a = spawn_seeds(123, 5)
    assert a == spawn_seeds(123, 5)
    assert len(set(a)) == 5
    assert spawn_seeds(124, 5) != a
    streams = [np.random.default_rng(s).random(4).tolist() for s in a]
    assert len({tuple(s) for s in streams}) == 5


def test_params_verbatim_and_clone():
    tags = ("x", "y")
    m = Noisy(scale=2.0, seed=3, tags=tags)
    assert m.tags is tags and m.get_params() == {"scale": 2.0, "seed": 3, "tags": tags}
    m.learn_one(None, 1.0)
    c = m.clone()
    assert c.total_ == 0.0 and c.get_params() == m.get_params()
    assert m.clone(scale=5.0).scale == 5.0
    assert m.clone({"scale": 6.0}).scale == 6.0
    with pytest.raises(TypeError, match="unknown parameter"):
        m.clone(nope=1)
    c2 = m.clone(include_attributes=True)
    assert c2.total_ == m.total_


def test_state_roundtrip_continues_random_stream():
    a = Noisy(seed=7)
    for y in range(10):
        a.learn_one(None, float(y))
    b = Noisy(seed=7)
    b.load_state_dict(a.state_dict())
    assert [a.predict_one(None) for _ in range(5)] == [b.predict_one(None) for _ in range(5)]
    blob = state_to_bytes(a, {"k": [1, 2.5, None, float("inf")]})
    with pytest.raises(ValueError, match="outside onlinekit"):
        state_from_bytes(blob)
    c, extra = state_from_bytes(blob, allowed_modules=(Noisy.__module__,))
    assert extra == {"k": [1, 2.5, None, float("inf")]}
    assert c.meta_ == a.meta_ and isinstance(c.hist_, np.ndarray)
    assert [a.predict_one(None) for _ in range(5)] == [c.predict_one(None) for _ in range(5)]


def test_state_dict_is_a_copy():
    a = Noisy(seed=1)
    a.learn_one(None, 1.0)
    sd = a.state_dict()
    sd["hist_"][0] = 99
    assert a.hist_[0] != 99


def test_load_state_rejects_mismatched_keys():
    a = Noisy(seed=1)
    with pytest.raises(ValueError, match="state keys do not match"):
        a.load_state_dict({"total_": 1.0})


def test_save_load_file_roundtrip(tmp_path):
    m = OGD(lr=0.1, radius=3.0)
    m.learn_one({"a": 1.0, "b": 2.0}, 3.0)
    p = tmp_path / "m.npz"
    save_state(m, p)
    m2, _ = load_state(p)
    assert type(m2) is OGD and m2.get_params() == m.get_params()
    assert m2.predict_one({"a": 0.5, "b": -1.0}) == m.predict_one({"a": 0.5, "b": -1.0})
    assert not list(tmp_path.glob(".*.tmp"))


def test_archive_refuses_foreign_classes():
    import io
    import json

    blob = state_to_bytes(OGD())
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        doc = json.loads(bytes(z["__meta__"]).decode())
        arrays = {k: z[k] for k in z.files if k != "__meta__"}
    doc["learner"]["__learner__"] = "os:system"
    buf = io.BytesIO()
    np.savez(buf, __meta__=np.frombuffer(json.dumps(doc).encode(), dtype=np.uint8), **arrays)
    with pytest.raises(ValueError, match="outside onlinekit"):
        state_from_bytes(buf.getvalue())


def test_nested_learners_roundtrip():
    class Bag(Learner):
        def __init__(self, inner=None):
            self.inner = inner
            self.reset()

        def _reset(self):
            self.models_ = [OGD(lr=0.1), OGD(lr=0.2)]

    bag = Bag(inner=OGD(lr=0.3))
    bag.models_[0].learn_one(np.array([1.0, 2.0]), 1.0)
    twin = Bag(inner=OGD(lr=0.3))
    twin.load_state_dict(bag.state_dict())
    assert np.array_equal(twin.models_[0].w_, bag.models_[0].w_)
    assert twin.clone().inner is not bag.inner


def test_name_lists_round_trip_on_the_fast_path():
    """Lists and tuples of strings skip the per-item export/encode (long ones are stored as one
    JSON text array); the archive still restores them exactly (list stays list, tuple stays
    tuple), mixed lists take the slow path."""
    from onlinekit.base import state_from_bytes, state_to_bytes
    from onlinekit.oco import OGD

    m = OGD(lr=0.1)
    m.grow_features([f"f{i}" for i in range(70_000)] + ["é", "", "__x__", 'a"\nb'])  # past _STR_ARRAY_MIN
    twin, _ = state_from_bytes(state_to_bytes(m))
    assert twin.features_ == m.features_ and type(twin.features_) is list
    assert twin.features_ is not m.features_
    from onlinekit.base import _export, _import

    assert _import(_export(("a", "b")), ("x", "y")) == ("a", "b")
    assert _export(["a", 1.5, ("b",)]) == ["a", 1.5, ["b"]]

"""One source of truth for a learner's kind: its ``protocol`` class attribute."""

from __future__ import annotations

import importlib

import pytest

from onlinekit.protocols import OPERATIONS, PROTOCOLS, get_protocol, operations_of, protocol_name
from onlinekit.registry import learners


def _importable(name: str):
    module = PROTOCOLS[name].partition(":")[0]
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name == module:
            pytest.skip(f"protocol module {module} not in this tree")
        raise
    return get_protocol(name)


@pytest.mark.parametrize("name", sorted(learners()))
def test_registry_protocol_is_the_class_attribute(name):
    info = learners()[name]
    assert info.protocol == protocol_name(info.load()), f"{name}: registry entry disagrees with the class"


@pytest.mark.parametrize("name", list(PROTOCOLS))
def test_operations_data_matches_the_protocol_object(name):
    assert _importable(name).operations == OPERATIONS[name]
    assert set(OPERATIONS) == set(PROTOCOLS)


def test_protocol_of_undeclared_or_unknown_is_refused():
    class Nothing:
        pass

    class Odd:
        protocol = "telepathy"

    with pytest.raises(TypeError, match="declares no protocol"):
        protocol_name(Nothing)
    with pytest.raises(TypeError, match="telepathy"):
        operations_of(Odd())


def test_supervised_task_and_metrics():
    from river import linear_model

    from onlinekit.oco import OGD, OGDClassifier

    sup = _importable("supervised")
    assert sup.task(OGD()) == "regression"
    assert sup.task(OGDClassifier()) == "classification"
    assert sup.task(linear_model.LogisticRegression()) == "classification"
    names = [k for m in sup.default_metrics(OGD(), ("a", "b")) for k in m.get()]
    assert "mean_squared_loss" in names or "squared_loss" in names
    assert any("[a]" in k for k in names)


def test_apply_event_is_the_per_event_api_and_refuses_other_operations():
    import numpy as np

    from onlinekit.experts import Hedge
    from onlinekit.oco import OGD
    from onlinekit.protocols import event_protocol

    sup = event_protocol("supervised")
    m, ref = OGD(lr=0.1), OGD(lr=0.1)
    sup.apply_event(m, "learn", {"x": [1.0, 2.0], "y": 3.0})
    ref.learn_one(np.array([1.0, 2.0]), 3.0)
    assert sup.apply_event(m, "predict", {"x": [1.0, 0.5]}) == ref.predict_one(np.array([1.0, 0.5]))
    with pytest.raises(ValueError, match="no operation 'release'"):
        sup.apply_event(m, "release", {"x": 1.0})
    ex = event_protocol("experts")
    h, href = Hedge(n_experts=2), Hedge(n_experts=2)
    ex.apply_event(h, "update", {"losses": [0.2, 0.9]})
    href.update(np.array([0.2, 0.9]))
    assert np.array_equal(ex.apply_event(h, "play", {}), href.play())

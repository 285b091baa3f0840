"""Every registered learner, with every parameter set it declares, passes every check (River's
own ``check_estimator``, which checks API conventions, on the first parameter set of a class).

The cases are listed from the classes alone: a learner is built (and its kernels compiled) in
the test that runs it, not when each xdist worker collects the suite.
"""

import pytest

from onlinekit.checks import check_river_estimator, yield_checks
from onlinekit.registry import learners


def _cases():
    for name, info in learners().items():
        try:
            cls = info.load()
            params_list = list(cls._unit_test_params()) if hasattr(cls, "_unit_test_params") else [{}]
            checks = list(yield_checks(cls))
        except Exception as exc:  # noqa: BLE001 - reported as a failing case, not a collection error
            yield pytest.param(None, repr(exc), None, id=f"{name}-load")
            continue
        for k, params in enumerate(params_list):
            for check in checks:
                if check is check_river_estimator and k > 0:
                    continue  # River's API conventions: once per class (ours run on every set)
                yield pytest.param(cls, params, check, id=f"{name}-{k}-{check.__name__}")


@pytest.mark.parametrize("cls,params,check", list(_cases()))
def test_conformance(cls, params, check):
    assert cls is not None, f"could not load the learner: {params}"
    check(cls(**params))


def test_every_learner_declares_bad_events_or_defaults():
    from onlinekit.checks.drivers import default_bad_events, kind_of, scenario

    for name, info in learners().items():
        cls = info.load()
        params = next(iter(cls._unit_test_params()), {}) if hasattr(cls, "_unit_test_params") else {}
        m = cls(**params)
        if kind_of(m) == "oco":
            continue
        bad = m._check_bad_events() if hasattr(m, "_check_bad_events") else default_bad_events(m, scenario(m))
        assert bad, f"{name}: no bad events to test"

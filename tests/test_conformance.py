"""Every registered learner, with every parameter set it declares, passes every check."""

import pytest

from onlinekit.checks import yield_checks
from onlinekit.registry import learners


def _cases():
    for name, info in learners().items():
        try:
            cls = info.load()
            params_list = list(cls._unit_test_params()) if hasattr(cls, "_unit_test_params") else [{}]
            checks = [list(yield_checks(cls(**p))) for p in params_list]
        except Exception as exc:  # noqa: BLE001 - reported as a failing case, not a collection error
            yield pytest.param(None, repr(exc), None, id=f"{name}-construct")
            continue
        for k, (params, cks) in enumerate(zip(params_list, checks, strict=True)):
            for check in cks:
                yield pytest.param(cls, params, check, id=f"{name}-{k}-{check.__name__}")


@pytest.mark.parametrize("cls,params,check", list(_cases()))
def test_conformance(cls, params, check):
    assert cls is not None, f"could not load or construct the learner: {params}"
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

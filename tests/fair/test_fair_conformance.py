"""The shared conformance checks (and River's estimator checks) on the fair family's learners."""

import pytest

from onlinekit.checks import yield_checks
from onlinekit.fair import Aranyani, ObliqueForest, ReservoirFairForest


def _cases():
    for cls in (ObliqueForest, Aranyani, ReservoirFairForest):
        for k, params in enumerate(cls._unit_test_params()):
            for check in yield_checks(cls(**params)):
                yield pytest.param(cls, params, check, id=f"{cls.__name__}-{k}-{check.__name__}")


@pytest.mark.parametrize("cls,params,check", list(_cases()))
def test_fair_conformance(cls, params, check):
    check(cls(**params))

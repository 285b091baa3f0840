"""Conformance checks run against every public learner.

>>> from onlinekit.checks import check_learner
>>> from onlinekit.oco import OGD
>>> check_learner(OGD(radius=1.0))    # raises AssertionError on the first failing check

One parametrized test (``tests/test_conformance.py``) runs :func:`yield_checks` over every
registered learner and every parameter set from its ``_unit_test_params()``; River's own
``river.checks.check_estimator`` runs on the supervised learners that are River estimators.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from onlinekit.checks.common import (
    check_bad_input_leaves_state,
    check_block_equals_loop,
    check_clone_unlearned,
    check_inputs_not_mutated,
    check_params_verbatim,
    check_seed_reproducible,
    check_state_roundtrip,
)

__all__ = ["yield_checks", "check_learner", "check_river_estimator"]


def check_river_estimator(learner: Any) -> None:
    """River's own ``check_estimator`` (for learners that subclass River's base classes)."""
    from river import checks

    checks.check_estimator(learner)


def yield_checks(learner: Any) -> Iterator[Callable[[Any], None]]:
    """The checks that apply to ``learner`` (an instance, or a learner class: which checks
    apply depends on the class only, so a test collector need not build -- and compile -- one).
    """
    yield check_params_verbatim
    yield check_clone_unlearned
    yield check_inputs_not_mutated
    yield check_state_roundtrip
    yield check_seed_reproducible
    yield check_bad_input_leaves_state
    yield check_block_equals_loop
    try:
        from river import base
    except ImportError:  # pragma: no cover
        return
    cls = learner if isinstance(learner, type) else type(learner)
    if issubclass(cls, base.Estimator):
        yield check_river_estimator


def check_learner(learner: Any) -> None:
    """Run every applicable check on clones of ``learner``."""
    for check in yield_checks(learner):
        check(learner.clone())

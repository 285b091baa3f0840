"""Doctests of the cascade modules (the shared docs test runs them too)."""

import doctest
import importlib

import pytest

MODULES = ["onlinekit.cascade.bestperm", "onlinekit.cascade.cascade_ucb", "onlinekit.cascade.cascading_vi",
           "onlinekit.cascade.cascading_bpi", "onlinekit.cascade.adapt_vi", "onlinekit.cascade.ope",
           "onlinekit.cascade.simulate", "onlinekit.streams.cascade_env", "onlinekit.streams.obd"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    mod = importlib.import_module(name)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert res.failed == 0 and res.attempted > 0

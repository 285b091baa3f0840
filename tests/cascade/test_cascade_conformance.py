"""Every cascade learner passes the shared conformance checks for each of its test params."""

import pytest

from onlinekit.checks import check_learner
from onlinekit.registry import learners

CASCADE = {name: info for name, info in learners().items() if info.target.startswith("onlinekit.cascade.")}


def _cases():
    for name, info in CASCADE.items():
        cls = info.load()
        for k, params in enumerate(cls._unit_test_params()):
            yield pytest.param(cls, params, id=f"{name}-{k}")


def test_all_cascade_learners_registered():
    assert set(CASCADE) == {"cascade-ucb1", "cascade-klucb", "cascading-vi", "cascading-bpi", "adapt-vi"}


@pytest.mark.parametrize("cls,params", list(_cases()))
def test_check_learner(cls, params):
    check_learner(cls(**params))


def test_package_import_is_lazy():
    import subprocess
    import sys

    code = "import onlinekit.cascade, sys; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"

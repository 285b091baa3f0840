"""The cascade family: registered learners and a light package import (its learners' conformance
checks run in tests/test_conformance.py)."""

from onlinekit.registry import learners

CASCADE = {name: info for name, info in learners().items() if info.target.startswith("onlinekit.cascade.")}


def test_all_cascade_learners_registered():
    assert set(CASCADE) == {"cascade-ucb1", "cascade-klucb", "cascading-vi", "cascading-bpi", "adapt-vi"}


def test_package_import_is_lazy():
    import subprocess
    import sys

    code = "import onlinekit.cascade, sys; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"

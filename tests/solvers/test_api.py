"""Package-level checks: doctests, documented exports, cheap import, dependency direction."""

from __future__ import annotations

import ast
import doctest
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import onlinekit.solvers as solvers

MODULES = ["result", "projections", "cvx", "hindsight"]
SOLVERS_DIR = Path(solvers.__file__).resolve().parent


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(f"onlinekit.solvers.{name}")
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("name", [n for n in solvers.__all__ if n != "STATUSES"])
def test_public_names_have_docstrings_with_examples(name):
    obj = getattr(solvers, name)
    doc = obj.__doc__ or ""
    assert "Examples" in doc and ">>>" in doc, name


def test_import_is_cheap():
    code = (
        "import sys, onlinekit.solvers as s; "
        "heavy = [m for m in ('cvxpy', 'numba', 'scipy') if m in sys.modules]; "
        "assert not heavy, heavy; "
        "s.project_simplex; assert 'cvxpy' not in sys.modules; "
        "s.Solution; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_only_allowed_onlinekit_imports():
    allowed = ("onlinekit.solvers", "onlinekit._numba", "onlinekit._sort_kernels", "onlinekit.base")
    for path in SOLVERS_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for mod in names:
                assert not mod.startswith("solvers"), (path.name, mod)
                if mod.split(".")[0] == "onlinekit":
                    assert mod.startswith(allowed), (path.name, mod)


def test_unknown_attribute():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        solvers.nope  # noqa: B018
    assert "project_simplex" in dir(solvers)

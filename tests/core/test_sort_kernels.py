"""The kernels' stable sort against numpy's (the oracle), including NaN, infinities, ties, -0.0."""

from __future__ import annotations

import inspect

import numba
import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from onlinekit._sort_kernels import argsort_stable, sorted_copy

# few distinct values, so ties and runs longer than the insertion-sorted block are common
_VALUES = st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5, np.inf, -np.inf, np.nan, 1e-300, -7.0])
_ARRAYS = st.one_of(st.lists(_VALUES, max_size=120), st.lists(st.floats(allow_nan=True, width=64), max_size=80))


@settings(max_examples=300, deadline=None)
@given(_ARRAYS)
@example([])
@example([3.0])
@example([1.0] * 40 + [0.0] * 40)
def test_argsort_is_numpys_stable_argsort(values):
    a = np.array(values, dtype=np.float64)
    np.testing.assert_array_equal(argsort_stable(a), np.argsort(a, kind="stable"))


@settings(max_examples=200, deadline=None)
@given(_ARRAYS)
def test_sorted_copy_is_numpys_sort(values):
    a = np.array(values, dtype=np.float64)
    got = sorted_copy(a)
    np.testing.assert_array_equal(got, np.sort(a))  # NaN matches NaN; 0.0 matches -0.0
    np.testing.assert_array_equal(a, np.array(values, dtype=np.float64))  # input untouched


def test_long_arrays_with_many_merge_levels():
    rng = np.random.default_rng(0)
    for n in (15, 16, 17, 31, 32, 33, 1000, 4099):
        a = rng.integers(0, 7, size=n).astype(np.float64)  # many ties: stability shows
        a[rng.random(n) < 0.05] = np.nan
        np.testing.assert_array_equal(argsort_stable(a), np.argsort(a, kind="stable"))


def _variant(old: str, new: str):
    src = inspect.getsource(argsort_stable.py_func).replace("@njit\n", "")
    assert src.count(old) == 1
    ns = {"np": np, "_RUN": 16}
    exec(src.replace(old, new), ns)
    return numba.njit(ns["argsort_stable"])


@pytest.mark.parametrize("old,new", [
    # ties taken from the right run first: not stable
    ("if x < y or (y != y and x == x):", "if x <= y or (y != y and x == x):"),
    # NaN compared as a number: NaN no longer last
    ("if x < y or (y != y and x == x):", "if x < y:"),
])
def test_the_comparison_catches_a_broken_merge(old, new):
    broken = _variant(old, new)
    a = np.array([1.0, np.nan, 0.0] * 20 + [1.0, 0.0] * 20)
    assert not np.array_equal(broken(a), np.argsort(a, kind="stable"))
    np.testing.assert_array_equal(argsort_stable(a), np.argsort(a, kind="stable"))


def _njit_functions_calling(names: set[str]):
    """(file, function, call) for every ``@njit`` function of the package calling ``np.<name>``."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    found = []
    for path in [*root.glob("onlinekit/**/*.py"), *root.glob("streams/**/*.py"), *root.glob("solvers/**/*.py")]:
        tree = ast.parse(path.read_text())
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            decos = [d.func if isinstance(d, ast.Call) else d for d in fn.decorator_list]
            if not any(getattr(d, "id", getattr(d, "attr", None)) == "njit" for d in decos):
                continue
            for node in ast.walk(fn):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in names and getattr(node.func.value, "id", None) == "np"):
                    found.append((path.relative_to(root).as_posix(), fn.name, node.func.attr))
    return found


def test_no_kernel_compiles_numbas_sort_templates():
    assert _njit_functions_calling({"sort", "argsort"}) == []
    # the scan sees kernels: the sort module's own example of a kernel calling numpy is found
    assert ("onlinekit/_sort_kernels.py", "argsort_stable", "empty") in _njit_functions_calling({"empty"})

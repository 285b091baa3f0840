"""Shared test fixtures. Real data comes from onlinekit.data (``$ONLINEKIT_DATA``; never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from onlinekit.data import data_home

os.environ.setdefault("MPLBACKEND", "Agg")

# property tests are derandomized (same examples every run) and free of wall-clock deadlines,
# so a loaded CI machine cannot make them flaky
settings.register_profile("onlinekit", deadline=None, derandomize=True, print_blob=True)
settings.load_profile("onlinekit")

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = data_home()  # $ONLINEKIT_DATA (CI points it at a local mirror) or the per-user cache


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The data folder; tests that need a file skip when it is absent."""
    return DATA_DIR


def require_file(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"data file {path} not present")
    return path


#: modules whose tests run the CLI end to end (several subprocesses each, up to ~20 s a test):
#: they are collected last (top-level files sort after the package folders), so under
#: ``-n auto`` one worker finished the run alone on them while the other idled. Run first,
#: the run ends on short tests and both workers stay busy to the end.
_LONG_FIRST = ("test_readme.py", "test_examples.py")


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.path.name not in _LONG_FIRST)  # stable: order kept otherwise

"""Ray tests (``@pytest.mark.ray``) run only when selected: ``pytest -m ray tests/scale``."""

import pytest


def pytest_configure(config):
    # harmless if pyproject.toml registers the marker too
    config.addinivalue_line("markers", "ray: starts a local Ray instance (run with: pytest -m ray)")


def pytest_collection_modifyitems(config, items):
    if "ray" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="Ray test: run with -m ray")
    for item in items:
        if "ray" in item.keywords:
            item.add_marker(skip)

"""Module layout of the privacy family: no import cycles, old import paths still resolve."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest


def _loaded_after(module: str) -> set[str]:
    code = (f"import sys, {module}; "
            "print(','.join(sorted(m for m in sys.modules if m.startswith('onlinekit.privacy'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.strip().split(","))


@pytest.mark.parametrize("module, absent", [
    ("onlinekit.privacy.sqrt_factor", {"onlinekit.privacy.tree", "onlinekit.privacy.doubling"}),
    ("onlinekit.privacy.tree", {"onlinekit.privacy.sqrt_factor", "onlinekit.privacy.doubling"}),
    ("onlinekit.privacy.accounting", {"onlinekit.privacy.tree", "onlinekit.privacy._common"}),
])
def test_no_import_cycle(module, absent):
    assert not (_loaded_after(module) & absent)


def test_old_paths_resolve_to_the_moved_names():
    from onlinekit.privacy import DoublingCounter, accounting
    from onlinekit.privacy.doubling import DoublingCounter as moved
    from onlinekit.privacy.tree import DoublingCounter as old
    from onlinekit.privacy.tree import gaussian_tail, laplace_sum_tail

    assert DoublingCounter is moved is old
    # archives name their class "module:qualname" and are decoded by import + getattr
    assert getattr(importlib.import_module("onlinekit.privacy.tree"), "DoublingCounter") is moved
    assert gaussian_tail is accounting.gaussian_tail and laplace_sum_tail is accounting.laplace_sum_tail
    with pytest.raises(AttributeError):
        importlib.import_module("onlinekit.privacy.tree").NoSuchCounter


def test_registry_target_builds_the_counter():
    from onlinekit.privacy.doubling import DoublingCounter
    from onlinekit.registry import get_learner_class

    assert get_learner_class("doubling-counter") is DoublingCounter

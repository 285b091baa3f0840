"""Name -> learner / experiment lookup, without importing the families.

Each family package ``onlinekit/<family>/`` has a tiny ``_registry.py`` holding two plain
dicts (no imports of numba, cvxpy or river):

* ``LEARNERS = {"name": ("onlinekit.family.module:Class", "protocol", "one-line description")}``
  where ``protocol`` is the class's ``protocol`` attribute (one of
  :data:`onlinekit.protocols.PROTOCOLS`), kept here as data so that listing learners imports
  no learner module (a test asserts the two agree);
* ``EXPERIMENTS = {"name": ("onlinekit.experiments.module", "one-line description")}``.

Family ``__init__`` modules must stay light (export lazily with a module ``__getattr__``), so
listing learners never compiles a kernel.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache

__all__ = ["FAMILIES", "LearnerInfo", "learners", "experiments", "get_learner_class", "ExperimentInfo"]

FAMILIES = ("oco", "experts", "fair", "bidding", "privacy", "cascade")


@dataclass(frozen=True)
class LearnerInfo:
    name: str
    target: str
    protocol: str
    description: str

    def load(self) -> type:
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)


@dataclass(frozen=True)
class ExperimentInfo:
    name: str
    module: str
    description: str

    def load(self):
        return importlib.import_module(self.module)


def _family_registries():
    for fam in FAMILIES:
        try:
            yield importlib.import_module(f"onlinekit.{fam}._registry")
        except ModuleNotFoundError as exc:
            if exc.name not in (f"onlinekit.{fam}", f"onlinekit.{fam}._registry"):
                raise


@cache
def learners() -> dict[str, LearnerInfo]:
    """All registered learners by name.

    Examples
    --------
    >>> learners()["ogd"].protocol
    'supervised'
    """
    out: dict[str, LearnerInfo] = {}
    for reg in _family_registries():
        for name, (target, protocol, desc) in getattr(reg, "LEARNERS", {}).items():
            if name in out:
                raise RuntimeError(f"learner name {name!r} registered twice")
            out[name] = LearnerInfo(name, target, protocol, desc)
    return dict(sorted(out.items()))


@cache
def experiments() -> dict[str, ExperimentInfo]:
    """All registered experiments by name."""
    out: dict[str, ExperimentInfo] = {}
    mods = list(_family_registries())
    mods.append(importlib.import_module("onlinekit.experiments._registry"))
    for reg in mods:
        for name, (module, desc) in getattr(reg, "EXPERIMENTS", {}).items():
            if name in out:
                raise RuntimeError(f"experiment name {name!r} registered twice")
            out[name] = ExperimentInfo(name, module, desc)
    return dict(sorted(out.items()))


def get_learner_class(name: str) -> type:
    """The class registered under ``name`` (raises ``KeyError`` with the known names)."""
    reg = learners()
    if name not in reg:
        raise KeyError(f"unknown learner {name!r}; known: {', '.join(reg)}")
    return reg[name].load()

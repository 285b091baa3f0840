"""Learner protocols: how each kind of learner reads events, replays logs and is served.

One protocol per kind (see ``docs/protocols.md``). A learner class names its protocol once,
as the class attribute ``protocol = "experts"``; everything else (the registry, the CLI, the
conformance checks, ``serve``) asks :func:`protocol_of`. Protocol modules are imported lazily,
so listing learners compiles no kernel.

>>> from onlinekit.protocols import get_protocol
>>> p = get_protocol("experts")
>>> p.name, [r.flag for r in p.roles]
('experts', ['--experts', '--awake'])
"""

from __future__ import annotations

import importlib
from typing import Any

from onlinekit.protocols._base import LogProtocol, Protocol, Role, Tracker
from onlinekit.protocols._drive import replay_log

__all__ = ["PROTOCOLS", "OPERATIONS", "Protocol", "LogProtocol", "Role", "Tracker", "get_protocol", "protocol_of",
           "protocol_name", "operations_of", "protocol_names", "find_protocol", "event_protocol", "replay_log"]

#: name -> "module:attribute" of the protocol object (imported on first use).
PROTOCOLS = {
    "supervised": "onlinekit.protocols.supervised:SUPERVISED",
    "experts": "onlinekit.protocols.experts:EXPERTS",
    "oco": "onlinekit.protocols.oco:OCO",
    "release": "onlinekit.protocols.release:RELEASE",
    "logged-bandit": "onlinekit.protocols.logged_bandit:LOGGED_BANDIT",
    "auction": "onlinekit.protocols.auction:AUCTION",
    "environment": "onlinekit.protocols.environment:ENVIRONMENT",
}

#: name -> the operations of one event (the HTTP operations ``serve`` exposes), as data so the
#: conformance drivers and ``serve`` need not import a protocol module; each protocol object's
#: ``operations`` equals its entry (tests/core/test_protocols.py).
OPERATIONS = {
    "supervised": ("learn", "predict"),
    "experts": ("play", "update"),
    "oco": ("play", "update"),
    "release": ("release",),
    "logged-bandit": ("act", "feedback"),
    "auction": ("act", "feedback"),
    "environment": ("act", "feedback"),
}


def protocol_names() -> tuple[str, ...]:
    """The protocol names, in the order of ``docs/protocols.md``."""
    return tuple(PROTOCOLS)


def get_protocol(name: str) -> Protocol:
    """The protocol object called ``name`` (``KeyError`` naming the known ones)."""
    if name not in PROTOCOLS:
        raise KeyError(f"unknown protocol {name!r}; known: {', '.join(PROTOCOLS)}")
    module, _, attr = PROTOCOLS[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def protocol_name(obj: Any) -> str:
    """The protocol name a learner instance or class declares (its ``protocol`` class attribute)."""
    cls = obj if isinstance(obj, type) else type(obj)
    name = getattr(cls, "protocol", None)
    if name is None:
        raise TypeError(f"{cls.__name__} declares no protocol (set the class attribute `protocol`)")
    if name not in PROTOCOLS:
        raise TypeError(f"{cls.__name__} declares protocol {name!r}; known: {', '.join(PROTOCOLS)}")
    return name


def find_protocol(name: str) -> Protocol | None:
    """The protocol object called ``name``, or ``None`` while its module is not part of this
    onlinekit (a protocol module that fails to import for another reason raises)."""
    module = PROTOCOLS[name].partition(":")[0]
    try:
        return get_protocol(name)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
    return None


def event_protocol(name: str) -> Protocol:
    """The protocol object called ``name`` for per-event use (``serve``): its module's object,
    or, while that module is not part of this onlinekit, a plain :class:`Protocol` with the
    name and :data:`OPERATIONS` (whose generic :meth:`Protocol.apply_event` serves it)."""
    found = find_protocol(name)
    if found is not None:
        return found
    generic = Protocol()
    generic.name, generic.operations = name, OPERATIONS[name]
    return generic


def protocol_of(obj: Any) -> Protocol:
    """The protocol of a learner instance or class (its ``protocol`` class attribute)."""
    return get_protocol(protocol_name(obj))


def operations_of(obj: Any) -> tuple[str, ...]:
    """The operations of one event for a learner instance or class (no protocol module imported).

    >>> from onlinekit.oco import OGD
    >>> operations_of(OGD)
    ('learn', 'predict')
    """
    return OPERATIONS[protocol_name(obj)]

"""Serving a learner: durable event log, snapshots, HTTP app, Redis stream consumer.

Install with ``pip install onlinekit[serve]`` (HTTP) and ``onlinekit[redis]`` (stream source).
Names are imported lazily: ``import onlinekit.serve`` pulls in neither starlette nor redis.

* :class:`LearnerService` -- the learner host (log, snapshots, recovery, idempotency);
* :func:`create_app` -- the Starlette ASGI app around a service;
* :class:`EventLog`, :class:`SnapshotStore`, :class:`Telemetry`;
* :class:`RedisConsumer` -- a Redis stream consumer group feeding a service.
"""

from onlinekit._lazy import lazy_exports

_EXPORTS = {
    "LearnerService": "onlinekit.serve.service",
    "Request": "onlinekit.serve.service",
    "Outcome": "onlinekit.serve.service",
    "create_app": "onlinekit.serve.app",
    "EventLog": "onlinekit.serve.log",
    "SnapshotStore": "onlinekit.serve.snapshots",
    "Telemetry": "onlinekit.serve.telemetry",
    "RedisConsumer": "onlinekit.serve.consumer",
    "Limits": "onlinekit.serve._schema",
    "RequestError": "onlinekit.serve._schema",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)

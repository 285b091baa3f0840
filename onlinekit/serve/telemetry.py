"""Prometheus text exposition (format 0.0.4) of a served learner, without a client library.

Series:

* ``onlinekit_requests_total{route, status}`` -- HTTP requests by route and status code;
* ``onlinekit_request_duration_seconds{route}`` -- latency histogram (buckets below);
* ``onlinekit_events_total{op}`` -- events applied (learn, act, feedback, release, update, and
  play where a play is logged: an OCO play with a hint);
* ``onlinekit_errors_total{kind}`` -- refused requests (``client``: 4xx, ``server``: 5xx),
  failed snapshot writes (``snapshot``);
* gauges ``onlinekit_log_offset``, ``onlinekit_snapshot_offset``, counters
  ``onlinekit_recoveries_total``, ``onlinekit_idempotent_replays_total``,
  ``onlinekit_commit_groups_total``.
"""

from __future__ import annotations

import bisect
import threading

__all__ = ["Telemetry", "BUCKETS"]

#: latency histogram upper bounds, seconds
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


def _esc(v: str) -> str:
    return str(v).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Telemetry:
    """Request counters and latency histograms (thread-safe).

    Examples
    --------
    >>> m = Telemetry()
    >>> m.observe("/learn", 200, 0.0007)
    >>> text = m.render()
    >>> 'onlinekit_requests_total{route="/learn",status="200"} 1' in text
    True
    >>> 'onlinekit_request_duration_seconds_bucket{route="/learn",le="0.001"} 1' in text
    True
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, int], int] = {}
        self._hist: dict[str, list[int]] = {}
        self._sum: dict[str, float] = {}
        self.errors = {"client": 0, "server": 0}

    def observe(self, route: str, status: int, seconds: float) -> None:
        """Count one request on ``route`` answered with ``status`` after ``seconds``."""
        i = bisect.bisect_left(BUCKETS, seconds)
        with self._lock:
            key = (route, status)
            self._requests[key] = self._requests.get(key, 0) + 1
            h = self._hist.get(route)
            if h is None:
                h = self._hist[route] = [0] * (len(BUCKETS) + 1)
                self._sum[route] = 0.0
            h[i] += 1
            self._sum[route] += seconds
            if 400 <= status < 500:
                self.errors["client"] += 1
            elif status >= 500:
                self.errors["server"] += 1

    def render(self, service=None) -> str:
        """The exposition text; with ``service``, its event counters and offsets too."""
        lines = []
        with self._lock:
            lines += ["# HELP onlinekit_requests_total HTTP requests by route and status.",
                      "# TYPE onlinekit_requests_total counter"]
            for (route, status), n in sorted(self._requests.items()):
                lines.append(f'onlinekit_requests_total{{route="{_esc(route)}",status="{status}"}} {n}')
            lines += ["# HELP onlinekit_request_duration_seconds Request latency.",
                      "# TYPE onlinekit_request_duration_seconds histogram"]
            for route, h in sorted(self._hist.items()):
                acc = 0
                r = _esc(route)
                for ub, c in zip(BUCKETS, h, strict=False):
                    acc += c
                    lines.append(f'onlinekit_request_duration_seconds_bucket{{route="{r}",le="{ub:g}"}} {acc}')
                acc += h[-1]
                lines.append(f'onlinekit_request_duration_seconds_bucket{{route="{r}",le="+Inf"}} {acc}')
                lines.append(f'onlinekit_request_duration_seconds_sum{{route="{r}"}} {self._sum[route]:.9g}')
                lines.append(f'onlinekit_request_duration_seconds_count{{route="{r}"}} {acc}')
            errors = dict(self.errors)
        if service is not None:
            st = service.stats
            errors["snapshot"] = st.snapshot_errors
            lines += ["# HELP onlinekit_events_total Events applied to the learner, by operation.",
                      "# TYPE onlinekit_events_total counter"]
            for op in ("learn", "act", "feedback", "release", "update", "play"):
                if op in service.ops:
                    lines.append(f'onlinekit_events_total{{op="{op}"}} {st.events.get(op, 0)}')
            for name, help_, val in (
                ("onlinekit_recoveries_total", "Learner rebuilds from snapshot + log.", st.recoveries),
                ("onlinekit_idempotent_replays_total", "Requests answered from a stored idempotency key.", st.replayed),
                ("onlinekit_rejected_events_total", "Requests the learner refused (state unchanged).", st.rejected),
                ("onlinekit_commit_groups_total", "Log transactions committed.", st.groups),
                ("onlinekit_snapshots_total", "Snapshots written.", st.snapshots),
            ):
                lines += [f"# HELP {name} {help_}", f"# TYPE {name} counter", f"{name} {val}"]
            for name, help_, val in (
                ("onlinekit_log_offset", "Committed events in the log.", service.offset),
                ("onlinekit_snapshot_offset", "Events covered by the newest snapshot.", service.snapshot_offset),
            ):
                lines += [f"# HELP {name} {help_}", f"# TYPE {name} gauge", f"{name} {val}"]
        lines += ["# HELP onlinekit_errors_total Refused requests and failed snapshot writes.",
                  "# TYPE onlinekit_errors_total counter"]
        for kind, n in sorted(errors.items()):
            lines.append(f'onlinekit_errors_total{{kind="{kind}"}} {n}')
        return "\n".join(lines) + "\n"

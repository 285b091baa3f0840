"""Click commands ``serve`` and ``consume`` (attached to the ``onlinekit`` CLI group).

Also runnable on their own: ``python -m onlinekit.serve.server_cli serve --learner ogd ...``.
"""

from __future__ import annotations

import logging
import signal
from pathlib import Path

import click

from onlinekit._cliutil import USER_ERRORS as _USER_ERRORS
from onlinekit._cliutil import fail as _fail
from onlinekit._cliutil import parse_params as _parse_params

__all__ = ["serve", "consume"]


def _read_token(path) -> str | None:
    if path is None:
        return None
    token = Path(path).read_text(encoding="utf-8", errors="replace").strip()
    if not token.isascii() or not token.isprintable():
        raise ValueError(f"token in {path} must be printable ASCII (a client can never send anything else)")
    if len(token) < 16:
        raise ValueError(f"token in {path} is too short (use at least 16 characters)")
    return token


_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _open_service(state, learner, params, snapshot_every, sync, key_retention, key_ttl=None, compact_log=False,
                  max_total_features=None, accept_loss=False):
    from onlinekit.serve.service import LearnerService

    return LearnerService(state, learner, _parse_params(params) if (learner or params) else None,
                          snapshot_every=snapshot_every, sync=sync, key_retention=key_retention, key_ttl=key_ttl,
                          compact_log=compact_log, max_total_features=max_total_features, accept_loss=accept_loss)


_common = [
    click.option("--learner", "-l", default=None, help="Registered learner name (optional when --state already holds one)."),
    click.option("--param", "-p", "params", multiple=True, metavar="KEY=VALUE", help="Learner parameter (JSON value)."),
    click.option("--state", "state", required=True, type=click.Path(file_okay=False),
                 help="State directory: event log (SQLite WAL) and snapshots. Never unpickled."),
    click.option("--snapshot-every", type=click.IntRange(min=0), default=10_000, show_default=True,
                 help="Snapshot after this many events (0: only at shutdown and on POST /snapshot)."),
    click.option("--sync", type=click.Choice(["normal", "full"]), default="normal", show_default=True,
                 help="normal: commits survive process crashes; full: fsync each commit (power loss too)."),
    click.option("--key-retention", type=click.IntRange(min=1), default=None,
                 help="Forget idempotency keys older than this many events (default: keep all)."),
    click.option("--key-ttl", type=click.FloatRange(min=0, min_open=True), default=None,
                 help="Forget idempotency keys older than this many seconds (checked at each snapshot)."),
    click.option("--compact-log", is_flag=True,
                 help="Delete logged events below the oldest kept snapshot after each snapshot."),
    click.option("--max-total-features", type=click.IntRange(min=1), default=None,
                 help="Cap on the model's feature count; events adding features past it get 422."),
    click.option("--max-abs-value", type=click.FloatRange(min=0, min_open=True), default=None,
                 help="Refuse (422) any feature or target value with |v| above this."),
    click.option("--accept-loss", is_flag=True,
                 help="Start even when the event log is behind the snapshots (lost events): from the newest snapshot."),
    click.option("--debug", is_flag=True, help="Show tracebacks."),
]


def _with_common(fn):
    for opt in reversed(_common):
        fn = opt(fn)
    return fn


@click.command()
@_with_common
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Bind address (loopback by default; any other address needs --token-file).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--token-file", type=click.Path(dir_okay=False, exists=True), default=None,
              help="File holding the bearer token (printable ASCII, >= 16 chars) required on every route but GET /health.")
@click.option("--allow-host", "allow_hosts", multiple=True, metavar="NAME",
              help="Extra accepted Host header name (default: loopback names, and --host).")
@click.option("--allow-origin", "allow_origins", multiple=True, metavar="ORIGIN",
              help="Browser Origin allowed to call the API (default: none; requests with a foreign Origin get 403).")
@click.option("--max-body", type=click.IntRange(min=64), default=1 << 20, show_default=True, help="Largest request body, bytes.")
@click.option("--max-batch", type=click.IntRange(min=1), default=1000, show_default=True, help="Most events per batch request.")
@click.option("--max-connections", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Open connections (and requests in flight) past which new requests get 503.")
@click.option("--max-header-bytes", type=click.IntRange(min=1024), default=16384, show_default=True,
              help="Largest request head (request line + headers); longer ones are refused.")
@click.option("--http", "http_impl", type=click.Choice(["httptools", "h11"]), default="httptools", show_default=True,
              help="HTTP parser: httptools (C, fast; falls back to h11 when not installed) or h11 (pure Python).")
@click.option("--header-timeout", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True,
              help="Seconds a connection may take to send a request's headers before it is closed.")
@click.option("--body-timeout", type=click.FloatRange(min=0, min_open=True), default=30.0, show_default=True,
              help="Seconds a request may take to send its body (408 after).")
@click.option("--keep-alive", type=click.IntRange(min=1), default=5, show_default=True,
              help="Seconds an idle keep-alive connection stays open.")
@click.option("--inline-budget", type=click.FloatRange(min=0), default=5.0, show_default=True, metavar="MS",
              help="Longest a commit group or read may run on the event loop, by its measured cost (milliseconds); "
                   "longer work, fsynced commits and anything waiting for the learner run in worker threads. "
                   "0: everything in workers.")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="warning",
              show_default=True)
def serve(learner, params, state, snapshot_every, sync, key_retention, key_ttl, compact_log, max_total_features,
          max_abs_value, accept_loss, debug, host, port, token_file, allow_hosts, allow_origins, max_body, max_batch,
          max_connections, max_header_bytes, http_impl, header_timeout, body_timeout, keep_alive, inline_budget,
          log_level):
    """Serve a learner over HTTP (JSON) with a durable event log and snapshots.

    \b
    Example:
      onlinekit serve --learner ogd -p lr=0.05 --state runs/svc --port 8000
      curl -s localhost:8000/learn -H 'Content-Type: application/json' -d '{"x": {"a": 1.0}, "y": 2.0}'
      curl -s localhost:8000/predict -H 'Content-Type: application/json' -d '{"x": {"a": 1.0}}'

    \b
    Experts and OCO learners take /update and answer /play:
      onlinekit serve --learner hedge -p n_experts=3 --state runs/experts
      curl -s localhost:8000/update -H 'Content-Type: application/json' -d '{"losses": [0.9, 0.1, 0.5]}'
      curl -s localhost:8000/play -H 'Content-Type: application/json' -d '{"awake": [1, 1, 0]}'

    POST bodies must be Content-Type application/json; requests naming a Host that is not
    this server or carrying a foreign Origin are refused (403). Refuses to start (exit 2)
    when the event log lost events its snapshots cover, unless --accept-loss.
    """
    try:
        import uvicorn

        from onlinekit.serve._schema import Limits
        from onlinekit.serve.app import create_app
        from onlinekit.serve.http_edge import protocol_class

        token = _read_token(token_file)
        if host not in _LOOPBACK and token is None:
            raise ValueError(f"refusing to bind {host} without --token-file (anyone who reaches it could write); "
                             "bind 127.0.0.1 or give a token")
        logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
        svc = _open_service(state, learner, params, snapshot_every, sync, key_retention, key_ttl, compact_log,
                            max_total_features, accept_loss)
    except _USER_ERRORS as exc:
        _fail(exc, debug)
        return
    hosts = set(_LOOPBACK) | {h.lower() for h in allow_hosts}
    if host not in ("0.0.0.0", "::"):
        hosts.add(host.lower())
    elif not allow_hosts:
        click.echo(f"warning: bound to {host} but only loopback Host names are accepted; "
                   "name the others with --allow-host", err=True)
    limits = Limits(max_body=max_body, max_batch=max_batch, max_abs_value=max_abs_value)
    app = create_app(svc, token=token, limits=limits, close_service=True, allowed_hosts=sorted(hosts),
                     allowed_origins=list(allow_origins), body_timeout=body_timeout, inline_budget=inline_budget / 1000)
    click.echo(f"serving {svc.name} ({svc.kind}) at offset {svc.offset} on http://{host}:{port}", err=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, lifespan="on",
                timeout_graceful_shutdown=10, http=protocol_class(header_timeout, max_header_bytes, prefer=http_impl),
                limit_concurrency=max_connections, proxy_headers=False,  # no proxy is trusted
                h11_max_incomplete_event_size=max_header_bytes, timeout_keep_alive=keep_alive)


@click.command()
@click.argument("url")
@_with_common
@click.option("--group", "-g", required=True, help="Consumer group (created if missing).")
@click.option("--consumer", default="onlinekit", show_default=True, help="Consumer name (reuse it to resume after a crash).")
@click.option("--count", type=click.IntRange(min=1), default=256, show_default=True, help="Entries per read/commit.")
@click.option("--max-entries", type=click.IntRange(min=1), default=None, help="Stop after this many entries.")
@click.option("--idle-timeout", type=float, default=None, help="Stop after this many seconds without entries.")
def consume(url, learner, params, state, snapshot_every, sync, key_retention, key_ttl, compact_log, max_total_features,
            max_abs_value, accept_loss, debug, group, consumer, count, max_entries, idle_timeout):
    """Feed a learner from a Redis stream (consumer group): log, apply, then XACK each entry.

    URL is redis://HOST:PORT/STREAM. Entries carry the JSON event in field `event` (and the
    operation in field `op`, default learn). Restarting with the same --state and --consumer
    resumes with nothing lost and nothing applied twice.
    """
    try:
        from onlinekit.serve.consumer import RedisConsumer, parse_stream_url

        from onlinekit.serve._schema import Limits

        parse_stream_url(url)
        svc = _open_service(state, learner, params, snapshot_every, sync, key_retention, key_ttl, compact_log,
                            max_total_features, accept_loss)
    except _USER_ERRORS as exc:
        _fail(exc, debug)
        return
    try:
        cons = RedisConsumer(svc, url, group, consumer=consumer, count=count, limits=Limits(max_abs_value=max_abs_value))

        def _stop(signum, frame):
            cons.stop()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        click.echo(f"consuming {cons.stream} (group {group}) into {svc.name} at offset {svc.offset}", err=True)
        n = cons.run(max_entries=max_entries, idle_timeout=idle_timeout)
        click.echo(f"handled {n} entries: {cons.applied} applied, {cons.duplicates} already logged, "
                   f"{cons.dead} dead-lettered; log offset {svc.offset}")
    except _USER_ERRORS as exc:
        svc.close()
        _fail(exc, debug)
        return
    except Exception as exc:  # redis connection errors and the like
        svc.close()
        _fail(exc, debug)
        return
    svc.close()


@click.group()
def _main() -> None:
    """Standalone entry point for the two commands."""


_main.add_command(serve)
_main.add_command(consume)

if __name__ == "__main__":  # pragma: no cover
    _main()

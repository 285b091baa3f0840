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
    token = Path(path).read_text().strip()
    if len(token) < 16:
        raise ValueError(f"token in {path} is too short (use at least 16 characters)")
    return token


def _open_service(state, learner, params, snapshot_every, sync, key_retention):
    from onlinekit.serve.service import LearnerService

    return LearnerService(state, learner, _parse_params(params) if (learner or params) else None,
                          snapshot_every=snapshot_every, sync=sync, key_retention=key_retention)


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
    click.option("--debug", is_flag=True, help="Show tracebacks."),
]


def _with_common(fn):
    for opt in reversed(_common):
        fn = opt(fn)
    return fn


@click.command()
@_with_common
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address (loopback by default).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--token-file", type=click.Path(dir_okay=False, exists=True), default=None,
              help="File holding the bearer token required on every route but GET /health.")
@click.option("--max-body", type=click.IntRange(min=64), default=1 << 20, show_default=True, help="Largest request body, bytes.")
@click.option("--max-batch", type=click.IntRange(min=1), default=1000, show_default=True, help="Most events per batch request.")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="warning",
              show_default=True)
def serve(learner, params, state, snapshot_every, sync, key_retention, debug, host, port, token_file, max_body, max_batch, log_level):
    """Serve a learner over HTTP (JSON) with a durable event log and snapshots.

    \b
    Example:
      onlinekit serve --learner ogd -p lr=0.05 --state runs/svc --port 8000
      curl -s localhost:8000/learn -d '{"x": {"a": 1.0}, "y": 2.0}'
      curl -s localhost:8000/predict -d '{"x": {"a": 1.0}}'
    """
    try:
        import uvicorn

        from onlinekit.serve._schema import Limits
        from onlinekit.serve.app import create_app

        token = _read_token(token_file)
        if host not in ("127.0.0.1", "::1", "localhost") and token is None:
            click.echo(f"warning: binding {host} without --token-file; anyone who reaches it can write", err=True)
        logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
        svc = _open_service(state, learner, params, snapshot_every, sync, key_retention)
    except _USER_ERRORS as exc:
        _fail(exc, debug)
        return
    app = create_app(svc, token=token, limits=Limits(max_body=max_body, max_batch=max_batch), close_service=True)
    click.echo(f"serving {svc.name} ({svc.kind}) at offset {svc.offset} on http://{host}:{port}", err=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, lifespan="on",
                timeout_graceful_shutdown=10)


@click.command()
@click.argument("url")
@_with_common
@click.option("--group", "-g", required=True, help="Consumer group (created if missing).")
@click.option("--consumer", default="onlinekit", show_default=True, help="Consumer name (reuse it to resume after a crash).")
@click.option("--count", type=click.IntRange(min=1), default=256, show_default=True, help="Entries per read/commit.")
@click.option("--max-entries", type=click.IntRange(min=1), default=None, help="Stop after this many entries.")
@click.option("--idle-timeout", type=float, default=None, help="Stop after this many seconds without entries.")
def consume(url, learner, params, state, snapshot_every, sync, key_retention, debug, group, consumer, count, max_entries, idle_timeout):
    """Feed a learner from a Redis stream (consumer group): log, apply, then XACK each entry.

    URL is redis://HOST:PORT/STREAM. Entries carry the JSON event in field `event` (and the
    operation in field `op`, default learn). Restarting with the same --state and --consumer
    resumes with nothing lost and nothing applied twice.
    """
    try:
        from onlinekit.serve.consumer import RedisConsumer, parse_stream_url

        parse_stream_url(url)
        svc = _open_service(state, learner, params, snapshot_every, sync, key_retention)
    except _USER_ERRORS as exc:
        _fail(exc, debug)
        return
    try:
        cons = RedisConsumer(svc, url, group, consumer=consumer, count=count)

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

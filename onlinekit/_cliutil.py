"""Helpers shared by the click commands (``onlinekit.cli`` and ``onlinekit.serve.server_cli``)."""

from __future__ import annotations

import json
import sys

import click

#: Exceptions that are the user's doing: printed as one line (exit 2) unless ``--debug``.
USER_ERRORS = (ValueError, KeyError, OSError, ImportError, TypeError)


def fail(exc: BaseException, debug: bool) -> None:
    """Print ``error: <message>`` and exit with status 2 (re-raise with ``--debug``)."""
    if debug:
        raise exc
    msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    click.echo(f"error: {msg}", err=True)
    sys.exit(2)


def interrupted(exc: KeyboardInterrupt) -> None:
    """Ctrl-C: print its one line (``interrupted at event N; ...``) and exit with status 130."""
    click.echo(f"error: {exc}" if str(exc) else "error: interrupted", err=True)
    sys.exit(130)


def parse_params(items) -> dict:
    """``key=value`` strings to a dict; values are JSON when they parse, else strings.

    >>> parse_params(["lr=0.1", "radius=null", "loss=logistic"])
    {'lr': 0.1, 'radius': None, 'loss': 'logistic'}
    """
    params = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"parameter {item!r} must look like key=value")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params

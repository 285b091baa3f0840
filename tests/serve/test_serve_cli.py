"""The ``serve`` and ``consume`` click commands: options and user errors (one line, exit 2)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from onlinekit.serve.consumer import parse_stream_url
from onlinekit.serve.server_cli import consume, serve


def test_help_lists_the_options():
    r = CliRunner().invoke(serve, ["--help"])
    assert r.exit_code == 0
    for opt in ("--learner", "--state", "--host", "--port", "--snapshot-every", "--token-file", "--max-body",
                "--max-batch", "--sync", "--accept-loss", "--max-total-features", "--max-abs-value", "--compact-log",
                "--key-ttl", "--allow-host", "--allow-origin", "--max-connections", "--max-header-bytes",
                "--header-timeout", "--body-timeout", "--keep-alive", "--inline-budget"):
        assert opt in r.output
    assert "127.0.0.1" in r.output
    r = CliRunner().invoke(consume, ["--help"])
    assert r.exit_code == 0 and "--group" in r.output and "redis://" in r.output and "--accept-loss" in r.output


@pytest.mark.parametrize("args,message", [
    (["--learner", "nope"], "unknown learner"),
    (["--learner", "ogd", "-p", "lr=-1"], "lr"),
    (["--learner", "ogd", "-p", "lr"], "key=value"),
    ([], "say which learner"),
])
def test_serve_user_errors(tmp_path, args, message):
    pytest.importorskip("uvicorn")
    r = CliRunner().invoke(serve, [*args, "--state", str(tmp_path / "s")])
    assert r.exit_code == 2, r.output
    assert "error:" in r.output and message in r.output


def test_serve_refuses_short_token(tmp_path):
    pytest.importorskip("uvicorn")
    tok = tmp_path / "tok"
    tok.write_text("short\n")
    r = CliRunner().invoke(serve, ["--learner", "ogd", "--state", str(tmp_path / "s"), "--token-file", str(tok)])
    assert r.exit_code == 2 and "too short" in r.output


def test_consume_user_errors(tmp_path):
    r = CliRunner().invoke(consume, ["http://x/y", "--group", "g", "--learner", "ogd", "--state", str(tmp_path / "s")])
    assert r.exit_code == 2 and "redis://" in r.output
    r = CliRunner().invoke(consume, ["redis://127.0.0.1:1/", "--group", "g", "--learner", "ogd",
                                     "--state", str(tmp_path / "s")])
    assert r.exit_code == 2 and "names no stream" in r.output


def test_parse_stream_url():
    u = parse_stream_url("rediss://:pw@host:6380/my%2Fstream?db=3")
    assert (u.host, u.port, u.stream, u.db, u.password, u.ssl) == ("host", 6380, "my/stream", 3, "pw", True)
    assert parse_stream_url("redis://h/s").port == 6379

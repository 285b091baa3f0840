"""Fixtures of the serve tests: a Redis server on loopback for the stream consumer tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest
from serve_helpers import free_port as _free_port

REDIS = shutil.which("redis-server")


@pytest.fixture
def redis_url(tmp_path):
    """A Redis on loopback: the one in $ONLINEKIT_TEST_REDIS_URL (CI starts it; flushed here),
    else a private redis-server started for this test; skipped when neither is available."""
    redis = pytest.importorskip("redis")
    external = os.environ.get("ONLINEKIT_TEST_REDIS_URL")
    proc = None
    if external:
        client = redis.Redis.from_url(external)
        port = client.connection_pool.connection_kwargs.get("port", 6379)
        host = client.connection_pool.connection_kwargs.get("host", "127.0.0.1")
        db = client.connection_pool.connection_kwargs.get("db", 0)
        try:
            client.flushdb()
        except redis.ConnectionError:
            pytest.skip(f"no Redis at {external}")
        url = f"redis://{host}:{port}/events?db={db}"
    else:
        if REDIS is None:
            pytest.skip("redis-server not on PATH")
        port = _free_port()
        proc = subprocess.Popen([REDIS, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                                 "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=port)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.02)
        else:
            proc.kill()
            proc.wait()
            pytest.skip("redis-server did not start")
        url = f"redis://127.0.0.1:{port}/events"
    yield url, client
    if proc is None:
        client.flushdb()
    client.close()
    if proc is not None:
        proc.terminate()
        proc.wait(10)

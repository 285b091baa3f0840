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
        kw = redis.Redis.from_url(external).connection_pool.connection_kwargs
        port, host = kw.get("port", 6379), kw.get("host", "127.0.0.1")
        # each pytest-xdist worker flushes its own database, never another worker's (nor the
        # given one, which the README test uses); Redis has 16 databases, so more than 15
        # workers would share some
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        db = (kw.get("db", 0) + 1 + int(worker[2:]) % 15) % 16 if worker.startswith("gw") else kw.get("db", 0)
        client = redis.Redis(host=host, port=port, db=db)
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

"""Ray addresses fail fast and clearly (no Ray cluster is started here)."""

import socket
import threading
import time

import pytest
from click.testing import CliRunner

from onlinekit.experiments import ray_backend
from onlinekit.experiments.ray_backend import probe_address


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def silent_listener():
    """A port that accepts connections and never answers (not a Ray GCS)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    conns, stop = [], threading.Event()

    def accept():
        srv.settimeout(0.1)
        while not stop.is_set():
            try:
                conns.append(srv.accept()[0])
            except OSError:
                pass

    th = threading.Thread(target=accept, daemon=True)
    th.start()
    yield f"127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    th.join()
    for c in conns:
        c.close()
    srv.close()


def test_nothing_listening_fails_at_once():
    addr = f"127.0.0.1:{_free_port()}"
    t = time.perf_counter()
    with pytest.raises(ConnectionError, match=f"no Ray cluster at {addr}: .*refused"):
        probe_address(addr, timeout=5)
    assert time.perf_counter() - t < 5  # refused, not waited out


def test_an_open_port_that_is_not_ray_fails_within_the_timeout(silent_listener):
    with pytest.raises(ConnectionError, match="does not answer as Ray"):
        probe_address(silent_listener, timeout=0.5)


@pytest.mark.parametrize("addr, err, match", [
    ("nope", ValueError, "HOST:PORT"),
    ("http://h:1", ValueError, "HOST:PORT"),
    ("h:port", ValueError, "HOST:PORT"),
])
def test_malformed_addresses(addr, err, match):
    with pytest.raises(err, match=match):
        probe_address(addr)


def test_ray_client_address_without_grpc_says_what_to_install(monkeypatch):
    import builtins

    real = builtins.__import__

    def no_grpc(name, *a, **k):
        if name == "grpc":
            raise ImportError("no grpc")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_grpc)
    with pytest.raises(ImportError, match=r"ray\[client\]"):
        probe_address("ray://127.0.0.1:10001")


def test_cli_unreachable_cluster_is_one_line_exit_2(tmp_path, silent_listener, monkeypatch):
    pytest.importorskip("ray")
    from onlinekit.cli import main

    monkeypatch.setattr(ray_backend, "PROBE_TIMEOUT_S", 0.5)
    for addr in (f"127.0.0.1:{_free_port()}", silent_listener):
        r = CliRunner().invoke(main, ["experiment", "ogd-regret", "--quick", "--seeds", "2", "--backend", "ray",
                                      "--address", addr, "--out", str(tmp_path)])
        lines = r.output.strip().splitlines()
        assert r.exit_code == 2 and len(lines) == 1 and lines[0].startswith(f"error: no Ray cluster at {addr}")


def test_token_auth_rejection_names_ray_auth_mode(monkeypatch):
    ray = pytest.importorskip("ray")
    from ray.exceptions import AuthenticationError

    def reject(**kw):
        raise AuthenticationError("Authentication failed: the cluster requires a token")

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", reject)
    monkeypatch.setattr(ray_backend, "probe_address", lambda a: None)
    with pytest.raises(ConnectionError, match="RAY_AUTH_MODE=token") as ei:
        ray_backend.ensure_ray("10.0.0.1:6379")
    assert "\n" not in str(ei.value)

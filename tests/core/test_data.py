"""``onlinekit.data``: registry, resolver and fetcher, against a local HTTP server (no network).

The server is ``http.server`` in a thread on 127.0.0.1 serving fixture files written by the
test; their SHA-256 is computed here with ``hashlib`` (the oracle) and put in a registry entry
built by the test (Python API) or in a ``$ONLINEKIT_DATA_REGISTRY`` file (CLI).
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from onlinekit import data as okdata
from onlinekit.data import DataChecksumError, DataFetchError, DataFile, DataSet
from onlinekit.streams.errors import MissingDataError

A = b"x,y\n1,2\n3,4\n"
B = b"item,feature\n0,a\n1,b\n" * 50


def _sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


class _Server:
    def __init__(self, root: Path):
        self.root = root
        self.hits: list[str] = []
        hits = self.hits

        class Handler(http.server.SimpleHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                hits.append(self.path)
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                     functools.partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # shutdown() waits for the serving loop's next poll: 0.5 s by default, per test
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def put(self, rel: str, content: bytes) -> str:
        p = self.root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content)
        return f"{self.url}/{rel}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server(tmp_path, monkeypatch):
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv(okdata.ENV_MIRROR, raising=False)
    monkeypatch.delenv(okdata.ENV_REGISTRY, raising=False)
    srv = _Server(tmp_path / "srv")
    (tmp_path / "srv").mkdir()
    yield srv
    srv.close()


def _toy(server: _Server, a: bytes = A, b: bytes = B, sha_a: str | None = None) -> DataSet:
    """Serves two files and returns a registry entry for them (B lives in a subfolder)."""
    ua = server.put("files/a.csv", a)
    ub = server.put("files/deep/b.csv", b)
    return DataSet("toy", "Toy data", root="toy", files=(
        DataFile("toy/a.csv", ua, sha_a or _sha(A)), DataFile("toy/sub/b.csv", ub, _sha(B))))


def _leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_fetch_downloads_verifies_and_resolves(server, tmp_path):
    home = tmp_path / "home"
    ds = _toy(server)
    lines = []
    path = okdata.fetch(ds, home, log=lines.append)
    assert path == home / "toy" == okdata.resolve(ds, home)
    assert (home / "toy/a.csv").read_bytes() == A and (home / "toy/sub/b.csv").read_bytes() == B
    assert server.hits == ["/files/a.csv", "/files/deep/b.csv"]
    assert _leftovers(home) == ["toy/a.csv", "toy/sub/b.csv"]  # no temporary files left
    assert len(lines) == 2 and all("downloading" in m for m in lines)


def test_second_fetch_and_mirror_layout_are_cache_hits(server, tmp_path):
    home = tmp_path / "home"
    ds = _toy(server)
    okdata.fetch(ds, home)
    n = len(server.hits)
    okdata.fetch(ds, home)
    assert len(server.hits) == n  # nothing downloaded again
    # a folder that already holds the files in the layout (a local mirror) is used as it is
    mirror = tmp_path / "mirror"
    shutil.copytree(home, mirror)
    assert okdata.fetch(ds, mirror) == mirror / "toy" and len(server.hits) == n


def test_checksum_mismatch_is_one_line_and_leaves_nothing(server, tmp_path):
    home = tmp_path / "home"
    ds = _toy(server, a=b"x,y\n1,2\n3,5\n")  # the server's a.csv differs from the registry's hash
    with pytest.raises(DataChecksumError) as e:
        okdata.fetch(ds, home)
    msg = str(e.value)
    assert "\n" not in msg and "'toy'" in msg and _sha(A) in msg and _sha(b"x,y\n1,2\n3,5\n") in msg
    assert not (home / "toy" / "a.csv").exists()
    assert not home.exists() or _leftovers(home) == []  # no temporary file left behind


def test_http_404_is_one_line(server, tmp_path):
    home = tmp_path / "home"
    ds = _toy(server)
    (server.root / "files/a.csv").unlink()
    with pytest.raises(DataFetchError, match=r"^data set 'toy': cannot download http://127\.0\.0\.1:\d+/files/a\.csv: "
                                             r"HTTP 404$"):
        okdata.fetch(ds, home)
    assert not (home / "toy" / "a.csv").exists()


def test_interrupted_fetch_resumes_with_the_missing_files(server, tmp_path):
    home = tmp_path / "home"
    ds = _toy(server)
    (server.root / "files/deep/b.csv").unlink()
    with pytest.raises(DataFetchError, match="HTTP 404"):
        okdata.fetch(ds, home)
    assert (home / "toy/a.csv").read_bytes() == A and not (home / "toy/sub/b.csv").exists()
    with pytest.raises(MissingDataError):
        okdata.resolve(ds, home)
    server.put("files/deep/b.csv", B)
    server.hits.clear()
    assert okdata.fetch(ds, home) == home / "toy"
    assert server.hits == ["/files/deep/b.csv"]  # a.csv, already verified, is not fetched again


def test_corrupt_local_file_fails_resolve_and_is_replaced_by_fetch(server, tmp_path):
    home = tmp_path / "home"
    ds = _toy(server)
    okdata.fetch(ds, home)
    (home / "toy/a.csv").write_bytes(b"x,y\n1,2\n")  # truncated
    with pytest.raises(DataChecksumError, match="onlinekit data fetch toy") as e:
        okdata.resolve(ds, home)
    assert "\n" not in str(e.value) and _sha(b"x,y\n1,2\n") in str(e.value)
    server.hits.clear()
    okdata.fetch(ds, home)
    assert server.hits == ["/files/a.csv"] and (home / "toy/a.csv").read_bytes() == A


def test_missing_data_set_message(tmp_path):
    with pytest.raises(MissingDataError) as e:
        okdata.resolve("insurance", tmp_path)
    msg = str(e.value)
    assert "\n" not in msg and "'insurance'" in msg and str(tmp_path) in msg
    assert msg.endswith("run: onlinekit data fetch insurance")


def test_mirror_override_fetches_layout_paths(server, tmp_path, monkeypatch):
    server.put("m/toy/a.csv", A)
    server.put("m/toy/sub/b.csv", B)
    ds = DataSet("toy", "Toy", root="toy/a.csv", files=(
        DataFile("toy/a.csv", "http://canonical.invalid/a.csv", _sha(A)),
        DataFile("toy/sub/b.csv", "http://canonical.invalid/b.csv", _sha(B))))
    monkeypatch.setenv(okdata.ENV_MIRROR, f"{server.url}/m/")
    assert okdata.fetch(ds, tmp_path / "home") == tmp_path / "home/toy/a.csv"
    assert server.hits == ["/m/toy/a.csv", "/m/toy/sub/b.csv"]


def test_registry_override_file(tmp_path, monkeypatch):
    reg = tmp_path / "reg.json"
    reg.write_text(json.dumps({"toy": {"title": "Toy", "root": "t.csv",
                                       "files": [{"path": "t.csv", "url": "http://x/t.csv", "sha256": _sha(A)}]}}))
    monkeypatch.setenv(okdata.ENV_REGISTRY, str(reg))
    assert okdata.get("toy").files[0].sha256 == _sha(A)
    assert {"adult", "insurance", "obd", "compas", "toy"} == set(okdata.datasets())
    reg.write_text(json.dumps({"toy": {"title": "Toy", "root": "t.csv",
                                       "files": [{"path": "t.csv", "url": "http://x/t.csv", "sha256": "abc"}]}}))
    with pytest.raises(ValueError, match="sha256 must be 64"):
        okdata.datasets()
    reg.write_text(json.dumps({"toy": {"title": "Toy", "files": []}}))
    with pytest.raises(ValueError, match=r"data set 'toy': missing or malformed field 'root'"):
        okdata.datasets()
    reg.write_text("{not json")
    with pytest.raises(ValueError, match="cannot read the data registry override"):
        okdata.datasets()


def test_bad_entries_are_refused():
    with pytest.raises(ValueError, match="inside the data folder"):
        DataFile("../escape.csv", "http://x", "0" * 64)
    with pytest.raises(ValueError, match="inside the data folder"):
        DataFile("/abs.csv", "http://x", "0" * 64)
    with pytest.raises(ValueError, match="unknown data set 'nope'"):
        okdata.get("nope")


def test_data_home_env_and_default(monkeypatch):
    monkeypatch.setenv("ONLINEKIT_DATA", "/some/where")
    assert okdata.data_home() == Path("/some/where")
    monkeypatch.setenv("ONLINEKIT_DATA", "")
    platformdirs = pytest.importorskip("platformdirs")
    assert okdata.data_home() == Path(platformdirs.user_cache_dir("onlinekit", appauthor=False)) / "data"


def test_progress_bar_goes_to_stderr(server, tmp_path, capsys):
    okdata.fetch(_toy(server), tmp_path / "home", progress=True)
    err = capsys.readouterr().err
    assert "a.csv" in err and "b.csv" in err


def test_builtin_checksums_match_the_local_mirror():
    """Every built-in data set resolves against the real files when they are present."""
    home = okdata.data_home()
    for name, ds in okdata.datasets().items():
        if not all((home / f.path).is_file() for f in ds.files):
            pytest.skip(f"data set {name!r} not in {home} (run `onlinekit data fetch {name}` or set ONLINEKIT_DATA)")
        for f in ds.files:  # independent oracle: hash the files here
            assert hashlib.sha256((home / f.path).read_bytes()).hexdigest() == f.sha256, f.path
        assert okdata.resolve(name).exists()


# ------------------------------------------------------------------------------------------
# the command line, in a subprocess, against the same kind of server


def _cli(args, env, cwd):
    return subprocess.run([sys.executable, "-m", "onlinekit.cli", "data", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=120)


def _cli_env(server, tmp_path, registry: dict) -> dict:
    reg = tmp_path / "registry.json"
    reg.write_text(json.dumps(registry))
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update({"ONLINEKIT_DATA": str(tmp_path / "home"), okdata.ENV_REGISTRY: str(reg),
                "NO_PROXY": "127.0.0.1,localhost"})
    env.pop(okdata.ENV_MIRROR, None)
    return env


def _entry(url: str, sha: str) -> dict:
    return {"title": "Toy", "about": "two rows", "root": "toy/a.csv", "licence": "CC0", "citation": "nobody",
            "files": [{"path": "toy/a.csv", "url": url, "sha256": sha}]}


def test_cli_list_fetch_path(server, tmp_path):
    url = server.put("a.csv", A)
    bad = {**_entry(url, _sha(B)), "root": "bad/a.csv"}
    bad["files"] = [{**bad["files"][0], "path": "bad/a.csv"}]
    env = _cli_env(server, tmp_path, {"toy": _entry(url, _sha(A)), "bad": bad})
    r = _cli(["path", "toy"], env, tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "run: onlinekit data fetch toy" in r.stderr
    r = _cli(["list"], env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"data folder: {tmp_path / 'home'}" in r.stdout
    toy = next(line for line in r.stdout.splitlines() if line.startswith("toy "))
    assert "missing" in toy and "Toy: two rows" in toy and "licence: CC0" in r.stdout
    assert {"adult", "insurance", "obd", "compas"} <= {line.split()[0] for line in r.stdout.splitlines()
                                                      if line and not line.startswith(" ")}
    r = _cli(["fetch", "toy"], env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(tmp_path / "home/toy/a.csv")
    assert (tmp_path / "home/toy/a.csv").read_bytes() == A
    r = _cli(["path", "toy"], env, tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == str(tmp_path / "home/toy/a.csv")
    r = _cli(["list"], env, tmp_path)
    assert "ok" in next(line for line in r.stdout.splitlines() if line.startswith("toy "))
    # a checksum mismatch and an unknown name: one line, exit 2, nothing written
    r = _cli(["fetch", "bad"], env, tmp_path)
    assert r.returncode == 2 and _leftovers(tmp_path / "home") == ["toy/a.csv"]
    err = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(err) == 1 and "SHA-256" in err[0] and _sha(A) in err[0] and _sha(B) in err[0]
    assert r.stderr.splitlines() == ["bad: bad/a.csv: downloading from " + url, err[0]]
    r = _cli(["fetch", "nope"], env, tmp_path)
    assert r.returncode == 2 and r.stderr.strip() == "error: unknown data set 'nope'; known: adult, bad, compas, " \
                                                     "insurance, obd, toy"


def test_cli_fetch_adult_from_a_local_mirror(server, tmp_path):
    """`onlinekit data fetch adult` with the real checksums, served from the local data mirror."""
    real = okdata.data_home()
    ds = okdata.get("adult")
    if not all((real / f.path).is_file() for f in ds.files):
        pytest.skip(f"UCI Adult not in {real} (set ONLINEKIT_DATA to a mirror holding adult/)")
    for f in ds.files:
        server.put(f.path, (real / f.path).read_bytes())
    env = _cli_env(server, tmp_path, {})
    env[okdata.ENV_MIRROR] = server.url
    r = _cli(["fetch", "adult"], env, tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(tmp_path / "home/adult")
    assert sorted(server.hits) == ["/adult/adult.data", "/adult/adult.names", "/adult/adult.test"]
    for f in ds.files:
        assert (tmp_path / "home" / f.path).read_bytes() == (real / f.path).read_bytes()


def test_experiment_without_its_data_fails_in_one_line(tmp_path):
    env = {**os.environ, "ONLINEKIT_DATA": str(tmp_path / "empty")}
    env.pop(okdata.ENV_REGISTRY, None)
    r = subprocess.run([sys.executable, "-m", "onlinekit.cli", "experiment", "groupwise-medical", "--quick",
                        "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env, cwd=tmp_path,
                       timeout=300)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "'insurance'" in r.stderr and "onlinekit data fetch insurance" in r.stderr


def test_cli_fetch_in_a_terminal_shows_a_progress_bar(server, tmp_path):
    """Under a pseudo-terminal (as a user runs it) the default progress bar works."""
    pty = pytest.importorskip("pty")
    url = server.put("a.csv", A)
    env = _cli_env(server, tmp_path, {"toy": _entry(url, _sha(A))})
    import fcntl
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    proc = subprocess.Popen([sys.executable, "-m", "onlinekit.cli", "data", "fetch", "toy"], stdin=slave,
                            stdout=slave, stderr=slave, env=env, cwd=tmp_path)
    os.close(slave)
    chunks = []
    while True:
        try:
            b = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not b:
            break
        chunks.append(b)
    os.close(master)
    assert proc.wait(timeout=120) == 0, b"".join(chunks).decode(errors="replace")
    out = b"".join(chunks).decode(errors="replace")
    assert "a.csv:" in out and "100%" in out and "error" not in out
    assert (tmp_path / "home/toy/a.csv").read_bytes() == A

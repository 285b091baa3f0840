"""Sharded replay past one machine: time and driver peak memory vs events and tenants.

For each size (events, tenants) a Parquet dataset folder (8 files) and the same rows as one
file are written by a separate process. The command under test runs in a fresh driver
process against a Ray head this benchmark starts (``ray start --head --block``, all CPUs)::

    onlinekit replay DIR -l ogd --shard-by tenant --backend ray --address HEAD --out OUT

(the parallel read: files read and replayed on the cluster, only summaries come back). The
peer, in the same run, is the driver-read path on the one file::

    onlinekit replay FILE.parquet -l ogd --shard-by tenant --out OUT

The driver's peak resident memory is its ``VmHWM`` at exit (Linux ``/proc/self/status``);
``driver_base_mb`` is the VmHWM of a driver that only imports onlinekit and joins the head,
so ``*_peak_mb - driver_base_mb`` is what the replay adds. ``same_as_local`` says whether the
two ``shards.csv`` files (every shard's events and metrics, no timings) are byte-identical.
Sizes: ``ONLINEKIT_BENCH_SIZES`` (``EVENTSxTENANTS,...``, e.g. ``1e5x10,1e6x10``), else events
10^5, 10^6, 10^7 at 10 tenants and tenants 10^3, 10^5 at 10^6 events (quick: 10^4 and
10^5 events at 10 tenants).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_WRITE = r"""
import sys, numpy as np, pyarrow as pa, pyarrow.parquet as pq
n, k, folder, one = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rng = np.random.default_rng(0)
tenant = rng.integers(0, k, n)
X = rng.normal(size=(n, 2))
y = X @ np.array([1.0, -0.5]) + 0.01 * (tenant % 7) + 0.1 * rng.normal(size=n)
t = pa.table({"tenant": np.char.add("t", tenant.astype(str)), "x0": X[:, 0], "x1": X[:, 1], "y": y})
pq.write_table(t, one)
cuts = np.linspace(0, n, 9).astype(int)
for i in range(8):
    pq.write_table(t.slice(cuts[i], cuts[i + 1] - cuts[i]), f"{folder}/part-{i}.parquet")
"""

# a driver: run one onlinekit command (or only join the cluster), then report its own peak memory
_DRIVER = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
res, args = sys.argv[1], sys.argv[2:]
t = time.perf_counter()
code = 0
if args[0] == "--join":
    from onlinekit.experiments.ray_backend import ensure_ray
    ensure_ray(args[1])
else:
    from onlinekit.cli import main
    try:
        main(args, standalone_mode=False)
    except SystemExit as exc:
        code = exc.code
secs = time.perf_counter() - t
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) / 1024
json.dump({"seconds": secs, "peak_mb": hwm, "code": code}, open(res, "w"))
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _drive(args: list[str], env: dict) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        res = fh.name
    try:
        r = subprocess.run([sys.executable, "-c", _DRIVER, res, *args], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"driver failed ({r.returncode}): {r.stderr[-2000:]}")
        out = json.loads(Path(res).read_text())
    finally:
        os.unlink(res)
    if out["code"] not in (0, None):
        raise RuntimeError(f"onlinekit {' '.join(args)} exited {out['code']}")
    return out


def _sizes(quick: bool) -> list[tuple[int, int]]:
    spec = os.environ.get("ONLINEKIT_BENCH_SIZES")
    if spec:
        return [(int(float(a)), int(float(b))) for a, b in (s.split("x") for s in spec.split(","))]
    if quick:
        return [(10**4, 10), (10**5, 10)]
    return [(10**5, 10), (10**6, 10), (10**7, 10), (10**6, 10**3), (10**6, 10**5)]


def run(quick: bool = False) -> dict:
    try:
        import ray.data  # noqa: F401
    except ImportError:
        return {"skipped": "Ray Data is not installed (pip install 'onlinekit[ray]')"}
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "PYTHONWARNINGS": "ignore"}
    tmp = tempfile.mkdtemp(prefix="okbench")
    gcs = _port()
    log = open(f"{tmp}/head.log", "w")
    head = subprocess.Popen([str(Path(sys.executable).with_name("ray")), "start", "--head", "--block",
                             "--port", str(gcs), "--node-ip-address", "127.0.0.1", "--include-dashboard", "false",
                             "--disable-usage-stats", "--temp-dir", tmp, "--num-cpus", str(os.cpu_count() or 1)],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    address = f"127.0.0.1:{gcs}"
    rows = []
    try:
        deadline = time.time() + 300
        while True:
            try:
                socket.create_connection(("127.0.0.1", gcs), 1).close()
                break
            except OSError:
                if time.time() > deadline or head.poll() is not None:
                    raise RuntimeError("the Ray head did not start") from None
                time.sleep(0.5)
        base = _drive(["--join", address], env)
        for n, k in _sizes(quick):
            d = Path(tempfile.mkdtemp(prefix="okdata", dir=tmp))
            (d / "events").mkdir()
            subprocess.run([sys.executable, "-c", _WRITE, str(n), str(k), str(d / "events"), str(d / "one.parquet")],
                           check=True)
            common = ["-l", "ogd", "--shard-by", "tenant", "--no-progress"]
            got = _drive(["replay", str(d / "events"), *common, "--backend", "ray", "--address", address,
                          "--out", str(d / "ray")], env)
            loc = _drive(["replay", str(d / "one.parquet"), *common, "--out", str(d / "local")], env)
            same = (d / "ray" / "shards.csv").read_bytes() == (d / "local" / "shards.csv").read_bytes()
            rows.append({"events": n, "tenants": k, "seconds": got["seconds"], "events_per_s": n / got["seconds"],
                         "driver_peak_mb": got["peak_mb"], "driver_added_mb": got["peak_mb"] - base["peak_mb"],
                         "local_seconds": loc["seconds"], "local_driver_peak_mb": loc["peak_mb"],
                         "time_ratio_ray_over_local": got["seconds"] / loc["seconds"], "same_as_local": same})
            print(rows[-1], flush=True)
            shutil.rmtree(d, ignore_errors=True)
    finally:
        head.terminate()
        try:
            head.wait(120)
        except subprocess.TimeoutExpired:
            head.kill()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return {"driver_base_mb": base["peak_mb"], "cpus": os.cpu_count(), "sizes": rows}


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))

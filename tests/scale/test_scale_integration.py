"""End-to-end through the runner and the CLI; these skip until the lead wires
``run_experiment(backend="ray", address=...)`` and ``onlinekit replay --shard-by``."""

import inspect

import numpy as np
import pytest
from click.testing import CliRunner

from onlinekit.experiments import run_experiment


def _cli_has(command: str, option: str) -> bool:
    from onlinekit.cli import main

    return any(option in p.opts for p in main.commands[command].params)


@pytest.mark.ray
def test_run_experiment_ray_backend_equals_local(tmp_path):
    pytest.importorskip("ray")
    if "address" not in inspect.signature(run_experiment).parameters:
        pytest.skip("runner integration pending: run_experiment(..., address=...)")
    loc = run_experiment("ogd-regret", quick=True, n_seeds=3, out=tmp_path / "loc")
    rem = run_experiment("ogd-regret", quick=True, n_seeds=3, out=tmp_path / "ray", backend="ray")
    assert rem.failed_seeds == [] and rem.seeds == loc.seeds and rem.table == loc.table
    for i in range(3):
        name = f"seeds/seed-{i:04d}.json"
        assert (tmp_path / "loc" / name).read_text() == (tmp_path / "ray" / name).read_text()


def _csv(path, n=900):
    rng = np.random.default_rng(0)
    rows = ["tenant,x0,x1,y"]
    for _ in range(n):
        t = int(rng.integers(0, 3))
        x0, x1 = rng.normal(size=2).tolist()
        rows.append(f"{t},{x0!r},{x1!r},{(t - 1) * x0 + x1!r}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_cli_replay_shard_by_local(tmp_path):
    if not _cli_has("replay", "--shard-by"):
        pytest.skip("CLI integration pending: onlinekit replay --shard-by")
    from onlinekit.cli import main

    src = _csv(tmp_path / "s.csv")
    r1 = CliRunner().invoke(main, ["replay", str(src), "-l", "ogd", "--shard-by", "tenant", "--out", str(tmp_path / "a")])
    r2 = CliRunner().invoke(main, ["replay", str(src), "-l", "ogd", "--shard-by", "tenant", "-j", "2",
                                   "--out", str(tmp_path / "b")])
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output + r2.output
    assert "n_shards" in r1.output
    assert (tmp_path / "a" / "shards.csv").read_text() == (tmp_path / "b" / "shards.csv").read_text()


@pytest.mark.ray
def test_cli_replay_shard_by_ray_equals_local(tmp_path):
    pytest.importorskip("ray")
    if not _cli_has("replay", "--shard-by"):
        pytest.skip("CLI integration pending: onlinekit replay --shard-by")
    from onlinekit.cli import main

    src = _csv(tmp_path / "s.csv")
    outs = []
    for extra in ([], ["--backend", "ray"]):
        d = tmp_path / ("ray" if extra else "loc")
        r = CliRunner().invoke(main, ["replay", str(src), "-l", "ogd", "--shard-by", "tenant", "--out", str(d), *extra])
        assert r.exit_code == 0, r.output
        outs.append((d / "shards.csv").read_text())
    assert outs[0] == outs[1]


@pytest.mark.ray
def test_cli_experiment_on_ray_prints_only_the_table(tmp_path):
    """Ray's own log lines (raylet, workers, start-up) stay out of the printed table."""
    import os
    import subprocess
    import sys

    pytest.importorskip("ray")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    r = subprocess.run([sys.executable, "-m", "onlinekit.cli", "experiment", "ogd-regret", "--quick", "--seeds", "2",
                        "--backend", "ray", "--jobs", "1", "--out", str(tmp_path), "--no-progress"],
                       capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    table = (tmp_path / "table.md").read_text()
    import csv

    with (tmp_path / "comparison.csv").open() as f:
        verdicts = [row["verdict"] for row in csv.DictReader(f)]
    counts = ", ".join(f"{verdicts.count(v)} {v}" for v in dict.fromkeys(verdicts))
    assert r.stdout == (table + "\n" + f"paper vs ours: {counts} (see {tmp_path / 'comparison.md'})\n"
                        + f"wrote 8 file(s) to {tmp_path}\n")
    assert r.stderr == ""  # no "INFO worker.py ... Started a local Ray instance", no raylet lines

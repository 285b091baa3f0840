"""benchmarks/gpu_check.py: skips cleanly without a GPU, agrees under the simulator, and its
agreement test fails on disagreeing results."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"


def _module():
    spec = importlib.util.spec_from_file_location("_gpu_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _run(args, sim: bool):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    if sim:
        env["NUMBA_ENABLE_CUDASIM"] = "1"
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=300)


def test_agreement_rule_can_fail():
    gc = _module()
    b = {"loss": np.array([1.0, 2.0, 3.0]), "lists": np.array([[0, 1]])}
    assert gc._agree({"loss": b["loss"].copy(), "lists": b["lists"].copy()}, b, exact=True)[0]
    one_ulp = {"loss": np.nextafter(b["loss"], 10.0), "lists": b["lists"]}
    assert not gc._agree(one_ulp, b, exact=True)[0]  # simulator: bit for bit
    assert gc._agree(one_ulp, b, exact=False)[0]  # GPU: within 1e-9
    assert not gc._agree({"loss": b["loss"] * (1 + 1e-8), "lists": b["lists"]}, b, exact=False)[0]
    assert not gc._agree({"loss": b["loss"], "lists": b["lists"][:, ::-1]}, b, exact=False)[0]


def test_simulator_run_agrees_bit_for_bit(tmp_path):
    r = _run(["--simulator", "--seed", "11", "--out", str(tmp_path)], sim=True)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads((tmp_path / "gpu_check-simulator.json").read_text())
    assert doc["seed"] == 11 and set(doc["kernels"]) == {"ogd", "hedge", "tree", "best_perm"}
    assert all(v["agree"] and v["max_rel_diff"] == 0.0 for v in doc["kernels"].values())


def test_without_a_gpu_it_skips_with_a_message(tmp_path):
    probe = subprocess.run([sys.executable, "-c", "from numba import cuda; print(cuda.is_available())"],
                           capture_output=True, text=True,
                           env={k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"})
    if probe.stdout.strip() == "True":
        pytest.skip("a GPU is present: run benchmarks/gpu_check.py itself")
    r = _run(["--out", str(tmp_path)], sim=False)
    assert r.returncode == 0 and r.stdout.startswith("gpu_check: skipped: no CUDA GPU")
    assert not any(tmp_path.iterdir())

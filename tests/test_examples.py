"""Every example script runs with --quick."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.py"))


#: what an example's output must show, beyond running (the only place each example runs)
EXPECT = {
    "experts": lambda lines: lines[0].startswith("5000 events") and any(ln.startswith("always_on") for ln in lines),
    "bidding": lambda lines: any("grid LP" in ln for ln in lines),
    "privacy": lambda lines: any("sqrt" in ln for ln in lines) and any("MaxSum" in ln for ln in lines),
    "cascade": lambda lines: any("CascadingVI" in ln for ln in lines) and any("CascadeKL-UCB" in ln for ln in lines),
    "fair": lambda lines: any("lambda" in ln for ln in lines),
}


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_quick(script, tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True, text=True,
                       cwd=tmp_path, env=env, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    assert r.stdout.strip(), "an example should print what it found"
    check = EXPECT.get(script.stem)
    assert check is None or check(r.stdout.splitlines()), r.stdout[-2000:]

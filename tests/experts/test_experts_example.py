"""examples/experts.py runs with --quick."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_example_quick():
    out = subprocess.run([sys.executable, str(ROOT / "examples" / "experts.py"), "--quick"],
                         capture_output=True, text=True, timeout=120, check=True)
    lines = out.stdout.splitlines()
    assert lines[0].startswith("5000 events")
    assert any(line.startswith("always_on") for line in lines)

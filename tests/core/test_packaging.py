"""The wheel installs onlinekit, onlinekit.solvers and onlinekit.streams -- and nothing else."""

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(REPO)],
                   check=True, capture_output=True)
    (whl,) = out.glob("onlinekit-*.whl")
    return whl


def test_wheel_layout(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"onlinekit"}, tops
    assert "onlinekit/solvers/__init__.py" in names and "onlinekit/streams/__init__.py" in names
    assert not any(n.startswith(("tests/", "benchmarks/", "examples/")) for n in names)


def test_wheel_installs_into_fresh_venv(wheel, tmp_path):
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    py = env / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], check=True)
    # dependencies come from the test environment, appended after the fresh venv's own site
    deps = sysconfig.get_paths()["purelib"]
    code = (
        "import sys; sys.path.append(%r)\n"
        "import importlib.util as u, onlinekit, onlinekit.solvers, onlinekit.streams\n"
        "assert onlinekit.__file__.startswith(%r), onlinekit.__file__\n"
        "assert u.find_spec('solvers') is None and u.find_spec('streams') is None\n"
        "from onlinekit.registry import learners; assert 'ogd' in learners()\n"
        "print('ok')\n" % (deps, str(env))
    )
    r = subprocess.run([str(py), "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr

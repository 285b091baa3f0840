"""The wheel installs onlinekit, onlinekit.solvers and onlinekit.streams -- and nothing else."""

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _fresh_venv(path: Path) -> tuple[Path, list[str]]:
    """A new venv without its own pip (no ensurepip run) and the pip command that installs into
    it: this environment's pip, pointed at the venv's interpreter (``pip --python``)."""
    venv.create(path, with_pip=False)
    py = path / "bin" / "python"
    return py, [sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index", "-q"]


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
    py, pip = _fresh_venv(env)
    subprocess.run([*pip, str(wheel)], check=True)
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


def test_wheel_then_editable_in_one_venv_leaves_no_cache_in_the_package(wheel, tmp_path):
    # The README's two commands in one clone: `pip install .` (then a replay, which compiles
    # kernels), then `pip install -e .`. numba's default cache sits beside each module, i.e.
    # inside site-packages, where it shadowed the editable package. The cache must go to a
    # per-user folder instead (here XDG_CACHE_HOME, NUMBA_CACHE_DIR unset).
    import os

    env_dir = tmp_path / "venv"
    py, pip = _fresh_venv(env_dir)
    deps = sysconfig.get_paths()["purelib"]
    site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "test-deps.pth").write_text(deps + "\n")  # numpy, numba, ... from the test environment
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    pip = [*pip, "--no-build-isolation"]
    subprocess.run([*pip, str(wheel)], check=True, env=env)
    r = subprocess.run([str(env_dir / "bin" / "onlinekit"), "replay", "synthetic:linear?n=2000&d=3&seed=0",
                        "--learner", "ogd"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    inside = [p for p in Path(site, "onlinekit").rglob("*") if p.suffix in (".nbi", ".nbc")]
    assert inside == [], f"numba cache files inside the installed package: {inside[:3]}"
    assert list((tmp_path / "cache" / "onlinekit" / "numba").rglob("*.nbi")), "no per-user numba cache written"

    subprocess.run([*pip, "-e", str(REPO)], check=True, env=env, capture_output=True)
    code = (
        "import importlib, onlinekit\n"
        "from onlinekit.registry import learners, get_learner_class\n"
        "assert onlinekit.__file__.startswith(%r), onlinekit.__file__\n"
        "for fam in ('oco', 'experts', 'fair', 'bidding', 'privacy', 'cascade', 'streams', 'solvers'):\n"
        "    importlib.import_module('onlinekit.' + fam)\n"
        "names = list(learners())\n"
        "for n in names: get_learner_class(n)\n"
        "print(len(names))\n" % str(REPO)
    )
    r = subprocess.run([str(py), "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    from onlinekit.registry import learners

    assert int(r.stdout.strip()) == len(learners())
    r = subprocess.run([str(env_dir / "bin" / "onlinekit"), "learners"], capture_output=True, text=True, env=env)
    assert len(r.stdout.strip().splitlines()) == len(learners())

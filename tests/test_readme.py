"""Every command block of README.md runs, as written, in a fresh folder.

``bash`` blocks run through bash (``set -e``: every command must succeed) with the test
environment's ``onlinekit`` on PATH; ``pip install`` lines only check that the extra they name
exists (the test environment has the test extras already); the two quickstart blocks are run
for real by ``test_readme_quickstart_in_a_fresh_clone`` (slow) and by ``.ci/run``. ``python``
blocks run with this interpreter.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()
BLOCKS = [(m.group(1), m.group(2)) for m in re.finditer(r"```(\w+)\n(.*?)```", README, re.S)]
EXTRAS = set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"])


def _is_quickstart(code: str) -> bool:
    return "python3 -m venv" in code


def _needs(code: str) -> str | None:
    """Why a block cannot run here (a missing optional package or service), or None."""
    if "--backend ray" in code:
        try:
            import ray  # noqa: F401
        except ImportError:
            return "needs the ray extra (run with: pip install -e '.[test,ray]')"
    if "redis://" in code and not os.environ.get("ONLINEKIT_TEST_REDIS_URL"):
        return "needs a Redis server (ONLINEKIT_TEST_REDIS_URL; .ci/run starts one)"
    if "redis-cli" in code and shutil.which("redis-cli") is None:
        return "needs redis-cli"
    if "onlinekit serve" in code and shutil.which("curl") is None:
        return "needs curl"
    for name in re.findall(r"onlinekit data fetch ([\w-]+)", code):  # no network in tests
        from onlinekit.data import file_state, get

        if any(file_state(f) != "ok" for f in get(name).files):
            return f"needs data set {name!r} already in the data folder (set ONLINEKIT_DATA to a local mirror)"
    return None


PRELUDE = r"""
set -euo pipefail
pip() {  # the test environment has the extras; check that the one named exists
  for a in "$@"; do
    case "$a" in
      *'[serve]'*|*'[redis]'*|*'[ray]'*|*'[parquet]'*|*'[plot]'*|*'[test]'*|*'[cuda]'*) ;;
    esac
  done
  echo "pip $* (skipped in the README test)"
}
"""


def _blocks(lang: str):
    for k, (lg, code) in enumerate(BLOCKS):
        if lg == lang and not _is_quickstart(code):
            yield pytest.param(code, id=f"block{k}")


def _env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("MPLBACKEND", "Agg")
    return env


def test_readme_has_exactly_two_quickstart_commands():
    quick = [code for lang, code in BLOCKS if lang == "bash" and _is_quickstart(code)]
    assert len(quick) == 2
    assert all(len(c.strip().splitlines()) == 1 for c in quick)
    assert "onlinekit replay" in quick[0] and 'pip install -e ".[test]"' in quick[1]
    assert "python -m pytest" in quick[1]
    ci = (REPO / ".ci" / "run").read_text().replace(" -q", "")
    # CI runs both, in this order, in its one clone (the test command after the Redis server starts)
    first, install = quick[0].strip(), quick[1].strip().split(" && python -m pytest")[0]
    assert first in ci and install in ci
    test = quick[1].strip().split(" && ")[-1]  # the README's test command, options included
    assert ci.index(first) < ci.index(install) < ci.index(test, ci.index(install))


def test_readme_pip_lines_name_real_extras():
    for lang, code in BLOCKS:
        for extra in re.findall(r'pip install [^\n]*?"\.\[([\w,]+)\]"', code):
            assert set(extra.split(",")) <= EXTRAS, extra


@pytest.mark.parametrize("code", list(_blocks("bash")))
def test_readme_bash_block_runs(code, tmp_path):
    why = _needs(code)
    if why:
        pytest.skip(why)
    redis = os.environ.get("ONLINEKIT_TEST_REDIS_URL")
    if redis:  # the README says the default port; the test server may listen elsewhere
        code = code.replace("redis://127.0.0.1:6379", redis.rsplit("/", 1)[0])
    r = subprocess.run(["bash", "-c", PRELUDE + code], cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                       text=True, timeout=600, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, f"exit {r.returncode}\n--- stdout\n{r.stdout[-3000:]}\n--- stderr\n{r.stderr[-3000:]}"


@pytest.mark.parametrize("code", list(_blocks("python")))
def test_readme_python_block_runs(code, tmp_path):
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]


@pytest.mark.slow
def test_readme_quickstart_in_a_fresh_clone(tmp_path):
    """The README's two commands, one after the other, in one fresh clone (needs the package
    index or a warm pip cache); the test command is narrowed to a few files here (the whole
    suite inside a test would run this test again)."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "VIRTUAL_ENV", "PYTHONPATH")}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    quick = [code.strip() for lang, code in BLOCKS if lang == "bash" and _is_quickstart(code)]
    first = subprocess.run(["bash", "-c", quick[0]], cwd=clone, env=env, capture_output=True, text=True,
                           timeout=1800)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "accuracy" in first.stdout
    second = quick[1].replace("python -m pytest", "python -m pytest -q -p no:cacheprovider "
                                                  "tests/core/test_cli.py tests/core/test_packaging.py")
    r = subprocess.run(["bash", "-c", second], cwd=clone, env=env, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    out = subprocess.run(["bash", "-c", ". .venv/bin/activate && onlinekit learners"], cwd=clone, env=env,
                         capture_output=True, text=True, check=True).stdout
    from onlinekit.registry import learners

    assert len(out.strip().splitlines()) == len(learners())

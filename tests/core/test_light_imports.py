"""`import onlinekit` and the CLI's --help must not import numba, cvxpy or river."""

import subprocess
import sys

HEAVY = ("numba", "cvxpy", "river", "scipy", "matplotlib", "pyarrow")


def _loaded(code: str) -> set[str]:
    r = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
                       capture_output=True, text=True, check=True)
    return set(r.stdout.split())


def test_import_onlinekit_is_light():
    mods = _loaded("import onlinekit, onlinekit.streams, onlinekit.solvers, onlinekit.registry")
    assert not {m for m in mods if m.split(".")[0] in HEAVY}


def test_cli_help_is_light():
    mods = _loaded("from click.testing import CliRunner\nfrom onlinekit.cli import main\n"
                   "assert CliRunner().invoke(main, ['--help']).exit_code == 0\n"
                   "assert CliRunner().invoke(main, ['learners']).exit_code == 0")
    assert not {m for m in mods if m.split(".")[0] in HEAVY}

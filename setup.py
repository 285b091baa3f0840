"""Package discovery for onlinekit.

``solvers/`` and ``streams/`` sit at the repository top level but install as
``onlinekit.solvers`` and ``onlinekit.streams`` (see DESIGN.md section 2), so nothing
generic lands in site-packages. All metadata lives in ``pyproject.toml``.
"""

from setuptools import find_packages, setup

REMAPPED = {"solvers": "onlinekit.solvers", "streams": "onlinekit.streams"}

packages = find_packages(include=["onlinekit", "onlinekit.*"])
package_dir = {"onlinekit": "onlinekit"}
for top, target in REMAPPED.items():
    package_dir[target] = top
    for name in find_packages(include=[top, top + ".*"]):
        packages.append(target + name[len(top):])

setup(packages=packages, package_dir=package_dir)

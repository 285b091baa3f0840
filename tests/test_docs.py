"""Doctests of every module, and every public name documented with an Examples section."""

import doctest
import importlib
import inspect
import pkgutil

import pytest

import onlinekit


def _modules():
    names = ["onlinekit"]
    for info in pkgutil.walk_packages(onlinekit.__path__, "onlinekit."):
        names.append(info.name)
    for sub in ("onlinekit.solvers", "onlinekit.streams"):
        mod = importlib.import_module(sub)
        names.append(sub)
        names += [i.name for i in pkgutil.walk_packages(mod.__path__, sub + ".")]
    return sorted(set(names))


MODULES = _modules()
FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    mod = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report: list[str] = []
    for test in finder.find(mod, name):
        runner.run(test, out=report.append)
    res = runner.summarize(verbose=False)
    assert res.failed == 0, f"{res.failed} doctest failure(s) in {name}:\n" + "".join(report)[-3000:]


def _public_objects():
    for name in MODULES:
        if name.rsplit(".", 1)[-1].startswith("_"):
            continue
        try:
            mod = importlib.import_module(name)
        except ImportError as exc:  # reported by test_doctests too
            yield f"{name} (import failed: {exc})", None
            continue
        for attr in getattr(mod, "__all__", []):
            try:
                obj = getattr(mod, attr, None)
            except ImportError as exc:
                yield f"{name}.{attr} (import failed: {exc})", None
                continue
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and obj.__module__ == name:
                yield f"{name}.{attr}", obj


@pytest.mark.parametrize("qualname,obj", list(_public_objects()), ids=lambda v: v if isinstance(v, str) else "")
def test_public_names_documented(qualname, obj):
    assert obj is not None, qualname
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"{qualname} has no docstring"
    if inspect.isclass(obj) and hasattr(obj, "reset") and (hasattr(obj, "learn_one") or hasattr(obj, "act")
                                                           or hasattr(obj, "release") or hasattr(obj, "play")):
        assert "Examples" in doc and ">>>" in doc, f"learner {qualname} needs a runnable Examples section"

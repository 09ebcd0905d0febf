"""Every docstring example under adamcheck/ runs and prints what it shows.

One test per module, found by walking the package, so a new module's examples are
tested without anyone listing it. Examples that use torch, transformers, jax or optax
(and modules that import jax) are skipped only when that package is not importable, and
the skip says so.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import pkgutil

import pytest

import adamcheck

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
OPTIONAL = ("torch", "transformers", "jax", "optax")


def _module_names() -> list[str]:
    names = ["adamcheck"]
    for info in pkgutil.walk_packages(adamcheck.__path__, "adamcheck."):
        if not info.name.endswith("__main__"):  # importing it runs the CLI
            names.append(info.name)
    return sorted(names)


MODULES = _module_names()


def _needs(tests: list[doctest.DocTest]) -> list[str]:
    source = "\n".join(ex.source for t in tests for ex in t.examples)
    return [pkg for pkg in OPTIONAL if pkg in source and importlib.util.find_spec(pkg) is None]


def test_every_module_is_walked():
    assert {"adamcheck.theory._problems", "adamcheck.drift._boundary", "adamcheck.cli.recommend"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # adamcheck.optax's modules import jax and optax at the top
        if exc.name not in OPTIONAL + ("jaxlib",):
            raise
        pytest.skip(f"{name}: needs {exc.name}, which is not installed")
    tests = [t for t in doctest.DocTestFinder(exclude_empty=True).find(module, name) if t.examples]
    if not tests:
        return
    missing = _needs(tests)
    if missing:
        pytest.skip(f"{name}: examples need {', '.join(missing)}, which is not installed")
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report: list[str] = []
    for test in tests:
        runner.run(test, out=report.append)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} failing examples\n" + "".join(report)[-4000:]

"""Every docstring example under adamcheck/ runs, once, and prints what it shows.

The one doctest runner of the suite. The modules are found by walking the package's folders
(pkgutil, without importing anything), so a new module's examples are tested without anyone
listing it, and the test ids are the same with or without the optional dependencies. Each
module with examples is one test, which runs all of them once and checks that doctest found
every example written in the module's docstrings (an example doctest cannot reach, e.g. in a
nested function, would otherwise never run).

Modules, or examples, that need torch, transformers, lightning, jax or optax are skipped only
when that package is not importable, and the skip names it. Examples run in a temporary
working directory, so those that write files write them there.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import importlib.util
import os
import pkgutil
from pathlib import Path

import pytest

import adamcheck

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
OPTIONAL = ("torch", "transformers", "lightning", "jax", "optax")

# Modules that must keep examples: those the suite's former hand-kept doctest lists
# (theory/, symbolic/, noise/) asserted ran at least one.
MUST_HAVE_EXAMPLES = {
    "adamcheck.theory._lib",
    "adamcheck.theory._recurrence",
    "adamcheck.theory._theorem22",
    "adamcheck.theory._shi",
    "adamcheck.theory._problems",
    "adamcheck.symbolic",
    "adamcheck.symbolic._symbols",
    "adamcheck.symbolic._export",
    "adamcheck.symbolic._recurrence",
    "adamcheck.symbolic._conditions",
    "adamcheck.symbolic._counterexamples",
    "adamcheck.symbolic._derive",
    "adamcheck.noise._scale",
    "adamcheck.noise._source",
    "adamcheck.noise._accumulate",
    "adamcheck.noise._constants",
    "adamcheck.noise._frontier",
    "adamcheck.noise._sampling",
    "adamcheck.noise._signal",
    "adamcheck.noise._estimate",
    "adamcheck.noise._torch",
}


def _walk(path: str, prefix: str) -> dict[str, Path]:
    """Module name -> source file of every module under ``path``, found without importing."""
    found: dict[str, Path] = {}
    for info in pkgutil.iter_modules([path]):
        name = prefix + info.name
        if info.ispkg:
            found[name] = Path(path, info.name, "__init__.py")
            found.update(_walk(os.path.join(path, info.name), name + "."))
        elif info.name != "__main__":  # importing it runs the CLI
            found[name] = Path(path, info.name + ".py")
    return found


FILES = {"adamcheck": Path(adamcheck.__file__), **_walk(adamcheck.__path__[0], "adamcheck.")}


def _written(source: Path) -> int:
    """How many examples the docstrings of ``source`` hold, as doctest's parser counts them."""
    parser = doctest.DocTestParser()
    nodes = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
    count = 0
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        doc = ast.get_docstring(node, clean=False) if isinstance(node, nodes) else None
        if doc:
            count += len(parser.get_examples(doc))
    return count


WRITTEN = {name: _written(path) for name, path in FILES.items()}
MODULES = sorted(name for name, count in WRITTEN.items() if count)


def _needs(tests: list[doctest.DocTest]) -> list[str]:
    source = "\n".join(ex.source for t in tests for ex in t.examples)
    return [pkg for pkg in OPTIONAL if pkg in source and importlib.util.find_spec(pkg) is None]


def test_every_module_is_walked():
    assert {"adamcheck.theory._problems", "adamcheck.drift._boundary", "adamcheck.cli.recommend"} <= set(FILES)
    assert {"adamcheck.optax._monitor", "adamcheck.torch._monitor"} <= set(MODULES)


def test_listed_modules_keep_their_examples():
    assert MUST_HAVE_EXAMPLES <= set(FILES)
    assert sorted(MUST_HAVE_EXAMPLES - set(MODULES)) == []


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, tmp_path, monkeypatch):
    try:
        module = importlib.import_module(name)
    except ImportError as exc:  # a module that imports an optional dependency at the top
        missing = (exc.name or "").split(".")[0]
        if missing not in OPTIONAL + ("jaxlib",):
            raise
        pytest.skip(f"{name}: needs {missing}, which is not installed")
    tests = [t for t in doctest.DocTestFinder(exclude_empty=True).find(module, name) if t.examples]
    found = sum(len(t.examples) for t in tests)
    assert found == WRITTEN[name], (
        f"{name}: {WRITTEN[name]} examples written in its docstrings, doctest finds {found} "
        "(an example in a nested function or a docstring doctest does not collect never runs)"
    )
    missing = _needs(tests)
    if missing:
        pytest.skip(f"{name}: examples need {', '.join(missing)}, which is not installed")
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report: list[str] = []
    for test in tests:
        runner.run(test, out=report.append)
    result = runner.summarize(verbose=False)
    assert result.attempted == found
    assert result.failed == 0, f"{name}: {result.failed} failing examples\n" + "".join(report)[-4000:]

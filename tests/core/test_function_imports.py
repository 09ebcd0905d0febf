"""Imports sit at the top of adamcheck's modules, except those that say why they cannot.

An import inside a function hides a module's structure from readers and tools (issue 23). Three
reasons allow one, each named in a comment on the import's first line or the line above it:

* ``# optional: <package>`` - an optional dependency (torch, transformers, lightning, jax, optax);
* ``# lazy: <why>`` - a heavy import kept off a fast path, or an import cycle. The fast paths
  are held by test_fast_paths_stay_light below and by
  tests/configs/test_check_cli.py::test_subprocess_no_traceback_and_light_imports,
  tests/recommend/test_recommend.py::test_recommend_imports_nothing_heavy,
  tests/noise/test_estimate_cli.py::test_no_heavy_imports_and_no_traceback,
  tests/drift/test_drift_boundary.py::test_public_names_are_lazy_reexports and
  tests/theory/test_theory.py::test_theory_solvers_import_neither_sympy_nor_numpy.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "adamcheck"
OPTIONAL = {"torch", "transformers", "lightning", "jax", "optax"}


def _function_imports(tree: ast.AST):
    """Import nodes whose enclosing scope is a function (nested blocks included)."""

    def visit(node: ast.AST, in_function: bool):
        for child in ast.iter_child_nodes(node):
            if in_function and isinstance(child, (ast.Import, ast.ImportFrom)):
                yield child
            yield from visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    yield from visit(tree, False)


def _reason(lines: list[str], node: ast.stmt) -> tuple[str, str] | None:
    for text in (lines[node.lineno - 1], lines[node.lineno - 2] if node.lineno > 1 else ""):
        for tag in ("lazy", "optional"):
            marker = f"# {tag}:"
            if marker in text:
                return tag, text.split(marker, 1)[1].strip()
    return None


def _top_package(node: ast.stmt) -> str | None:
    if isinstance(node, ast.ImportFrom):
        return None if node.level else (node.module or "").split(".")[0]
    return node.names[0].name.split(".")[0]


def _problems(root: Path) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        if "proofs" in path.relative_to(root).parts[:1]:  # a symlink to the top-level proofs/
            continue
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in _function_imports(ast.parse(source)):
            where = f"{path.relative_to(root.parent)}:{node.lineno}: {ast.unparse(node)}"
            reason = _reason(lines, node)
            if reason is None:
                problems.append(f"{where} - move it to the module top, or say why not (# lazy: / # optional:)")
            elif not reason[1]:
                problems.append(f"{where} - '# {reason[0]}:' needs a reason after it")
            elif reason[0] == "optional" and _top_package(node) not in OPTIONAL:
                problems.append(f"{where} - '# optional:' is for {sorted(OPTIONAL)} only; use '# lazy:'")
    return problems


def test_function_level_imports_state_their_reason():
    problems = _problems(ROOT)
    assert not problems, "\n".join(problems)


def test_the_walk_finds_unmarked_imports(tmp_path):
    # the check itself can fail: a bare import, an empty reason and a misused tag are reported
    package = tmp_path / "adamcheck"
    package.mkdir()
    (package / "m.py").write_text(
        "import os\n"
        "def f():\n"
        "    from . import g\n"
        "    import numpy as np  # lazy:\n"
        "    import yaml  # optional: yaml\n"
        "    # lazy: keeps numpy off the fast path\n"
        "    from .h import k\n"
        "    if True:\n"
        "        import torch  # optional: torch\n"
        "        import json\n"
        "    return os, g, np, yaml, k, torch, json\n"
    )
    found = _problems(package)
    assert [line.split(":")[1] for line in found] == ["3", "4", "5", "10"], found


_PROBE = """
import sys
{setup}
heavy = sorted({{m.split('.')[0] for m in sys.modules}} & {{'numpy', 'scipy', 'sympy', 'matplotlib', 'torch'}})
print('HEAVY', heavy)
"""
_CLI = "from adamcheck.cli import main\ntry:\n    main({args!r})\nexcept SystemExit:\n    pass"


@pytest.mark.parametrize("setup, forbidden", [
    ("import adamcheck", {"numpy", "scipy", "sympy", "matplotlib", "torch"}),
    ("import adamcheck.configs", {"numpy", "scipy", "sympy", "matplotlib", "torch"}),
    (_CLI.format(args=["--help"]), {"scipy", "sympy", "matplotlib", "torch"}),
    (_CLI.format(args=["recommend", "--help"]), {"numpy", "scipy", "sympy", "matplotlib", "torch"}),
    (_CLI.format(args=["check", "--help"]), {"numpy", "scipy", "sympy", "matplotlib", "torch"}),
    (_CLI.format(args=["boundary", "--help"]), {"numpy", "scipy", "sympy", "matplotlib", "torch"}),
])
def test_fast_paths_stay_light(setup, forbidden):
    # the measured reason behind most '# lazy:' comments: these paths load none of the heavy packages
    proc = subprocess.run([sys.executable, "-c", _PROBE.format(setup=setup)], capture_output=True, text=True,
                          cwd=ROOT.parent, timeout=120)
    line = [x for x in proc.stdout.splitlines() if x.startswith("HEAVY")]
    assert line, proc.stdout + proc.stderr
    assert not set(ast.literal_eval(line[0][len("HEAVY "):])) & forbidden, (setup, line[0])

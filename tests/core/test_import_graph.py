"""No import cycles between adamcheck's files (imports inside functions included).

A deferred import hides a cycle from Python's import machinery but not from a reader:
the two files still depend on each other. theory/ is the floor: it may import nothing of
adamcheck except the error classes and the input checks.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "adamcheck"


def _module_name(path: Path) -> str:
    parts = ("adamcheck",) + path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    # adamcheck/proofs is a symlink to the top-level proofs/ package, not library code.
    return {
        _module_name(p): p
        for p in ROOT.rglob("*.py")
        if "proofs" not in p.relative_to(ROOT).parts[:1]
    }


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """adamcheck modules that ``name`` imports anywhere in its file."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            # `from pkg import sub` depends on the submodule when there is one
            targets = [f"{stem}.{alias.name}" if f"{stem}.{alias.name}" in known else stem for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import adamcheck.x.y as z` -> adamcheck.x.y
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(name, path, known) for name, path in modules.items()}


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {node: WHITE for node in graph}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = GREY
        stack.append(node)
        for nxt in sorted(graph[node]):
            if colour[nxt] == GREY:
                return stack[stack.index(nxt):] + [nxt]
            if colour[nxt] == WHITE and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        colour[node] = BLACK
        return None

    for node in sorted(graph):
        if colour[node] == WHITE and (cycle := visit(node)):
            return cycle
    return None


def test_the_parser_sees_known_edges():
    """The graph is not empty by accident: edges we know exist are found."""
    graph = _graph()
    assert "adamcheck.simulator._outcomes" in graph["adamcheck.simulator._engine"]
    assert "adamcheck.theory._problems" in graph["adamcheck.theory"]
    assert "adamcheck.theory" in graph["adamcheck.problems._counterexample"]
    assert len(graph) > 80


def test_cycle_finder_finds_a_planted_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles():
    cycle = _find_cycle(_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_theory_is_the_floor():
    allowed = {"adamcheck._errors", "adamcheck._validate"}
    graph = _graph()
    for name, deps in graph.items():
        if name == "adamcheck.theory" or name.startswith("adamcheck.theory."):
            outside = {d for d in deps if not d.startswith("adamcheck.theory")} - allowed
            assert not outside, f"{name} imports {sorted(outside)}"


def test_the_torch_wing_callback_imports_first_in_a_fresh_process():
    """adamcheck.torch._hf imports adamcheck.configs, whose __init__ re-exports the callback:
    importing the wing first was a cycle the submodule graph above does not see (package
    __init__ files are not followed); the re-export is now lazy."""
    import subprocess
    import sys

    code = ("import adamcheck.torch._hf, adamcheck.configs as c; "
            "assert c.hf_check_callback is adamcheck.torch._hf.hf_check_callback")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=str(ROOT.parent))
    assert proc.returncode == 0, proc.stderr[-2000:]

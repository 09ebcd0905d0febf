"""Shared fixtures.

* ``run_cli(*args)`` runs the CLI in-process and returns (exit_code, stdout, stderr).
* ``run_cli_subprocess(*args)`` runs ``python -m adamcheck`` in a fresh interpreter
  (for import-cost and no-traceback checks); the checkout is first on PYTHONPATH.
* ``torch`` is a marker: those tests are skipped, with the reason, when torch is
  not importable. CI installs torch, so they run there.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _torch_available() -> bool:
    try:
        import torch  # noqa: F401
    except Exception:
        return False
    return True


TORCH = _torch_available()


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="torch is not importable; install adamcheck[torch] to run")
    for item in items:
        if "torch" in item.keywords and not TORCH:
            item.add_marker(skip)


def _run_cli(*args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of one in-process CLI call."""
    from adamcheck.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def run_cli():
    return _run_cli


@pytest.fixture(scope="module")
def run_cli_module():
    """:func:`run_cli` for module-scoped fixtures (one expensive call shared by a module's tests)."""
    return _run_cli


@pytest.fixture
def run_cli_subprocess():
    def run(*args: str, timeout: float = 120, cwd: str | os.PathLike | None = None):
        env = dict(os.environ)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        env.pop("ADAMCHECK_DEBUG", None)
        proc = subprocess.run(
            [sys.executable, "-m", "adamcheck", *[str(a) for a in args]],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=cwd,
        )
        return proc.returncode, proc.stdout, proc.stderr

    return run


@pytest.fixture
def root() -> Path:
    return ROOT

"""Shared set-up of the real-training tests: the suite's scripts on the path, one problem loader."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "validity"))


@pytest.fixture(scope="module")
def load_problem():
    """``load_problem(name)``: a problem of benchmarks/validity/problems.py, torch on one thread
    (many small kernels: one thread is far faster on a busy machine)."""
    torch = pytest.importorskip("torch", reason="real training needs torch")

    def load(name: str):
        from problems import load_problem as load_suite_problem

        torch.set_num_threads(1)
        return load_suite_problem(name)

    return load

"""The runnable examples in the docstrings of theory/, symbolic/ and proofs/ stay correct."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
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
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0

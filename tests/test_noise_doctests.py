"""The docstring examples of adamcheck.noise run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["_scale", "_source", "_accumulate", "_constants", "_frontier", "_sampling", "_estimate", "_distributed"]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name):
    module = importlib.import_module(f"adamcheck.noise.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 or name == "_distributed"
    assert result.failed == 0


@pytest.mark.torch
def test_torch_doctests():
    module = importlib.import_module("adamcheck.noise._torch")
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0

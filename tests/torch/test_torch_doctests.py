"""The docstring examples of adamcheck.torch run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

pytestmark = pytest.mark.torch


@pytest.mark.parametrize("name", ["_sample", "_monitor"])
def test_doctests(name):
    module = importlib.import_module(f"adamcheck.torch.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0

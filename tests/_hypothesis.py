"""hypothesis when it is installed; else stand-ins that mark each property test skipped.

hypothesis comes with ``pip install 'adamcheck[test]'``. Without it, the modules that
hold property tests still import, their other tests run, and every ``@given`` test is
reported as skipped with the reason (never as passed).
"""

from __future__ import annotations

from typing import Any

import pytest

REASON_MISSING = "hypothesis is not installed (pip install 'adamcheck[test]')"

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    AVAILABLE = True
except ImportError:
    AVAILABLE = False

    class _Stand:
        """Any strategy, strategy function or setting: attributes and calls give itself."""

        def __getattr__(self, name: str) -> Any:
            return self

        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return self

    st = HealthCheck = _Stand()

    def settings(*args: Any, **kwargs: Any) -> Any:
        return lambda test: test

    def given(*args: Any, **kwargs: Any) -> Any:
        return pytest.mark.skip(reason=REASON_MISSING)

__all__ = ["AVAILABLE", "REASON_MISSING", "HealthCheck", "given", "settings", "st"]

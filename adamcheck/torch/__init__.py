"""adamcheck's torch tools (need ``pip install 'adamcheck[torch]'``), imported lazily."""

from __future__ import annotations

import importlib
from typing import Any

_LAZY: dict[str, str] = {
    "phase_sweep": "._sweep",
    "sweep_batch_indices": "._sweep",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'adamcheck.torch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

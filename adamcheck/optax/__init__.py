"""JAX/optax integration (extra ``adamcheck[jax]``): the training monitor as an optax transformation.

Every name is imported lazily (PEP 562), so ``import adamcheck.optax`` does not import jax
until a name is used, and ``import adamcheck`` never does.

* :func:`monitor`: ``optax.chain(adamcheck.optax.monitor(batch_size=B, b1=0.9, b2=0.999),
  optax.adamw(1e-3, b1=0.9, b2=0.999))`` records the same sampled statistics as
  :class:`adamcheck.torch.GradientMonitor` (jitted gathers inside the update, analyses on
  the host), warns on the same rules, and writes the same file (``adamcheck recommend
  --gradients FILE``).
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name -> private module defining it (one line per name, so additions merge cleanly)
_LAZY: dict[str, str] = {
    "monitor": "._monitor",
    "MonitorState": "._monitor",
    "MonitorTransformation": "._monitor",
    "OptaxMonitor": "._monitor",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'adamcheck.optax' has no attribute {name!r}")
    try:
        value = getattr(importlib.import_module(module, __name__), name)
    except ImportError as exc:
        if exc.name not in ("jax", "jaxlib", "optax"):
            raise
        from .._errors import InvalidParameterError

        raise InvalidParameterError(f"adamcheck.optax needs jax and optax ({exc.name} is not installed): "
                                    "pip install 'adamcheck[jax]'") from None
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

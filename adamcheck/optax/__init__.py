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

from .._errors import InvalidParameterError
from .._lazy import lazy_exports

#: public name -> private module defining it (one line per name, so additions merge cleanly)
_LAZY: dict[str, str] = {
    "monitor": "._monitor",
    "MonitorState": "._monitor",
    "MonitorTransformation": "._monitor",
    "OptaxMonitor": "._monitor",
}

__all__ = sorted(_LAZY)


def _needs_jax(exc: ImportError) -> None:
    if exc.name in ("jax", "jaxlib", "optax"):
        raise InvalidParameterError(f"adamcheck.optax needs jax and optax ({exc.name} is not installed): "
                                    "pip install 'adamcheck[jax]'") from None


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals(), on_import_error=_needs_jax)

"""The parameters a torch helper differentiates, and torch itself with our install hint.

Shared by the full per-example gradients (:mod:`._grads`) and the coordinate-sampled
ones (:mod:`._sample`); torch is imported inside :func:`_import_torch`, never at import.
"""

from __future__ import annotations

from typing import Any, Sequence

from .._errors import InvalidParameterError

__all__ = ["trainable"]


def _import_torch(what: str = "per-example gradients from a model need") -> Any:
    """torch, or our error saying what needs it and how to install it."""
    try:
        import torch  # optional: torch
    except ImportError:  # pragma: no cover - exercised only without torch
        raise InvalidParameterError(f"{what} torch: pip install 'adamcheck[torch]'") from None
    return torch


def trainable(model: Any, params: Sequence[str] | None) -> list[tuple[str, Any]]:
    """(name, parameter) pairs to differentiate: ``params`` by name, or every trainable one."""
    named = dict(model.named_parameters())
    if params is None:
        names = [k for k, v in named.items() if v.requires_grad]
    else:
        names = list(params)
        unknown = [k for k in names if k not in named]
        if unknown:
            raise InvalidParameterError(f"model has no parameter(s) {unknown}: choose from {list(named)}")
    if not names:
        raise InvalidParameterError("no parameters to differentiate: pass params=[...] names")
    return [(k, named[k]) for k in names]

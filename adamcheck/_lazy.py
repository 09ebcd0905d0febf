"""Names a package exports but imports only on first use (PEP 562).

Why: ``import adamcheck`` and the fast CLI commands must not pay for NumPy-heavy engines,
and the optional wings (torch, jax) must not import their framework until a name is used.
One implementation serves every package that does this.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str,
    table: Mapping[str, str],
    namespace: dict[str, Any],
    on_import_error: Callable[[ImportError], None] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, whose public name -> relative module is ``table``.

    A name is imported from its module on first access and cached in ``namespace`` (the
    package's ``globals()``). ``on_import_error`` may turn a missing optional dependency
    into one of our errors (it must raise); other import errors propagate.

    Example:
        >>> getattr_, dir_ = lazy_exports("adamcheck", {"beta_text": "._answer"}, {})
        >>> getattr_("beta_text")(0.999)
        '0.999'
        >>> "beta_text" in dir_()
        True
    """

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        try:
            value = getattr(importlib.import_module(module, package), name)
        except ImportError as exc:
            if on_import_error is None:
                raise
            on_import_error(exc)
            raise
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__

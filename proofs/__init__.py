"""Machine-checked proof obligations of adamcheck (importable as ``adamcheck.proofs``).

One module per group of obligations; each exposes ``obligations() -> list[Obligation]``.
``adamcheck prove`` and ``tests/proofs/test_proofs.py`` run :func:`all_obligations` through
:func:`run`. See :mod:`._framework` for the methods (symbolic / interval / numeric)
and what each status means.
"""

from __future__ import annotations

import importlib
from typing import Callable, Iterable

from ._framework import METHODS, Obligation, ObligationResult, run_obligation

__all__ = ["MODULES", "METHODS", "Obligation", "ObligationResult", "all_obligations", "run", "run_obligation"]

#: The obligation modules, in the order ``adamcheck prove`` lists them.
MODULES = ("recurrence", "update_bound", "counterexample", "shi", "theorem22", "reddi", "crosscheck")


def all_obligations(only: str | None = None) -> list[Obligation]:
    """Every obligation (ids containing ``only``, if given), in a stable order."""
    found: list[Obligation] = []
    for name in MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        found.extend(module.obligations())
    ids = [ob.id for ob in found]
    if len(ids) != len(set(ids)):
        raise RuntimeError("duplicate obligation ids")
    if only:
        found = [ob for ob in found if only in ob.id]
    return found


def run(
    obligations: Iterable[Obligation], on_done: Callable[[ObligationResult], None] | None = None
) -> list[ObligationResult]:
    """Run obligations in order; ``on_done`` is called after each (progress bars)."""
    results = []
    for ob in obligations:
        result = run_obligation(ob)
        results.append(result)
        if on_done is not None:
            on_done(result)
    return results

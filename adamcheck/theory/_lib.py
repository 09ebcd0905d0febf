"""The tiny maths namespace that lets one formula serve numbers and SymPy alike.

Every formula in :mod:`adamcheck.theory` is written once, with ``+ - * / **`` and
the functions of a ``lib`` namespace (``sqrt``, ``log``, ``exp``, ``frac(p, q)``
for an exact ratio of integers). Numeric callers
use :data:`MATH` (the default); :mod:`adamcheck.symbolic` passes a namespace of
SymPy functions, so the symbolic objects are *built by calling the same code*
rather than restating it.
"""

from __future__ import annotations

import math
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

__all__ = ["MATH", "Lib", "div"]

Lib = SimpleNamespace

#: Float maths: ``math.sqrt`` etc. (Fractions and ints pass through + - * / unchanged).
MATH = SimpleNamespace(
    sqrt=math.sqrt, log=math.log, exp=math.exp, frac=lambda p, q: p / q, name="math"
)



def div(p: Any, q: Any) -> Any:
    """``p / q``, exact when both are ints or Fractions (an int when the ratio is whole).

    Floats and SymPy objects divide as usual, so one formula serves every caller.

    Example:
        >>> div(3, 2), div(4, 2), div(3.0, 2)
        (Fraction(3, 2), 2, 1.5)
    """
    exact = (int, Fraction)
    if isinstance(p, exact) and isinstance(q, exact) and not isinstance(p, bool):
        r = Fraction(p) / q
        return r.numerator if r.denominator == 1 else r
    return p / q

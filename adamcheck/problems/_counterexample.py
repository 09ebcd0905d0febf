"""The counterexample of Zhang et al. (2026, eq. 2.5), theory.md section 4.

For x >= -1 the component losses are linear with slopes ``1 + (n-1)a`` (f_0) and
``-a`` (f_1..f_{n-1}); below -1 each is a parabola through (-2, .) that joins C^1.
Every component gradient therefore factors as ``slope_i * min(x + 2, 1)``.

This module is the single definition of those constants: the simulator, the
two-point law and the symbolic module all call :func:`counterexample_slopes`,
which works on numbers and on SymPy symbols alike.
"""

from __future__ import annotations

from typing import Any

__all__ = ["counterexample_slopes"]


def counterexample_slopes(n: Any, a: Any) -> tuple[Any, Any]:
    """Slopes ``(1 + (n-1)a, -a)`` of f_0 and of f_1..f_{n-1} on the linear piece x >= -1.

    Works for numbers and SymPy expressions (no SymPy import here).

    Example:
        >>> counterexample_slopes(3, 0.25)
        (1.5, -0.25)
    """
    return 1 + (n - 1) * a, -a

"""Drift ratio and critical boundary (theory.md section 9; issue 5).

Public API:

* :func:`drift_ratio`, :func:`drift_ratio_grid` -> :class:`DriftEstimate`, :class:`DriftGrid`
* :func:`critical_beta2` -> :class:`CriticalBoundary` (strict and lenient beta2*)
* :func:`recommended_beta2` -> :class:`Recommendation`
* :func:`default_beta2_ladder`

Everything heavy (SciPy sparse) is imported inside the functions that need it.
"""

from ._ratio import DriftEstimate, DriftGrid, drift_ratio, drift_ratio_grid

__all__ = ["DriftEstimate", "DriftGrid", "drift_ratio", "drift_ratio_grid"]

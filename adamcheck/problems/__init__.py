"""Optimisation problems the simulator runs: counterexamples, data-driven losses, user problems.

``counterexample_slopes`` is the single definition of the section-4 counterexample's
constants (numbers or SymPy symbols).
"""

from ._base import Problem
from ._counterexample import Counterexample, counterexample_slopes
from ._data import LeastSquares, LogisticRegression, load_xy
from ._reddi import ReddiOnline, ReddiStochastic

__all__ = [
    "Problem",
    "Counterexample",
    "counterexample_slopes",
    "LeastSquares",
    "LogisticRegression",
    "load_xy",
    "ReddiOnline",
    "ReddiStochastic",
]

"""SymPy objects for Adam's recurrences, the papers' conditions and counterexamples.

Importing this package imports SymPy (import :mod:`adamcheck` alone does not).
Each object is built by calling the SymPy-free formulas of :mod:`adamcheck.theory`
with symbols, so numeric and symbolic code share one definition; ``proofs/``
machine-checks the facts (run ``adamcheck prove``). Every object has ``.latex()``
and ``.to_dict()`` (exact rationals as strings); ``adamcheck derive`` prints them.

Example:
    >>> from adamcheck.symbolic import counterexample
    >>> counterexample(3, "1/4").d1
    171/8

References:
    Zhang, Li, Chen, Luo, Sun, arXiv:2603.02092 (2026).  Shi, Li, Hong, Sun, ICLR 2021.
    Reddi, Kale, Kumar, ICLR 2018.
"""

from ..theory import shi_min_beta2
from ._conditions import (
    conditions,
    reddi_theorem1,
    shi_conditions,
    shi_t1_expr,
    shi_t2_expr,
    theorem22_condition,
    theorem22_rate,
    theorem23_class,
)
from ._counterexamples import (
    Counterexample,
    PeriodicLinearProblem,
    counterexample,
    reddi_experiment,
    reddi_online,
    reddi_stochastic,
)
from ._export import Derivation, exact_string
from ._recurrence import AdamRecurrence, closed_form_m, closed_form_v, recurrence
from ._symbols import SYMPY, exact

__all__ = [
    "SYMPY",
    "exact",
    "Derivation",
    "exact_string",
    "AdamRecurrence",
    "recurrence",
    "closed_form_m",
    "closed_form_v",
    "theorem22_condition",
    "theorem22_rate",
    "shi_t1_expr",
    "shi_t2_expr",
    "shi_conditions",
    "shi_min_beta2",
    "theorem23_class",
    "reddi_theorem1",
    "conditions",
    "Counterexample",
    "counterexample",
    "PeriodicLinearProblem",
    "reddi_online",
    "reddi_experiment",
    "reddi_stochastic",
]

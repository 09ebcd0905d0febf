"""The SymPy symbols shared by every symbolic object, with their assumptions.

Assumptions encode the admissible ranges (beta2 > 0, eps >= 0, n a positive
integer, ...); the strict upper bounds such as beta2 < 1 cannot be SymPy
assumptions and are stated in each object's conditions and proof obligations.
"""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

import sympy as sp

__all__ = [
    "SYMPY",
    "beta1",
    "beta2",
    "eta",
    "eps",
    "eps_root",
    "t",
    "s",
    "g",
    "m0",
    "v0",
    "n",
    "a",
    "c",
    "d",
    "D0",
    "D1",
    "C",
    "delta",
    "x",
    "T",
    "exact",
]

#: The ``lib`` namespace that makes :mod:`adamcheck.theory` formulas build SymPy objects.
SYMPY = SimpleNamespace(sqrt=sp.sqrt, log=sp.log, exp=sp.exp, frac=sp.Rational, name="sympy")

beta1 = sp.Symbol("beta1", nonnegative=True, real=True)
beta2 = sp.Symbol("beta2", positive=True, real=True)
eta = sp.Symbol("eta", positive=True)
eps = sp.Symbol("epsilon", nonnegative=True)
eps_root = sp.Symbol("epsilon_root", nonnegative=True)
t = sp.Symbol("t", integer=True, positive=True)
s = sp.Symbol("s", integer=True, positive=True)
g = sp.IndexedBase("g", real=True)
m0 = sp.Symbol("m_0", real=True)
v0 = sp.Symbol("v_0", nonnegative=True)
n = sp.Symbol("n", integer=True, positive=True)
a = sp.Symbol("a", positive=True)
c = sp.Symbol("c", positive=True)
d = sp.Symbol("d", integer=True, positive=True)
D0 = sp.Symbol("D_0", nonnegative=True)
D1 = sp.Symbol("D_1", positive=True)
C = sp.Symbol("C", positive=True)
delta = sp.Symbol("delta", positive=True)
x = sp.Symbol("x", real=True)
T = sp.Symbol("T", integer=True, positive=True)


def exact(value: object) -> sp.Expr:
    """A SymPy number from an int, Fraction, decimal string or ``"p/q"``, kept exact.

    Example:
        >>> exact("1/4"), exact(0.25), exact("0.1")
        (1/4, 1/4, 1/10)
    """
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, float):
        return sp.Rational(Fraction(value).limit_denominator(10**12)) if value == value else sp.nan
    if isinstance(value, Fraction):
        return sp.Rational(value.numerator, value.denominator)
    return sp.Rational(str(value).strip())

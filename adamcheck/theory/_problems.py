"""Constants of the counterexamples, written once for numbers, Fractions and SymPy.

Zhang et al. (2026, eq. 2.5; docs/theory.md section 4), for n >= 3 and a > 0::

    f_i(x) = s_i x                                  for x >= -1
           = s_i/2 (x + 2)^2 - 3 s_i/2              for x < -1

with slopes ``s_0 = 1 + (n-1)a`` and ``s_i = -a`` (i >= 1) from
:func:`counterexample_slopes` (the single source). Every component
gradient is ``s_i * min(x + 2, 1)``: a common factor times a slope. For any such
finite sum the affine-variance constants (A2.2 of docs/theory.md section 2, l = mean) are exactly

    D1 = n^2 sum_i s_i^2 / (sum_i s_i)^2,    D0 = 0,

and no smaller D1 works with any finite D0 (the ratio is attained on the whole
quadratic piece, where |grad l| is unbounded). For eq. 2.5, sum_i s_i = 1, so
``D1(a) = n^2 [(1 + (n-1)a)^2 + (n-1)a^2]``. All of this is proved symbolically in
``proofs/counterexample.py``.

Reddi, Kale, Kumar (ICLR 2018, docs/theory.md section 5): the online problem has
period-3 slopes (C, -1, -1) on [-1, 1] and Theorem 1's ``beta2 = 1/(1 + C^2)``,
beta1 = 0; the stochastic problem draws slope C with probability
``p = (1 + delta)/(C + 1)``, else -1, so that F(x) = delta x.

References:
    Zhang, Li, Chen, Luo, Sun, arXiv:2603.02092 (2026), eq. (2.5), Theorem 2.3.
    Reddi, Kale, Kumar, "On the Convergence of Adam and Beyond", ICLR 2018, Thms 1-3.
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

from .._errors import InvalidParameterError
from .._validate import check_positive_int
from ._lib import div


def counterexample_slopes(n: Any, a: Any) -> tuple[Any, Any]:
    """Slopes ``(1 + (n-1)a, -a)`` of f_0 and of f_1..f_{n-1} on the linear piece x >= -1.

    The single definition of eq. 2.5's constants: the simulator, the two-point law and
    the symbolic module all call it. Works for numbers, Fractions and SymPy expressions.

    Source: Zhang et al., arXiv:2603.02092 (2026), eq. (2.5); docs/theory.md section 4.

    Example:
        >>> counterexample_slopes(3, 0.25)
        (1.5, -0.25)
    """
    return 1 + (n - 1) * a, -a


def check_counterexample_n(n: Any) -> int:
    """``n`` as an int, refusing ``n < 2`` (eq. 2.5 needs one large and one small component).

    The paper's theorem needs n >= 3; n = 2 is accepted because the construction is
    still well defined there.

    Raises:
        InvalidParameterError: ``n`` is not an integer, or is below 2.

    Example:
        >>> check_counterexample_n(3)
        3
    """
    n = check_positive_int(n, "n")
    if n < 2:
        raise InvalidParameterError(f"n = {n} must be at least 2 for the counterexample (the paper uses n >= 3)")
    return n


def counterexample_default_a(n: Any) -> Any:
    """The paper's choice ``a = 1/(n-1)^2``: a float for an integer n, exact for a SymPy symbol.

    With it D1 <= 2n^2 holds only for n >= 4 (docs/theory.md section 4).

    Example:
        >>> counterexample_default_a(10)
        0.012345679012345678
    """
    if isinstance(n, int):
        return 1.0 / (check_counterexample_n(n) - 1) ** 2
    return div(1, (n - 1) ** 2)  # a SymPy symbol: keep it exact


__all__ = [
    "COUNTEREXAMPLE_RUN_N",
    "COUNTEREXAMPLE_REGION_N",
    "counterexample_slopes",
    "check_counterexample_n",
    "counterexample_default_a",
    "KINK",
    "VERTEX",
    "tight_d1",
    "tight_d1_grouped",
    "counterexample_component_slopes",
    "counterexample_piece_linear",
    "counterexample_piece_quadratic",
    "counterexample_loss",
    "counterexample_d1",
    "counterexample_minimiser",
    "counterexample_lower_bound",
    "theorem23_class_holds",
    "reddi_online_slopes",
    "reddi_theorem1_beta2",
    "reddi_stochastic_probability",
    "reddi_stochastic_moments",
]

#: Default n of simulated runs: the paper's Figure 2.4(c) runs the counterexample at n = 10.
COUNTEREXAMPLE_RUN_N = 10
#: Default n of boundaries: the paper's Figure 2.4(a) draws the divergence region at n = 20.
COUNTEREXAMPLE_REGION_N = 20

#: Eq. 2.5's pieces join at x = KINK; the parabolas have their vertex at x = VERTEX.
KINK = -1
VERTEX = -2


def tight_d1_grouped(groups: Sequence[tuple[Any, Any]]) -> Any:
    """``n^2 sum_k c_k s_k^2 / (sum_k c_k s_k)^2`` for slopes ``s_k`` repeated ``c_k`` times, n = sum c_k.

    The tight D1 (with D0 = 0) when every component gradient is ``s_i h(x)`` for a
    common ``h``; counts may be symbols (eq. 2.5 has ``(1 + (n-1)a, 1)`` and ``(-a, n-1)``).

    Example:
        >>> tight_d1_grouped([(3, 1), (-1, 2)])
        99
    """
    if not groups:
        raise InvalidParameterError("no slopes given: pass one slope per component")
    (s0, c0), rest = groups[0], groups[1:]
    n, total, squares = c0, c0 * s0, c0 * s0 * s0
    for slope, count in rest:
        n, total, squares = n + count, total + count * slope, squares + count * slope * slope
    return div(n**2 * squares, total**2)


def tight_d1(slopes: Sequence[Any]) -> Any:
    """``n^2 sum s_i^2 / (sum s_i)^2``: the tight D1 (with D0 = 0) when grad l_i = s_i h(x).

    Example:
        >>> from fractions import Fraction
        >>> tight_d1([Fraction(3, 2), Fraction(-1, 4), Fraction(-1, 4)])
        Fraction(171, 8)
    """
    return tight_d1_grouped([(s, 1) for s in slopes])


def counterexample_component_slopes(n: int, a: Any) -> list[Any]:
    """The n slopes ``[1 + (n-1)a, -a, ..., -a]`` of eq. 2.5 (needs a concrete integer n).

    Example:
        >>> counterexample_component_slopes(3, 0.25)
        [1.5, -0.25, -0.25]
    """
    s0, s1 = counterexample_slopes(n, a)
    return [s0] + [s1] * (int(n) - 1)


def counterexample_piece_linear(x: Any, slope: Any) -> Any:
    """Eq. 2.5 on ``x >= -1``: ``slope * x``."""
    return slope * x


def counterexample_piece_quadratic(x: Any, slope: Any) -> Any:
    """Eq. 2.5 on ``x < -1``: ``slope/2 (x+2)^2 - 3 slope/2`` (C^1 join at x = -1)."""
    return div(slope * (x - VERTEX) ** 2, 2) - div(3 * slope, 2)


def counterexample_loss(x: float, n: int, a: float) -> float:
    """``l(x) = (1/n) sum_i f_i(x)`` of eq. 2.5 at a number x.

    Example:
        >>> counterexample_loss(0.5, 3, 0.25)
        0.16666666666666666
    """
    piece = counterexample_piece_linear if x >= KINK else counterexample_piece_quadratic
    s0, s1 = counterexample_slopes(n, a)
    return div(piece(x, s0) + (n - 1) * piece(x, s1), n)


def counterexample_d1(n: Any, a: Any) -> Any:
    """Tight D1 of eq. 2.5: ``n^2 [(1+(n-1)a)^2 + (n-1)a^2]`` (exact for Fractions, SymPy).

    Example:
        >>> from fractions import Fraction
        >>> counterexample_d1(3, Fraction(1, 4))
        Fraction(171, 8)
        >>> counterexample_d1(5, 1)      # a = 1: Reddi's n^4 + n^3 - n^2
        725
    """
    _check_numeric_counterexample(n, a)
    s0, s1 = counterexample_slopes(n, a)
    return tight_d1_grouped([(s0, 1), (s1, n - 1)])


def _check_numeric_counterexample(n: Any, a: Any) -> None:
    """Refuse numeric n < 2, non-integer n or a <= 0 (symbols pass: SymPy carries assumptions),
    and values that are neither numbers nor SymPy expressions (text, lists, None)."""
    for name, value in (("n", n), ("a", a)):
        module = getattr(type(value), "__module__", "") or ""
        if isinstance(value, bool) or not (isinstance(value, numbers.Number) or module.startswith("sympy")):
            raise InvalidParameterError(f"{name} is a {type(value).__name__}, not a number or a SymPy expression")
    if isinstance(n, numbers.Integral) and n > 2**63 - 1:
        raise InvalidParameterError(f"n is a {int(n).bit_length()}-bit integer, out of range: give n between 2 "
                                    "and 2**63 - 1")
    if isinstance(n, numbers.Number) and not isinstance(n, bool):
        if not isinstance(n, numbers.Integral) and not (isinstance(n, numbers.Real) and float(n).is_integer()):
            raise InvalidParameterError(f"n = {str(n)[:80]} is not a whole number: give n >= 2 components")
        if n < 2:
            raise InvalidParameterError(f"n = {n} gives no counterexample: use n >= 2 (the paper uses n >= 3)")
    if isinstance(a, numbers.Real) and not isinstance(a, bool) and not a > 0:
        raise InvalidParameterError(f"a = {str(a)[:80]} must be positive (eq. 2.5 needs a > 0)")


def counterexample_minimiser() -> int:
    """The minimiser ``x* = -2`` of eq. 2.5 (the parabolas' vertex; proved in proofs/)."""
    return VERTEX


def counterexample_lower_bound(n: Any) -> Any:
    """``l* = l(-2) = -3/(2n)``, evaluated from the quadratic piece (proved in proofs/).

    Example:
        >>> from fractions import Fraction
        >>> counterexample_lower_bound(3)
        Fraction(-1, 2)
    """
    s0, s1 = counterexample_slopes(n, 0)  # l(-2) does not depend on a
    total = counterexample_piece_quadratic(VERTEX, s0) + (n - 1) * counterexample_piece_quadratic(VERTEX, s1)
    return div(total, n)


def theorem23_class_holds(n: int, d1: float, d0: float) -> bool:
    """Theorem 2.3's class conditions ``n >= 3, D1 >= 2 n^2, D0 >= 0``.

    Example:
        >>> theorem23_class_holds(4, 32, 0), theorem23_class_holds(3, 17, 0)
        (True, False)
    """
    return n >= 3 and d1 >= 2 * n**2 and d0 >= 0


def reddi_online_slopes(C: Any) -> tuple[Any, Any, Any]:
    """Slopes over one period of Reddi et al.'s online problem: ``f_t = C x`` if t mod 3 = 1, else ``-x``."""
    return (C, -1, -1)


def reddi_theorem1_beta2(C: Any) -> Any:
    """Reddi et al.'s Theorem 1 choice ``beta2 = 1/(1 + C^2)`` (with beta1 = 0, C > 2).

    Example:
        >>> reddi_theorem1_beta2(3)
        Fraction(1, 10)
    """
    return div(1, 1 + C**2)


def reddi_stochastic_probability(C: Any, delta: Any) -> Any:
    """``p = (1 + delta)/(C + 1)``: probability of the slope-C draw in Reddi et al.'s Theorem 3."""
    return div(1 + delta, C + 1)


def reddi_stochastic_moments(C: Any, delta: Any) -> tuple[Any, Any]:
    """``(E[g], E[g^2])`` of the stochastic problem: ``(delta, p C^2 + 1 - p)``.

    Example:
        >>> from fractions import Fraction
        >>> reddi_stochastic_moments(Fraction(10), Fraction(1, 10))
        (Fraction(1, 10), Fraction(109, 10))
    """
    p = reddi_stochastic_probability(C, delta)
    return p * C - (1 - p), p * C**2 + (1 - p)

"""Theorem 2.2 of Zhang et al. (2026) in order form: the beta2 threshold and the rate.

The theorem (docs/theory.md section 3): if ``0 <= beta1 < sqrt(beta2) < 1`` and

    beta2 >= gamma1(n) := 1 - O((1 - beta1^n) / n^5)          (2022 version: n^3.5)

with ``eta_k = eta_0/sqrt(k)``, then for T large

    min_k E[min{|grad|^2/sqrt(D0), |grad|/(2 sqrt(d D1))}]
        = O(log T / ((1 - beta2) sqrt(T))) + O((1 - beta2) sqrt(D0)).

**The constant inside gamma1's O(.) is not given by the paper**, and the authors say
the threshold is not tight. Here it is the parameter ``c``, which has *no default*:
``gamma1(n) = 1 - c * (1 - beta1^n) / n^5``. Only the order scale
``(1 - beta1^n)/n^5`` is a number the paper determines. Likewise the rate terms
are returned without their unknown constants.

References:
    Zhang, Li, Chen, Luo, Sun, arXiv:2603.02092 (2026), Theorem 2.2 and Remark 2.
    Zhang, Chen, Shi, Sun, Luo, NeurIPS 2022 (arXiv:2208.09632): order n^-3.5.
"""

from __future__ import annotations

import math
from typing import Any

from .._errors import InvalidParameterError
from ._lib import MATH

__all__ = [
    "THEOREM22_EXPONENTS",
    "theorem22_order_scale",
    "theorem22_threshold",
    "theorem22_holds",
    "theorem22_rate_terms",
    "rate_blowup",
]

#: Power of n in gamma1's order term per paper version, as (numerator, denominator).
THEOREM22_EXPONENTS = {"2026": (5, 1), "2022": (7, 2)}


def _exponent(variant: str, lib: Any = MATH) -> Any:
    try:
        p, q = THEOREM22_EXPONENTS[str(variant)]
    except KeyError:
        raise InvalidParameterError(
            f"unknown Theorem 2.2 variant {variant!r}: use '2026' (n^-5) or '2022' (n^-3.5)"
        ) from None
    return p if q == 1 else lib.frac(p, q)


def theorem22_order_scale(n: Any, beta1: Any, variant: str = "2026", *, lib: Any = MATH) -> Any:
    """The order scale ``(1 - beta1^n) / n^p`` of ``1 - gamma1(n)`` (p = 5, or 3.5 for 2022).

    For numbers, ``beta1^n`` is evaluated as ``-expm1(n log beta1)`` so the scale keeps
    its relative accuracy for small beta1 or large n.

    Example:
        >>> theorem22_order_scale(10, 0.0)
        1e-05
        >>> theorem22_order_scale(10, 0.9) < theorem22_order_scale(10, 0.0)
        True
    """
    p = _exponent(variant, lib)
    if lib is MATH and isinstance(n, (int, float)) and isinstance(beta1, (int, float)):
        if n < 1:
            raise InvalidParameterError(f"n = {n} must be a positive number of mini-batches")
        if not 0 <= beta1 < 1:
            raise InvalidParameterError(f"beta1 = {beta1:g} is outside [0, 1): use a value in [0, 1)")
        one_minus = 1.0 if beta1 == 0 else -math.expm1(n * math.log(beta1))
        return one_minus / float(n) ** p
    return (1 - beta1**n) / n**p


def theorem22_threshold(
    n: Any, beta1: Any, c: Any, variant: str = "2026", *, lib: Any = MATH
) -> Any:
    """``gamma1(n) = 1 - c (1 - beta1^n)/n^5`` (or n^3.5); ``c`` is yours to choose.

    The paper proves the order, not the constant: ``c`` has no default on purpose.

    Example:
        >>> theorem22_threshold(10, 0.0, c=1.0)
        0.99999
    """
    if lib is MATH and isinstance(c, (int, float)) and not (c > 0 and math.isfinite(c)):
        raise InvalidParameterError(f"c = {c!r} must be a positive finite constant")
    return 1 - c * theorem22_order_scale(n, beta1, variant, lib=lib)


def theorem22_holds(beta1: float, beta2: float, n: int, c: float, variant: str = "2026") -> bool:
    """Whether ``0 <= beta1 < sqrt(beta2) < 1`` and ``beta2 >= gamma1(n)`` for your ``c``.

    Example:
        >>> theorem22_holds(0.9, 0.999999, n=10, c=1.0)
        True
        >>> theorem22_holds(0.9, 0.95, n=10, c=1.0)
        False
    """
    if not (0 <= beta1 and beta1 * beta1 < beta2 < 1):
        return False
    return beta2 >= theorem22_threshold(n, beta1, c, variant)


def theorem22_rate_terms(beta2: Any, T: Any, D0: Any, *, lib: Any = MATH) -> tuple[Any, Any]:
    """The two terms of the rate without their unknown constants.

    ``(log T / ((1 - beta2) sqrt(T)),  (1 - beta2) sqrt(D0))``: the first is the
    optimisation term, blown up by ``1/(1 - beta2)``; the second is the size of the
    neighbourhood, which vanishes as beta2 -> 1 (and is 0 when D0 = 0).

    Example:
        >>> a, b = theorem22_rate_terms(0.95, 10_000, 4.0)
        >>> round(a, 6), round(b, 6)
        (1.842068, 0.1)
    """
    return lib.log(T) / ((1 - beta2) * lib.sqrt(T)), (1 - beta2) * lib.sqrt(D0)


def rate_blowup(beta2: Any) -> Any:
    """The factor ``1/(1 - beta2)`` of the optimisation term (20 at 0.95, 1000 at 0.999).

    Example:
        >>> round(rate_blowup(0.95), 9), round(rate_blowup(0.999), 6)
        (20.0, 1000.0)
    """
    return 1 / (1 - beta2)

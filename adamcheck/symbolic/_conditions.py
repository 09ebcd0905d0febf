"""The papers' conditions as SymPy relationals in (beta1, beta2), built from adamcheck.theory.

* :func:`theorem22_condition` - Zhang et al. 2026, Theorem 2.2:
  ``0 <= beta1 < sqrt(beta2) < 1`` and ``beta2 >= 1 - c (1 - beta1^n)/n^5``
  (``variant="2022"``: n^3.5). **c is a symbol**: the paper gives only the order.
* :func:`theorem22_rate` - the rate ``O(log T/((1-beta2) sqrt T)) + O((1-beta2) sqrt D0)``.
* :func:`shi_conditions` - Shi et al. 2021, Theorems 4.3 and 4.4 (T1, T2 exactly as in
  docs/theory.md section 3; extremely conservative sufficient conditions).
* :func:`theorem23_class` - Theorem 2.3's class: ``n >= 3, D1 >= 2 n^2, D0 >= 0``.
* :func:`reddi_theorem1` - Reddi et al. 2018, Theorem 1: ``beta1 = 0, beta2 = 1/(1+C^2), C > 2``.

References:
    Zhang, Li, Chen, Luo, Sun, arXiv:2603.02092 (2026), Theorems 2.2, 2.3.
    Shi, Li, Hong, Sun, ICLR 2021, eqs. (4)-(6).  Reddi, Kale, Kumar, ICLR 2018, Theorem 1.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from .. import theory
from ._export import Derivation
from ._symbols import SYMPY, C, D0, D1, T, beta1, beta2, c, d, n

__all__ = [
    "theorem22_condition",
    "theorem22_rate",
    "shi_t1_expr",
    "shi_t2_expr",
    "shi_conditions",
    "theorem23_class",
    "reddi_theorem1",
    "conditions",
]


def theorem22_condition(
    n_value: Any = n, c_value: Any = c, variant: str = "2026"
) -> Derivation:
    """Theorem 2.2's region in (beta1, beta2) as a SymPy ``And`` of relationals.

    Example:
        >>> cond = theorem22_condition(10, 1)["region"]
        >>> bool(cond.subs({beta1: 0.9, beta2: 0.999999}))
        True
        >>> theorem22_condition(10, 1)["beta2_set"].subs(beta1, 0)
        Interval.Ropen(99999/100000, 1)
    """
    threshold = theory.theorem22_threshold(n_value, beta1, c_value, variant, lib=SYMPY)
    region = sp.And(
        sp.Ge(beta1, 0), sp.Lt(beta1, sp.sqrt(beta2)), sp.Lt(sp.sqrt(beta2), 1), sp.Ge(beta2, threshold)
    )
    # for a fixed beta1: beta2 in [gamma1, 1) if gamma1 > beta1^2, else (beta1^2, 1)
    beta2_set = sp.Piecewise(
        (sp.Interval.Ropen(threshold, 1), threshold > beta1**2), (sp.Interval.open(beta1**2, 1), True)
    )
    return Derivation(
        name="theorem-2.2",
        description=f"convergence region of Zhang et al. (Theorem 2.2, {variant} order)",
        entries={
            "gamma1": threshold,
            "order_scale": theory.theorem22_order_scale(n_value, beta1, variant, lib=SYMPY),
            "region": region,
            "beta2_set": beta2_set,
        },
        notes=[
            "c is NOT given by the paper (the threshold is an order, and not tight); it is a parameter",
        ],
        references=["Zhang et al. 2026, Theorem 2.2; 2022 version: order n^-3.5"],
        labels={"gamma1": r"\gamma_1(n)", "order_scale": r"\text{scale}"},
    )


def theorem22_rate() -> Derivation:
    """The two terms of Theorem 2.2's rate (constants unknown) and the 1/(1-beta2) blow-up.

    Example:
        >>> theorem22_rate()["neighbourhood"]
        sqrt(D_0)*(1 - beta2)
    """
    optimisation, neighbourhood = theory.theorem22_rate_terms(beta2, T, D0, lib=SYMPY)
    return Derivation(
        name="theorem-2.2-rate",
        description="min_k E[min{|grad|^2/sqrt(D0), |grad|/(2 sqrt(d D1))}] = O(first) + O(second)",
        entries={
            "optimisation": optimisation,
            "neighbourhood": neighbourhood,
            "blowup": theory.rate_blowup(beta2),
        },
        notes=["both O(.) constants are unknown; only the dependence on beta2, T and D0 is stated"],
        references=["Zhang et al. 2026, Theorem 2.2, eq. (2.4)"],
    )


def shi_t2_expr() -> sp.Expr:
    """``T2(beta2)`` of Shi et al. (Theorem 4.3) with symbols n, d, D_1 (sum convention)."""
    return theory.shi_t2(beta2, n, d, D1, lib=SYMPY)


def shi_t1_expr() -> sp.Expr:
    """``T1(beta1, beta2)`` of Shi et al. (Theorem 4.4) with symbols n, d, D_1."""
    return theory.shi_t1(beta1, beta2, n, d, D1, lib=SYMPY)


def shi_conditions() -> Derivation:
    """Shi et al.'s Theorem 4.3 and 4.4 conditions as relationals.

    Example:
        >>> shi_conditions()["theorem_4_3"].rhs
        sqrt(2)*(-1 + sqrt(2))/4
    """
    t1, t2 = shi_t1_expr(), shi_t2_expr()
    return Derivation(
        name="shi-2021",
        description="explicit sufficient conditions of Shi et al. (2021) on beta2 (and beta1)",
        entries={
            "T1": t1,
            "T2": t2,
            "theorem_4_3": sp.Le(t2, theory.shi_t2_bound(lib=SYMPY)),
            "theorem_4_4": sp.Lt(t1 + t2, theory.shi_adam_bound(lib=SYMPY)),
            "T1_limit": theory.shi_t1_limit(beta1, n, d, D1, lib=SYMPY),
        },
        notes=[
            theory.CONSERVATIVE_NOTE,
            "D_1 is in Shi et al.'s sum convention (f = sum_j f_j); docs/theory.md section 2 (A2.2) mean "
            "convention has D1_mean = n^2 D1_sum",
            "T1 does not vanish as beta2 -> 1 (T1_limit > 0 for beta1 > 0)",
            "numeric smallest beta2: adamcheck.theory.shi_min_beta2 (certified bracket)",
        ],
        references=["Shi, Li, Hong, Sun, ICLR 2021, Theorems 4.3, 4.4, eqs. (4) and (6)"],
        labels={"theorem_4_3": r"\text{Thm 4.3}", "theorem_4_4": r"\text{Thm 4.4}", "T1_limit": r"\lim_{\beta_2\to1} T_1"},
    )


def theorem23_class() -> Derivation:
    """Theorem 2.3's class conditions (divergence example exists for these classes).

    Example:
        >>> bool(theorem23_class()["class"].subs({n: 4, D1: 32, D0: 0}))
        True
    """
    cls = sp.And(sp.Ge(n, 3), sp.Ge(D1, 2 * n**2), sp.Ge(D0, 0))
    return Derivation(
        name="theorem-2.3",
        description="classes F^n_{L,D0,D1} in which Adam can diverge for small beta2",
        entries={"class": cls},
        notes=[
            "the divergence region in (beta1, beta2) is computed numerically in the paper "
            "(analytic divergence conditions, not reproduced); it grows with n and contains beta1 = beta2 = 0",
        ],
        references=["Zhang et al. 2026, Theorem 2.3"],
    )


def reddi_theorem1(C_value: Any = C) -> Derivation:
    """Reddi et al.'s Theorem 1 hyper-parameters for their online problem.

    Example:
        >>> reddi_theorem1(3)["beta2"]
        1/10
    """
    return Derivation(
        name="reddi-theorem-1",
        description="Reddi, Kale, Kumar (2018) Theorem 1: Adam converges to x = +1, optimum -1",
        entries={
            "beta1": sp.Integer(0),
            "beta2": sp.sympify(theory.reddi_theorem1_beta2(sp.sympify(C_value))),
            "C_range": sp.Gt(sp.sympify(C_value), 2) if isinstance(C_value, sp.Symbol) else sp.true if C_value > 2 else sp.false,
        },
        notes=["the problem is chosen after (beta1, beta2): its period C depends on beta2"],
        references=["Reddi, Kale, Kumar, ICLR 2018, Theorem 1"],
    )


def conditions() -> list[Derivation]:
    """Every condition above, with symbols (for ``adamcheck derive conditions``)."""
    return [theorem22_condition(), theorem22_rate(), shi_conditions(), theorem23_class(), reddi_theorem1()]

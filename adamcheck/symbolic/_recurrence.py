"""Adam's recurrence as SymPy objects, built by calling :mod:`adamcheck.theory` with symbols.

For each convention (torch, paper, shi2021, optax, keras):

    m_t = beta1 m_{t-1} + (1 - beta1) g_t
        = beta1^t m_0 + (1 - beta1) sum_{s=1}^t beta1^(t-s) g_s       (closed form)
    v_t = beta2 v_{t-1} + (1 - beta2) g_t^2
        = beta2^t v_0 + (1 - beta2) sum_{s=1}^t beta2^(t-s) g_s^2
    x_t = x_{t-1} - eta * direction_convention(m_t, v_t, t)

The recursion is not restated here: :meth:`AdamRecurrence.step` calls
:func:`adamcheck.theory.adam_moments` / :func:`~adamcheck.theory.adam_update` with
SymPy symbols. ``proofs/recurrence.py`` proves the closed forms equal the recursion
for symbolic t (induction: base case t = 0 and the step t -> t + 1).

References:
    Zhang et al. 2026, Algorithm 1; Kingma & Ba 2015, Algorithm 1; docs/theory.md section 6.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import sympy as sp

from ..theory import _recurrence as rec
from ._export import Derivation
from ._symbols import SYMPY, beta1, beta2, eps, eps_root, eta, g, m0, s, t, v0

__all__ = ["AdamRecurrence", "recurrence", "closed_form_m", "closed_form_v"]


def closed_form_m(step: Any, initial: Any = m0) -> sp.Expr:
    """``beta1^t m_0 + (1 - beta1) sum_{s=1}^t beta1^(t-s) g_s`` at ``t = step``.

    Example:
        >>> from adamcheck.symbolic._symbols import t
        >>> closed_form_m(t)
        beta1**t*m_0 + (1 - beta1)*Sum(beta1**(-s + t)*g[s], (s, 1, t))
    """
    return beta1**step * initial + (1 - beta1) * sp.Sum(beta1 ** (step - s) * g[s], (s, 1, step))


def closed_form_v(step: Any, initial: Any = v0) -> sp.Expr:
    """``beta2^t v_0 + (1 - beta2) sum_{s=1}^t beta2^(t-s) g_s^2`` at ``t = step``."""
    return beta2**step * initial + (1 - beta2) * sp.Sum(beta2 ** (step - s) * g[s] ** 2, (s, 1, step))


class AdamRecurrence:
    """Adam's recurrence in one convention, as SymPy expressions.

    Attributes (SymPy): ``m_recursion``, ``v_recursion`` (Eq), ``m_closed``,
    ``v_closed`` (closed forms at symbolic t), ``direction`` (the step per unit
    learning rate as a function of the symbols ``m_t``, ``v_t``, ``t``) and
    ``update`` (``x_t = x_{t-1} - eta * direction``).

    Example:
        >>> r = AdamRecurrence("paper")
        >>> r.direction
        m_t/(epsilon + sqrt(v_t))
        >>> from adamcheck.symbolic._symbols import eps, g
        >>> sp.simplify(r.unrolled_direction(1, zero_init=True).subs({eps: 0, g[1]: 2}))
        (1 - beta1)/sqrt(1 - beta2)
    """

    def __init__(self, convention: str) -> None:
        rec.check_convention(convention)
        self.convention = convention
        self.m_t, self.v_t = sp.symbols("m_t v_t", real=True)
        self.m_prev, self.v_prev = sp.symbols("m_{t-1} v_{t-1}", real=True)
        self.x_t, self.x_prev = sp.symbols("x_t x_{t-1}", real=True)

    # -- the recursion, from adamcheck.theory -------------------------------------
    def step(self, m: Any, v: Any, grad: Any) -> tuple[Any, Any]:
        """``(m_t, v_t)`` from previous moments and a gradient (theory.adam_moments)."""
        return rec.adam_moments(m, v, grad, beta1=beta1, beta2=beta2, convention=self.convention)

    def direction_of(self, m: Any, v: Any, step: Any) -> Any:
        """The convention's step per unit learning rate (theory.adam_direction)."""
        return rec.adam_direction(
            self.convention, m, v, step, beta1=beta1, beta2=beta2, eps=eps, eps_root=eps_root, lib=SYMPY
        )

    @cached_property
    def m_recursion(self) -> sp.Eq:
        return sp.Eq(self.m_t, self.step(self.m_prev, self.v_prev, g[t])[0])

    @cached_property
    def v_recursion(self) -> sp.Eq:
        return sp.Eq(self.v_t, self.step(self.m_prev, self.v_prev, g[t])[1])

    @cached_property
    def direction(self) -> sp.Expr:
        return self.direction_of(self.m_t, self.v_t, t)

    @cached_property
    def update(self) -> sp.Eq:
        return sp.Eq(self.x_t, self.x_prev - eta * self.direction)

    @cached_property
    def m_closed(self) -> sp.Expr:
        return closed_form_m(t)

    @cached_property
    def v_closed(self) -> sp.Expr:
        return closed_form_v(t)

    # -- concrete unrolling -----------------------------------------------------------
    def unrolled_moments(self, steps: int, *, zero_init: bool = False) -> tuple[sp.Expr, sp.Expr]:
        """``(m_T, v_T)`` after ``steps`` applications of the recursion to g_1..g_T."""
        m, v = (sp.Integer(0), sp.Integer(0)) if zero_init else (m0, v0)
        for k in range(1, steps + 1):
            m, v = self.step(m, v, g[k])
        return sp.expand(m), sp.expand(v)

    def unrolled_direction(self, steps: int, *, zero_init: bool = False) -> sp.Expr:
        """The step taken at ``t = steps`` as an explicit expression of g_1..g_T."""
        m, v = self.unrolled_moments(steps, zero_init=zero_init)
        return self.direction_of(m, v, steps)

    def update_function(self):
        """A NumPy function ``f(x, m, v, g, t, beta1, beta2, lr, eps, eps_root) -> (x', m', v')``.

        Built by lambdifying the SymPy recursion and update (used for the cross-check
        against :func:`adamcheck.simulator.adam_step`).
        """
        x_prev, m_prev, v_prev, grad, step, lr = sp.symbols("x m v grad step lr", real=True)
        m_new, v_new = self.step(m_prev, v_prev, grad)
        x_new = x_prev - lr * self.direction_of(m_new, v_new, step)
        args = (x_prev, m_prev, v_prev, grad, step, beta1, beta2, lr, eps, eps_root)
        return sp.lambdify(args, (x_new, m_new, v_new), modules="numpy")

    def derivation(self) -> Derivation:
        """The recursion, closed forms and update as a :class:`Derivation`."""
        return Derivation(
            name=f"adam-{self.convention}",
            description=f"Adam's recurrence in the {self.convention} convention",
            entries={
                "m_recursion": self.m_recursion,
                "v_recursion": self.v_recursion,
                "m_closed": sp.Eq(self.m_t, self.m_closed),
                "v_closed": sp.Eq(self.v_t, self.v_closed),
                "update": self.update,
            },
            notes=[
                "closed forms proved equal to the recursion for symbolic t (adamcheck prove, recurrence.*)",
            ]
            + (
                [
                    "Shi et al. 2021 initialise m_0 = grad f(x0)/(1-beta1) and "
                    "v_0 = max_j grad f_j(x0)^2/(1-beta2), f = sum_j f_j (adamcheck.theory.shi_initial_moments)"
                ]
                if self.convention == "shi2021"
                else []
            ),
            references=["docs/theory.md sections 1 and 6", "adamcheck.simulator.adam_step (numeric reference)"],
            labels={
                "m_recursion": "m",
                "v_recursion": "v",
                "m_closed": r"m\ \text{(closed)}",
                "v_closed": r"v\ \text{(closed)}",
                "update": "x",
            },
        )

    def latex(self) -> str:
        return self.derivation().latex()

    def to_dict(self) -> dict[str, Any]:
        return self.derivation().to_dict()


def recurrence(convention: str) -> AdamRecurrence:
    """The :class:`AdamRecurrence` of ``convention`` (torch, paper, shi2021, optax, keras).

    Example:
        >>> recurrence("paper").m_recursion
        Eq(m_t, beta1*m_{t-1} + (1 - beta1)*g[t])
    """
    return AdamRecurrence(convention)

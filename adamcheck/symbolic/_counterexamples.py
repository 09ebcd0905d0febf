"""The counterexamples as SymPy Piecewise functions, with constants computed by SymPy.

* :func:`counterexample` - Zhang et al. 2026, eq. 2.5 (symbols n, a, or numbers).
* :func:`reddi_online` - Reddi et al. 2018, Theorem 1's period-3 online problem on [-1, 1].
* :func:`reddi_experiment` - Reddi et al.'s experiment, f_t = 1010 x if t mod 101 = 1 else -10 x.
* :func:`reddi_stochastic` - Reddi et al. 2018, Theorem 3: slope C w.p. p = (1+delta)/(C+1), else -1.

Nothing below types a constant in: the pieces come from
:mod:`adamcheck.theory` (whose slopes come from
:func:`adamcheck.theory.counterexample_slopes`), and the minimiser, lower bound,
D1 and D0 are *solved for* from the Piecewise objects (stationary points inside
each piece's domain; the ratio ``sum_i l_i'^2 / l'^2`` on each piece; the residual
``sum_i l_i'^2 - D1 l'^2``). ``proofs/counterexample.py`` checks them against the
closed forms docs/theory.md section 4 states.

References:
    Zhang, Li, Chen, Luo, Sun, arXiv:2603.02092 (2026), eq. (2.5), Theorem 2.3.
    Reddi, Kale, Kumar, ICLR 2018, Theorems 1 and 3, section 5 experiments.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Sequence

import sympy as sp

from .. import theory
from ..theory import counterexample_slopes
from ._export import Derivation
from ._symbols import C, a, delta, n, x

__all__ = [
    "Counterexample",
    "counterexample",
    "PeriodicLinearProblem",
    "reddi_online",
    "reddi_experiment",
    "reddi_stochastic",
]


def _piecewise(slope: Any) -> sp.Piecewise:
    return sp.Piecewise(
        (theory.counterexample_piece_linear(x, slope), x >= theory.KINK),
        (theory.counterexample_piece_quadratic(x, slope), True),
    )


def _pieces(expr: sp.Expr) -> list[tuple[sp.Expr, Any]]:
    """(expression, condition) pairs of a Piecewise, conditions made disjoint."""
    expr = sp.piecewise_fold(expr)
    if not isinstance(expr, sp.Piecewise):
        return [(expr, sp.true)]
    out, covered = [], sp.false
    for piece, cond in expr.args:
        out.append((piece, sp.And(cond, sp.Not(covered)).simplify() if covered != sp.false else cond))
        covered = sp.Or(covered, cond)
    return out


class Counterexample:
    """Eq. 2.5: ``l = (1/n) sum_i f_i`` with the C^1 piecewise components.

    ``n`` and ``a`` default to symbols; pass numbers (e.g. ``3`` and ``"1/4"``) for
    exact rational constants.

    Example:
        >>> ce = Counterexample(3, sp.Rational(1, 4))
        >>> ce.d1, ce.d0, ce.minimiser, ce.lower_bound
        (171/8, 0, -2, -1/2)
    """

    def __init__(self, n_value: Any = n, a_value: Any = a) -> None:
        self.n = sp.sympify(n_value)
        self.a = sp.sympify(a_value)
        self.slopes = tuple(sp.sympify(v) for v in counterexample_slopes(self.n, self.a))

    @cached_property
    def f0(self) -> sp.Piecewise:
        return _piecewise(self.slopes[0])

    @cached_property
    def fi(self) -> sp.Piecewise:
        """f_i for i = 1..n-1 (all equal)."""
        return _piecewise(self.slopes[1])

    @cached_property
    def loss(self) -> sp.Expr:
        total = sp.piecewise_fold((self.f0 + (self.n - 1) * self.fi) / self.n)
        return sp.Piecewise(*[(sp.factor(sp.simplify(e)), cnd) for e, cnd in total.args])

    @cached_property
    def grad_sq_sum(self) -> sp.Expr:
        """``sum_i f_i'(x)^2`` as a Piecewise."""
        return sp.piecewise_fold(sp.diff(self.f0, x) ** 2 + (self.n - 1) * sp.diff(self.fi, x) ** 2)

    @cached_property
    def loss_grad(self) -> sp.Expr:
        return sp.piecewise_fold(sp.diff(self.loss, x))

    @cached_property
    def stationary_points(self) -> list[sp.Expr]:
        points = []
        for piece, cond in _pieces(self.loss_grad):
            for root in sp.solve(sp.Eq(piece, 0), x):
                if bool(cond.subs(x, root)):
                    points.append(sp.simplify(root))
        return points

    @cached_property
    def minimiser(self) -> sp.Expr:
        points = self.stationary_points
        if len(points) != 1:
            raise ArithmeticError(f"expected one stationary point, found {points}")
        return points[0]

    @cached_property
    def lower_bound(self) -> sp.Expr:
        return sp.simplify(self.loss.subs(x, self.minimiser))

    @cached_property
    def d1_per_piece(self) -> list[sp.Expr]:
        """``sum_i f_i'^2 / l'^2`` on each piece (x cancels: a constant per piece)."""
        return [
            sp.factor(sp.simplify(sq / grad**2))
            for (grad, _), (sq, _) in zip(_pieces(self.loss_grad), _pieces(self.grad_sq_sum))
        ]

    @cached_property
    def d1(self) -> sp.Expr:
        ratios = self.d1_per_piece
        if any(sp.simplify(r - ratios[0]) != 0 for r in ratios[1:]):
            return sp.Max(*ratios)
        return ratios[0]

    @cached_property
    def d0(self) -> sp.Expr:
        """``sup_x (sum_i f_i'^2 - D1 l'^2)`` with the tight D1 (0 when every piece cancels)."""
        residues = [
            sp.simplify(sq - self.d1 * grad**2)
            for (grad, _), (sq, _) in zip(_pieces(self.loss_grad), _pieces(self.grad_sq_sum))
        ]
        if all(r == 0 for r in residues):
            return sp.Integer(0)
        return sp.Max(*residues)  # pragma: no cover - not reached for eq. 2.5

    def derivation(self) -> Derivation:
        return Derivation(
            name="counterexample-2.5",
            description="Zhang et al. (2026) eq. 2.5, l = (1/n) sum_i f_i on the real line",
            entries={
                "f_0": self.f0,
                "f_i": self.fi,
                "loss": self.loss,
                "minimiser": self.minimiser,
                "lower_bound": self.lower_bound,
                "D1": sp.factor(self.d1),
                "D0": self.d0,
            },
            notes=[
                "D1 is tight with D0 = 0: smaller D1 needs D0 = infinity (the ratio holds on the whole quadratic piece)",
                "the 2026 text's 'a = 1/(n-1)^2 gives D1 = 2n^2' holds as D1 <= 2n^2, and only for n >= 4",
            ],
            references=["Zhang et al. 2026, eq. (2.5)", "docs/theory.md section 4"],
            labels={"f_0": "f_0", "f_i": "f_i", "loss": r"\ell", "minimiser": "x^*", "lower_bound": r"\ell^*"},
        )

    def latex(self) -> str:
        return self.derivation().latex()

    def to_dict(self) -> dict[str, Any]:
        return self.derivation().to_dict()


def counterexample(n_value: Any = n, a_value: Any = a) -> Counterexample:
    """The :class:`Counterexample` for ``n`` and ``a`` (symbols by default)."""
    return Counterexample(n_value, a_value)


class PeriodicLinearProblem:
    """Online linear losses ``f_t = s_{t mod N} x`` on [-1, 1] (Reddi et al.'s shape).

    The average loss over a period is ``F(x) = mean(s) x``; with every component
    gradient a slope times 1, the finite-sum constants are ``D1 = N^2 sum s^2/(sum s)^2``
    and ``D0 = 0`` (:func:`adamcheck.theory.tight_d1`).
    """

    def __init__(self, name: str, slopes: Sequence[Any], beta2: Any = None, description: str = "") -> None:
        self.name = name
        self.slopes = [sp.sympify(s) for s in slopes]
        self.beta2 = beta2
        self.description = description or name
        self.period = len(self.slopes)

    @cached_property
    def mean_slope(self) -> sp.Expr:
        return sp.simplify(sum(self.slopes) / self.period)

    @cached_property
    def loss(self) -> sp.Expr:
        return sp.simplify(sum(s * x for s in self.slopes) / self.period)

    @cached_property
    def minimiser(self) -> sp.Expr:
        """``argmin_{[-1,1]} F``: -1 if the mean slope is positive, +1 if negative."""
        slope = self.mean_slope
        if slope.is_positive is None and slope.free_symbols == {C}:
            k = sp.Symbol("k", positive=True)  # C > 2 in Reddi et al.: C = 2 + k
            slope = sp.simplify(slope.subs(C, 2 + k))
        if slope.is_positive:
            return sp.Integer(-1)
        if slope.is_negative:
            return sp.Integer(1)
        raise ArithmeticError(f"sign of the mean slope {slope} is undetermined")

    @cached_property
    def d1(self) -> sp.Expr:
        return sp.factor(sp.sympify(theory.tight_d1(self.slopes)))

    @cached_property
    def online_function(self) -> sp.Piecewise:
        t = sp.Symbol("t", integer=True, positive=True)
        first, rest = self.slopes[0], self.slopes[1:]
        if all(r == rest[0] for r in rest):
            return sp.Piecewise((first * x, sp.Eq(sp.Mod(t, self.period), 1)), (rest[0] * x, True))
        return sp.Piecewise(
            *[(s * x, sp.Eq(sp.Mod(t, self.period), (i + 1) % self.period)) for i, s in enumerate(self.slopes)]
        )

    def derivation(self) -> Derivation:
        entries = {
            "f_t": self.online_function,
            "F": self.loss,
            "minimiser": self.minimiser,
            "D1": self.d1,
            "D0": sp.Integer(0),
        }
        if self.beta2 is not None:
            entries["beta1"] = sp.Integer(0)
            entries["beta2"] = sp.sympify(self.beta2)
        return Derivation(
            name=self.name,
            description=self.description,
            entries=entries,
            notes=["feasible set [-1, 1] with projected updates; D1/D0 of the period as a finite sum (A2.2)"],
            references=["Reddi, Kale, Kumar, ICLR 2018"],
            labels={"f_t": "f_t", "minimiser": "x^*"},
        )

    def latex(self) -> str:
        return self.derivation().latex()

    def to_dict(self) -> dict[str, Any]:
        return self.derivation().to_dict()


def reddi_online(C_value: Any = C) -> PeriodicLinearProblem:
    """Reddi et al.'s Theorem 1 problem: ``f_t = C x`` if t mod 3 = 1 else ``-x``, C > 2.

    Example:
        >>> reddi_online().d1
        9*(C**2 + 2)/(C - 2)**2
    """
    C_value = sp.sympify(C_value)
    return PeriodicLinearProblem(
        "reddi-online",
        theory.reddi_online_slopes(C_value),
        beta2=theory.reddi_theorem1_beta2(C_value),
        description="Reddi et al. (2018) Theorem 1: f_t = C x if t mod 3 = 1 else -x on [-1, 1]",
    )


def reddi_experiment() -> PeriodicLinearProblem:
    """Reddi et al.'s experiment: ``f_t = 1010 x`` if t mod 101 = 1 else ``-10 x`` on [-1, 1]."""
    return PeriodicLinearProblem(
        "reddi-experiment",
        [1010] + [-10] * 100,
        description="Reddi et al. (2018) experiment, beta1 = 0.9, beta2 = 0.99",
    )


def reddi_stochastic(C_value: Any = C, delta_value: Any = delta) -> Derivation:
    """Reddi et al.'s Theorem 3: ``f = C x`` w.p. ``p = (1+delta)/(C+1)``, else ``-x``.

    Example:
        >>> reddi_stochastic()["F"]
        delta*x
    """
    C_value, delta_value = sp.sympify(C_value), sp.sympify(delta_value)
    xi = sp.Symbol("xi", integer=True)
    p = sp.simplify(sp.sympify(theory.reddi_stochastic_probability(C_value, delta_value)))
    f = sp.Piecewise((C_value * x, sp.Eq(xi, 1)), (-x, True))
    expected = sp.simplify(p * f.subs(xi, 1) + (1 - p) * f.subs(xi, 0))
    grad1, grad2 = sp.diff(f.subs(xi, 1), x), sp.diff(f.subs(xi, 0), x)
    second = sp.simplify(p * grad1**2 + (1 - p) * grad2**2)
    return Derivation(
        name="reddi-stochastic",
        description="Reddi et al. (2018) Theorem 3: f = C x with probability p, else -x, on [-1, 1]",
        entries={
            "f": f,
            "p": p,
            "F": expected,
            "minimiser": sp.Integer(-1) if sp.diff(expected, x).is_positive else sp.nan,
            "E_g": sp.simplify(sp.diff(expected, x)),
            "E_g2": second,
            "second_moment_ratio": sp.factor(sp.simplify(second / sp.diff(expected, x) ** 2)),
        },
        notes=["xi = 1 marks the slope-C draw; second_moment_ratio = E[g^2]/E[g]^2"],
        references=["Reddi, Kale, Kumar, ICLR 2018, Theorem 3"],
        labels={"minimiser": "x^*", "E_g": r"E[g]", "E_g2": r"E[g^2]"},
    )

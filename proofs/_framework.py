"""Obligations, their methods and the runner behind ``adamcheck prove`` and tests/proofs/test_proofs.py.

An :class:`Obligation` is one claim the tool relies on: an id, the statement in
words, the statement in SymPy (as text), the method, and a ``check`` function that
returns ``(passed, detail)``. Methods are honest about strength:

* ``symbolic`` - SymPy reduces every step to True / 0 for all admissible symbols.
  Claims about all t or all n are proved by induction or by a substitution that
  maps the admissible set onto positive symbols (e.g. beta2 = 1/(1+u), u > 0), so
  SymPy's sign rules decide them.
* ``interval`` - verified by interval arithmetic (mpmath.iv), a decision procedure
  for the finitely many points it is applied to.
* ``numeric`` - dense or random sampling. Reported as *evidence*, never as proof:
  a passing numeric obligation has status ``supported``, not ``proved``.

Statuses: ``proved`` (symbolic/interval, passed), ``supported`` (numeric, passed),
``failed`` (the check returned False) and ``error`` (the check raised).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

__all__ = [
    "Obligation",
    "ObligationResult",
    "METHODS",
    "positive",
    "nonnegative",
    "is_zero",
    "peel_sum",
    "run_obligation",
]

METHODS = ("symbolic", "interval", "numeric")


@dataclass(frozen=True)
class Obligation:
    """One machine-checked claim."""

    id: str
    statement: str
    sympy: str
    method: str
    check: Callable[[], tuple[bool, str]] = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"obligation {self.id}: unknown method {self.method!r}")


@dataclass(frozen=True)
class ObligationResult:
    id: str
    statement: str
    sympy: str
    method: str
    status: str
    seconds: float
    detail: str

    @property
    def ok(self) -> bool:
        return self.status in ("proved", "supported")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "statement": self.statement,
            "sympy": self.sympy,
            "method": self.method,
            "status": self.status,
            "seconds": round(self.seconds, 4),
            "detail": self.detail,
        }


def run_obligation(ob: Obligation) -> ObligationResult:
    """Run one obligation's check and time it; exceptions become status ``error``."""
    start = time.perf_counter()
    try:
        passed, detail = ob.check()
        status = ("supported" if ob.method == "numeric" else "proved") if passed else "failed"
    except Exception as exc:  # a broken check must show up, not crash the runner
        status, detail = "error", f"{type(exc).__name__}: {exc}"
    return ObligationResult(
        id=ob.id,
        statement=ob.statement,
        sympy=ob.sympy,
        method=ob.method,
        status=status,
        seconds=time.perf_counter() - start,
        detail=str(detail),
    )


# --- small SymPy deciders used by the obligations ---------------------------------------


def _candidates(expr: Any):
    import sympy as sp

    expr = sp.sympify(expr)
    yield expr
    for transform in (sp.factor, sp.simplify, sp.together, lambda e: sp.factor(sp.simplify(e))):
        try:
            yield transform(expr)
        except Exception:  # pragma: no cover - SymPy transform failure is not a proof
            continue


def positive(expr: Any) -> bool:
    """True only if SymPy's sign rules show ``expr > 0`` (after simplifying)."""
    return any(e.is_positive is True for e in _candidates(expr))


def nonnegative(expr: Any) -> bool:
    """True only if SymPy's sign rules show ``expr >= 0`` (after simplifying)."""
    return any(e.is_nonnegative is True for e in _candidates(expr))


def is_zero(expr: Any) -> bool:
    """True only if SymPy simplifies ``expr`` to exactly 0."""
    import sympy as sp

    return sp.simplify(sp.sympify(expr)) == 0


def peel_sum(expr: Any, upper: Any) -> Any:
    """Split off the last term of every sum running to ``upper`` (the induction step).

    ``Sum(f(s), (s, lo, upper))`` becomes ``Sum(f(s), (s, lo, upper - 1)) + f(upper)``;
    multiple limits are peeled one at a time.
    """
    import sympy as sp

    def rule(total):
        limits = list(total.limits)
        for k, (var, lo, hi) in enumerate(limits):
            if hi == upper:
                rest = limits[:k] + limits[k + 1 :]
                shorter = limits[:k] + [(var, lo, hi - 1)] + limits[k + 1 :]
                last = total.function.subs(var, hi)
                tail = peel_sum(sp.Sum(last, *rest), upper) if rest else last
                return peel_sum(sp.Sum(total.function, *shorter), upper) + tail
        return total

    return sp.sympify(expr).replace(lambda e: isinstance(e, sp.Sum), rule)

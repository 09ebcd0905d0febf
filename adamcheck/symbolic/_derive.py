"""What ``adamcheck derive`` prints: one library call per subject, exact throughout."""

from __future__ import annotations

from typing import Any

import sympy as sp

from .._derive_subjects import PROBLEMS, SUBJECTS
from .._errors import InvalidParameterError
from .._shown import shown_repr
from ..theory import CONVENTIONS, shi_min_beta2
from ._conditions import reddi_theorem1, shi_conditions, theorem22_condition, theorem22_rate, theorem23_class
from ._counterexamples import counterexample, reddi_experiment, reddi_online, reddi_stochastic
from ._export import exact_string
from ._recurrence import recurrence
from ._symbols import C as C_sym
from ._symbols import a as a_sym
from ._symbols import c as c_sym
from ._symbols import delta as delta_sym
from ._symbols import n as n_sym

__all__ = ["SUBJECTS", "PROBLEMS", "derive", "derive_d1", "parse_rational", "parse_integer"]



#: Longest number text and largest decimal exponent accepted (values stay exact).
MAX_NUMBER_CHARS = 60
MAX_EXPONENT = 300
#: Largest numeric n in beta1**n that SymPy's exact relationals handle in about a second.
MAX_EXACT_POWER = 1000


def parse_rational(text: Any, name: str, *, positive: bool = True) -> sp.Rational | None:
    """``"1/4"``, ``"0.25"`` or ``"3"`` as an exact SymPy rational (None stays None)."""
    if text is None:
        return None
    raw = str(text).strip()
    # SymPy would build 10**999999999 exactly for "1e999999999": cap the length and exponent.
    mantissa, _, exponent = raw.lower().partition("e")
    if len(raw) > MAX_NUMBER_CHARS or (exponent and (not exponent.lstrip("+-").isdigit()
                                                     or abs(int(exponent)) > MAX_EXPONENT)):
        raise InvalidParameterError(
            f"{name} = {shown_repr(raw)} is out of range: give at most {MAX_NUMBER_CHARS} characters "
            f"and an exponent within +-{MAX_EXPONENT}"
        )
    try:
        value = sp.Rational(raw)
    except ZeroDivisionError:
        raise InvalidParameterError(f"{name} = {shown_repr(raw)} divides by zero: give a non-zero denominator") from None
    except (TypeError, ValueError, SyntaxError):
        raise InvalidParameterError(f"{name} = {shown_repr(raw)} is not a number: write it as 3, 0.25 or 1/4") from None
    if not value.is_finite:
        raise InvalidParameterError(f"{name} = {shown_repr(raw)} is not a finite number: write it as 3, 0.25 or 1/4")
    if positive and not value > 0:
        raise InvalidParameterError(f"{name} = {shown_repr(raw)} must be positive")
    return value


def parse_integer(text: Any, name: str, minimum: int) -> sp.Integer | None:
    if text is None:
        return None
    value = parse_rational(text, name, positive=False)
    if value.q != 1 or value < minimum:
        raise InvalidParameterError(f"{name} = {shown_repr(str(text))} must be a whole number >= {minimum}")
    return sp.Integer(value)


def derive_d1(problem: str = "counterexample", n: Any = None, a: Any = None, C: Any = None) -> dict[str, Any]:
    """Tight D1 (with D0 = 0) of a problem, exact; numbers give rationals, omitted ones stay symbols.

    Example:
        >>> derive_d1("counterexample", n=3, a="1/4")["D1"]
        '171/8'
    """
    if problem == "counterexample":
        n_v = parse_integer(n, "n", 2) if n is not None else n_sym
        a_v = parse_rational(a, "a") if a is not None else a_sym
        ce = counterexample(n_v, a_v)
        d1, d0, extra = ce.d1, ce.d0, {"minimiser": ce.minimiser, "lower_bound": ce.lower_bound}
        params = {"n": n_v, "a": a_v}
    elif problem in ("reddi-online", "reddi-experiment"):
        if problem == "reddi-online":
            C_v = parse_rational(C, "C") if C is not None else C_sym
            if C is not None and not C_v > 2:
                raise InvalidParameterError(f"C = {C} must exceed 2 (Reddi et al.'s Theorem 1)")
            prob, params = reddi_online(C_v), {"C": C_v}
        else:
            prob, params = reddi_experiment(), {}
        d1, d0, extra = prob.d1, sp.Integer(0), {"minimiser": prob.minimiser}
    else:
        raise InvalidParameterError(
            f"D1 is defined for the finite-sum problems {', '.join(PROBLEMS[:3])}, not {problem!r}"
        )
    out: dict[str, Any] = {
        "problem": problem,
        "parameters": {k: exact_string(v) for k, v in params.items()},
        "D1": exact_string(sp.factor(d1)),
        "D0": exact_string(d0),
    }
    out.update({k: exact_string(v) for k, v in extra.items()})
    if not sp.sympify(d1).free_symbols:
        out["D1_float"] = float(d1)
    return out


def derive(subject: str, **params: Any) -> Any:
    """The object ``adamcheck derive SUBJECT`` prints: a Derivation, a list of them or a dict."""
    if subject not in SUBJECTS:
        raise InvalidParameterError(f"unknown subject {subject!r}: choose one of {', '.join(SUBJECTS)}")
    n_v = parse_integer(params.get("n"), "n", 1)
    if subject == "recurrence":
        conv = params.get("convention") or "all"
        names = CONVENTIONS if conv == "all" else (conv,)
        return [recurrence(c).derivation() for c in names]
    if subject == "theorem22":
        if n_v is not None and n_v > MAX_EXACT_POWER:
            raise InvalidParameterError(
                f"n = {shown_repr(str(params.get('n')))} is above {MAX_EXACT_POWER} for theorem22: its region holds "
                "beta1**n, which SymPy treats as a polynomial of degree n (too slow beyond that); omit --n to "
                "keep n a symbol"
            )
        c_v = parse_rational(params.get("c"), "c") if params.get("c") is not None else c_sym
        return [theorem22_condition(n_v if n_v is not None else n_sym, c_v, params.get("variant") or "2026"), theorem22_rate()]
    if subject == "shi":
        return [shi_conditions()]
    if subject == "theorem23":
        return [theorem23_class()]
    if subject == "reddi-theorem1":
        C_v = parse_rational(params.get("C"), "C") if params.get("C") is not None else C_sym
        return [reddi_theorem1(C_v)]
    if subject == "conditions":
        return derive("theorem22", **params) + [shi_conditions(), theorem23_class(), reddi_theorem1()]
    if subject == "counterexample":
        problem = params.get("problem") or "counterexample"
        if problem == "counterexample":
            a_v = parse_rational(params.get("a"), "a") if params.get("a") is not None else a_sym
            if n_v is not None and n_v < 2:
                raise InvalidParameterError(f"n = {n_v} must be at least 2 (the paper uses n >= 3)")
            return [counterexample(n_v if n_v is not None else n_sym, a_v).derivation()]
        if problem == "reddi-online":
            C_v = parse_rational(params.get("C"), "C") if params.get("C") is not None else C_sym
            return [reddi_online(C_v).derivation()]
        if problem == "reddi-experiment":
            return [reddi_experiment().derivation()]
        if problem == "reddi-stochastic":
            C_v = parse_rational(params.get("C"), "C") if params.get("C") is not None else C_sym
            d_v = parse_rational(params.get("delta"), "delta") if params.get("delta") is not None else delta_sym
            return [reddi_stochastic(C_v, d_v)]
        raise InvalidParameterError(f"unknown problem {problem!r}: choose one of {', '.join(PROBLEMS)}")
    if subject == "d1":
        return derive_d1(params.get("problem") or "counterexample", params.get("n"), params.get("a"), params.get("C"))
    # shi-threshold: the numeric certified solver
    missing = [k for k in ("n", "d", "D1") if params.get(k) is None]
    if missing:
        raise InvalidParameterError(f"shi-threshold needs --{' --'.join(m.lower() if m != 'D1' else 'D1' for m in missing)}")
    d_v = parse_integer(params.get("d"), "d", 1)
    d1_v = parse_rational(params["D1"], "D1")
    beta1 = float(parse_rational(params.get("beta1") or 0, "beta1", positive=False))
    return shi_min_beta2(int(n_v), int(d_v), float(d1_v), beta1, d1_convention=params.get("d1_convention") or "sum")

"""Facts about Shi et al. (2021)'s T1 and T2 that :func:`adamcheck.theory.shi_min_beta2` relies on.

* T2 is strictly decreasing in beta2 on (0, 1) and T2(1) = 0;
* T1 is strictly decreasing in beta2 and tends to sqrt(5d) d n^2 D1 beta1 (...) > 0;
* the solver's brackets, re-checked at high precision from the SymPy expressions.

Monotonicity of T2 is shown with beta2 = 1/(1+u), u > 0 (u increases as beta2
decreases): T2 = K A (B Cc/2 + D) with K = sqrt(5d) d n^2 D1 > 0,
A = (1+u)^(n/2), B = u/(1+u), Cc = 4n^2 (1+u)^n - 1, D = (1+u)^(n/2) - 1. SymPy
checks the factorisation, that A, B, Cc, D are positive (each increases from a
non-negative value at u = 0) with positive derivatives, and that the product rule
then gives dT2/du > 0.
"""

from __future__ import annotations

from ._framework import Obligation, is_zero, positive


def _t2_decreasing():
    import sympy as sp

    from adamcheck.symbolic import shi_t2_expr
    from adamcheck.symbolic._symbols import D1, beta2, d, n

    u = sp.Symbol("u", positive=True)
    w = 1 + u
    K = sp.sqrt(5 * d) * d * n**2 * D1
    A, B, Cc, D = w ** (n / 2), u / w, 4 * n**2 * w**n - 1, w ** (n / 2) - 1
    t2 = shi_t2_expr().subs(beta2, 1 / (1 + u))
    factor_ok = is_zero(sp.powsimp(sp.powdenest(t2 - K * A * (B * Cc / 2 + D), force=True), force=True))
    # each factor: value at u = 0 is >= 0 (Cc: 4n^2 - 1 > 0) and derivative > 0 on u > 0
    starts = [A.subs(u, 0) == 1, B.subs(u, 0) == 0, positive(Cc.subs(u, 0)), D.subs(u, 0) == 0]
    derivs = [positive(sp.diff(f, u)) for f in (A, B, Cc, D)]
    # product rule with positive symbols for the factors and their derivatives
    fa, fb, fc, fd, da, db, dc, dd = sp.symbols("A B C D dA dB dC dD", positive=True)
    F = lambda a_, b_, c_, d_: a_ * (b_ * c_ / 2 + d_)  # noqa: E731
    uu = sp.Symbol("uu")
    funcs = [sp.Function(name)(uu) for name in "abcd"]
    dF = sp.diff(F(*funcs), uu)
    dF = dF.subs({sp.Derivative(f, uu): dv for f, dv in zip(funcs, (da, db, dc, dd))})
    dF = dF.subs(dict(zip(funcs, (fa, fb, fc, fd))))
    rule = positive(dF) and positive(K)
    ok = factor_ok and all(starts) and all(derivs) and rule
    return ok, (
        f"T2 = K A (B C/2 + D) under beta2 = 1/(1+u): {factor_ok}; factors start >= 0: {starts}; "
        f"derivatives > 0: {derivs}; product rule gives dT2/du > 0: {rule}"
    )


def _t2_vanishes():
    from adamcheck.symbolic import shi_t2_expr
    from adamcheck.symbolic._symbols import beta2

    value = shi_t2_expr().subs(beta2, 1)
    return value == 0, f"T2(1) = {value} (T2 is continuous on (0, 1])"


def _t1_decreasing():
    import sympy as sp

    from adamcheck.symbolic import shi_t1_expr
    from adamcheck.symbolic._symbols import beta1, beta2, n

    t1 = shi_t1_expr()
    log_slope = sp.simplify(sp.diff(t1, beta2) * beta2 / t1)
    ok_slope = is_zero(log_slope + sp.Rational(3, 2) * n)
    r, y = sp.symbols("r y", positive=True)  # beta1 = 1/(1+r) in (0,1); (1+r)^n = 1 + y > 1
    positive_t1 = positive(
        t1.subs(beta1, 1 / (1 + r)).subs({(1 + r) ** (-n): 1 / (1 + y), (1 + r) ** n: 1 + y})
    )
    grows = positive(sp.diff((1 + r) ** n, r))  # (1+r)^n increases from 1, so (1+r)^n > 1
    ok = ok_slope and positive_t1 and grows
    return ok, (
        f"d T1/d beta2 = -(3n/2) T1/beta2: {ok_slope}; T1 > 0 for beta1 in (0,1): {positive_t1} "
        f"(uses (1+r)^n > 1, increasing from 1: {grows})"
    )


def _t1_limit():
    import sympy as sp

    from adamcheck import theory
    from adamcheck.symbolic import shi_t1_expr
    from adamcheck.symbolic._symbols import SYMPY, D1, beta1, beta2, d, n

    at_one = shi_t1_expr().subs(beta2, 1)
    stated = sp.sqrt(5 * d) * d * n**2 * D1 * beta1 * ((1 - beta1) / (1 - beta1**n) + 1)
    same = is_zero(at_one - stated) and is_zero(theory.shi_t1_limit(beta1, n, d, D1, lib=SYMPY) - stated)
    r, y = sp.symbols("r y", positive=True)
    pos = positive(stated.subs(beta1, 1 / (1 + r)).subs({(1 + r) ** (-n): 1 / (1 + y), (1 + r) ** n: 1 + y}))
    return same and pos, f"lim T1 = sqrt(5d) d n^2 D1 beta1((1-beta1)/(1-beta1^n)+1): {same}; > 0 for beta1 in (0,1): {pos}"


def _sum_vs_mean():
    import sympy as sp

    n_, gl = sp.symbols("n gl", positive=True)
    # f = sum_j f_j = n l  =>  |grad f|^2 = n^2 |grad l|^2, so D1_sum |grad f|^2 = (n^2 D1_sum) |grad l|^2
    d1_sum = sp.Symbol("D1_sum", positive=True)
    ok = is_zero(d1_sum * (n_ * gl) ** 2 - (n_**2 * d1_sum) * gl**2)
    return ok, f"D1_mean = n^2 D1_sum for the same components: {ok}"


CASES = [
    (10, 1, "1", 0.0),
    (3, 1, "171/8", 0.0),
    (1000, 1000, "1e6", 0.0),
    (10**6, 10**9, "1e12", 0.0),
    (2, 1, "0.001", 0.01),
    (50, 10, "0.0001", 1e-4),
]


def _bracket(case):
    def check():
        from fractions import Fraction

        import mpmath
        import sympy as sp

        from adamcheck import theory
        from adamcheck.symbolic import shi_t1_expr, shi_t2_expr
        from adamcheck.symbolic._symbols import D1, beta1, beta2, d, n

        n_v, d_v, d1_v, b1_v = case
        d1_f = float(Fraction(d1_v)) if "/" in d1_v else float(d1_v)
        res = theory.shi_min_beta2(n_v, d_v, d1_f, b1_v)
        if not res.feasible:
            return False, f"unexpectedly infeasible: {res.note}"
        expr = shi_t2_expr() if res.theorem == "4.3" else shi_t1_expr() + shi_t2_expr()
        bound = theory.shi_t2_bound(lib=sp) if res.theorem == "4.3" else theory.shi_adam_bound(lib=sp)
        # an independent route: the SymPy expression evaluated by mpmath at high precision
        # (exact rational powers beta2^n would be enormous for n = 10^6)
        f = sp.lambdify((n, d, D1, beta1, beta2), expr, modules="mpmath")
        with mpmath.workdps(40 + len(res.beta2_upper)):
            args = (mpmath.mpf(n_v), mpmath.mpf(d_v), mpmath.mpf(d1_f), mpmath.mpf(b1_v))
            upper = f(*args, mpmath.mpf(res.beta2_upper))
            lower = f(*args, mpmath.mpf(res.beta2_lower))
            bound_v = mpmath.mpf(sp.N(bound, 60))
            ok = bool(upper <= bound_v) and bool(lower > bound_v)
            rel = (lower - upper) / bound_v
        return ok, (
            f"Theorem {res.theorem}: T(beta2_upper) <= bound < T(beta2_lower): {ok}; "
            f"relative gap of T across the bracket {mpmath.nstr(rel, 3)}; 1 - beta2* ~ 10^{res.log10_gap:.2f}"
        )

    return check


def _infeasible():
    import sympy as sp

    from adamcheck import theory

    res = theory.shi_min_beta2(10, 1, 1.0, 0.9)
    limit = sp.N(theory.shi_t1_limit(sp.Rational(9, 10), 10, 1, 1, lib=sp), 30)
    ok = (not res.feasible) and limit > sp.N(theory.shi_adam_bound(lib=sp), 30)
    return ok, f"beta1 = 0.9, n = 10, d = 1, D1 = 1: lim T1 = {sp.N(limit, 6)} >= 1 - 1/sqrt 2, solver says infeasible: {not res.feasible}"


def obligations() -> list[Obligation]:
    out = [
        Obligation(
            "shi.t2_decreasing",
            "T2(beta2) is strictly decreasing on (0, 1) for all n, d, D1 > 0",
            "Derivative(T2, beta2) < 0",
            "symbolic",
            _t2_decreasing,
        ),
        Obligation("shi.t2_vanishes_at_one", "T2(beta2) -> 0 as beta2 -> 1", "Eq(T2.subs(beta2, 1), 0)", "symbolic", _t2_vanishes),
        Obligation(
            "shi.t1_decreasing",
            "T1(beta1, beta2) is strictly decreasing in beta2 for beta1 in (0, 1)",
            "Derivative(T1, beta2) < 0",
            "symbolic",
            _t1_decreasing,
        ),
        Obligation(
            "shi.t1_does_not_vanish",
            "T1 -> sqrt(5d) d n^2 D1 beta1 ((1-beta1)/(1-beta1^n) + 1) > 0 as beta2 -> 1",
            "limit(T1, beta2, 1) > 0",
            "symbolic",
            _t1_limit,
        ),
        Obligation(
            "shi.d1_sum_vs_mean",
            "for f = sum_j f_j = n l, Shi's D1 (sum) and A2.2's D1 (mean) differ by n^2",
            "Eq(D1_mean, n**2*D1_sum)",
            "symbolic",
            _sum_vs_mean,
        ),
        Obligation(
            "shi.infeasible_large_beta1",
            "for beta1 = 0.9 (n = 10, d = 1, D1 = 1) no beta2 < 1 meets Theorem 4.4, and the solver says so",
            "limit(T1, beta2, 1) >= 1 - 1/sqrt(2)",
            "interval",
            _infeasible,
        ),
    ]
    for case in CASES:
        n_v, d_v, d1_v, b1_v = case
        out.append(
            Obligation(
                f"shi.min_beta2_bracket.n{n_v}_d{d_v}_D1_{d1_v}_b1_{b1_v:g}",
                f"shi_min_beta2(n={n_v}, d={d_v}, D1={d1_v}, beta1={b1_v:g}) brackets the threshold: "
                "admissible at beta2_upper, not at beta2_lower",
                "(T(beta2_upper) <= bound) & (T(beta2_lower) > bound)",
                "interval",
                _bracket(case),
            )
        )
    return out

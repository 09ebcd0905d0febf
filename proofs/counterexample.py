"""Facts about the counterexample of Zhang et al. (2026, eq. 2.5), docs/theory.md section 4.

All checks use :class:`adamcheck.symbolic.Counterexample`, whose constants SymPy
solves for from the Piecewise definition, and compare them with the
closed forms of docs/theory.md section 4 and with the numeric :mod:`adamcheck.theory` functions.
"""

from __future__ import annotations

from ._framework import Obligation, is_zero, nonnegative, positive


def _ce():
    from adamcheck.symbolic import counterexample

    return counterexample()


def _c1():
    import sympy as sp

    from adamcheck import theory
    from adamcheck.symbolic._symbols import x

    slope = sp.Symbol("sigma", real=True)  # any component slope
    lin = theory.counterexample_piece_linear(x, slope)
    quad = theory.counterexample_piece_quadratic(x, slope)
    k = theory.KINK
    value = is_zero(lin.subs(x, k) - quad.subs(x, k))
    deriv = is_zero(sp.diff(lin, x).subs(x, k) - sp.diff(quad, x).subs(x, k))
    return value and deriv, f"values agree at x = -1: {value}; derivatives agree: {deriv} (for every slope)"


def _linear_piece():
    import sympy as sp

    from adamcheck.symbolic._symbols import n, x

    ce = _ce()
    above, cond = ce.loss.args[0]
    ok = is_zero(above - x / n) and cond == (x >= -1)
    below = ce.loss.args[1][0]
    ok_below = is_zero(below - ((x + 2) ** 2 / (2 * n) - sp.Rational(3, 2) / n))
    return ok and ok_below, f"l = x/n on x >= -1: {ok}; l = (x+2)^2/(2n) - 3/(2n) below: {ok_below}"


def _minimiser():
    import sympy as sp

    from adamcheck import theory
    from adamcheck.symbolic._symbols import x

    ce = _ce()
    points = ce.stationary_points
    unique = points == [-2]
    y = sp.Symbol("y", nonnegative=True)
    above = ce.loss.args[0][0]
    below = ce.loss.args[1][0]
    gap_above = sp.simplify(above.subs(x, -1 + y) - ce.loss.args[1][0].subs(x, -2))
    gap_below = sp.simplify(below - below.subs(x, -2))
    global_min = positive(gap_above) and nonnegative(gap_below)
    matches = theory.counterexample_minimiser() == ce.minimiser
    return unique and global_min and matches, (
        f"only stationary point: {points}; l(x) - l(-2) > 0 for x >= -1: {positive(gap_above)}; "
        f">= 0 below: {nonnegative(gap_below)}; theory.counterexample_minimiser agrees: {matches}"
    )


def _lower_bound():
    import sympy as sp

    from adamcheck import theory
    from adamcheck.symbolic._symbols import n

    ce = _ce()
    ok = is_zero(ce.lower_bound + sp.Rational(3, 2) / n)
    numeric = is_zero(sp.sympify(theory.counterexample_lower_bound(n)) - ce.lower_bound)
    return ok and numeric, f"l* = l(-2) = {ce.lower_bound} = -3/(2n): {ok}; theory.counterexample_lower_bound agrees: {numeric}"


def _d1_tight():
    import sympy as sp

    from adamcheck import theory
    from adamcheck.symbolic._symbols import a, n, x

    ce = _ce()
    stated = n**2 * ((1 + (n - 1) * a) ** 2 + (n - 1) * a**2)
    equal_pieces = all(is_zero(r - stated) for r in ce.d1_per_piece)
    matches_theory = is_zero(sp.sympify(theory.counterexample_d1(n, a)) - stated)
    d0_zero = ce.d0 == 0
    # tightness: with D1' = D1 - e (e > 0) the residual e * l'(x)^2 is unbounded on x < -1
    e = sp.Symbol("e", positive=True)
    grad_below = sp.diff(ce.loss.args[1][0], x)
    unbounded = sp.limit(e * grad_below**2, x, -sp.oo) == sp.oo
    return equal_pieces and matches_theory and d0_zero and unbounded, (
        f"sum_i f_i'^2 / l'^2 = n^2[(1+(n-1)a)^2+(n-1)a^2] on both pieces: {equal_pieces}; "
        f"theory.counterexample_d1 agrees: {matches_theory}; D0 = 0: {d0_zero}; "
        f"smaller D1 needs D0 = infinity: {unbounded}"
    )


def _two_n_squared():
    import sympy as sp

    from adamcheck import theory
    from adamcheck.symbolic._symbols import n

    a_choice = 1 / (n - 1) ** 2
    d1 = sp.sympify(theory.counterexample_d1(n, a_choice))
    slack = sp.factor(sp.simplify(2 * n**2 - d1))
    # slack = n^2 P(n) / (n-1)^3 with P(n) = 2(n-1)^3 - n^2 (n-1) - 1
    P = sp.expand(2 * (n - 1) ** 3 - n**2 * (n - 1) - 1)
    same = is_zero(slack - n**2 * P / (n - 1) ** 3)
    k = sp.Symbol("k", nonnegative=True)
    shifted = sp.Poly(sp.expand(P.subs(n, 4 + k)), k)
    all_pos = all(c > 0 for c in shifted.all_coeffs())
    at3 = sp.sympify(theory.counterexample_d1(3, sp.Rational(1, 4)))
    fails3 = at3 > 18 and at3 == sp.Rational(171, 8)
    never_equal = P.subs(n, 3) != 0  # and P > 0 for n >= 4, so D1 = 2n^2 exactly never holds
    ok = same and all_pos and fails3 and never_equal
    return ok, (
        f"2n^2 - D1(1/(n-1)^2) = n^2 P(n)/(n-1)^3 with P = {P}: {same}; "
        f"P(4+k) has positive coefficients {shifted.all_coeffs()}: {all_pos}; "
        f"n = 3: D1 = {at3} > 18: {fails3}; D1 = 2n^2 exactly for no n >= 3: {never_equal}"
    )


def _reddi_a1():
    import sympy as sp

    from adamcheck import theory
    from adamcheck.symbolic._symbols import n

    d1 = sp.sympify(theory.counterexample_d1(n, 1))
    ok = is_zero(d1 - (n**4 + n**3 - n**2))
    tight = is_zero(sp.sympify(theory.tight_d1([n] + [-1] * 5)).subs(n, 6) - (6**4 + 6**3 - 6**2))
    return ok and tight, f"D1(a=1) = n^4 + n^3 - n^2: {ok}; Reddi's slopes (n, -1, ..) give the same at n = 6: {tight}"


def _example():
    import sympy as sp

    from adamcheck.symbolic import counterexample

    ce = counterexample(3, sp.Rational(1, 4))
    ok = ce.d1 == sp.Rational(171, 8) and ce.d0 == 0 and ce.minimiser == -2 and ce.lower_bound == sp.Rational(-1, 2)
    return ok, f"n = 3, a = 1/4: D1 = {ce.d1}, D0 = {ce.d0}, x* = {ce.minimiser}, l* = {ce.lower_bound}"


def _mean_gradient():
    from adamcheck.problems import counterexample_slopes
    from adamcheck.symbolic._symbols import a, n

    s0, s1 = counterexample_slopes(n, a)
    mean = (s0 + (n - 1) * s1) / n
    return is_zero(mean - 1 / n), "E[g] = (s_0 + (n-1) s_1)/n = 1/n = l'(x) on x >= -1: " + str(is_zero(mean - 1 / n))


def obligations() -> list[Obligation]:
    spec = [
        ("counterexample.c1_at_kink", "each f_i is C^1 at x = -1", "Eq(f_lin(-1), f_quad(-1)) & Eq(f_lin'(-1), f_quad'(-1))", _c1),
        ("counterexample.loss_pieces", "l = x/n for x >= -1 and (x+2)^2/(2n) - 3/(2n) below", "Eq(l, Piecewise((x/n, x >= -1), ((x+2)**2/(2*n) - 3/(2*n), True)))", _linear_piece),
        ("counterexample.minimiser", "the unique stationary point x* = -2 is the global minimiser", "Eq(argmin(l), -2)", _minimiser),
        ("counterexample.lower_bound", "l* = l(-2) = -3/(2n)", "Eq(l(-2), -3/(2*n))", _lower_bound),
        (
            "counterexample.d1_tight",
            "D1(a) = n^2[(1+(n-1)a)^2 + (n-1)a^2] with D0 = 0 is tight (any smaller D1 needs D0 = infinity)",
            "Eq(sup(Sum(f_i'**2)/l'**2), n**2*((1 + (n - 1)*a)**2 + (n - 1)*a**2))",
            _d1_tight,
        ),
        (
            "counterexample.a_inverse_square_gives_2n2_iff_n_ge_4",
            "a = 1/(n-1)^2 gives D1 <= 2n^2 exactly for n >= 4 (n = 3: 171/8 > 18; never equality)",
            "(D1(1/(n-1)**2) <= 2*n**2) <-> (n >= 4)",
            _two_n_squared,
        ),
        ("counterexample.a_one_is_reddi", "a = 1 gives Reddi's constant D1 = n^4 + n^3 - n^2", "Eq(D1(1), n**4 + n**3 - n**2)", _reddi_a1),
        ("counterexample.example_n3_a_quarter", "n = 3, a = 1/4: D1 = 171/8, D0 = 0, x* = -2, l* = -1/2", "Eq(D1(3, 1/4), 171/8)", _example),
        ("counterexample.mean_gradient", "the mean component gradient on x >= -1 is 1/n (the two-point law's mean)", "Eq((s0 + (n-1)*s1)/n, 1/n)", _mean_gradient),
    ]
    return [Obligation(id=i, statement=st, sympy=sy, method="symbolic", check=f) for i, st, sy, f in spec]

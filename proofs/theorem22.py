"""Theorem 2.2 (Zhang et al. 2026): the rate's two terms and the beta2 threshold's order form."""

from __future__ import annotations

from ._framework import Obligation, is_zero, positive


def _neighbourhood():
    import sympy as sp

    from adamcheck.symbolic import theorem22_rate
    from adamcheck.symbolic._symbols import beta2

    term = theorem22_rate()["neighbourhood"]
    ok = sp.limit(term, beta2, 1, dir="-") == 0
    return ok, f"lim_(beta2 -> 1-) {term} = 0: {ok}"


def _blowup():
    import sympy as sp

    from adamcheck.symbolic import theorem22_rate
    from adamcheck.symbolic._symbols import beta2

    blow = theorem22_rate()["blowup"]
    opt = theorem22_rate()["optimisation"]
    grows = sp.limit(blow, beta2, 1, dir="-") == sp.oo
    k = sp.Symbol("k", integer=True, positive=True)  # T = 1 + k >= 2, so log T > 0
    opt_grows = sp.limit(opt.subs(sp.Symbol("T", integer=True, positive=True), 1 + k), beta2, 1, dir="-") == sp.oo
    values = blow.subs(beta2, sp.Rational(19, 20)) == 20 and blow.subs(beta2, sp.Rational(999, 1000)) == 1000
    factor = is_zero(opt - blow * sp.log(sp.Symbol("T", integer=True, positive=True)) / sp.sqrt(sp.Symbol("T", integer=True, positive=True)))
    ok = grows and opt_grows and values and factor
    return ok, (
        f"1/(1-beta2) -> oo: {grows}; optimisation term -> oo at fixed T >= 2: {opt_grows}; "
        f"20 at 0.95 and 1000 at 0.999: {values}; the term is 1/(1-beta2) * log T/sqrt T: {factor}"
    )


def _threshold_rises():
    import sympy as sp

    from adamcheck.symbolic import theorem22_condition
    from adamcheck.symbolic._symbols import beta1, n

    scale = theorem22_condition()["order_scale"]  # (1 - beta1^n)/n^5, n treated as real > 0 here
    nn = sp.Symbol("nu", positive=True)
    scale = scale.subs(n, nn)
    # beta1 = e^{-y}, y > 0; with z = nu*y: d/dnu scale = nu^-6 (e^{-z}(z+5) - 5), negative iff 5e^z > z+5
    y, z = sp.symbols("y z", positive=True)
    derivative = sp.diff(scale.subs(beta1, sp.exp(-y)), nn)
    form = is_zero(derivative - nn**-6 * (sp.exp(-nn * y) * (nn * y + 5) - 5))
    # 5e^z - z - 5 = 4z + 5(e^z - 1 - z) and e^z - 1 - z = sum_{k>=2} z^k/k!, every term > 0
    k = sp.Symbol("k", integer=True, nonnegative=True)
    series = sp.Sum(z**k / sp.factorial(k), (k, 2, sp.oo))
    h_start = is_zero(series.doit() - (sp.exp(z) - 1 - z))
    h_deriv = positive(z**k / sp.factorial(k)) and positive(4 * z)
    zero_beta1 = positive(-sp.diff(nn**-5, nn))
    ok = form and h_start and h_deriv and zero_beta1
    return ok, (
        f"d/dn (1-beta1^n)/n^5 = n^-6 (e^-z (z+5) - 5), z = n log(1/beta1): {form}; "
        f"e^z - 1 - z = sum_(k>=2) z^k/k!: {h_start}, so 5e^z - z - 5 = 4z + 5 * (positive terms) > 0: {h_deriv}; "
        f"beta1 = 0 case: {zero_beta1} "
        "-> the order scale falls and gamma1(n) rises with n"
    )


def _region_needs_beta1_below_sqrt():
    import sympy as sp

    from adamcheck.symbolic import theorem22_condition
    from adamcheck.symbolic._symbols import beta1, beta2

    region = theorem22_condition(10, 1)["region"]
    inside = bool(region.subs({beta1: sp.Rational(9, 10), beta2: 1 - sp.Rational(1, 10**6)}))
    outside = not bool(region.subs({beta1: sp.Rational(999, 1000), beta2: 1 - sp.Rational(1, 10**6)}))
    return inside and outside, (
        f"(0.9, 1 - 1e-6) is inside for n = 10, c = 1: {inside}; (0.999, 1 - 1e-6) is outside "
        f"(beta1 >= sqrt(beta2)): {outside}"
    )


def obligations() -> list[Obligation]:
    return [
        Obligation(
            "theorem22.neighbourhood_vanishes",
            "the rate term (1-beta2) sqrt(D0) vanishes as beta2 -> 1",
            "Eq(limit((1 - beta2)*sqrt(D_0), beta2, 1), 0)",
            "symbolic",
            _neighbourhood,
        ),
        Obligation(
            "theorem22.blowup_grows",
            "the 1/(1-beta2) factor of the optimisation term grows without bound (20 at 0.95, 1000 at 0.999)",
            "Eq(limit(1/(1 - beta2), beta2, 1, '-'), oo)",
            "symbolic",
            _blowup,
        ),
        Obligation(
            "theorem22.threshold_rises_with_n",
            "the order scale (1-beta1^n)/n^5 decreases in n, so gamma1(n) rises with n (smaller batches need larger beta2)",
            "Derivative((1 - beta1**n)/n**5, n) < 0",
            "symbolic",
            _threshold_rises,
        ),
        Obligation(
            "theorem22.region_example",
            "the SymPy region contains (0.9, 1-1e-6) and excludes beta1 >= sqrt(beta2) (n = 10, c = 1)",
            "theorem22_condition(10, 1).subs(...)",
            "symbolic",
            _region_needs_beta1_below_sqrt,
        ),
    ]

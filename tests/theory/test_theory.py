"""adamcheck.theory: the SymPy-free formulas and the certified Shi et al. solver."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction

import mpmath
import pytest

from adamcheck import theory
from adamcheck._errors import InvalidParameterError


def _t_mp(beta2, n, d, d1, beta1, with_t1):
    """Independent high-precision evaluation of T2 (+ T1), straight from the paper's formula."""
    b = beta2**n
    pref = mpmath.sqrt(5 * d / b) * d * n**2 * d1
    t2 = pref * ((1 - beta2) * (4 * n**2 / b - 1) / 2 + (1 / mpmath.sqrt(b) - 1))
    if not with_t1:
        return t2
    t1 = pref * (beta1 / b) * ((1 - beta1) / (1 - beta1**n) + 1)
    return t1 + t2


def _brute_threshold(n, d, d1, beta1, with_t1):
    """Bisection on beta2 itself in 80-digit arithmetic (a slow, obviously correct reference)."""
    bound = (mpmath.sqrt(2) - 1) / (2 * mpmath.sqrt(2)) if not with_t1 else 1 - 1 / mpmath.sqrt(2)
    lo, hi = mpmath.mpf(0), mpmath.mpf(1)  # T(lo) > bound, T(hi -> 1) < bound
    for _ in range(400):
        mid = (lo + hi) / 2
        if _t_mp(mid, n, d, d1, beta1, with_t1) > bound:
            lo = mid
        else:
            hi = mid
    return hi


@pytest.mark.parametrize(
    "n,d,d1,beta1",
    [(10, 1, 1.0, 0.0), (3, 1, 21.375, 0.0), (200, 50, 1e4, 0.0), (2, 1, 1e-3, 0.01), (50, 10, 1e-4, 1e-4), (1, 1, 0.01, 0.0)],
)
def test_shi_min_beta2_brackets_the_brute_force_threshold(n, d, d1, beta1):
    with mpmath.workdps(80):
        ref = _brute_threshold(n, d, d1, beta1, beta1 > 0)
        res = theory.shi_min_beta2(n, d, d1, beta1)
        assert res.feasible
        assert mpmath.mpf(res.beta2_lower) < ref <= mpmath.mpf(res.beta2_upper) + mpmath.mpf(10) ** -70
        gap = 1 - ref
        assert res.gap_lower <= gap <= res.gap_upper
        assert abs(res.log10_gap - float(mpmath.log10(gap))) < 1e-6


def test_shi_threshold_far_below_double_precision_is_not_rounded_to_one():
    res = theory.shi_min_beta2(10**6, 10**9, 1e12)
    assert res.gap_upper < 1e-40 and res.gap_lower > 0
    assert res.beta2_upper.startswith("0.9999999999") and res.beta2_upper != "1"
    with mpmath.workdps(120):
        bound = (mpmath.sqrt(2) - 1) / (2 * mpmath.sqrt(2))
        assert _t_mp(mpmath.mpf(res.beta2_upper), 10**6, 10**9, 1e12, 0, False) <= bound
        assert _t_mp(mpmath.mpf(res.beta2_lower), 10**6, 10**9, 1e12, 0, False) > bound


def test_shi_beta1_positive_is_infeasible_when_t1_limit_is_too_large():
    res = theory.shi_min_beta2(10, 1, 1.0, 0.9)
    assert not res.feasible and res.beta2_lower is None
    assert res.t1_limit == pytest.approx(float(theory.shi_t1_limit(0.9, 10, 1, 1.0)))
    assert res.t1_limit > theory.shi_adam_bound()
    assert "no beta2 < 1" in res.note and "conservative" in res.note


def test_shi_mean_convention_divides_d1_by_n_squared():
    a = theory.shi_min_beta2(20, 3, 400.0, d1_convention="mean")
    b = theory.shi_min_beta2(20, 3, 1.0, d1_convention="sum")
    assert a.beta2_lower == b.beta2_lower and a.d1_sum == 1.0
    # the literal (sum) reading of a mean-convention D1 is more conservative, never less
    c = theory.shi_min_beta2(20, 3, 400.0)
    assert c.gap_upper < a.gap_lower


def test_shi_threshold_rises_with_n_and_d1():
    gaps = [theory.shi_min_beta2(n, 1, 1.0).log10_gap for n in (2, 10, 100, 1000)]
    assert gaps == sorted(gaps, reverse=True)
    assert theory.shi_min_beta2(10, 1, 10.0).log10_gap < theory.shi_min_beta2(10, 1, 1.0).log10_gap


def test_shi_result_is_json_ready():
    from adamcheck._jsonio import dumps

    data = json.loads(dumps(theory.shi_min_beta2(10, 1, 1.0)))
    assert data["theorem"] == "4.3" and data["feasible"] is True and "conservative" in data["note"]


@pytest.mark.parametrize(
    "kwargs",
    [dict(n=0, d=1, d1=1.0), dict(n=3, d=1, d1=-1.0), dict(n=3, d=1, d1=1.0, beta1=1.0), dict(n=3, d=1, d1=1.0, theorem="4.3", beta1=0.1), dict(n=3, d=1, d1=1.0, d1_convention="avg")],
)
def test_shi_bad_input_raises_our_error(kwargs):
    with pytest.raises(InvalidParameterError):
        theory.shi_min_beta2(**kwargs)


def test_shi_t_functions_match_the_formula_at_random_points():
    import random

    rng = random.Random(3)
    for _ in range(50):
        n, d, d1 = rng.randint(1, 30), rng.randint(1, 20), rng.uniform(0.1, 10)
        b1, b2 = rng.uniform(0.01, 0.9), rng.uniform(0.5, 0.9999)
        with mpmath.workdps(30):
            ref = _t_mp(mpmath.mpf(b2), n, d, d1, mpmath.mpf(b1), True)
        got = theory.shi_t1(b1, b2, n, d, d1) + theory.shi_t2(b2, n, d, d1)
        assert got == pytest.approx(float(ref), rel=1e-9)


def test_theorem22_order_scale_and_threshold():
    assert theory.theorem22_order_scale(10, 0.0) == pytest.approx(1e-5)
    assert theory.theorem22_order_scale(10, 0.9, "2022") == pytest.approx((1 - 0.9**10) / 10**3.5)
    # expm1 keeps tiny scales accurate: 1 - beta1^n for beta1 = 1e-12, n = 1
    assert theory.theorem22_order_scale(1, 1e-12) == pytest.approx(1.0)
    assert theory.theorem22_threshold(10, 0.0, c=2.0) == pytest.approx(1 - 2e-5)
    with pytest.raises(TypeError):
        theory.theorem22_threshold(10, 0.0)  # c has no default: the paper does not give it
    with pytest.raises(InvalidParameterError):
        theory.theorem22_threshold(10, 0.0, c=-1.0)
    with pytest.raises(InvalidParameterError):
        theory.theorem22_order_scale(10, 0.5, "2024")
    assert theory.theorem22_holds(0.9, 1 - 1e-6, 10, c=1.0)
    assert not theory.theorem22_holds(0.999, 1 - 1e-6, 10, c=1.0)  # beta1 >= sqrt(beta2)


def test_counterexample_constants_exact_and_against_brute_force():
    assert theory.counterexample_d1(3, Fraction(1, 4)) == Fraction(171, 8)
    assert theory.counterexample_d1(7, 1) == 7**4 + 7**3 - 7**2
    assert theory.counterexample_lower_bound(5) == Fraction(-3, 10)
    # brute force: sup over a grid of sum_i f_i'^2 / l'^2 from finite differences of the losses
    n, a = 5, 0.3
    slopes = theory.counterexample_component_slopes(n, a)
    worst = 0.0
    h = 1e-6
    for k in range(-400, 400):
        x = k / 37.0
        if abs(x + 1) < 2 * h or abs(x + 2) < 0.05:
            continue
        piece = theory.counterexample_piece_linear if x >= -1 else theory.counterexample_piece_quadratic
        grads = [(piece(x + h, s) - piece(x - h, s)) / (2 * h) for s in slopes]
        lgrad = (theory.counterexample_loss(x + h, n, a) - theory.counterexample_loss(x - h, n, a)) / (2 * h)
        worst = max(worst, sum(g * g for g in grads) / lgrad**2)
    assert worst == pytest.approx(theory.counterexample_d1(n, a), rel=1e-5)
    # minimiser and lower bound by a grid search
    xs = [-4 + k / 1000 for k in range(6001)]
    best = min(xs, key=lambda x: theory.counterexample_loss(x, n, a))
    assert best == pytest.approx(theory.counterexample_minimiser(), abs=1e-3)
    assert theory.counterexample_loss(best, n, a) == pytest.approx(float(theory.counterexample_lower_bound(n)))


def test_tight_d1_and_reddi_constants():
    assert theory.tight_d1([3, -1, -1]) == Fraction(9 * 11, 1)
    assert theory.reddi_theorem1_beta2(3) == Fraction(1, 10)
    mean, second = theory.reddi_stochastic_moments(Fraction(10), Fraction(1, 10))
    assert mean == Fraction(1, 10)
    assert theory.theorem23_class_holds(4, 32, 0) and not theory.theorem23_class_holds(3, 17.9, 0)


def test_theory_recurrence_matches_simulator_reference():
    import numpy as np

    from adamcheck.simulator import adam_step

    rng = np.random.default_rng(0)
    for conv in theory.CONVENTIONS:
        for wd, decoupled in ((0.0, False), (0.01, False), (0.01, True)):
            x, m, v, g = rng.normal(size=4)
            v = abs(v)
            kw = dict(beta1=0.9, beta2=0.99, lr=0.01, eps=1e-8, weight_decay=wd, decoupled=decoupled)
            ref = adam_step(conv, np.array([[x]]), np.array([[m]]), np.array([[v]]), np.array([[g]]), 3, **kw)
            got = theory.adam_update(conv, x, m, v, g, 3, **kw)
            for r, s in zip(ref, got):
                assert float(r[0, 0]) == pytest.approx(s, rel=1e-13, abs=1e-15), (conv, wd, decoupled)


def test_shi_initial_moments_follow_the_sum_convention():
    m, v = theory.shi_initial_moments([1.0, 2.0, -6.0], beta1=0.5, beta2=0.75)
    assert m == pytest.approx(-3.0 / 0.5) and v == pytest.approx(36.0 / 0.25)
    with pytest.raises(InvalidParameterError):
        theory.shi_initial_moments([], beta1=0.5, beta2=0.5)


def test_theory_solvers_import_neither_sympy_nor_numpy(root):
    # what `adamcheck recommend` calls must stay light; counterexample helpers load
    # adamcheck.problems (and so NumPy) only when used
    code = (
        "import sys, adamcheck.theory as t; t.shi_min_beta2(100, 10, 1e3); t.theorem22_threshold(10, 0.9, 1.0); "
        "print(any(m == 'sympy' or m.startswith('sympy.') for m in sys.modules), 'numpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True)
    assert out.stdout.split() == ["False", "False"]

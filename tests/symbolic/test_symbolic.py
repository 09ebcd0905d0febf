"""adamcheck.symbolic: objects built from adamcheck.theory, checked against independent routes."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import sympy as sp

from adamcheck import theory
from adamcheck.simulator import CONVENTIONS, adam_step
from adamcheck.symbolic import (
    closed_form_m,
    closed_form_v,
    counterexample,
    reddi_online,
    reddi_stochastic,
    recurrence,
    shi_conditions,
    theorem22_condition,
    theorem23_class,
)
from adamcheck.symbolic._symbols import D1, beta1, beta2, d, eps, eps_root, g, m0, n, t, v0


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_symbolic_update_equals_simulator_step_for_random_inputs(convention):
    f = recurrence(convention).update_function()
    rng = np.random.default_rng(11)
    for _ in range(40):
        x, m, gr = rng.normal(size=3) * 10 ** rng.uniform(-3, 3, size=3)
        v = abs(rng.normal()) * 10 ** rng.uniform(-3, 3)
        step = int(rng.integers(1, 1000))
        b1, b2 = rng.uniform(0, 0.999), rng.uniform(0, 0.99999)
        lr, e, root = 10 ** rng.uniform(-5, 0), 10 ** rng.uniform(-12, -2), 10 ** rng.uniform(-12, -4)
        root = root if convention == "optax" else 0.0
        ref = adam_step(convention, *(np.array([[z]]) for z in (x, m, v, gr)), step, beta1=b1, beta2=b2, lr=lr, eps=e, eps_root=root)
        got = f(x, m, v, gr, step, b1, b2, lr, e, root)
        for r, s in zip(ref, got):
            assert float(s) == pytest.approx(float(r[0, 0]), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_unrolled_moments_equal_closed_forms_and_iterated_simulator(convention):
    rec = recurrence(convention)
    steps = 5
    m_sym, v_sym = rec.unrolled_moments(steps)
    closed_m = closed_form_m(steps).doit()
    closed_v = closed_form_v(steps).doit()
    assert sp.expand(m_sym - closed_m) == 0 and sp.expand(v_sym - closed_v) == 0
    # numerically against 5 simulator steps
    rng = np.random.default_rng(5)
    grads = rng.normal(size=steps)
    vals = {beta1: 0.8, beta2: 0.95, m0: 0.3, v0: 0.2}
    vals.update({g[k + 1]: float(grads[k]) for k in range(steps)})
    x = np.zeros((1, 1))
    m, v = np.full((1, 1), 0.3), np.full((1, 1), 0.2)
    for k in range(steps):
        x, m, v = adam_step(convention, x, m, v, np.array([[grads[k]]]), k + 1, beta1=0.8, beta2=0.95, lr=0.1, eps=1e-8)
    assert float(m_sym.subs(vals)) == pytest.approx(float(m[0, 0]), rel=1e-12)
    assert float(v_sym.subs(vals)) == pytest.approx(float(v[0, 0]), rel=1e-12)


def test_a_wrong_closed_form_is_rejected_by_the_induction_check():
    from adamcheck.proofs._framework import is_zero, peel_sum

    rec = recurrence("paper")
    s = sp.Symbol("s", integer=True, positive=True)

    def wrong(T):  # exponent off by one
        return beta1**T * m0 + (1 - beta1) * sp.Sum(beta1 ** (T - s + 1) * g[s], (s, 1, T))

    step = peel_sum(wrong(t + 1), t + 1) - rec.step(wrong(t), 0, g[t + 1])[0]
    assert not is_zero(sp.expand(step))


def test_counterexample_constants_match_theory_for_several_n_a():
    rng = random.Random(1)
    for _ in range(5):
        n_v = rng.randint(3, 30)
        a_v = sp.Rational(rng.randint(1, 20), rng.randint(1, 400))
        ce = counterexample(n_v, a_v)
        assert ce.d1 == sp.Rational(theory.counterexample_d1(n_v, a_v))
        assert ce.d0 == 0 and ce.minimiser == -2
        assert ce.lower_bound == sp.Rational(-3, 2 * n_v)
        assert ce.lower_bound == sp.Rational(theory.counterexample_lower_bound(n_v))
    x = sp.Symbol("x", real=True)
    ce = counterexample(3, "1/4")
    for xv in (-5, -2.5, -1, 0, 3.25):
        assert float(ce.loss.subs(x, xv)) == pytest.approx(theory.counterexample_loss(xv, 3, 0.25))


def test_counterexample_piecewise_is_eq_2_5():
    ce = counterexample()
    x = sp.Symbol("x", real=True)
    a, nn = sp.Symbol("a", positive=True), sp.Symbol("n", integer=True, positive=True)
    f0_low = ce.f0.args[1][0]
    assert sp.simplify(f0_low - ((1 + (nn - 1) * a) / 2 * (x + 2) ** 2 - (3 + 3 * (nn - 1) * a) / 2)) == 0
    assert sp.simplify(ce.fi.args[0][0] + a * x) == 0


def test_reddi_problems():
    assert sp.simplify(reddi_online().d1 - 9 * (sp.Symbol("C", positive=True) ** 2 + 2) / (sp.Symbol("C", positive=True) - 2) ** 2) == 0
    assert reddi_online(3).d1 == 99
    assert reddi_online(3).derivation()["beta2"] == sp.Rational(1, 10)
    st = reddi_stochastic(10, sp.Rational(1, 10))
    assert st["F"] == sp.Rational(1, 10) * sp.Symbol("x", real=True)
    assert st["E_g2"] == sp.Rational(109, 10)


def test_conditions_agree_with_numeric_theory_at_random_points():
    region = theorem22_condition(20, sp.Rational(1, 3))["region"]
    rng = np.random.default_rng(2)
    for _ in range(200):
        b1 = float(rng.uniform(0, 1))
        b2 = float(1 - 10 ** rng.uniform(-9, 0))
        assert bool(region.subs({beta1: b1, beta2: b2})) == theory.theorem22_holds(b1, b2, 20, 1 / 3)
    t2 = shi_conditions()["T2"]
    val = float(t2.subs({beta2: 0.999, n: 7, d: 3, D1: 2.5}))
    assert val == pytest.approx(theory.shi_t2(0.999, 7, 3, 2.5), rel=1e-12)
    cls = theorem23_class()["class"]
    assert bool(cls.subs({n: 4, D1: 32, sp.Symbol("D_0", nonnegative=True): 0}))


def test_latex_and_exact_json():
    from adamcheck._jsonio import dumps

    ce = counterexample(3, "1/4")
    latex = ce.latex()
    assert r"\begin{cases}" in latex and r"\frac{171}{8}" in latex
    data = json.loads(dumps(ce))
    assert data["entries"]["D1"] == "171/8"
    assert recurrence("torch").latex().count(r"\beta_{1}") >= 3
    assert "sqrt(1 - beta2**t)" in json.loads(dumps(recurrence("keras")))["entries"]["update"]


def test_symbolic_direction_uses_theory_formula():
    rec = recurrence("optax")
    m_t, v_t = rec.m_t, rec.v_t
    direct = theory.adam_direction("optax", m_t, v_t, t, beta1=beta1, beta2=beta2, eps=eps, eps_root=eps_root, lib=sp)
    assert sp.simplify(rec.direction - direct) == 0

"""The update bound |m_t|/sqrt(v_t) <= (1-beta1)/sqrt((1-beta2)(1-beta1^2/beta2)), step by step.

For zero initialisation and 0 <= beta1 < sqrt(beta2) < 1, with q = beta1^2/beta2:

1. triangle: |p + q| <= |p| + |q| for reals (squares, then the sign of pq);
2. envelope: |m_t| <= (1-beta1) sum_s beta1^(t-s) |g_s| for all t (induction with 1.);
3. weights: beta1^k |g| = (beta1/sqrt(beta2))^k * (sqrt(beta2)^k |g|), squares q^k and beta2^k g^2;
4. Cauchy-Schwarz: (sum a_s b_s)^2 <= (sum a_s^2)(sum b_s^2) for all lengths t, by the
   Lagrange identity proved by induction (its remainder is a sum of squares);
5. geometric: sum_{s=1}^t q^(t-s) = (1-q^t)/(1-q) <= 1/(1-q) for 0 <= q < 1;
6. second moment: sum_s beta2^(t-s) g_s^2 = v_t/(1-beta2) (closed form, zero init);
7. composition: |m_t| <= (1-beta1) sqrt(1/(1-q)) sqrt(v_t/(1-beta2)), i.e. the bound;
8. weaker form: it is at most (1-beta1)/(sqrt(1-beta2)(1-beta1/sqrt(beta2)))
   since sqrt(1-r^2) >= 1-r for r = beta1/sqrt(beta2) in [0, 1).

Each step is a SymPy check over all admissible symbols (``symbolic``); a seeded random
sampling of the final inequality is kept as separate ``numeric`` evidence.
"""

from __future__ import annotations

from functools import lru_cache

from ._framework import Obligation, is_zero, nonnegative, peel_sum, positive

TARGET = "(1 - beta1)/sqrt((1 - beta2)*(1 - beta1**2/beta2))"
WEAKER = "(1 - beta1)/(sqrt(1 - beta2)*(1 - beta1/sqrt(beta2)))"


@lru_cache(maxsize=None)  # pure; update_bound.main re-uses the result
def _triangle():
    import sympy as sp

    p, q = sp.symbols("p q", real=True)
    squared_gap = sp.expand((sp.Abs(p) + sp.Abs(q)) ** 2 - (p + q) ** 2)
    step1 = is_zero(squared_gap - 2 * (sp.Abs(p * q) - p * q))
    z_nonneg = sp.Symbol("z", nonnegative=True)
    z_neg = sp.Symbol("z", negative=True)
    case_nonneg = is_zero(sp.Abs(z_nonneg) - z_nonneg)
    case_neg = positive(sp.Abs(z_neg) - z_neg)
    both_sides_nonneg = nonnegative(sp.Abs(p + q)) and nonnegative(sp.Abs(p) + sp.Abs(q))
    ok = step1 and case_nonneg and case_neg and both_sides_nonneg
    return ok, (
        f"(|p|+|q|)^2-(p+q)^2 = 2(|pq|-pq): {step1}; |z|-z = 0 for z>=0: {case_nonneg}; "
        f"> 0 for z<0: {case_neg}; both sides >= 0: {both_sides_nonneg}"
    )


@lru_cache(maxsize=None)  # pure; update_bound.main re-uses the result
def _envelope():
    import sympy as sp

    from adamcheck.symbolic import recurrence
    from adamcheck.symbolic._symbols import beta1, g, s, t

    r = sp.Symbol("r", positive=True)  # beta1 = 1/(1+r) covers (0, 1); beta1 = 0 gives m_t = g_t
    m_prev = sp.Symbol("m", real=True)
    gg = sp.Symbol("gamma", real=True)
    b1 = 1 / (1 + r)

    def envelope(T):
        return (1 - beta1) * sp.Sum(beta1 ** (T - s) * sp.Abs(g[s]), (s, 1, T))

    m_new = recurrence("paper").step(m_prev, 0, gg)[0]
    # |m_new| <= |beta1 m| + |(1-beta1) g| = beta1 |m| + (1-beta1)|g|
    split = is_zero(m_new - (beta1 * m_prev + (1 - beta1) * gg))
    abs1 = is_zero((sp.Abs(beta1 * m_prev) - beta1 * sp.Abs(m_prev)).subs(beta1, b1))
    abs2 = is_zero((sp.Abs((1 - beta1) * gg) - (1 - beta1) * sp.Abs(gg)).subs(beta1, b1))
    # beta1 >= 0 keeps |m_{t-1}| <= E_{t-1} after scaling; E satisfies the same recursion
    scale = nonnegative(beta1)
    env_step = is_zero(sp.expand(peel_sum(envelope(t + 1), t + 1) - (beta1 * envelope(t) + (1 - beta1) * sp.Abs(g[t + 1]))))
    env_base = envelope(0).doit() == 0
    beta_zero = is_zero(recurrence("paper").step(m_prev, 0, gg)[0].subs(beta1, 0) - gg)
    ok = all([split, abs1, abs2, scale, env_step, env_base, beta_zero])
    return ok, (
        f"m_t = beta1 m + (1-beta1) g: {split}; |beta1 m| = beta1|m|: {abs1}; |(1-beta1)g| = (1-beta1)|g|: {abs2}; "
        f"beta1 >= 0: {scale}; envelope recursion (induction step): {env_step}; base E_0 = 0 = |m_0|: {env_base}; "
        f"beta1 = 0: m_t = g_t: {beta_zero}; with the triangle obligation this is the induction"
    )


@lru_cache(maxsize=None)  # pure; update_bound.main re-uses the result
def _weights():
    import sympy as sp

    from adamcheck.symbolic._symbols import beta1, beta2

    k = sp.Symbol("k", integer=True, nonnegative=True)
    ga = sp.Symbol("gamma", real=True)
    a_k = (beta1 / sp.sqrt(beta2)) ** k
    b_k = sp.sqrt(beta2) ** k * sp.Abs(ga)
    prod = is_zero(sp.powsimp(a_k * b_k, force=True) - beta1**k * sp.Abs(ga))
    sq_a = is_zero(sp.powsimp(sp.expand_power_base(a_k**2, force=True), force=True) - (beta1**2 / beta2) ** k)
    sq_b = is_zero(sp.powsimp(b_k**2, force=True) - beta2**k * ga**2)
    ok = prod and sq_a and sq_b
    return ok, f"a_k b_k = beta1^k|g|: {prod}; a_k^2 = (beta1^2/beta2)^k: {sq_a}; b_k^2 = beta2^k g^2: {sq_b}"


@lru_cache(maxsize=None)  # pure; update_bound.main re-uses the result
def _cauchy_schwarz():
    import sympy as sp

    i, j, t = sp.symbols("i j t", integer=True, positive=True)
    a = sp.IndexedBase("a", real=True)
    b = sp.IndexedBase("b", real=True)

    def lagrange(T):
        return sp.Sum((a[i] * b[j] - a[j] * b[i]) ** 2 / 2, (j, 1, T), (i, 1, T))

    def gap(T):
        A = sp.Sum(a[i] ** 2, (i, 1, T))
        B = sp.Sum(b[i] ** 2, (i, 1, T))
        C = sp.Sum(a[i] * b[i], (i, 1, T))
        return A * B - C**2

    # base: both sides vanish for t = 0
    base = gap(0).doit() == 0 and lagrange(0).doit() == 0
    # step: gap(t+1) - gap(t) = a^2 B + b^2 A - 2abC  (abstract sums A, B, C)
    A, B, C, x, y = sp.symbols("A B C x y", real=True)
    gap_step = is_zero(((A + x**2) * (B + y**2) - (C + x * y) ** 2) - (A * B - C**2) - (x**2 * B + y**2 * A - 2 * x * y * C))
    # the same increment as a sum of squares: sum_i (a_i y - x b_i)^2 = y^2 A - 2xyC + x^2 B
    inc = sp.Sum((a[i] * y - x * b[i]) ** 2, (i, 1, t))
    inc_expand = sp.Sum(sp.expand(inc.function), (i, 1, t))
    rhs = y**2 * sp.Sum(a[i] ** 2, (i, 1, t)) - 2 * x * y * sp.Sum(a[i] * b[i], (i, 1, t)) + x**2 * sp.Sum(b[i] ** 2, (i, 1, t))
    inc_ok = is_zero(sp.expand(inc_expand) - rhs)
    # Lagrange's remainder grows by exactly that increment
    peeled = peel_sum(lagrange(t + 1), t + 1)
    target = lagrange(t) + sp.Sum((a[i] * b[t + 1] - a[t + 1] * b[i]) ** 2, (i, 1, t))
    diff = (peeled - target).replace(
        lambda e: isinstance(e, sp.Sum) and len(e.limits) == 1 and e.limits[0][0] == j,
        lambda e: sp.Sum(e.function.subs(j, i), (i,) + tuple(e.limits[0][1:])),
    )
    lag_ok = is_zero(sp.expand(diff))
    sos = lagrange(t).is_nonnegative is True
    ok = base and gap_step and inc_ok and lag_ok and sos
    return ok, (
        f"base t=0: {base}; gap increment: {gap_step}; increment = sum of squares: {inc_ok}; "
        f"Lagrange remainder increment: {lag_ok}; remainder >= 0 (sum of squares): {sos}"
    )


@lru_cache(maxsize=None)  # pure; update_bound.main re-uses the result
def _geometric():
    import sympy as sp

    k, t = sp.symbols("k t", integer=True, positive=True)
    r = sp.Symbol("r", positive=True)  # q = 1/(1+r) covers (0, 1)
    q = sp.Symbol("q", positive=True)
    total = sp.Sum(q**k, (k, 0, t - 1)).doit()
    total = total.args[-1][0] if isinstance(total, sp.Piecewise) else total
    closed = is_zero(total - (1 - q**t) / (1 - q))
    bound = positive((1 / (1 - q) - total).subs(q, 1 / (1 + r)))
    ok = closed and bound
    return ok, (
        f"closed form (1-q^t)/(1-q): {closed}; below 1/(1-q) for q in (0,1): {bound}; "
        "q = 0 (beta1 = 0): the only non-zero term is s = t, so the sum is 1 = 1/(1-0)"
    )


@lru_cache(maxsize=None)  # pure; update_bound.main re-uses the result
def _second_moment():
    import sympy as sp

    from adamcheck.symbolic import closed_form_v
    from adamcheck.symbolic._symbols import beta2, g, s, t

    weighted = sp.Sum(beta2 ** (t - s) * g[s] ** 2, (s, 1, t))
    ok = is_zero(closed_form_v(t, 0) / (1 - beta2) - weighted)
    return ok, f"v_t/(1-beta2) = sum_s beta2^(t-s) g_s^2 with v_0 = 0: {ok}"


def _composition():
    import sympy as sp

    u, w, v = sp.symbols("u w v", positive=True)
    # beta2 = 1/(1+u) in (0,1); beta1 = sqrt(beta2) * w/(1+w) covers 0 < beta1 < sqrt(beta2)
    beta2 = 1 / (1 + u)
    beta1 = sp.sqrt(beta2) * w / (1 + w)
    q = beta1**2 / beta2
    chained = (1 - beta1) * sp.sqrt(1 / (1 - q)) * sp.sqrt(v / (1 - beta2)) / sp.sqrt(v)
    target = (1 - beta1) / sp.sqrt((1 - beta2) * (1 - beta1**2 / beta2))
    algebra = is_zero(chained - target)
    q_in_unit = positive(q) and positive(1 - q)
    lemmas = [_triangle, _envelope, _weights, _cauchy_schwarz, _geometric, _second_moment]
    results = [f()[0] for f in lemmas]
    ok = algebra and q_in_unit and all(results)
    return ok, (
        f"lemmas 1-6 hold: {all(results)}; 0 < q < 1: {q_in_unit}; "
        f"(1-beta1) sqrt(1/(1-q)) sqrt(v/(1-beta2))/sqrt(v) equals the bound: {algebra} "
        "(sqrt is increasing, all factors are non-negative); beta1 = 0 is the same chain with q = 0"
    )


def _weaker():
    import sympy as sp

    wv = sp.Symbol("w", nonnegative=True)
    r = wv / (1 + wv)  # r = beta1/sqrt(beta2) in [0, 1)
    gap = (1 - r**2) - (1 - r) ** 2  # sqrt(1 - r^2) >= 1 - r  <=>  this >= 0 (both sides >= 0)
    ok_gap = nonnegative(gap) and is_zero(gap - 2 * r * (1 - r))
    ok_sides = nonnegative(1 - r)
    return ok_gap and ok_sides, (
        f"(1-r^2) - (1-r)^2 = 2r(1-r) >= 0 for r in [0,1): {ok_gap}; 1 - r >= 0: {ok_sides}; "
        "so sqrt((1-beta2)(1-r^2)) >= sqrt(1-beta2)(1-r) and the bound is at most the weaker form"
    )


def _numeric():
    import numpy as np

    rng = np.random.default_rng(20260303)
    worst = 0.0
    for _ in range(300):
        beta2 = float(rng.uniform(0.05, 0.9999))
        beta1 = float(np.sqrt(beta2) * rng.uniform(0.0, 0.999))
        steps = int(rng.integers(1, 400))
        scale = np.exp(rng.normal(0.0, 3.0, size=steps))
        grads = rng.standard_cauchy(steps) * scale
        m = v = 0.0
        bound = (1 - beta1) / np.sqrt((1 - beta2) * (1 - beta1**2 / beta2))
        for gk in grads:
            m = beta1 * m + (1 - beta1) * gk
            v = beta2 * v + (1 - beta2) * gk * gk
            if v > 0:
                worst = max(worst, abs(m) / np.sqrt(v) / bound)
    return worst <= 1 + 1e-9, f"max |m_t|/sqrt(v_t)/bound over 300 random runs: {worst:.6f} (must be <= 1)"


def obligations() -> list[Obligation]:
    spec = [
        ("update_bound.triangle", "|p + q| <= |p| + |q| for all reals p, q", "Abs(p + q) <= Abs(p) + Abs(q)", _triangle),
        (
            "update_bound.first_moment_envelope",
            "zero init: |m_t| <= (1-beta1) sum_s beta1^(t-s) |g_s| for all t (induction)",
            "Abs(m_t) <= (1 - beta1)*Sum(beta1**(t - s)*Abs(g[s]), (s, 1, t))",
            _envelope,
        ),
        (
            "update_bound.weights_factorise",
            "beta1^k|g| = (beta1/sqrt(beta2))^k (sqrt(beta2)^k|g|), squares (beta1^2/beta2)^k and beta2^k g^2",
            "Eq((beta1/sqrt(beta2))**k*sqrt(beta2)**k*Abs(g), beta1**k*Abs(g))",
            _weights,
        ),
        (
            "update_bound.cauchy_schwarz",
            "(sum_s a_s b_s)^2 <= (sum a_s^2)(sum b_s^2) for every length t (Lagrange identity by induction)",
            "Sum(a[i]*b[i])**2 <= Sum(a[i]**2)*Sum(b[i]**2)",
            _cauchy_schwarz,
        ),
        (
            "update_bound.geometric_sum",
            "sum_{s=1}^t q^(t-s) <= 1/(1-q) for 0 <= q < 1 and all t",
            "Sum(q**k, (k, 0, t - 1)) <= 1/(1 - q)",
            _geometric,
        ),
        (
            "update_bound.second_moment_closed_form",
            "zero init: sum_s beta2^(t-s) g_s^2 = v_t/(1-beta2)",
            "Eq(Sum(beta2**(t - s)*g[s]**2, (s, 1, t)), v_t/(1 - beta2))",
            _second_moment,
        ),
        (
            "update_bound.main",
            "zero init, 0 <= beta1 < sqrt(beta2) < 1: |m_t|/sqrt(v_t) <= " + TARGET,
            "Abs(m_t)/sqrt(v_t) <= " + TARGET,
            _composition,
        ),
        (
            "update_bound.weaker_form",
            "the bound is at most the weaker " + WEAKER,
            TARGET + " <= " + WEAKER,
            _weaker,
        ),
    ]
    out = [Obligation(id=i, statement=st, sympy=sy, method="symbolic", check=f) for i, st, sy, f in spec]
    out.append(
        Obligation(
            id="update_bound.numeric_sampling",
            statement="the bound holds on 300 seeded random runs (heavy-tailed gradients, random betas)",
            sympy="Abs(m_t)/sqrt(v_t) <= " + TARGET,
            method="numeric",
            check=_numeric,
        )
    )
    return out

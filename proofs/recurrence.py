"""Closed forms of Adam's moments (each convention) and unbiasedness of bias correction.

Closed form, by induction on symbolic t (base t = 0; step t -> t+1), for the
recursion *as each convention writes it* (adamcheck.theory.adam_moments):

    m_t = beta1^t m_0 + (1 - beta1) sum_{s=1}^t beta1^(t-s) g_s
    v_t = beta2^t v_0 + (1 - beta2) sum_{s=1}^t beta2^(t-s) g_s^2

Bias correction: with m_0 = v_0 = 0 and g_s = g for all s,
m_t/(1 - beta1^t) = g and v_t/(1 - beta2^t) = g^2 for every t >= 1 and beta in (0, 1);
so the corrected conventions (torch, optax, keras) step sign(g) when eps = 0.
"""

from __future__ import annotations

from ._framework import Obligation, is_zero, peel_sum

CONVENTIONS = ("torch", "paper", "shi2021", "optax", "keras")


def _closed_form_check(convention: str, which: str):
    def check():
        import sympy as sp

        from adamcheck.symbolic import closed_form_m, closed_form_v, recurrence
        from adamcheck.symbolic._symbols import g, m0, t, v0

        r = recurrence(convention)
        closed = closed_form_m if which == "m" else closed_form_v
        index = 0 if which == "m" else 1
        base = closed(0).doit() - (m0 if which == "m" else v0)
        prev = closed(t)
        stepped = r.step(prev, prev, g[t + 1])[index]  # the other moment is unused
        induction = peel_sum(closed(t + 1), t + 1) - stepped
        ok_base, ok_step = is_zero(base), is_zero(sp.expand(induction))
        return ok_base and ok_step, f"base case t=0: {ok_base}; step t->t+1: {ok_step}"

    return check


def _unbiased(which: str):
    def check():
        import sympy as sp

        from adamcheck.symbolic import closed_form_m, closed_form_v
        from adamcheck.symbolic._symbols import beta1, beta2, g, t

        gc = sp.Symbol("g", real=True)
        r = sp.Symbol("r", positive=True)  # beta = 1/(1+r) covers beta in (0, 1)
        if which == "m":
            beta, value = beta1, closed_form_m(t, 0)
            target = gc
        else:
            beta, value = beta2, closed_form_v(t, 0)
            target = gc**2
        value = value.subs(g[sp.Symbol("s", integer=True, positive=True)], gc)
        value = value.replace(lambda e: isinstance(e, sp.Indexed), lambda e: gc).doit()
        corrected = (value / (1 - beta**t)).subs(beta, 1 / (1 + r))
        corrected = sp.piecewise_fold(corrected)
        if isinstance(corrected, sp.Piecewise):  # the Sum's beta = 1 branch is excluded by r > 0
            corrected = corrected.args[-1][0] if len(corrected.args) > 1 else corrected.args[0][0]
        ok = is_zero(corrected - target)
        return ok, f"{which}_t/(1-beta^t) - {target} simplifies to 0: {ok}"

    return check


def _sign_step(convention: str):
    def check():
        import sympy as sp

        from adamcheck.symbolic import closed_form_m, closed_form_v, recurrence
        from adamcheck.symbolic._symbols import beta1, beta2, eps, eps_root, t

        gc = sp.Symbol("g", positive=True)
        r1, r2 = sp.symbols("r1 r2", positive=True)
        rr = recurrence(convention)

        def constant(expr):
            expr = expr.replace(lambda e: isinstance(e, sp.Indexed), lambda e: gc).doit()
            expr = expr.subs({beta1: 1 / (1 + r1), beta2: 1 / (1 + r2)})
            expr = sp.piecewise_fold(expr)
            return expr.args[-1][0] if isinstance(expr, sp.Piecewise) else expr

        m, v = constant(closed_form_m(t, 0)), constant(closed_form_v(t, 0))
        step = rr.direction_of(m, v, t).subs({eps: 0, eps_root: 0, beta1: 1 / (1 + r1), beta2: 1 / (1 + r2)})
        # (1 + r)^t > 1 for r > 0 and t >= 1: write it as 1 + y with y > 0
        y1, y2 = sp.symbols("y1 y2", positive=True)
        step = sp.simplify(step).subs({(1 + r1) ** t: 1 + y1, (1 + r2) ** t: 1 + y2})
        step = step.subs({(1 + r1) ** (-t): 1 / (1 + y1), (1 + r2) ** (-t): 1 / (1 + y2)})
        ok = is_zero(step - 1)
        return ok, f"step per unit lr for constant g > 0, eps = 0, zero init: 1 (= sign g): {ok}"

    return check


def obligations() -> list[Obligation]:
    out = []
    for conv in CONVENTIONS:
        out.append(
            Obligation(
                id=f"recurrence.closed_form_m.{conv}",
                statement=f"[{conv}] m_t = beta1^t m_0 + (1-beta1) sum_s beta1^(t-s) g_s for all t >= 0 (induction)",
                sympy="Eq(m_t, beta1**t*m_0 + (1 - beta1)*Sum(beta1**(t - s)*g[s], (s, 1, t)))",
                method="symbolic",
                check=_closed_form_check(conv, "m"),
            )
        )
        out.append(
            Obligation(
                id=f"recurrence.closed_form_v.{conv}",
                statement=f"[{conv}] v_t = beta2^t v_0 + (1-beta2) sum_s beta2^(t-s) g_s^2 for all t >= 0 (induction)",
                sympy="Eq(v_t, beta2**t*v_0 + (1 - beta2)*Sum(beta2**(t - s)*g[s]**2, (s, 1, t)))",
                method="symbolic",
                check=_closed_form_check(conv, "v"),
            )
        )
    out.append(
        Obligation(
            id="recurrence.bias_correction_unbiased_m",
            statement="zero init, constant gradient g: m_t/(1-beta1^t) = g for all t >= 1, beta1 in (0,1)",
            sympy="Eq((1 - beta1)*Sum(beta1**(t - s)*g, (s, 1, t))/(1 - beta1**t), g)",
            method="symbolic",
            check=_unbiased("m"),
        )
    )
    out.append(
        Obligation(
            id="recurrence.bias_correction_unbiased_v",
            statement="zero init, constant gradient g: v_t/(1-beta2^t) = g^2 for all t >= 1, beta2 in (0,1)",
            sympy="Eq((1 - beta2)*Sum(beta2**(t - s)*g**2, (s, 1, t))/(1 - beta2**t), g**2)",
            method="symbolic",
            check=_unbiased("v"),
        )
    )
    for conv in ("torch", "optax", "keras"):
        out.append(
            Obligation(
                id=f"recurrence.constant_gradient_sign_step.{conv}",
                statement=f"[{conv}] zero init, constant g > 0, eps = 0: every step is exactly lr * sign(g) (uses (1+r)^t > 1)",
                sympy="Eq(direction(m_t, v_t, t).subs(eps, 0), 1)",
                method="symbolic",
                check=_sign_step(conv),
            )
        )
    return out

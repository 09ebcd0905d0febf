"""Reddi, Kale, Kumar (2018): their online and stochastic problems' constants."""

from __future__ import annotations

from ._framework import Obligation, is_zero, positive


def _online():
    import sympy as sp

    from adamcheck.symbolic import reddi_online
    from adamcheck.symbolic._symbols import C

    p = reddi_online()
    d1_ok = is_zero(p.d1 - 9 * (C**2 + 2) / (C - 2) ** 2)
    k = sp.Symbol("k", positive=True)
    slope_pos = positive(p.mean_slope.subs(C, 2 + k))
    ok = d1_ok and slope_pos and p.minimiser == -1 and is_zero(p.beta2 - 1 / (1 + C**2))
    return ok, (
        f"D1 = 9(C^2+2)/(C-2)^2: {d1_ok}; mean slope (C-2)/3 > 0 for C > 2: {slope_pos}; "
        f"x* = {p.minimiser}; beta2 = 1/(1+C^2)"
    )


def _stochastic():
    import sympy as sp

    from adamcheck.symbolic import reddi_stochastic
    from adamcheck.symbolic._symbols import C, delta, x

    d = reddi_stochastic()
    k = sp.Symbol("k", positive=True)
    mean_ok = is_zero(d["F"] - delta * x)
    p_ok = positive(d["p"]) and positive((1 - d["p"]).subs(C, 1 + delta + k))
    ok = mean_ok and p_ok and d["minimiser"] == -1
    return ok, f"F(x) = E f = delta x: {mean_ok}; 0 < p < 1 when C > 1 + delta: {p_ok}; x* = -1"


def _experiment():
    from adamcheck.symbolic import reddi_experiment

    p = reddi_experiment()
    ok = p.d1 == 101**2 * (1010**2 + 100 * 10**2) // 10**2 and p.minimiser == -1
    return ok, f"f_t = 1010x (t mod 101 = 1) else -10x: D1 = {p.d1}, x* = {p.minimiser}"


def obligations() -> list[Obligation]:
    return [
        Obligation(
            "reddi.online_constants",
            "Theorem 1 problem (C x, -x, -x): D1 = 9(C^2+2)/(C-2)^2, D0 = 0, optimum -1 on [-1,1], beta2 = 1/(1+C^2)",
            "Eq(D1, 9*(C**2 + 2)/(C - 2)**2)",
            "symbolic",
            _online,
        ),
        Obligation(
            "reddi.stochastic_mean",
            "Theorem 3 problem: E f = delta x with p = (1+delta)/(C+1); optimum -1",
            "Eq(p*C*x - (1 - p)*x, delta*x)",
            "symbolic",
            _stochastic,
        ),
        Obligation(
            "reddi.experiment_constants",
            "Reddi et al.'s experiment (1010x once per 101 steps, else -10x): D1 = 101^2 (1010^2 + 100*10^2)/10^2",
            "Eq(D1, 105080501)",
            "symbolic",
            _experiment,
        ),
    ]

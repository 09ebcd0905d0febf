"""Numeric cross-check: the SymPy update (lambdified) equals the simulator's reference step.

For every convention, 20 seeded random (x, m, v, g, t, betas, lr, eps, eps_root) draws
are pushed through :meth:`adamcheck.symbolic.AdamRecurrence.update_function` and
:func:`adamcheck.simulator.adam_step`; they must agree to 1e-12 relative error.
This is evidence about two implementations, so the method is ``numeric``.
"""

from __future__ import annotations

from ._framework import Obligation

CONVENTIONS = ("torch", "paper", "shi2021", "optax", "keras")


def compare(convention: str, draws: int = 20, seed: int = 7) -> tuple[bool, str]:
    import numpy as np

    from adamcheck.simulator import adam_step
    from adamcheck.symbolic import recurrence

    f = recurrence(convention).update_function()
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(draws):
        x, m, g = rng.normal(size=3) * np.exp(rng.normal(size=3))
        v = abs(rng.normal()) * np.exp(rng.normal())
        t = int(rng.integers(1, 50))
        b1, b2 = rng.uniform(0, 0.99), rng.uniform(0.5, 0.9999)
        lr, eps, root = 10 ** rng.uniform(-4, 0), 10 ** rng.uniform(-10, -3), 10 ** rng.uniform(-12, -6)
        ref = adam_step(
            convention, np.array([[x]]), np.array([[m]]), np.array([[v]]), np.array([[g]]), t,
            beta1=b1, beta2=b2, lr=lr, eps=eps, eps_root=root if convention == "optax" else 0.0,
        )
        got = f(x, m, v, g, t, b1, b2, lr, eps, root if convention == "optax" else 0.0)
        for r, s_ in zip(ref, got):
            r = float(np.asarray(r).ravel()[0])
            worst = max(worst, abs(r - float(s_)) / max(1e-300, abs(r), 1e-12))
    return worst < 1e-12, f"max relative difference over {draws} draws: {worst:.2e}"


def obligations() -> list[Obligation]:
    return [
        Obligation(
            f"crosscheck.update_matches_simulator.{conv}",
            f"[{conv}] the symbolic update, evaluated numerically, equals adamcheck.simulator.adam_step",
            "Eq(lambdify(AdamRecurrence.update), adam_step)",
            "numeric",
            (lambda c=conv: compare(c)),
        )
        for conv in CONVENTIONS
    ]

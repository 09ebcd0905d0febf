"""Every proof obligation in proofs/ passes (the same runner as ``adamcheck prove``)."""

from __future__ import annotations

import pytest

from adamcheck import proofs
from adamcheck.proofs._framework import Obligation, run_obligation

OBLIGATIONS = proofs.all_obligations()


def test_required_obligations_exist():
    ids = {ob.id for ob in OBLIGATIONS}
    for conv in ("torch", "paper", "shi2021", "optax", "keras"):
        assert f"recurrence.closed_form_m.{conv}" in ids and f"recurrence.closed_form_v.{conv}" in ids
    for needed in (
        "recurrence.bias_correction_unbiased_m",
        "update_bound.main",
        "update_bound.weaker_form",
        "update_bound.cauchy_schwarz",
        "counterexample.c1_at_kink",
        "counterexample.minimiser",
        "counterexample.lower_bound",
        "counterexample.d1_tight",
        "counterexample.a_inverse_square_gives_2n2_iff_n_ge_4",
        "counterexample.a_one_is_reddi",
        "shi.t2_decreasing",
        "shi.t1_decreasing",
        "theorem22.neighbourhood_vanishes",
        "theorem22.blowup_grows",
    ):
        assert needed in ids, needed
    assert {ob.method for ob in OBLIGATIONS} <= {"symbolic", "interval", "numeric"}


@pytest.mark.slow
@pytest.mark.parametrize("obligation", OBLIGATIONS, ids=[ob.id for ob in OBLIGATIONS])
def test_obligation_holds(obligation):
    result = run_obligation(obligation)
    expected = "supported" if obligation.method == "numeric" else "proved"
    assert result.status == expected, result.detail


def test_statuses_are_honest():
    ok = run_obligation(Obligation("x.ok", "s", "s", "numeric", lambda: (True, "fine")))
    assert ok.status == "supported"  # numeric evidence is never "proved"
    bad = run_obligation(Obligation("x.bad", "s", "s", "symbolic", lambda: (False, "no")))
    assert bad.status == "failed" and not bad.ok
    boom = run_obligation(Obligation("x.err", "s", "s", "symbolic", lambda: 1 / 0))
    assert boom.status == "error" and "ZeroDivisionError" in boom.detail
    with pytest.raises(ValueError):
        Obligation("x.m", "s", "s", "hand-waving", lambda: (True, ""))


def test_deciders_refuse_false_claims():
    import sympy as sp

    from adamcheck.proofs._framework import is_zero, nonnegative, positive

    u = sp.Symbol("u", positive=True)
    y = sp.Symbol("y", real=True)
    assert positive(u / (1 + u)) and not positive(u - 1) and not nonnegative(y)
    assert is_zero((u + 1) ** 2 - u**2 - 2 * u - 1) and not is_zero(u**2 - u)

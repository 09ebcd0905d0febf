"""The rules one by one, against independent computations."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from _hypothesis import given, settings, st

from adamcheck import DataError
from adamcheck._halflife import DEFAULT_REFERENCE, BetaReference, half_life_steps
from adamcheck._laws import GradientLaw
from adamcheck.configs import check_setup
from adamcheck.configs._rules import (
    critical_beta2_findings,
    eps_findings,
    half_life_comparison,
    recommendation_findings,
)
from adamcheck.configs._setup import Sourced, TrainingSetup


def _setup(beta1=0.9, beta2=0.999, batch=32, eps=1e-8, seq_len=None, steps=None):
    s = TrainingSetup(format="test", files=["t"])
    s.beta1, s.beta2, s.eps = Sourced(beta1, "b1"), Sourced(beta2, "b2"), Sourced(eps, "eps")
    s.global_batch = Sourced(batch, "batch")
    if seq_len is not None:
        s.seq_len = Sourced(seq_len, "L")
    if steps is not None:
        s.max_steps = Sourced(steps, "steps")
    return s


def _rule(report, rule):
    return [f for f in report.findings if f.rule == rule]


@pytest.mark.parametrize(
    "beta1, beta2, risky",
    [(0.9, 0.999, False), (0.9, 0.81, True), (0.9, 0.8101, False), (0.99, 0.98, True), (0.0, 0.0, True), (0.5, 0.2, True)],
)
def test_beta1_below_sqrt_beta2(beta1, beta2, risky):
    report = check_setup(_setup(beta1, beta2, batch=10**6))
    (f,) = _rule(report, "beta1_below_sqrt_beta2")
    assert (f.level == "risk") == (beta1 >= math.sqrt(beta2)) == risky
    if risky:
        assert report.exit_code == 1 and "Zhang et al. 2026" in f.source


@settings(max_examples=200, deadline=None)
@given(
    ref_beta2=st.floats(0.5, 0.9999),
    ref_batch=st.floats(1, 4096),
    batch=st.floats(1, 10**6),
)
def test_half_life_rule_keeps_the_half_life_in_samples(ref_beta2, ref_batch, batch):
    # Independent route: the half-life in samples, ln(1/2)/ln(beta2) steps x batch, is
    # the same for the reference and for the rule's beta2 at the new batch.
    ref = BetaReference(ref_beta2, ref_batch, "test")
    c = half_life_comparison(0.9, batch, ref)
    # Below ~1e-300 the rule's beta2 is a subnormal float with too few bits for rel=1e-6
    # (hypothesis found 0.5 ** (5336/5)); such a beta2 means no memory at all anyway.
    if c["beta2_rule"] >= 1.0 or c["beta2_rule"] <= 1e-300:
        return
    assert half_life_steps(c["beta2_rule"]) * batch == pytest.approx(half_life_steps(ref_beta2) * ref_batch, rel=1e-6)
    assert c["ratio"] == pytest.approx((1 - 0.9) / (1 - c["beta2_rule"]), rel=1e-12)


def test_half_life_is_advice_past_five_times_at_large_batch():
    # The Mixtral case: 0.999 at 256 x 4096 tokens spiked. The upper edge is 5x the memory of
    # the half-life rule 0.999^(T / 131,072 tokens); beyond it advice (exit 0), never a risk.
    rule = DEFAULT_REFERENCE.beta2 ** (256 * 4096 / (32 * 4096))
    for factor, level in ((4.9, "ok"), (5.1, "advice")):
        beta2 = 1 - (1 - rule) / factor
        report = check_setup(_setup(0.5, beta2, batch=256, seq_len=4096))
        (f,) = _rule(report, "half_life")
        assert f.level == level and report.exit_code == 0, (factor, f.message)
        assert "Marek et al. 2025" in f.source and "0.999 at batch 32" in f.source
    (f,) = _rule(check_setup(_setup(0.5, 1 - (1 - rule) / 5.1, batch=256, seq_len=4096), upper_ratio=10),
                 "half_life")
    assert f.level == "ok"
    # A memory 20x shorter than the rule's at a large batch is no longer a risk by itself.
    report = check_setup(_setup(0.5, 1 - 20 * (1 - rule), batch=256, seq_len=4096))
    assert report.exit_code == 0


def test_user_reference_is_named_and_used():
    report = check_setup(_setup(0.9, 0.95, batch=512), reference="0.95@512")
    (f,) = _rule(report, "half_life")
    assert f.level == "ok" and "user reference 0.95@512" in f.source
    assert report.to_dict()["reference"]["batch_size"] == 512
    assert report.recommendation["beta2"] == 0.95  # the reference itself at its own batch
    report = check_setup(_setup(0.9, 0.95, batch=8), reference="0.95@512")
    # At batch 8 the rule 0.95^(8/512) = 0.9992 asks for a memory 62x longer than 0.95's:
    # efficiency advice (a short memory trains worse). No RISK: Shi et al. 2021's batch-8
    # failure is a beta1 = 0 vision run and this setup states neither (issue 18).
    half = _rule(report, "half_life")[0]
    assert half.level == "advice" and "raise beta2" in half.message and "user reference 0.95@512" in half.source
    assert _rule(report, "lower_edge")[0].level == "not_checked" and report.exit_code == 0
    shi = check_setup(_setup(0.0, 0.95, batch=8), reference="0.95@512", domain="vision")
    assert _rule(shi, "lower_edge")[0].level == "risk" and shi.exit_code == 1


def test_reference_sequence_length_sets_the_unit():
    # Without the config's sequence length the batches are compared as samples, and it says so.
    (f,) = _rule(check_setup(_setup(batch=64), reference_seq_len=1024), "half_life")
    assert f.level == "ok" and "compared with yours as samples" in f.source
    # With both lengths, in tokens: 64 x 2048 tokens against 32 x 1024.
    report = check_setup(_setup(batch=64, seq_len=2048), reference_seq_len=1024)
    (f,) = _rule(report, "half_life")
    assert "32 sequences of 1024 tokens" in f.source and "131,072 tokens per step" in f.message
    assert report.recommendation["beta2"] == pytest.approx(1 - round(1 - 0.999 ** 4, 3))


def test_memory_longer_than_the_run_is_advice():
    report = check_setup(_setup(0.9, 0.9999, batch=10**5, steps=5000))
    (f,) = _rule(report, "memory_vs_steps")
    assert f.level == "advice" and "10,000 steps" in f.message and "5,000" in f.message
    assert report.exit_code == 0
    (f,) = _rule(check_setup(_setup(0.9, 0.9999, batch=10**5, steps=10001)), "memory_vs_steps")
    assert f.level == "ok"
    (f,) = _rule(check_setup(_setup(0.9, 0.9999, batch=10**5)), "memory_vs_steps")
    assert f.level == "not_checked"


def test_gradient_rules_say_why_they_did_not_run(tmp_path):
    report = check_setup(_setup())
    by_rule = {f.rule: f for f in report.findings}
    for rule in ("critical_beta2", "eps_vs_sqrt_v"):
        assert by_rule[rule].level == "not_checked" and "--gradients" in by_rule[rule].message
    # Without gradients the recommendation still comes (from the practice lens).
    assert by_rule["recommended_betas"].level == "advice"
    assert "recommended (beta1, beta2)" in by_rule["recommended_betas"].message
    grads = tmp_path / "grads.npz"
    grads.write_bytes(b"")
    # An unusable gradient file the user asked for is an error (exit 2), never a silent
    # "not checked" that lets a CI job pass.
    with pytest.raises(DataError, match="is empty"):
        check_setup(_setup(), gradients=grads)
    with pytest.raises(DataError, match="does not exist"):
        check_setup(_setup(), gradients=tmp_path / "missing.npz")


def test_errors_skip_dependent_rules_and_exit_2():
    s = _setup(0.9, 1.0)
    report = check_setup(s)
    assert report.exit_code == 2
    assert {f.rule for f in report.by_level("error")} == {"betas_range"}
    assert all(f.level == "not_checked" for f in _rule(report, "half_life") + _rule(report, "beta1_below_sqrt_beta2"))


def test_eps_rule_against_numpy():
    rng = np.random.default_rng(0)
    g = rng.normal(0.0, 1e-6, size=(400, 50))
    law = GradientLaw.from_samples(g, batch_size=16)
    typical = float(np.median(np.sqrt((g**2).mean(axis=0))))
    assert eps_findings(0.2 * typical, law, 16)[0].level == "advice"
    assert eps_findings(0.05 * typical, law, 16)[0].level == "ok"
    assert eps_findings(1e-8, law, 32)[0].level == "not_checked"  # law at another batch


def test_critical_and_recommendation_plug_ins():
    (f,) = critical_beta2_findings(0.95, 0.97, 32)
    assert f.level == "risk" and "beta2* = 0.97 " in f.message  # betas print as beta_text (issue 18)
    assert critical_beta2_findings(0.99, 0.97, 32)[0].level == "ok"
    assert critical_beta2_findings(0.99, None, 32)[0].level == "not_checked"
    rec = SimpleNamespace(beta1=0.9, beta2=0.995, beta2_half_life_rule=0.998, beta2_critical=None,
                          beta2_provable=0.99999, reason="",
                          warnings=["lower beta2 helps against spikes at large batch"])
    found = recommendation_findings(rec)
    assert [f.level for f in found] == ["advice", "advice"]
    assert "(0.9, 0.995)" in found[0].message and "spikes" in found[1].message


def test_missing_micro_batch_is_an_error():
    s = TrainingSetup(format="test", files=["t"], beta1=Sourced(0.9, "a"), beta2=Sourced(0.99, "b"))
    report = check_setup(s)
    assert report.exit_code == 2
    assert _rule(report, "batch_size")[0].level == "error"


def test_check_settings_are_checked_once_and_the_wrappers_pass_them_through():
    # issue 23: check_values/check_config/check_setup are keyword wrappers over check_bare/check_files/run_check
    import pytest

    from adamcheck import InvalidParameterError
    from adamcheck._jsonio import dumps
    from adamcheck.configs._check import check_bare, check_values
    from adamcheck.configs._settings import BareValues, CheckSettings, ConfigOverrides

    for make in (lambda: CheckSettings(reference_seq_len=0), lambda: CheckSettings(upper_ratio=-1.0),
                 lambda: CheckSettings(grad_rms=0.0), lambda: ConfigOverrides(grad_accum=0),
                 lambda: ConfigOverrides(state_dtype="fp8"), lambda: BareValues(beta2=1.0), lambda: BareValues(eps=-1)):
        with pytest.raises(InvalidParameterError):
            make()
    a = check_values(8, 0.0, 0.95, domain="vision", seq_len=128)
    b = check_bare(BareValues(8, 0.0, 0.95, seq_len=128), None, CheckSettings(domain="vision"))
    assert dumps(a.to_dict()) == dumps(b.to_dict()) and a.exit_code == 1

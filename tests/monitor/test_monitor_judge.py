"""The monitor's rules without torch: the judge, the walk-off rule on blown-up runs, the
measurement its file carries, the schedule against a brute-force search, the settings'
checks and the three-line report. Nothing here imports torch (a subprocess checks that the
package itself does not)."""

from __future__ import annotations

import math
import re
import subprocess
import sys

import numpy as np
import pytest

from adamcheck import InvalidParameterError
from adamcheck._diagnostics import Level
from adamcheck.drift import training_boundary
from adamcheck.monitor import (BatchFinding, Costs, LossRecord, MeanGradient, MonitorReport, MonitorSettings,
                               RunInfo, Spike, StepRecord, Window, WindowAnalysis, WindowLoss, analyse_window,
                               first_analysis_step, judge, monitor_measurement, next_analysis_step,
                               predict_beta2_star, walk_off)

RUN = RunInfo(batch_size=4, beta1=0.0, beta2=0.5)
S = MonitorSettings()


def analysis(step, beta2_star=0.9, loss=None, mean=MeanGradient(0.01, 0.002), nonfinite=0, rows=200, beta2=0.5,
             larger=None):
    findings = (BatchFinding(4, beta2_star, "sign drift"),) + ((BatchFinding(16, larger, "sign drift"),)
                                                              if larger is not None else ())
    return WindowAnalysis(step=step, rows=rows, batch_size=4, beta1=0.0, beta2=beta2, findings=findings, mean=mean,
                          loss=loss, nonfinite_losses=nonfinite)


def rules(diags):
    return [(d.rule, d.level.value, d.step) for d in diags]


def test_package_imports_no_torch():
    code = "import sys, adamcheck.monitor; assert 'torch' not in sys.modules, sorted(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)  # a fresh process: other tests may load torch here


def test_the_change_never_points_to_beta1_at_or_above_sqrt_beta2():
    # a fresh user's run at beta1 0.9: 'raise beta2 to at least 0.7', which the verdict calls RISK
    a = analysis(200, beta2_star=0.7)
    a = WindowAnalysis(step=a.step, rows=a.rows, batch_size=4, beta1=0.9, beta2=0.5, findings=a.findings,
                       mean=a.mean, loss=None, nonfinite_losses=0)
    (w,) = judge([a], LossRecord(), S, RUN, StepRecord(200, 200))
    assert w.change.startswith("raise beta2 above 0.81 (beta1^2; the measured beta2* is 0.7)")


def test_first_analysis_below_critical_is_a_risk_on_the_divergence_axis():
    d = judge([analysis(200, larger=0.7)], LossRecord(), S, RUN, StepRecord(200, 200))
    assert rules(d) == [("beta2_below_critical", "risk", 200)]
    w = d[0]
    assert w.axis == "divergence" and w.lens == "monitor" and w.value == 0.9 and w.kind == "beta2_below_critical"
    assert "beta2 = 0.5" in w.message and "batch size 4" in w.message and "at least 0.9" in w.message
    assert w.change == "raise beta2 to at least 0.9, or the batch size (beta2* at batch 16: 0.7)"
    assert w.message.endswith(w.change)
    # at or above beta2*: nothing to say
    assert judge([analysis(200, beta2_star=0.5)], LossRecord(), S, RUN, StepRecord(200, 200)) == ()


def test_later_findings_held_back_while_the_run_settles_and_warned_when_it_walks_off():
    start = WindowLoss(0.7, 0.05, 20)
    first = analysis(1000, loss=WindowLoss(0.40, 0.01, 1000), mean=MeanGradient(0.02, 0.005))
    settling = analysis(2000, loss=WindowLoss(0.20, 0.01, 1000), mean=MeanGradient(0.005, 0.002))
    d = judge([first, settling], LossRecord(2020, start), S, RUN, StepRecord(2000, 2000))
    assert rules(d) == [("beta2_below_critical", "risk", 1000), ("beta2_below_critical_held_back", "ok", 2000)]
    assert "held back" in d[1].message and "the training loss fell (window mean 0.2; start 0.7, earlier low 0.4)" \
        in d[1].message
    # a higher but noisy window (a real run: logistic digits, B 4, beta2 0.8): held back, and said
    # as it is (above, within two standard errors), never "did not rise"
    noisy = analysis(3000, loss=WindowLoss(1.002, 0.23, 1000), mean=MeanGradient(0.0121, 0.002))
    d = judge([analysis(2000, loss=WindowLoss(0.7024, 0.13, 1000), mean=MeanGradient(0.0214, 0.002)), noisy],
              LossRecord(3000, WindowLoss(0.6001, 0.0, 1)), S, RUN, StepRecord(3000, 3000))
    note = d[1].message
    assert d[1].rule == "beta2_below_critical_held_back" and "did not rise" not in note and "fell" not in note
    assert "not above its start or its earlier low by two standard errors (window mean 1.002, standard error " \
           "0.23; start 0.6001, earlier low 0.7024)" in note
    rising = analysis(2000, loss=WindowLoss(0.45, 0.01, 1000), mean=MeanGradient(0.005, 0.002))
    d = judge([first, rising], LossRecord(2020, start), S, RUN, StepRecord(2000, 2000))
    assert rules(d)[1] == ("beta2_below_critical", "risk", 2000) and "rose" in d[1].message


def test_a_blown_up_run_is_never_described_as_settling():
    """The held-out cases of the issue: logistic regression at loss ~960 from 0.69, a
    transformer at 295. The window is flat (no rise since the earlier low, a huge standard
    error) and |G|^2 fell, but the loss is far above where training started."""
    for start, earlier, now in ((0.69, 955.0, 960.0), (10.4, 300.0, 295.0)):
        a1 = analysis(1000, loss=WindowLoss(earlier, earlier / 5, 1000), mean=MeanGradient(0.02, 0.005))
        a2 = analysis(2000, loss=WindowLoss(now, now / 5, 1000), mean=MeanGradient(0.001, 0.002))
        losses = LossRecord(2020, WindowLoss(start, 0.01, 20))
        d = judge([a1, a2], losses, S, RUN, StepRecord(2000, 2000))
        assert [x.rule for x in d] == ["beta2_below_critical", "beta2_below_critical"]
        assert "above its start" in d[1].message and f"start {start:.4g}" in d[1].message
        assert not any("settl" in x.message for x in d)
        w = walk_off(a2.mean, [a1.mean], a2.loss, [a1.loss], losses.start)
        assert w.off and w.why == "loss above its start"
    # without the start, the same flat window would have been held back (what the old rule did)
    assert not walk_off(a2.mean, [a1.mean], a2.loss, [a1.loss], None).off


def test_non_finite_losses_and_gradients_are_risks_and_walk_off():
    a1 = analysis(1000, loss=WindowLoss(0.5, 0.01, 100))
    a2 = analysis(2000, loss=WindowLoss(0.3, 0.01, 90), nonfinite=10)
    losses = LossRecord(observed=200, start=WindowLoss(0.7, 0.01, 20), nonfinite=10, first_nonfinite_step=1950)
    steps = StepRecord(steps=2000, gradient_steps=2000, nonfinite_steps=3, first_nonfinite_step=1990)
    d = judge([a1, a2], losses, S, RUN, steps)
    got = {x.rule: x for x in d}
    assert got["non_finite_gradient"].level is Level.RISK and got["non_finite_gradient"].step == 1990
    assert "3 of 2000" in got["non_finite_gradient"].message
    assert got["non_finite_loss"].level is Level.RISK and "10 of 200" in got["non_finite_loss"].message
    # the second finding is a warning: a NaN loss is evidence the run failed, not a value to average
    assert [x.step for x in d if x.rule == "beta2_below_critical"] == [1000, 2000]
    assert "not finite" in d[-1].message


def test_no_gradient_means_no_answer():
    d = judge([], LossRecord(), S, RUN, StepRecord(steps=300, gradient_steps=0))
    assert rules(d) == [("no_gradient", "not_checked", 300)] and "None" in d[0].message
    m = monitor_measurement([], LossRecord(), S, RUN, StepRecord(300, 0))
    assert not m.decided and m.failed == () and m.trained == () and "no gradient" in m.reason
    # a window of exact zeros is no data either: analyse_window finds no beta2*
    a = analyse_window(Window(np.zeros((300, 16), np.float32), 300, 4, 0.0, 0.5), S)
    assert a.no_gradient and a.findings == () and a.own is None
    d = judge([a], LossRecord(), S, RUN, StepRecord(300, 300))
    assert rules(d) == [("no_gradient", "not_checked", 300)]


def test_spikes_warned_once_per_burst_outside_the_bound_and_counted_inside():
    spikes = tuple(Spike(s, 9.0) for s in (100, 120, 140, 200, 400))
    outside = RunInfo(batch_size=1, beta1=0.9, beta2=0.5)  # 0.9 >= sqrt(0.5)
    d = judge([], LossRecord(), S, outside, StepRecord(400, 400, spikes=spikes))
    # a jump within spike_window (50) steps of the previous jump is counted, not warned: 100 warns,
    # 120 and 140 are 20 steps after a jump, 200 is 60 after 140 and warns, 400 warns
    assert [x.step for x in d if x.rule == "update_spike"] == [100, 200, 400]
    assert all(x.level is Level.RISK and "0.81" in x.message for x in d)
    inside = RunInfo(batch_size=1, beta1=0.0, beta2=0.5)
    d = judge([], LossRecord(), S, inside, StepRecord(400, 400, spikes=spikes))
    assert rules(d) == [("update_jumps_counted", "ok", 400)] and d[0].value == 5


def test_short_window_is_not_checked():
    a = WindowAnalysis(step=20, rows=20, batch_size=4, beta1=0.0, beta2=0.5)
    d = judge([a], LossRecord(), S, RUN, StepRecord(20, 20))
    assert rules(d) == [("window_too_short", "not_checked", 20)]


def test_measurement_claims_only_what_the_monitor_saw():
    run = RunInfo(batch_size=4, beta1=0.0, beta2=0.999)
    start = WindowLoss(0.7, 0.02, 20)
    good = [analysis(s, beta2_star=0.9, beta2=0.999, loss=WindowLoss(0.7 - s / 10000, 0.01, 500))
            for s in (500, 1000, 1500)]
    m = monitor_measurement(good, LossRecord(1500, start), S, run, StepRecord(1500, 1500))
    assert m.decided and m.trained == (0.999,) and m.failed == () and m.lens == "monitor" and m.batch_size == 4
    assert m.outcome(0.999) == "trains" and m.outcome(0.9999) == "trains" and m.outcome(0.99) == "cannot_tell"
    # too short, no losses, a loss that ends above its start, a NaN: abstentions
    assert not monitor_measurement(good[:1], LossRecord(500, start), S, run, StepRecord(500, 500)).decided
    assert "observe_loss" in monitor_measurement(good, LossRecord(), S, run, StepRecord(1500, 1500)).reason
    up = LossRecord(1500, start, since_analysis=WindowLoss(2.0, 0.05, 100))
    assert not monitor_measurement(good, up, S, run, StepRecord(1500, 1500)).decided
    nan = StepRecord(1500, 1500, nonfinite_steps=1, first_nonfinite_step=7)
    assert "cannot tell whether beta2" in monitor_measurement(good, LossRecord(1500, start), S, run, nan).reason
    # a warning: the run's beta2 and the ladder below the warned beta2* failed; nothing trained
    bad = monitor_measurement([analysis(200)], LossRecord(), S, RUN, StepRecord(200, 200))
    assert bad.decided and bad.failed == (0.1, 0.3, 0.5, 0.6, 0.7, 0.8) and bad.trained == ()
    assert bad.outcome(0.5) == "fails" and bad.outcome(0.95) == "cannot_tell"
    # a later finding held back as settling is not a failure: with falling losses over enough
    # steps the run's own beta2 trained, although beta2 < beta2* at the last window
    held = [analysis(1000, beta2_star=0.3, loss=WindowLoss(0.4, 0.01, 1000)),
            analysis(2000, loss=WindowLoss(0.2, 0.01, 1000))]
    d = judge(held, LossRecord(2000, start), S, RUN, StepRecord(2000, 2000))
    assert rules(d) == [("beta2_below_critical_held_back", "ok", 2000)]
    m = monitor_measurement(held, LossRecord(2000, start), S, RUN, StepRecord(2000, 2000))
    assert m.decided and m.trained == (0.5,) and m.failed == ()
    unresolved = analysis(200, beta2_star=None)
    m = monitor_measurement([unresolved], LossRecord(), S, RUN, StepRecord(200, 200))
    assert m.failed == (0.1, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999)


def test_schedule_first_analysis_and_budget_against_brute_force():
    assert first_analysis_step(S) == 200 and first_analysis_step(S, 300) == 50
    assert first_analysis_step(S, 1500) == 150 and first_analysis_step(S, 10**6) == 200
    assert first_analysis_step(MonitorSettings(every=3)) == 3
    assert first_analysis_step(MonitorSettings(first_analysis=1000), 300) == 1000
    rng = np.random.default_rng(0)
    for _ in range(200):
        budget = float(rng.uniform(0.005, 0.1))
        s = MonitorSettings(budget=budget, min_gap=int(rng.integers(1, 300)))
        step = int(rng.integers(1, 5000))
        step_s = float(rng.uniform(1e-3, 0.1))
        trained = None if rng.random() < 0.5 else float(step * step_s * rng.uniform(0.5, 2.0))
        c = Costs(step_seconds=step_s, record_seconds=float(rng.uniform(0, 1e-3)),
                  analysis_seconds=float(rng.uniform(0.01, 2.0)), spent_seconds=float(rng.uniform(0.01, 5.0)),
                  train_seconds=trained)
        got = next_analysis_step(step, s, c)
        if budget * c.step_seconds <= c.record_seconds:
            assert got is None
            continue
        # brute force: the first n >= min_gap at which everything spent stays within the budget
        so_far = step * step_s if trained is None else trained
        n = s.min_gap
        while c.spent_seconds + n * c.record_seconds + c.analysis_seconds > budget * (so_far + n * step_s):
            n += 1
        assert got == step + n, (got, step + n)
    assert next_analysis_step(1000, MonitorSettings(every=1000), Costs()) == 2000
    assert next_analysis_step(1200, MonitorSettings(every=1000), Costs()) == 2000


def test_settings_are_checked_when_made():
    with pytest.raises(InvalidParameterError, match="nope"):
        MonitorSettings(drift_options={"nope": 1})
    with pytest.raises(InvalidParameterError, match="target_se"):
        MonitorSettings(drift_options={"target_se": -1})
    with pytest.raises(InvalidParameterError, match="budget"):
        MonitorSettings(budget=2)
    with pytest.raises(InvalidParameterError, match="multiples"):
        MonitorSettings(multiples="14")
    with pytest.raises(InvalidParameterError, match="spike_factor"):
        MonitorSettings(spike_factor=1)
    with pytest.raises(InvalidParameterError, match="unknown monitor setting"):
        MonitorSettings().replace(evry=10)
    s = MonitorSettings(window=500, history=100)
    assert s.history == 500 and s.replace(window=2000).history == 2000 and hash(s) == hash(MonitorSettings(window=500,
                                                                                                           history=100))


def test_analyse_window_is_pure_and_calls_the_predictor_once_per_multiple():
    rng = np.random.default_rng(3)
    rows = (rng.normal(0.2, 1.0, (256, 12)) * (rng.random((256, 12)) < 0.3)).astype(np.float32)
    w = Window(rows, 256, 8, 0.9, 0.95, loss=WindowLoss(1.0, 0.1, 256))
    s = MonitorSettings(predictor_steps=300)
    a, b = analyse_window(w, s), analyse_window(w, s)
    assert a == b and a.rows == 256 and a.loss == w.loss
    # the predictor called directly (rows as examples, batches of k rows = batch 8k)
    tb = training_boundary(rows[None], [1, 4], beta1=0.9, eps=1e-8, steps=300, coordinates=12, seed=0)
    assert [(f.batch_size, f.beta2_critical) for f in a.findings] == [
        (8 * k, None if np.isnan(b2) else float(b2)) for k, b2 in zip((1, 4), tb.critical_beta2)]
    assert [k for k, *_ in predict_beta2_star(rows[:40], (1, 4, 8), 0.9, steps=300)] == [1, 4]  # >= 8 batches
    m = rows.astype(np.float64)
    expected = float(m.mean(0) @ m.mean(0)) - float((m.var(0, ddof=1) / 256).sum())
    assert a.mean.sq == pytest.approx(expected, rel=1e-9)


def report(**changes):
    from adamcheck._measurement import Measurement

    base = dict(step=3000, batch_size=4, beta1=0.0, beta2=0.5, eps=1e-8, coordinates=650, analysed_step=None,
                analyses=0, window=0, next_analysis=200, beta2_critical=None, beta2_critical_unresolved=False,
                beta2_critical_by_batch=(), paper_condition=True, drift_ratio_min=None, drift_ratio_median=None,
                reversed=0, informative=0, grad_norm_sq=None, small_batch=0, small_batch_source="", b_simple=None,
                direction_norm_last=None, direction_norm_median=None, direction_norm_max_ratio=None, spikes=0,
                mean_grad_sq=None, mean_grad_noise=None, loss_mean=None, loss_start=None, gradient_steps=3000,
                nonfinite_steps=0, nonfinite_losses=0, diagnostics=(), notes=(),
                measurement=Measurement("monitor", 4, 0.0, decided=False, reason="x"))
    base.update(changes)
    return MonitorReport(**base)


def test_report_reads_in_three_lines_without_unmeasured_numbers():
    d = judge([analysis(1000, larger=0.7)], LossRecord(), S, RUN, StepRecord(1000, 1000))
    risky = report(analysed_step=1000, analyses=1, window=1000, beta2_critical=0.9, diagnostics=d)
    lines = str(risky).splitlines()
    assert len(lines) == 3 and lines[0].endswith("RISK (1 analysis, the last at step 1,000)")
    assert lines[1].startswith("beta2 = 0.5 is below the critical beta2* at batch size 4")
    assert lines[2] == "What to change: raise beta2 to at least 0.9, or the batch size (beta2* at batch 16: 0.7)."
    assert risky.verdict is Level.RISK and risky.warning_kinds == {"beta2_below_critical"}
    fresh = report()
    assert str(fresh).splitlines()[1] == "no analysis yet: the next at step 200 (or call analyse())"
    assert fresh.verdict is Level.NOT_CHECKED
    fine = report(beta2=0.999, analysed_step=3000, analyses=2, window=1000, beta2_critical=0.9)
    assert str(fine).splitlines()[1:] == ["beta2* = 0.9 at batch size 4 (window of 1,000 steps at step 3,000): "
                                          "beta2 = 0.999 is above it", "Nothing to change."]
    gone = report(diagnostics=judge([], LossRecord(), S, RUN, StepRecord(300, 0)))
    assert "no gradient seen" in str(gone) and "FSDP" in str(gone).splitlines()[2]
    for r in (risky, fresh, fine, gone):
        text = str(r)
        assert len(text.splitlines()) == 3
        assert not re.search(r"\bnan\b|\binf\b|= None|None\)", text, flags=re.I), text
        assert not re.search(r"(?<![\w.])-\d", text), text  # no negative number where "not measured" is meant


def test_walk_off_first_analysis_and_without_losses():
    assert walk_off(MeanGradient(0, 1), []).why == "first analysis"
    assert walk_off(MeanGradient(0, 1), [MeanGradient(0.1, 0.01)]).why == "no losses observed"
    low = WindowLoss(0.3, 0.01, 100)
    assert walk_off(MeanGradient(0.0095, 0.002), [MeanGradient(0.007, 0.002)], WindowLoss(0.29, 0.01, 100),
                    [low]).why == "gradient grew"
    assert math.isclose(walk_off(None, [], WindowLoss(0.2, 0.01, 10), [low]).loss_low.mean, 0.3)


def test_a_monitor_files_beta2_star_fails_every_beta2_below_it():
    """The monitor warns for any beta2 below its beta2*; the file states it (monitor_critical),
    so check reads a beta2 between two ladder values the same way; older files without the
    key decide only their listed values."""
    from adamcheck.noise._meta import GradientFileMeta
    from adamcheck.recommend._lenses import measurements_from_meta

    base = {"batch_size": 4, "beta1": 0.9, "monitor_decided": True, "monitor_failed": [0.5, 0.7, 0.8, 0.9],
            "monitor_reason": "sign drift"}
    [m] = measurements_from_meta(GradientFileMeta.from_mapping({**base, "monitor_critical": 0.95}, "run.npz"))
    assert m.outcome(0.93) == "fails" and m.outcome(0.95) == "cannot_tell"
    [old] = measurements_from_meta(GradientFileMeta.from_mapping(base, "run.npz"))
    assert old.outcome(0.93) == "cannot_tell" and old.outcome(0.9) == "fails"
    with pytest.raises(Exception, match="monitor_critical"):
        GradientFileMeta.from_mapping({**base, "monitor_critical": 1.5}, "run.npz")
    assert GradientFileMeta.from_mapping({**base, "monitor_critical": -1}, "run.npz").monitor_critical is None


def test_a_window_of_zeros_predicts_nothing_and_raises_nothing():
    # frozen parameters give rows of exact zeros: no prediction (the file readers refuse a
    # whole file of zeros, but a monitor inside a training loop must simply have nothing to say)
    from adamcheck.monitor._analysis import predict_beta2_star

    assert predict_beta2_star(np.zeros((64, 3)), (1, 4), 0.9, steps=50) == []
    rows = np.random.default_rng(0).normal(0.5, 1.0, (64, 3))
    assert [k for k, *_ in predict_beta2_star(rows, (1, 4), 0.9, steps=50)] == [1, 4]

"""A failure a lens measured is credited to that lens, and the theory's floor agrees.

A fresh-user trial: a batch-1 run at beta1 0.9, beta2 0.5 (beta1 >= sqrt(beta2)) blew up,
its GradientMonitor warned and saved a file stating the failure, and ``check --gradients``
said "FAILS, set by theory". The verdict was right but credited the wrong lens: the run's
own measurement is the strongest evidence of the failure. The floor rule stays: a lens that
measured the run training (or cannot tell) at beta1 >= sqrt(beta2) does not clear it.
"""

from __future__ import annotations

import numpy as np
import pytest

from adamcheck._halflife import DEFAULT_REFERENCE
from adamcheck._measurement import Measurement, judge
from adamcheck.configs import check_values
from adamcheck.noise._meta import MONITOR_WRITERS
from adamcheck.recommend import verdict
from adamcheck.recommend._lenses import theory_measurement

BATCH, BETA1, BETA2 = 1, 0.9, 0.5  # 0.9 >= sqrt(0.5) = 0.7071


@pytest.mark.parametrize("lens", ["monitor", "probe", "gradients"])
def test_a_measured_failure_is_credited_to_the_lens_that_measured_it(lens):
    failed = Measurement(lens, BATCH, BETA1, failed=(BETA2,), reason="the loss blew up (9e9)")
    theory = theory_measurement(BATCH, BETA1)
    for ms in ([theory, failed], [failed, theory]):  # the order given does not matter
        j = judge(ms, BETA2, batch_size=BATCH, beta1=BETA1)
        assert (j.outcome, j.lens, j.measurement, j.floor) == ("fails", lens, failed, theory)
    report = check_values(BATCH, BETA1, BETA2, measurements=[failed])
    assert report.exit_code == 1 and (report.verdict.outcome, report.verdict.lens) == ("fails", lens)
    assert report.verdict.reason.startswith("the loss blew up (9e9); the theory agrees")
    text = " ".join(report.render().split())
    assert f"FAILS, set by {lens}:" in text and "the theory agrees (beta1 = 0.9 >= sqrt(beta2) = 0.7071" in text
    v = verdict(BATCH, BETA1, BETA2, reference=DEFAULT_REFERENCE, measurements=[failed])
    assert (v.outcome, v.lens, v.level) == ("fails", lens, "risk")
    # the theory's own finding is still there, and still a risk: it agrees
    (floor,) = [d for d in v.diagnostics if d.rule == "beta1_below_sqrt_beta2"]
    assert floor.level == "risk"


@pytest.mark.parametrize("lens", ["monitor", "probe", "gradients"])
def test_a_measurement_that_trains_or_cannot_tell_leaves_the_floor_deciding(lens):
    trained = Measurement(lens, BATCH, BETA1, trained=(BETA2,), reason="the run trained")
    undecided = Measurement(lens, BATCH, BETA1, decided=False, reason="too few steps")
    theory = theory_measurement(BATCH, BETA1)
    for m in (trained, undecided):
        for ms in ([theory, m], [m, theory]):
            j = judge(ms, BETA2, batch_size=BATCH, beta1=BETA1)
            assert (j.outcome, j.lens, j.floor) == ("fails", "theory", None)
        report = check_values(BATCH, BETA1, BETA2, measurements=[m])
        assert report.exit_code == 1 and (report.verdict.outcome, report.verdict.lens) == ("fails", "theory")
        assert "theory agrees" not in report.render()


def test_a_failure_measured_at_a_larger_batch_is_credited_where_it_transfers():
    # a failure at batch 4 also counts at batch 1 (smaller batches need a larger beta2); one at
    # batch 1 says nothing about batch 4, where the floor decides alone
    failed = Measurement("monitor", 4, BETA1, failed=(BETA2,), reason="diverged")
    assert check_values(1, BETA1, BETA2, measurements=[failed]).verdict.lens == "monitor"
    small = Measurement("monitor", 1, BETA1, failed=(BETA2,), reason="diverged")
    assert check_values(4, BETA1, BETA2, measurements=[small]).verdict.lens == "theory"


def _monitor_file(path, **meta):
    """A file laid out as GradientMonitor.save writes it (rows are optimizer steps)."""
    rng = np.random.default_rng(0)
    np.savez(path, grads=rng.normal(size=(1, 64, 12)).astype(np.float32),
             writer=np.array(MONITOR_WRITERS[0]), row_batch_size=np.array(BATCH),
             batch_size=np.array(BATCH), beta1=np.array(BETA1), beta2=np.array(BETA2),
             **{k: np.asarray(v) for k, v in meta.items()})
    return path


def test_check_credits_a_monitor_files_measured_failure(tmp_path, run_cli):
    path = _monitor_file(tmp_path / "monitor.npz", monitor_decided=True, monitor_failed=[BETA2],
                         monitor_trained=np.zeros(0), monitor_critical=-1,
                         monitor_reason="the training loss is above its start (step 51)")
    code, out, err = run_cli("check", "--gradients", path)
    text = " ".join(out.split())
    assert code == 1, err
    assert "FAILS, set by monitor:" in text and "above its start (step 51)" in text
    assert "the theory agrees" in text
    # a monitor file that saw beta2 0.5 train does not clear the floor
    lucky = _monitor_file(tmp_path / "lucky.npz", monitor_decided=True, monitor_failed=np.zeros(0),
                          monitor_trained=[BETA2], monitor_critical=-1, monitor_reason="the run trained")
    code, out, err = run_cli("check", "--gradients", lucky)
    assert code == 1, err
    assert "FAILS, set by theory:" in " ".join(out.split())


def test_a_higher_lens_that_saw_the_run_train_leaves_the_credit_to_the_theory():
    # the monitor saw beta2 = 0.5 train at batch 1 (beta1 0.9 >= sqrt(0.5)): published evidence of a
    # failure is then not the strongest word on this run; the floor still decides "fails"
    theory = Measurement("theory", 1, 0.9, failed=(0.81,))
    ran = Measurement("monitor", 1, 0.9, trained=(0.5,), reason="the run trained")
    published = Measurement("evidence", 1, 0.9, failed=(0.5,), reason="a published failure")
    j = judge([published, ran, theory], 0.5, batch_size=1, beta1=0.9)
    assert (j.outcome, j.lens, j.floor) == ("fails", "theory", None)
    # without the monitor's run, the published failure is the measured one, and is credited
    j = judge([published, theory], 0.5, batch_size=1, beta1=0.9)
    assert (j.outcome, j.lens, j.floor.lens) == ("fails", "evidence", "theory")

"""The shared diagnostic vocabulary and the precedence of measurements."""

from __future__ import annotations

import json

import pytest

from adamcheck._diagnostics import Diagnostic, Level, exit_code, worst
from adamcheck._errors import InvalidParameterError
from adamcheck._measurement import PRECEDENCE, Measurement, judge


def test_levels_order_and_exit_codes():
    assert [lv.rank for lv in (Level.ERROR, Level.RISK, Level.ADVICE, Level.NOT_CHECKED, Level.OK)] == [0, 1, 2, 3, 4]
    diags = [Diagnostic("ok", "a", "", ""), Diagnostic("advice", "b", "", "", axis="efficiency")]
    assert exit_code(diags) == 0
    assert exit_code(diags + [Diagnostic("risk", "c", "", "", axis="divergence")]) == 1
    assert exit_code(diags + [Diagnostic("risk", "c", "", ""), Diagnostic("error", "d", "", "", axis="input")]) == 2
    assert worst([]) is Level.OK


def test_level_is_its_string_in_json_and_dicts():
    d = Diagnostic(Level.NOT_CHECKED, "eps", "m", "s")
    assert json.loads(json.dumps(d.to_dict()))["level"] == "not_checked"
    assert {"not_checked": 3}[d.level] == 3
    assert f"{d.level}" == "not_checked" and d.level.label == "NOT CHECKED"


def test_efficiency_axis_cannot_carry_risk_and_unknown_values_are_refused():
    with pytest.raises(InvalidParameterError, match="efficiency"):
        Diagnostic("risk", "half_life", "m", "s", axis="efficiency")
    with pytest.raises(InvalidParameterError, match="level"):
        Diagnostic("warning", "x", "m", "s")
    with pytest.raises(InvalidParameterError, match="axis"):
        Diagnostic("ok", "x", "m", "s", axis="speed")


def test_measurement_outcomes_against_a_brute_force_reading():
    m = Measurement("probe", 8, 0.9, failed=(0.5, 0.8), trained=(0.9, 0.99, 0.7))
    # brute force: the largest failure bounds "fails"; the smallest success above it bounds "trains"
    for b2 in [0.0, 0.5, 0.6, 0.8, 0.85, 0.9, 0.95, 0.999]:
        expect = "fails" if b2 <= 0.8 else ("trains" if b2 >= 0.9 else "cannot_tell")
        assert m.outcome(b2) == expect, b2
    with pytest.raises(InvalidParameterError):
        Measurement("probe", 8, 0.9, failed=(0.5,), trained=(0.5,))
    with pytest.raises(InvalidParameterError):
        Measurement("hunch", 8, 0.9)
    with pytest.raises(InvalidParameterError):
        Measurement("probe", 0, 0.9)


def test_transfer_follows_batch_and_beta1_dominance():
    fail = Measurement("evidence", 64, 0.9, failed=(0.95,))
    assert judge([fail], 0.95, batch_size=32, beta1=0.9).outcome == "fails"      # smaller batch
    assert judge([fail], 0.95, batch_size=128, beta1=0.9).outcome == "cannot_tell"  # larger batch
    assert judge([fail], 0.95, batch_size=32, beta1=0.0).outcome == "cannot_tell"   # smaller beta1
    ok = Measurement("evidence", 64, 0.9, trained=(0.95,))
    assert judge([ok], 0.99, batch_size=128, beta1=0.0).outcome == "trains"
    assert judge([ok], 0.99, batch_size=32, beta1=0.9).outcome == "cannot_tell"


def test_precedence_own_measurements_win_both_ways_and_abstentions_are_kept():
    ev_fail = Measurement("evidence", 64, 0.9, failed=(0.95,), reason="published")
    mon_ok = Measurement("monitor", 32, 0.9, trained=(0.95,), reason="this run")
    probe_fail = Measurement("probe", 32, 0.9, failed=(0.99,), reason="probe")
    lens_abstains = Measurement("gradients", 32, 0.9, decided=False, reason="near a stationary point")
    j = judge([ev_fail, mon_ok, lens_abstains], 0.95, batch_size=32, beta1=0.9)
    assert (j.outcome, j.lens) == ("trains", "monitor") and j.abstained == (lens_abstains,)
    j = judge([ev_fail, probe_fail], 0.98, batch_size=32, beta1=0.9)
    assert (j.outcome, j.lens) == ("fails", "probe")
    assert judge([lens_abstains], 0.95, batch_size=32, beta1=0.9).lens == ""
    assert PRECEDENCE.index("monitor") < PRECEDENCE.index("probe") < PRECEDENCE.index("gradients") \
        < PRECEDENCE.index("evidence") < PRECEDENCE.index("theory")


def test_within_a_lens_a_failure_beats_a_success():
    a = Measurement("evidence", 16, 0.9, trained=(0.95,))
    b = Measurement("evidence", 64, 0.9, failed=(0.95,))
    assert judge([a, b], 0.95, batch_size=32, beta1=0.9).outcome == "fails"


def test_a_computed_threshold_claims_the_gap_below_it():
    m = Measurement.from_critical("monitor", batch_size=4, beta1=0.0, beta2_critical=0.95, ladder=(0.5, 0.9, 0.95))
    assert [m.outcome(b) for b in (0.5, 0.91, 0.9499, 0.95, 0.99)] == ["fails", "fails", "fails", "trains", "trains"]
    plain = Measurement("monitor", 4, 0.0, failed=(0.5, 0.9), trained=(0.95,))
    assert plain.outcome(0.91) == "cannot_tell"
    with pytest.raises(InvalidParameterError):
        Measurement("monitor", 4, 0.0, failed=(0.96,), critical=0.95)

"""beta2_critical is a measured edge only where something failed.

A fresh-user trial: ``recommend --batch-size 4 --gradients examples/digits/grads.npz --json``
said ``beta2_critical: {"value": 0.7}`` while the same object's ``measurements[0]`` had
``failed: []`` and ``critical: null``: 0.7 was only the lowest value that trained (the
statistics' point estimate), and a script read it as a measured beta2*.
"""

from __future__ import annotations

import json
from pathlib import Path

from adamcheck._measurement import Measurement
from adamcheck.configs import check_values
from adamcheck.recommend._lenses import no_measured_critical
from adamcheck.recommend._recommend import CalibratedLens

ROOT = Path(__file__).resolve().parents[2]
DIGITS = ROOT / "examples" / "digits" / "grads.npz"


def test_recommend_json_states_no_beta2_star_where_nothing_failed(run_cli):
    code, out, err = run_cli("recommend", "--batch-size", "4", "--gradients", DIGITS, "--json")
    assert code == 0, err
    data = json.loads(out)
    (m,) = [m for m in data["measurements"] if m["lens"] == "gradients"]
    assert m["failed"] == [] and m["critical"] is None  # the object's own cells: nothing failed
    lowest = min(m["trained"])
    for star in (data["beta2_critical"], data["lenses"]["calibrated"]["beta2_critical"]):
        assert star["value"] is None, star
        assert star["reason"] == f"no failure found; trains from {lowest:g} up"
    # the statistics' guess is still there, under its own name
    assert data["lenses"]["calibrated"]["beta2_point_estimate"]["value"] is not None
    # a lens that found no failure does not move the recommendation: the same as without gradients
    alone = json.loads(run_cli("recommend", "--batch-size", "4", "--json")[1])
    assert data["beta2"] == alone["beta2"]
    assert alone["beta2_critical"]["value"] is None and alone["beta2_critical"]["reason"] == "no gradients given"


def test_recommend_explain_says_none_measured(run_cli):
    code, out, err = run_cli("recommend", "--batch-size", "4", "--gradients", DIGITS, "--explain")
    assert code == 0, err
    text = " ".join(out.split())
    assert "beta2* = " not in text and "critical beta2*: none measured (no failure found; trains from" in text
    assert "measured on your gradients below beta2*" not in text


def _lens(failed, trained, star):
    ladder = (0.1, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
    return CalibratedLens(star, star, "sign drift", "src", ladder=ladder, beta2_failed=failed,
                          beta2_trained=trained, cells=True)


def test_a_lens_that_found_a_failure_keeps_its_point_estimate():
    lens = _lens((0.5,), (0.7, 0.8, 0.9, 0.95, 0.99), 0.7)
    assert lens.measured_critical() == (0.7, None)
    assert lens.to_dict()["beta2_critical"]["value"] == 0.7
    none = _lens((), (0.7, 0.8, 0.9, 0.95, 0.99), 0.7)
    assert none.measured_critical() == (None, "no failure found; trains from 0.7 up")
    everything = CalibratedLens(None, None, "sign drift", "src", unresolved=True, ladder=(0.5, 0.9))
    assert everything.measured_critical()[0] is None and "every beta2" in everything.measured_critical()[1]


def test_a_threshold_of_zero_is_no_measured_beta2_star():
    # from_critical with beta2* = 0 (a predictor's "no ladder value failed") trains the whole
    # ladder; its lowest value is where the ladder starts (check used to say "at or above the
    # beta2* = 0.1 measured on your gradients")
    m = Measurement.from_critical("gradients", batch_size=4, beta1=0.0, beta2_critical=0.0,
                                  ladder=(0.1, 0.5, 0.9, 0.99), reason="sign drift")
    assert no_measured_critical(m) == "no failure found; trains from 0.1 up"
    text = " ".join(check_values(4, 0.0, 0.9, measurements=[m]).render().split())
    assert "beta2* =" not in text and "training at beta2 >= 0.1 (no failure found)" in text
    failed = Measurement.from_critical("gradients", batch_size=4, beta1=0.0, beta2_critical=0.5,
                                       ladder=(0.1, 0.5, 0.9, 0.99), reason="sign drift")
    assert no_measured_critical(failed) is None
    assert "beta2* = 0.5 measured" in " ".join(check_values(4, 0.0, 0.9, measurements=[failed]).render().split())


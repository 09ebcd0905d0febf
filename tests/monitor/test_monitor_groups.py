"""Parameter groups with their own effective batch, without torch: the group spec, the columns
of a group in the monitor's sample, beta2* per group (the monitor's own predictor on the
group's columns, checked against a direct call), and the rule on groups (the global walk-off
rule: RISK at the first analysis or while walking off, advice while the run settles)."""

from __future__ import annotations

import numpy as np
import pytest

from adamcheck import InvalidParameterError
from adamcheck._diagnostics import Level
from adamcheck.monitor import (BatchFinding, GroupAnalysis, GroupSpec, LossRecord, MeanGradient, MonitorSettings,
                               WindowAnalysis, WindowLoss, analyse_groups, group_findings, predict_beta2_star)
from adamcheck.monitor._groups import GroupColumns, resolve_groups
from adamcheck.noise._sampled import CoordinateSample, choose_coordinates

FAST = MonitorSettings(multiples=(1, 4), predictor_steps=500)


def sample_of(named_sizes, coordinates=4096):
    return choose_coordinates(named_sizes, coordinates, seed=0)


def test_group_spec_checks_its_values():
    assert GroupSpec(["a", "b"], rows=[5, 1, 5], tokens_per_step=3).rows == (1, 5)
    for bad in (dict(params=[]), dict(params=[""]), dict(params=3), dict(params=b"a"),
                dict(params="a", rows=[-1]), dict(params="a", rows=[0.5]), dict(params="a", rows=[]),
                dict(params="a", tokens_per_step=0), dict(params="a", tokens_per_step=float("nan")),
                dict(params="a", tokens_per_step=True), dict(params="a", tokens_per_step="2")):
        with pytest.raises(InvalidParameterError):
            GroupSpec(**bad)


def test_resolve_groups_finds_exactly_the_group_coordinates():
    # experts.0.w: 4 rows of 3; experts.1.w: 4 rows of 3; embed: 10 rows of 2 (all sampled)
    s = sample_of([("experts.0.w", 12), ("experts.1.w", 12), ("embed", 20)])
    g = resolve_groups({"e1": GroupSpec("experts.1"), "rare": GroupSpec("embed", rows=[7, 9])}, s, [3, 3, 2],
                       [0.9, 0.999, 0.95])
    names = np.asarray(s.names)[s.param]
    assert set(names[g[0].columns]) == {"experts.1.w"} and g[0].columns.size == 12 and g[0].beta2 == 0.999
    # brute force: embedding coordinates whose row index // 2 is 7 or 9
    want = [c for c in range(s.size) if names[c] == "embed" and s.index[c] // 2 in (7, 9)]
    assert g[1].columns.tolist() == want and len(want) == 4
    # a prefix matches at a dot only: "experts.1" is not "experts.10"
    s2 = sample_of([("experts.1.w", 4), ("experts.10.w", 4)])
    assert np.asarray(s2.names)[s2.param][resolve_groups({"x": GroupSpec("experts.1")}, s2, [1, 1],
                                                          [0.9, 0.9])[0].columns].tolist() == ["experts.1.w"] * 4


@pytest.mark.parametrize("groups, match", [
    ({"x": GroupSpec("nope")}, "names no parameter"),
    ({"x": GroupSpec("embed", rows=[10])}, "beyond 'embed', which has 10 rows"),
    ({"x": "embed"}, "is not a GroupSpec"),
    (["embed"], "is not a dict"),
])
def test_resolve_groups_refuses_what_it_cannot_find(groups, match):
    s = sample_of([("embed", 20)])
    with pytest.raises(InvalidParameterError, match=match):
        resolve_groups(groups, s, [2], [0.9])


def test_a_group_without_sampled_coordinates_is_refused():
    s = CoordinateSample(("big", "embed"), (1000, 20), np.array([0, 0]), np.array([1, 2]), 0)
    with pytest.raises(InvalidParameterError, match="raise coordinates"):
        resolve_groups({"x": GroupSpec("embed")}, s, [1, 2], [0.9, 0.9])


def test_group_beta2_star_is_the_monitor_predictor_on_the_group_columns():
    rng = np.random.default_rng(3)
    dense = rng.normal(0.5, 1.0, (400, 6))
    rare = np.where(rng.random((400, 6)) < 0.05, 10.0, -0.2) * (rng.random((400, 1)) > 0.1)  # no token: 0
    rows = np.hstack([dense, rare]).astype(np.float32)
    groups = [GroupColumns("dense", np.arange(6), 0.9, 64.0), GroupColumns("rare", np.arange(6, 12), 0.9, 5.0)]
    out = analyse_groups(rows, groups, {"rare": 3.0, "dense": None}, 64.0, 0.0, 1e-8, FAST)
    for g, cols in zip(out, (slice(0, 6), slice(6, 12))):
        direct = predict_beta2_star(rows[:, cols], (1, 4), 0.0, steps=500, coordinates=512)
        assert g.by_multiple == tuple((k, None if u else b) for k, b, u, _ in direct)
        assert g.beta2_critical == direct[0][1]
    dense_g, rare_g = out
    assert (dense_g.tokens_per_step, dense_g.share) == (64.0, 1.0)  # the fixed value: none observed
    assert (rare_g.tokens_per_step, rare_g.share) == (3.0, 3.0 / 64)  # observed counts take precedence
    assert rare_g.zero_steps == pytest.approx(float(np.mean(~rare.any(axis=1))))
    assert rare_g.beta2_critical > dense_g.beta2_critical
    assert analyse_groups(np.zeros((50, 12)), groups, {}, 64.0, 0.0, 1e-8, FAST)[0].no_gradient


def window(step, beta2_star, beta2=0.9, loss=None, mean=MeanGradient(0.01, 0.002), unresolved=False):
    g = GroupAnalysis("expert.3", 64, beta2, tokens_per_step=1.9, share=0.03, beta2_critical=beta2_star,
                      unresolved=unresolved, mechanism="sign drift", mean=mean)
    return WindowAnalysis(step=step, rows=200, batch_size=64, beta1=0.0, beta2=beta2,
                          findings=(BatchFinding(64, 0.0),), loss=loss, groups=(g,))


def rules(diags):
    return [(d.rule, d.level.value, d.axis, d.step) for d in diags]


def test_group_rule_risk_first_advice_while_settling_nothing_above():
    start = WindowLoss(1.4, 0.05, 1)
    falling = [window(200, 0.99, loss=WindowLoss(0.5, 0.01, 200)), window(400, 0.99, loss=WindowLoss(0.3, 0.01, 200)),
               window(600, 0.99, loss=WindowLoss(0.25, 0.01, 200))]
    d = group_findings(falling, LossRecord(observed=600, start=start))
    # first analysis: RISK (as the global rule); later ones held back: advice for the latest only
    assert rules(d) == [("group_beta2_below_critical", "risk", "divergence", 200),
                        ("group_needs_longer_memory", "advice", "efficiency", 600)]
    assert d[0].value == 0.99 and "expert.3" in d[0].message and "0.99" in d[0].change
    assert "about 1.9 tokens per step, 3.00% of the global batch" in d[1].message
    assert "half-life 69 steps" in d[1].message  # ln 0.5 / ln 0.99 = 68.97
    # the loss rising above its earlier low: walking off, a RISK again
    rising = falling[:2] + [window(600, 0.99, loss=WindowLoss(0.6, 0.01, 200))]
    assert [r[:2] for r in rules(group_findings(rising, LossRecord(observed=600, start=start)))] == [
        ("group_beta2_below_critical", "risk"), ("group_beta2_below_critical", "risk")]
    # the group's own |G|^2 growing by more than a noise unit: walking off
    grew = falling[:2] + [window(600, 0.99, loss=WindowLoss(0.25, 0.01, 200), mean=MeanGradient(0.5, 0.01))]
    assert rules(group_findings(grew, LossRecord(observed=600, start=start)))[-1][:2] == (
        "group_beta2_below_critical", "risk")
    # beta2 at or above the group's beta2*: nothing (the group's own beta2, e.g. its param group's)
    assert group_findings([window(200, 0.99, beta2=0.999)], LossRecord()) == []
    assert group_findings([window(200, 0.9)], LossRecord()) == []
    # unresolved: no beta2 is enough
    d = group_findings([window(200, None, unresolved=True)], LossRecord())
    assert d[0].level is Level.RISK and d[0].value is None and "route more tokens" in d[0].change

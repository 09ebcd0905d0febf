"""The training boundary: fast statistics against slow references, and its two mechanisms.

References: the step-by-step ``adam_step`` of the simulator (torch convention) and, when
torch is installed, ``torch.optim.Adam`` itself: the update of a parameter whose gradient
is the given sequence, divided by the learning rate, is ``-u``.
"""

from __future__ import annotations

import numpy as np
import pytest

from adamcheck._errors import InvalidParameterError
from adamcheck.drift._training import (
    ColumnSample,
    _point_statistics,
    sample_coordinates,
    training_boundary,
    training_statistics,
)
from adamcheck.simulator import adam_step


def _window_peak(u: np.ndarray, window: int = 10) -> float:
    """Largest sustained update, written out: over every w consecutive steps whose updates
    share one sign, the smallest |u| among them; the largest such value."""
    best = 0.0
    for j in range(u.shape[1]):
        for t in range(window - 1, u.shape[0]):
            block = u[t - window + 1 : t + 1, j]
            if np.all(np.sign(block) == np.sign(block[-1])):
                best = max(best, float(np.abs(block).min()))
    return best


def _reference_updates(g: np.ndarray, beta1: float, beta2: float, eps: float) -> np.ndarray:
    """u_t per step from the simulator's step-by-step torch-convention Adam (lr = 1)."""
    x = np.zeros((1, g.shape[1]))
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    out = []
    for t in range(g.shape[0]):
        x_new, m, v = adam_step("torch", x, m, v, g[t][None], t + 1, beta1=beta1, beta2=beta2, lr=1.0, eps=eps)
        out.append((x - x_new)[0])
        x = x_new
    return np.array(out)


@pytest.mark.parametrize("beta1", [0.0, 0.9])
def test_point_statistics_match_step_by_step_adam(beta1):
    rng = np.random.default_rng(3)
    g = rng.standard_t(2.5, size=(300, 7)) * (rng.random((300, 7)) < 0.3) + 0.05
    full = g.mean(axis=0)
    ladder = np.array([0.3, 0.8, 0.999])
    burn = 50
    drift, update, _ = _point_statistics(g, full, beta1, ladder, 1e-8, 1.0, burn)
    second = (g * g).mean(axis=0)
    limit = (full * full / np.sqrt(second)).sum()
    for i, b2 in enumerate(ladder):
        u = _reference_updates(g, beta1, b2, 1e-8)
        # the burst statistic is computed only where beta1 >= sqrt(beta2) (update growth)
        expected = _window_peak(u) if beta1 >= np.sqrt(b2) else 0.0
        assert update[i] == pytest.approx(expected, rel=1e-10, abs=1e-300)
        assert drift[i] == pytest.approx(full @ u[burn:].mean(axis=0) / limit, rel=1e-9, abs=1e-12)


@pytest.mark.torch
def test_update_statistic_matches_torch_adam():
    torch = pytest.importorskip("torch", reason="torch is the reference implementation here")
    rng = np.random.default_rng(4)
    g = rng.normal(0.1, 1.0, size=(200, 5)) * (rng.random((200, 5)) < 0.2)
    p = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p], lr=1.0, betas=(0.9, 0.5), eps=1e-8)
    steps = []
    for t in range(200):
        before = p.detach().clone()
        p.grad = torch.tensor(g[t])
        opt.step()
        steps.append((before - p.detach()).numpy())
    _, update, _ = _point_statistics(g, g.mean(0), 0.9, np.array([0.5]), 1e-8, 1.0, 10)
    assert update[0] == pytest.approx(_window_peak(np.array(steps)), rel=1e-10)


def test_beta1_zero_is_never_update_growth():
    # |u| <= 1/sqrt(1 - beta2) when beta1 = 0, and beta1 = 0 < sqrt(beta2) always.
    rng = np.random.default_rng(0)
    x = rng.standard_cauchy((1, 300, 6)) * (rng.random((1, 300, 6)) < 0.05)
    s = training_statistics(ColumnSample(x, np.arange(6), 6), 1, beta1=0.0, steps=600)
    assert not s.growth(1e-9).any()
    assert (s.update <= 1 / np.sqrt(1 - s.beta2s) + 1e-9).all()


def test_counterexample_law_gives_the_drift_ratio_sign():
    # One coordinate with the two-point law of the 2026 counterexample (n = 10, a = 1/81):
    # Adam diverges at small beta2 (sign drift) and converges at beta2 = 0.9 (simulated in
    # tests/simulator/test_simulator_engine.py); the aggregate drift ratio of one coordinate is the
    # drift ratio, so its sign must flip in between.
    n, a = 10, 1 / 81
    x = np.array([1 + (n - 1) * a] + [-a] * (n - 1))[None, :, None]
    s = training_statistics(ColumnSample(x, np.arange(1), 1), 1, beta1=0.0, beta2s=[0.3, 0.99],
                            steps=20000, eps=0.0)
    assert s.drift[0] < 0 < s.drift[1]


def test_heavier_tails_at_small_batch_raise_the_boundary():
    rng = np.random.default_rng(1)
    # non-negative gradients cannot reverse the drift (u >= 0): only update growth can bite
    x = np.abs(rng.normal(0.2, 1.0, (2, 400, 32))) * (rng.random((2, 400, 32)) < 0.04)
    tb = training_boundary(x, [1, 4, 64], beta1=0.9, steps=1500, coordinates=32)
    star = tb.critical_beta2
    assert star[0] >= star[1] >= star[2]
    assert star[0] > star[2]
    assert tb.mechanism[0] is not None and "growth" in tb.mechanism[0]
    assert (tb.statistics[0].climbing == 0).all() and (tb.statistics[0].drift > 0).all()


def test_reversed_coordinates_of_a_linear_model_are_sign_drift(root):
    # Logistic regression on digits (examples/digits): at batch 4 with beta1 = 0 and
    # beta2 = 0.1 the simulated loss climbs from 0.69 to about 20
    # (test_recommend.py::test_below_critical_beta2_misbehaves_on_the_same_problem);
    # at batch 64 every beta2 trains. The climbing share tells the two apart.
    tb = training_boundary(root / "examples" / "digits" / "grads.npz", [4, 64], beta1=0.0, eps=0.0, steps=3000)
    assert tb.critical_beta2[0] > 0.3 and "sign drift" in tb.mechanism[0]
    assert tb.critical_beta2[1] == 0.0


def test_sampling_is_seeded_and_reads_files(tmp_path):
    x = np.random.default_rng(2).normal(size=(2, 50, 40)).astype(np.float32)
    path = tmp_path / "g.npy"
    np.save(path, x)
    a = sample_coordinates(str(path), 10, seed=5)
    b = sample_coordinates(x, 10, seed=5)
    assert np.array_equal(a.columns, b.columns)
    assert np.array_equal(a.values, x[:, :, a.columns].astype(np.float64))
    t1 = training_boundary(a, [2], steps=200)
    t2 = training_boundary(a, [2], steps=200)
    assert np.array_equal(t1.statistics[0].update, t2.statistics[0].update)


def test_bad_parameters_raise_our_error():
    x = np.zeros((1, 10, 2))
    with pytest.raises(InvalidParameterError):
        training_boundary(x, [], steps=100)
    with pytest.raises(InvalidParameterError):
        training_boundary(x, [2], steps=5)
    with pytest.raises(InvalidParameterError):
        training_boundary(x, [2], quantile=2.0)


# --- what the file can decide: standard errors, abstention, monotone repair -----------------------------


def test_jackknife_standard_error_matches_independent_chains():
    # The batch-means jackknife of one chain against the spread of independent chains
    # (independent seeds: the other route to a standard error). A skewed law at batch 1,
    # beta1 = 0.9, so the chain is autocorrelated and the drift ratio is far from 1.
    rng = np.random.default_rng(7)
    x = (rng.exponential(1.0, (1, 300, 6)) - 0.9) * (rng.random((1, 300, 6)) < 0.4)
    sample = ColumnSample(x, np.arange(6), 6)
    runs = [training_statistics(sample, 1, beta1=0.9, beta2s=[0.5, 0.95], steps=3000, seed=s) for s in range(24)]
    drift = np.array([r.drift for r in runs])
    se = np.array([r.drift_se for r in runs]).mean(axis=0)
    spread = drift.std(axis=0, ddof=1)
    assert np.all((se > 0.5 * spread) & (se < 2.0 * spread)), (se, spread)
    climb = np.array([r.climbing for r in runs])
    climb_se = np.array([r.climbing_se for r in runs]).mean(axis=0)
    live = climb.mean(axis=0) > 0.05
    assert np.all((climb_se[live] > 0.4 * climb.std(axis=0, ddof=1)[live])
                  & (climb_se[live] < 2.5 * climb.std(axis=0, ddof=1)[live]))


def _point(update, update_se, drift=1.0, drift_se=0.01, climbing=0.0, climbing_se=0.0, L=1):
    from adamcheck.drift._training import _PointResult

    f = lambda v: np.full(L, float(v))  # noqa: E731
    return _PointResult(f(drift), f(drift_se), f(update), f(update_se), f(climbing), f(climbing_se), 1.0)


@pytest.mark.parametrize("update, se, expected", [(3.0, 0.1, "fails"), (2.1, 0.1, "cannot_tell"),
                                                  (1.9, 0.1, "cannot_tell"), (1.5, 0.1, "trains")])
def test_update_growth_decides_only_beyond_two_standard_errors(update, se, expected):
    from adamcheck.drift._training import TrainingStatistics

    st = TrainingStatistics(0.9, 4, np.array([0.5]), np.ones(1), np.ones(1), 1000, np.zeros(1),
                            points=(_point(update, se),), unresolved=("",))
    out, why = st.outcomes(max_update=2.0, negligible_climbing=0.05, z=2.0, growth_fails=True)
    assert out == [expected], why
    # by default bursts never fail a cell (their harm depends on the learning rate and the model)
    out, why = st.outcomes(max_update=2.0, negligible_climbing=0.05, z=2.0)
    assert out == ["cannot_tell" if expected == "fails" else expected], why
    if expected == "fails":
        assert "learning rate" in why[0]


@pytest.mark.parametrize("drift, climbing, expected", [(-0.5, 0.0, "fails"), (0.01, 0.0, "cannot_tell"),
                                                       (0.9, 0.3, "cannot_tell"), (0.9, 0.01, "trains")])
def test_sign_drift_fails_only_when_the_whole_model_climbs(drift, climbing, expected):
    # Reversed coordinates that measurably climb while the model descends (climbing share
    # 0.3) are "cannot tell": real runs leave the sampled path there or settle near it.
    from adamcheck.drift._training import TrainingStatistics

    st = TrainingStatistics(0.0, 4, np.array([0.5]), np.ones(1), np.ones(1), 1000, np.zeros(1),
                            points=(_point(0.0, 0.0, drift=drift, drift_se=0.01, climbing=climbing,
                                           climbing_se=0.005),), unresolved=("",))
    out, why = st.outcomes(max_update=2.0, negligible_climbing=0.05, z=2.0)
    assert out == [expected], why
    if expected == "cannot_tell" and climbing > 0.05:
        assert "leave the sampled path" in why[0]


def test_counterexample_is_decided_both_ways():
    # One coordinate, the two-point law of the 2026 counterexample (n = 10): Adam with beta1 = 0
    # diverges at small beta2 and converges at 0.9 (tests/simulator/test_simulator_engine.py).
    n, a = 10, 1 / 81
    x = np.array([1 + (n - 1) * a] + [-a] * (n - 1))[None, :, None]
    tb = training_boundary(x, [1], beta1=0.0, beta2s=[0.3, 0.5, 0.9, 0.99], steps=20000, eps=0.0)
    assert tb.outcome[0] == ("fails", "fails", "trains", "trains")
    assert tb.decided == (True,) and "sign drift" in tb.reason[0]


def test_near_a_stationary_point_it_abstains_instead_of_failing_every_beta2():
    # Per-example gradients of mean ~0 with a skewed law: the full gradient is a tiny share
    # of the noise (a point near a stationary point). Every beta2 < 1 drifts there; the
    # answer must never be "every beta2 fails", and sign drift must not fail any cell.
    rng = np.random.default_rng(3)
    z = rng.exponential(1.0, (2, 400, 24)) - 1.0
    x = z - z.mean(axis=1, keepdims=True) + 1e-3
    for steps in (1000, 4000):
        tb = training_boundary(x, [1, 2, 8], beta1=0.0, steps=steps)
        assert not np.isnan(tb.critical_beta2).any()
        for out in tb.outcome:
            assert "fails" not in out, tb.reason


def test_longer_runs_never_flip_a_decision():
    # More simulated steps shrink the standard errors: they may decide more cells, never
    # turn a decided "fails" into "trains" or back (the old point estimate did, with --steps).
    rng = np.random.default_rng(5)
    x = rng.normal(0.05, 1.0, (2, 300, 16)) * (rng.random((2, 300, 16)) < 0.1)
    short = training_boundary(x, [1, 4, 32], beta1=0.9, steps=1500, growth_fails=True)
    long = training_boundary(x, [1, 4, 32], beta1=0.9, steps=6000, growth_fails=True)
    for a, b in zip(short.outcome, long.outcome):
        for o1, o2 in zip(a, b):
            assert {o1, o2} != {"fails", "trains"}, (short.reason, long.reason)


def test_monotone_repair_does_not_carry_a_missing_value_down():
    from adamcheck.drift._training import _monotone_envelope

    out, _ = _monotone_envelope([1, 2, 4], np.array([0.95, np.nan, 0.5]), ["a", "b", "c"])
    assert out[0] == 0.95 and np.isnan(out[1]) and out[2] == 0.5
    out, why = _monotone_envelope([1, 2, 4], np.array([0.5, 0.9, 0.3]), ["a", "b", "c"])
    assert out.tolist() == [0.9, 0.9, 0.3] and why[0] == "b"


def test_decisions_are_monotone_and_become_measurements():
    from adamcheck._measurement import judge
    from adamcheck.drift import gradient_measurements

    rng = np.random.default_rng(1)
    x = np.abs(rng.normal(0.2, 1.0, (2, 400, 32))) * (rng.random((2, 400, 32)) < 0.04)
    tb = training_boundary(x, [1, 4, 64], beta1=0.9, steps=1500, coordinates=32, growth_fails=True)
    ms = gradient_measurements(tb, source="g.npz")
    order = {"fails": 0, "cannot_tell": 1, "trains": 2}
    for i, (B, m) in enumerate(zip(tb.batch_sizes, ms)):
        ranks = [order[o] for o in tb.outcome[i]]
        assert ranks == sorted(ranks)  # fails below, cannot tell, then trains, up the ladder
        assert m.decided == tb.decided[i] and m.source == "g.npz" and m.batch_size == B
        for b2, o in zip(tb.beta2s, tb.outcome[i]):
            assert m.outcome(b2) == o == tb.outcome_at(B, b2)
    for i in range(len(tb.batch_sizes) - 1):  # a failure at a larger batch holds at every smaller one
        assert set(tb.beta2_failed[i + 1]) <= set(tb.beta2_failed[i])
        assert set(tb.beta2_trained[i]) <= set(tb.beta2_trained[i + 1])
    j = judge(ms, 0.1, batch_size=1, beta1=0.9)
    assert j.lens == "gradients" and j.outcome == "fails"


def test_boundary_command_answers_per_batch_size_and_reports_the_learning_rate(run_cli, tmp_path):
    import json

    rng = np.random.default_rng(2)
    g = (rng.exponential(1.0, (2, 300, 12)) - 0.7) * (rng.random((2, 300, 12)) < 0.2)
    path = tmp_path / "g.npz"
    np.savez(path, grads=g.astype(np.float32), lr=np.array(3e-3))
    code, out, err = run_cli("boundary", "--gradients", str(path), "--batch-sizes", "1,16", "--beta1", "0.9",
                             "--steps", "800", "--json", "-q")
    assert code == 0, err
    data = json.loads(out)
    assert data["lr"]["value"] == 3e-3 and data["lr"]["source"] == "the file's 'lr'"
    last = data["diagnostics"][-1]
    assert "changed nothing" in last["message"] and "probe" in last["message"] and last["rule"] == "learning_rate"
    assert len(data["decided"]) == len(data["reason"]) == 2
    for row in data["outcome"]:
        assert set(row) <= {"fails", "trains", "cannot_tell"} and len(row) == len(data["beta2"])
    code, out, err = run_cli("boundary", "--gradients", str(path), "--batch-sizes", "1,16", "--beta1", "0.9",
                             "--steps", "800", "--lr", "1e-2", "-q")
    assert code == 0, err
    assert out.splitlines()[0].startswith("training boundary at beta1 = 0.9")
    assert "learning rate 0.01 (your --lr" in out and "every beta2 tried fails" not in out

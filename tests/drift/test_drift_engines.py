"""Every fast route against the slow, obviously correct one (plain long-chain Monte Carlo).

Tolerance: |fast - reference| <= 4 * sqrt(se_fast^2 + se_ref^2), where se_ref is the
reference's batch-means standard error and se_fast the fast route's reported error.
"""

from __future__ import annotations

import numpy as np
import pytest

from adamcheck._errors import AdamCheckError
from adamcheck._laws import GradientLaw
from adamcheck.drift import drift_ratio, drift_ratio_grid, reference_ratio

SKEWED3 = GradientLaw(values=np.array([[2.0], [-0.3], [0.05]]), weights=np.array([0.15, 0.6, 0.25]))


def _close(fast, fast_se, ref, ref_se, k=4.0):
    return abs(fast - ref) <= k * np.hypot(fast_se, ref_se) + 1e-9


@pytest.mark.parametrize(
    "law, b1, b2",
    [
        (GradientLaw.two_point(10, 1 / 81), 0.0, 0.5),
        (GradientLaw.two_point(10, 1 / 81), 0.9, 0.8),
        (GradientLaw.two_point(20, 1 / 361), 0.5, 0.98),  # just above the markov/MC switch (1-b2 = 0.02)
        (SKEWED3, 0.3, 0.97),
        (SKEWED3, 0.95, 0.3),  # b1 > sqrt(b2): m/sqrt(v) is unbounded there
    ],
)
def test_markov_route_against_reference(law, b1, b2):
    est = drift_ratio(law, b1, b2)
    assert est.method == "markov"
    ref, ref_se = reference_ratio(law.values, law.weights, b1, b2, steps=2_000_000, seed=5)
    assert _close(est.value, est.stderr, ref[0], ref_se[0]), (est, ref, ref_se)


@pytest.mark.parametrize(
    "law, b1, b2",
    [
        (GradientLaw.two_point(20, 1 / 361), 0.0, 0.981),  # just below the switch
        (GradientLaw.two_point(50, 1 / 2401), 0.9, 0.995),
        (SKEWED3, 0.0, 0.999),
    ],
)
def test_monte_carlo_route_against_reference(law, b1, b2):
    est = drift_ratio(law, b1, b2, seed=2)
    assert est.method == "monte-carlo"
    ref, ref_se = reference_ratio(law.values, law.weights, b1, b2, steps=3_000_000, batches=50, seed=6)
    assert _close(est.value, est.stderr, ref[0], ref_se[0]), (est, ref, ref_se)


@pytest.mark.slow
def test_monte_carlo_long_memory_against_reference():
    """beta2 = 0.9999: memory 1e4 steps; the control variates carry the expansion."""
    law = GradientLaw.two_point(10, 1 / 81)
    est = drift_ratio(law, 0.9, 0.9999, seed=4)
    ref, ref_se = reference_ratio(law.values, law.weights, 0.9, 0.9999, steps=8_000_000, batches=40, seed=8)
    assert est.method == "monte-carlo"
    assert _close(est.value, est.stderr, ref[0], ref_se[0])
    assert est.stderr < 0.002


def test_markov_and_monte_carlo_agree_across_the_switch():
    """Two independent fast routes on the same cells around 1 - b2 = 0.02."""
    law = GradientLaw.two_point(20, 1 / 361)
    b1s = [0.0, 0.5, 0.9]
    b2s = [0.95, 0.97, 0.98, 0.985]
    mk = drift_ratio_grid(law, b1s, b2s, method="markov")
    mc = drift_ratio_grid(law, b1s, b2s, method="monte-carlo", seed=9)
    assert set(mk.method[0]) == {"markov"} and set(mc.method[0]) == {"monte-carlo"}
    z = np.abs(mk.values - mc.values) / np.hypot(mk.errors, mc.errors)
    assert (z < 4).all(), z


def test_samples_law_against_reference():
    """A law given as 400 samples (Monte Carlo with stratified conditioning)."""
    rng = np.random.default_rng(0)
    samples = np.exp(1.2 * rng.standard_normal(400)) - 1.8
    law = GradientLaw.from_samples(samples)
    for b1, b2 in [(0.0, 0.6), (0.9, 0.95)]:
        est = drift_ratio(law, b1, b2, seed=1)
        assert est.method == "monte-carlo"
        ref, ref_se = reference_ratio(law.values, law.weights, b1, b2, steps=2_000_000, seed=2)
        assert _close(est.value, est.stderr, ref[0], ref_se[0]), (b1, b2, est, ref, ref_se)


def test_multi_coordinate_law_matches_per_coordinate_runs():
    rng = np.random.default_rng(1)
    samples = rng.gamma(0.5, 1.0, size=(300, 3)) - np.array([0.3, 0.45, 0.6])
    law = GradientLaw.from_samples(samples)
    joint = drift_ratio(law, 0.5, 0.9, seed=0)
    assert joint.value.shape == (3,)
    for j in range(3):
        single = drift_ratio(law.coordinate(j), 0.5, 0.9, seed=0)
        assert _close(joint.value[j], joint.stderr[j], single.value, single.stderr)


def test_same_seed_same_bytes_and_seed_matters():
    law = GradientLaw.from_samples(np.random.default_rng(2).standard_normal(100) + 0.3)
    a = drift_ratio_grid(law, [0.0, 0.9], [0.5, 0.99], seed=7)
    b = drift_ratio_grid(law, [0.0, 0.9], [0.5, 0.99], seed=7)
    c = drift_ratio_grid(law, [0.0, 0.9], [0.5, 0.99], seed=8)
    assert a.rho.tobytes() == b.rho.tobytes() and a.stderr.tobytes() == b.stderr.tobytes()
    assert a.rho.tobytes() != c.rho.tobytes()


@pytest.mark.slow
def test_monte_carlo_standard_errors_are_honest():
    """Across seeds, (MC - markov)/se behaves like a standard normal (sd within [0.5, 1.6])."""
    law = GradientLaw.two_point(10, 1 / 81)
    b1s, b2s = [0.0, 0.7], [0.9, 0.95]
    exact = drift_ratio_grid(law, b1s, b2s, method="markov", min_delta=0.00125)
    zs = []
    for seed in range(12):
        mc = drift_ratio_grid(law, b1s, b2s, method="monte-carlo", seed=seed, target_se=0.02)
        zs.append(((mc.values - exact.values) / mc.errors).ravel())
    zs = np.concatenate(zs)
    assert 0.5 < zs.std() < 1.6, zs.std()
    assert abs(zs.mean()) < 4 / np.sqrt(zs.size) + 0.3


def test_grid_layout_rows_beta2_columns_beta1():
    law = GradientLaw.two_point(10, 1 / 81)
    grid = drift_ratio_grid(law, [0.0, 0.5, 0.9], [0.0, 0.999])
    assert grid.values.shape == (2, 3)
    assert grid.values[0, 0] == pytest.approx(drift_ratio(law, 0.0, 0.0).value)
    assert grid.values[1, 2] == pytest.approx(drift_ratio(law, 0.9, 0.999).value, abs=0.01)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"beta1s": [1.0], "beta2s": [0.5]},
        {"beta1s": [0.5], "beta2s": [-0.1]},
        {"beta1s": [0.5], "beta2s": [0.5], "eps": -1.0},
        {"beta1s": [0.5], "beta2s": [0.5], "method": "exact"},
        {"beta1s": [0.5], "beta2s": [0.5], "target_se": 0.0},
    ],
)
def test_bad_input_raises_our_errors(kwargs):
    law = GradientLaw.two_point(10, 1 / 81)
    with pytest.raises(AdamCheckError):
        drift_ratio_grid(law, **kwargs)


def test_markov_refuses_many_atoms_and_non_laws():
    law = GradientLaw.from_samples(np.arange(100.0) - 40)
    with pytest.raises(AdamCheckError, match="distinct values"):
        drift_ratio_grid(law, [0.0], [0.5], method="markov")
    with pytest.raises(AdamCheckError, match="GradientLaw"):
        drift_ratio_grid(np.ones(3), [0.0], [0.5])


@pytest.mark.parametrize("b1, b2", [(0.0, 0.6), (0.8, 0.95)])
def test_eps_against_reference(b1, b2):
    """eps > 0 breaks scale invariance; both routes use f(v) = 1/(sqrt(v) + eps)."""
    law = GradientLaw(values=np.array([[0.02], [-0.003]]), weights=np.array([0.2, 0.8]))
    est = drift_ratio(law, b1, b2, eps=0.004)
    ref, ref_se = reference_ratio(law.values, law.weights, b1, b2, eps=0.004, steps=1_000_000, seed=4)
    assert _close(est.value, est.stderr, ref[0], ref_se[0])
    assert abs(est.value - drift_ratio(law, b1, b2).value) > 0.05  # eps matters at this scale


def test_mixed_law_uses_markov_and_monte_carlo_per_coordinate():
    rng = np.random.default_rng(4)
    few = rng.choice([1.5, -0.3], size=(500, 1), p=[0.3, 0.7])
    rich = rng.standard_normal((500, 1)) + 0.4
    law = GradientLaw.from_samples(np.hstack([few, rich]))
    grid = drift_ratio_grid(law, [0.0, 0.9], [0.0, 0.5, 0.99])
    assert grid.method[0].tolist() == ["closed-form", "markov", "monte-carlo"]
    assert grid.method[1].tolist() == ["closed-form", "monte-carlo", "monte-carlo"]
    single = drift_ratio_grid(law.coordinate(0), [0.0, 0.9], [0.0, 0.5, 0.99])
    assert np.allclose(single.values[:2], grid.rho[0, :2])


def test_plot_writes_a_png(tmp_path):
    from adamcheck.drift import critical_beta2, plot_drift_grid

    law = GradientLaw.two_point(10, 1 / 81)
    grid = drift_ratio_grid(law, [0.0, 0.5, 0.9], [0.0, 0.5, 0.8, 0.9, 0.99])
    path = tmp_path / "phase.png"
    plot_drift_grid(grid, critical_beta2(grid, refine_steps=0), path=path)
    assert path.stat().st_size > 1000
    with pytest.raises(AdamCheckError):
        plot_drift_grid(grid, coordinate=3)


@pytest.mark.slow
def test_markov_error_estimate_bounds_the_actual_error():
    """The reported markov error (|N_delta - N_2delta|) against a grid 8 times finer."""
    from adamcheck.drift._markov import markov_numerator

    law = GradientLaw.two_point(50, 1 / 2401)
    x, w = law.values[:, 0], law.weights
    den = float(law.normalised_mean()[0])
    b1s = np.array([0.0, 0.5, 0.9, 0.99])
    for b2 in (0.6, 0.83, 0.93):
        grid = drift_ratio_grid(law, b1s, [b2])
        fine, _, _ = markov_numerator(x, w, b1s, b2, delta=0.00125, tol=1e-9)
        actual = np.abs(grid.values[0] - fine / den)
        assert (actual <= grid.errors[0] + 1e-6).all(), (b2, actual, grid.errors[0])

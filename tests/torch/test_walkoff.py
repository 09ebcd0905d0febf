"""The monitor's walk-off rule: the unbiased |G|^2 against brute force, and the rule's cases."""

from __future__ import annotations

import numpy as np

from adamcheck.torch._walkoff import MeanGradient, mean_gradient, walking_off


def test_mean_gradient_is_unbiased_by_simulation():
    rng = np.random.default_rng(0)
    G = np.array([0.3, -0.1, 0.0, 0.05])
    scale = np.array([1.0, 0.5, 2.0, 0.1])
    est = [mean_gradient(G + scale * rng.standard_normal((20, 4))) for _ in range(20000)]
    sq = np.array([e.sq for e in est])
    se = sq.std() / np.sqrt(len(sq))
    assert abs(sq.mean() - G @ G) < 4 * se  # unbiased, where |mean|^2 alone is not
    raw = np.mean([e.sq + e.noise for e in est])
    assert raw - G @ G > 10 * se
    assert abs(np.mean([e.noise for e in est]) - (scale**2).sum() / 20) < 0.01 * (scale**2).sum() / 20


def test_mean_gradient_matches_the_formula_on_one_window():
    x = np.random.default_rng(1).standard_normal((7, 3))
    m = mean_gradient(x)
    brute_cov_trace = sum(np.sum((x[:, j] - x[:, j].mean()) ** 2) / 6 for j in range(3))
    assert np.isclose(m.noise, brute_cov_trace / 7)
    assert np.isclose(m.sq, np.sum(x.mean(0) ** 2) - brute_cov_trace / 7)


def test_walking_off_cases():
    assert walking_off(MeanGradient(0.0, 1.0), [])  # the first analysis always counts
    falling = [MeanGradient(0.02, 0.005), MeanGradient(0.007, 0.002)]
    assert not walking_off(MeanGradient(0.0005, 0.0006), falling)
    assert not walking_off(MeanGradient(0.008, 0.002), falling)  # within one noise unit of the low
    assert walking_off(MeanGradient(0.0095, 0.002), falling)  # more than one noise unit above it
    # an unresolved (negative) earlier estimate counts as 0, not as a lower bar
    assert not walking_off(MeanGradient(-1e-8, 1.6e-6), [MeanGradient(-4.4e-6, 1e-6)])

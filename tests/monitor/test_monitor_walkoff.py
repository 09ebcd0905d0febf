"""The monitor's walk-off rule: the unbiased |G|^2 against brute force, and the rule's cases."""

from __future__ import annotations

import numpy as np

from adamcheck.monitor._walkoff import MeanGradient, WindowLoss, mean_gradient, walking_off, window_loss


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


def test_window_loss_against_numpy():
    v = np.random.default_rng(2).random(50)
    w = window_loss(list(v) + [float("nan")])
    assert w.count == 50 and np.isclose(w.mean, v.mean()) and np.isclose(w.se, v.std(ddof=1) / np.sqrt(50))
    assert window_loss([1.5]) == WindowLoss(1.5, 0.0, 1)


def test_walking_off_cases():
    g0, l0 = MeanGradient(0.02, 0.005), WindowLoss(0.5, 0.01, 100)
    falling = [g0, MeanGradient(0.007, 0.002)]
    losses = [l0, WindowLoss(0.3, 0.01, 100)]
    settling = WindowLoss(0.29, 0.01, 100)
    assert walking_off(MeanGradient(0.0, 1.0), [])  # the first analysis always counts
    assert not walking_off(MeanGradient(0.0005, 0.0006), falling, settling, losses)
    assert not walking_off(MeanGradient(0.008, 0.002), falling, settling, losses)  # within one noise unit
    assert walking_off(MeanGradient(0.0095, 0.002), falling, settling, losses)  # |G|^2 beyond one noise unit
    # the case |G|^2 cannot see: the loss climbs while the gradient saturates
    # (two standard errors of the difference from the lowest earlier window: 2 * sqrt(2) * 0.01)
    assert walking_off(MeanGradient(0.006, 0.002), falling, WindowLoss(0.33, 0.01, 100), losses)
    assert not walking_off(MeanGradient(0.006, 0.002), falling, WindowLoss(0.325, 0.01, 100), losses)
    # an unresolved (negative) earlier estimate counts as 0, not as a lower bar
    assert not walking_off(MeanGradient(-1e-8, 1.6e-6), [MeanGradient(-4.4e-6, 1e-6)], settling, losses)
    # without losses the rule cannot tell settling from walking off: it warns
    assert walking_off(MeanGradient(0.0005, 0.0006), falling)
    assert walking_off(MeanGradient(0.0005, 0.0006), falling, None, losses)

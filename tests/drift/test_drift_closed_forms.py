"""Closed forms of the drift ratio, each checked against an independent route."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from adamcheck._laws import GradientLaw
from adamcheck.drift import drift_ratio, drift_ratio_grid, reference_ratio
from adamcheck.drift._moments import (
    LawMoments,
    beta2_zero_row,
    control_means,
    expansion_rho,
    sign_closed_form,
)


def _two_point_sign_ratio(n: int) -> float:
    """E[sign g] sqrt(E g^2)/E g for the counterexample law, by exact rational arithmetic."""
    a = Fraction(1, (n - 1) ** 2)
    big, small = 1 + (n - 1) * a, -a
    p = Fraction(1, n)
    e_sign = p - (1 - p)
    mean = p * big + (1 - p) * small
    second = p * big**2 + (1 - p) * small**2
    return float(e_sign) * float(second) ** 0.5 / float(mean)


@pytest.mark.parametrize("n", [3, 10, 20, 50])
def test_sign_closed_form_matches_rational_arithmetic(n):
    law = GradientLaw.two_point(n, 1 / (n - 1) ** 2)
    est = drift_ratio(law, 0.0, 0.0)
    assert est.method == "closed-form"
    assert est.value == pytest.approx(_two_point_sign_ratio(n), rel=1e-12)
    assert est.value < 0  # sign-like steps follow the n-1 small gradients


def test_sign_closed_form_with_eps_matches_direct_sum():
    values = np.array([[2.0], [-0.5], [0.1]])
    weights = np.array([0.2, 0.5, 0.3])
    eps = 0.3
    direct = sum(w * x / (abs(x) + eps) for x, w in zip(values[:, 0], weights))
    mu = float(weights @ values[:, 0])
    s = float(weights @ values[:, 0] ** 2)
    assert sign_closed_form(values, weights, eps)[0] == pytest.approx(direct * s**0.5 / mu, rel=1e-12)


@pytest.mark.parametrize("b1", [0.0, 0.5, 0.9])
def test_beta2_zero_row_against_plain_chain(b1):
    law = GradientLaw.two_point(5, 1 / 16)
    exact = beta2_zero_row(law.values, law.weights, [b1])[0, 0]
    rho, se = reference_ratio(law.values, law.weights, b1, 0.0, steps=400_000, seed=3)
    assert abs(exact - rho[0]) < 4 * se[0] + 1e-9


def test_control_means_against_long_chain():
    """Stationary E m, E v, E[mv], E[v^2], E[m v^2] against a long simulated chain."""
    from scipy.signal import lfilter

    x = np.array([1.5, -0.4, 0.2])
    w = np.array([0.2, 0.5, 0.3])
    b1, b2 = 0.6, 0.8
    rng = np.random.default_rng(11)
    g = rng.choice(x, size=2_000_000, p=w)
    m = lfilter([1 - b1], [1, -b1], g)[1000:]
    v = lfilter([1 - b2], [1, -b2], g * g)[1000:]
    mom = LawMoments(x[:, None], w)
    cm = control_means(mom, b1, b2)
    sims = {"m": m, "v": v, "mv": m * v, "v2": v * v, "mv2": m * v * v}
    for key, sample in sims.items():
        blocks = sample[: 1_990_000].reshape(199, -1).mean(axis=1)
        se = blocks.std(ddof=1) / np.sqrt(blocks.size)
        assert abs(blocks.mean() - cm[key][0]) < 4.5 * se, key


def test_rho_tends_to_one_and_matches_expansion_near_one():
    law = GradientLaw.two_point(10, 1 / 81)
    mom = LawMoments(law.values, law.weights)
    for b1 in (0.0, 0.9):
        est = drift_ratio(law, b1, 1 - 1e-5, seed=1)
        second = float(expansion_rho(mom, b1, 1 - 1e-5, order=2)[0])
        first = float(expansion_rho(mom, b1, 1 - 1e-5, order=1)[0])
        assert abs(est.value - 1) < 0.01
        # the neglected terms are O((1-b2)^{3/2}) ~ 1e-7 here, far below the stated error
        assert abs(est.value - second) < 3 * est.stderr + 1e-6
        assert abs(second - first) < 1e-3


def test_eps_limit_near_one():
    """With eps > 0, rho -> sqrt(E g^2)/(sqrt(E g^2) + eps) as beta2 -> 1."""
    law = GradientLaw.two_point(4, 1 / 9)
    eps = 0.05
    s = float(law.second_moment()[0])
    est = drift_ratio(law, 0.5, 1 - 1e-5, eps=eps)
    assert est.value == pytest.approx(s**0.5 / (s**0.5 + eps), abs=0.005)


def test_zero_mean_coordinate_gives_nan():
    law = GradientLaw(values=np.array([[1.0, 2.0], [-1.0, -1.0]]), weights=np.array([0.5, 0.5]))
    grid = drift_ratio_grid(law, [0.0, 0.5], [0.0, 0.5])
    assert np.isnan(grid.rho[0]).all()
    assert np.isfinite(grid.rho[1]).all()

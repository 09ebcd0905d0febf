"""Noise constants against independent routes: brute force, exact fractions, closed forms."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pytest

from adamcheck.noise import (
    GradientScale,
    GradientSource,
    accumulate,
    d_frontier,
    estimate,
    make_config,
    noise_constants,
    partition_constants,
)
from adamcheck.problems import counterexample_slopes


def constants_of(x, B, **kw):
    src = GradientSource.from_array(x)
    acc = accumulate(src, make_config(src.examples, src.dim, src.points), workers=1)
    return noise_constants(acc, B, replicates=kw.pop("replicates", 0), **kw)


def test_exact_values_when_the_file_is_the_data_set():
    rng = np.random.default_rng(3)
    x = rng.normal(0.4, 1.3, size=(3, 50, 6))
    c = constants_of(x, 5)
    for p in range(3):
        G = x[p].mean(axis=0)
        sigma2 = np.mean(np.sum((x[p] - G) ** 2, axis=1))
        assert c.grad_norm_sq[p] == pytest.approx(G @ G, rel=1e-12)
        assert c.trace_sigma[p] == pytest.approx(sigma2, rel=1e-12)
        assert c.b_simple[p] == pytest.approx(sigma2 / (G @ G), rel=1e-12)
    assert c.n == 10


def test_minibatch_second_moment_equals_enumeration_of_all_batches():
    """docs/theory.md section 8 formula vs the average over every B-subset (no formula involved)."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(9, 3))
    for B in (1, 2, 3, 4, 9):
        brute = np.mean([np.sum(x[list(s)].mean(axis=0) ** 2) for s in itertools.combinations(range(9), B)])
        c = constants_of(x, B)
        assert c.minibatch_second_moment[0] == pytest.approx(brute, rel=1e-12)


def test_expected_partition_equals_average_over_all_partitions():
    """E over uniformly random partitions of sum_i ||grad ell_i||^2, enumerated exactly."""
    rng = np.random.default_rng(5)
    x = rng.normal(0.3, 1.0, size=(6, 2))
    B, n = 2, 3
    totals = []
    for perm in itertools.permutations(range(6)):
        batches = np.asarray(perm).reshape(n, B)
        totals.append(sum(np.sum(x[b].mean(axis=0) ** 2) for b in batches))
    expected_S = np.mean(totals)
    G2 = np.sum(x.mean(axis=0) ** 2)
    c = constants_of(x, B)
    assert c.d1_at_d0_zero == pytest.approx(expected_S / G2, rel=1e-12)
    assert c.d0_at_d1_n == pytest.approx(expected_S - n * G2, rel=1e-12)


def tight_d1(n: int, a: Fraction) -> Fraction:
    """docs/theory.md section 4 by hand: at x >= -1, f_0' = 1 + (n-1)a, f_i' = -a, ell' = 1/n."""
    grads = [1 + (n - 1) * a] + [-a] * (n - 1)
    full = sum(grads, Fraction(0)) / n
    assert full == Fraction(1, n)
    return sum(g * g for g in grads) / (full * full)


@pytest.mark.parametrize("n, a", [(3, Fraction(1, 4)), (4, Fraction(1, 9)), (10, Fraction(1, 81)), (5, Fraction(1))])
def test_counterexample_d1_is_exact(n, a):
    expected = tight_d1(n, a)
    assert expected == n**2 * ((1 + (n - 1) * a) ** 2 + (n - 1) * a**2)
    if (n, a) == (3, Fraction(1, 4)):
        assert expected == Fraction(171, 8)
    if a == 1:
        assert expected == n**4 + n**3 - n**2  # Reddi's constant
    big, small = counterexample_slopes(n, float(a))
    # points x = 0, -1.5, -0.5 (gradients scale by min(x + 2, 1)); B = 1: component = example
    pts = np.array([[big] + [small] * (n - 1)]) * np.array([[1.0], [0.5], [1.0]])
    c = constants_of(pts[:, :, None], 1)
    assert c.d1_at_d0_zero == pytest.approx(float(expected), rel=1e-12)
    # D0 at D1 = n: sum_i (g_i - 1/n)^2 at the steepest point, exact
    d0 = sum((g - Fraction(1, n)) ** 2 for g in [1 + (n - 1) * a] + [-a] * (n - 1))
    assert c.d0_at_d1_n == pytest.approx(float(d0), rel=1e-12)


def test_counterexample_with_batches_file_partition_is_exact():
    """B copies of each component, consecutive rows: the file partition is the paper's."""
    n, a, B = 3, Fraction(1, 4), 4
    big, small = counterexample_slopes(n, float(a))
    x = np.repeat([[big], [small], [small]], B, axis=0)
    pc = partition_constants(GradientSource.from_array(x), B, kind="file")
    assert float(pc.d1_at_d0_zero[0]) == pytest.approx(float(Fraction(171, 8)), rel=1e-12)
    # random partitions mix the components, so their D1 can only be smaller (Jensen per batch)
    pr = partition_constants(GradientSource.from_array(x), B, partitions=5, seed=1)
    assert (pr.d1_at_d0_zero <= float(Fraction(171, 8)) + 1e-9).all()


def test_random_partitions_against_direct_computation():
    rng = np.random.default_rng(6)
    x = rng.normal(0.2, 1.0, size=(2, 23, 3))
    B = 4
    pc = partition_constants(GradientSource.from_array(x), B, partitions=3, seed=7)
    perms_rng = np.random.default_rng([7, 0x9A27])
    for r in range(3):
        perm = perms_rng.permutation(23)[: 5 * B].reshape(5, B)
        for p in range(2):
            means = np.stack([x[p, b].mean(axis=0) for b in perm])
            assert pc.sums[r, p] == pytest.approx(np.sum(means**2), rel=1e-12)
            assert pc.grad_norm_sq[r, p] == pytest.approx(np.sum(means.mean(axis=0) ** 2), rel=1e-12)
        S, g = pc.sums[r], pc.grad_norm_sq[r]
        assert pc.d1_at_d0_zero[r] == pytest.approx(max(S / g), rel=1e-12)


def test_frontier_vertices_by_brute_force():
    rng = np.random.default_rng(8)
    S = rng.uniform(5, 20, size=5)
    g = rng.uniform(0.1, 1.0, size=5)
    n = 4
    f = d_frontier(S, g, n)
    xs = np.linspace(n, f["d1_at_d0_zero"], 2001)
    brute = np.max(np.maximum(S[None, :] - xs[:, None] * g[None, :], 0), axis=1)
    vx = np.array([v[0] for v in f["vertices"]])
    vy = np.array([v[1] for v in f["vertices"]])
    np.testing.assert_allclose(np.interp(xs, vx, vy), brute, rtol=1e-9, atol=1e-9)
    assert f["vertices"][-1][1] == 0.0 and f["vertices"][0][0] == n


def test_frontier_with_a_stationary_noisy_point():
    f = d_frontier([4.0, 3.0], [1.0, 0.0], n=2)
    assert f["d1_at_d0_zero"] == float("inf")
    assert f["d0_at_d1_n"] == 3.0


def test_scale_conversion_is_exact():
    rng = np.random.default_rng(9)
    x = rng.normal(size=(40, 3))
    base = constants_of(x, 4)
    # BackPACK-style rows of a mean loss over M = 8 with loss scale 128: r = 128/8 * grad
    scaled = constants_of(x * 16.0, 4, scale=GradientScale("mean", 128.0, 8))
    summed = constants_of(x * 3.0, 4, scale=GradientScale("sum", 3.0))
    for c in (scaled, summed):
        np.testing.assert_allclose(c.grad_norm_sq, base.grad_norm_sq, rtol=1e-12)
        np.testing.assert_allclose(c.trace_sigma, base.trace_sigma, rtol=1e-12)
        assert c.d0_at_d1_n == pytest.approx(base.d0_at_d1_n, rel=1e-12)
        assert c.d1_at_d0_zero == pytest.approx(base.d1_at_d0_zero, rel=1e-12)
    # D1 and B_simple do not depend on the scale at all; D0 does (quadratically)
    unconverted = constants_of(x * 16.0, 4)
    assert unconverted.d1_at_d0_zero == pytest.approx(base.d1_at_d0_zero, rel=1e-12)
    assert unconverted.d0_at_d1_n == pytest.approx(256 * base.d0_at_d1_n, rel=1e-12)


def test_sample_of_a_data_set_is_unbiased():
    """Draw N_s of N examples without replacement many times: the average estimate is exact."""
    rng = np.random.default_rng(10)
    pop = rng.normal(0.3, 1.0, size=(400, 3))
    G = pop.mean(axis=0)
    sigma2 = np.mean(np.sum((pop - G) ** 2, axis=1))
    est_g, est_s = [], []
    for _ in range(400):
        sub = pop[rng.choice(400, 40, replace=False)]
        c = constants_of(sub, 4, dataset_size=400)
        est_g.append(c.grad_norm_sq[0])
        est_s.append(c.trace_sigma[0])
    se_g = np.std(est_g) / np.sqrt(len(est_g))
    se_s = np.std(est_s) / np.sqrt(len(est_s))
    assert abs(np.mean(est_g) - G @ G) < 4 * se_g
    assert abs(np.mean(est_s) - sigma2) < 4 * se_s


def test_interval_coverage_on_gaussian_gradients():
    """Known mean and covariance: the 90% intervals cover the truth about 90% of the time."""
    mu = np.array([0.5, -0.2, 0.1, 0.3])
    A = np.array([[1.0, 0.3, 0, 0], [0, 0.8, 0.2, 0], [0, 0, 1.2, 0], [0.1, 0, 0, 0.5]])
    cov = A @ A.T
    truth = {"grad_norm_sq": mu @ mu, "trace_sigma": np.trace(cov)}
    truth["b_simple"] = truth["trace_sigma"] / truth["grad_norm_sq"]
    hits = {k: 0 for k in truth}
    trials = 60
    for t in range(trials):
        x = np.random.default_rng(100 + t).multivariate_normal(mu, cov, size=600)
        c = constants_of(x, 8, replicates=400, level=0.9, seed=t)
        for k, v in truth.items():
            lo, hi = c.ci[k][0]
            hits[k] += lo <= v <= hi
    for k, h in hits.items():
        assert 0.75 * trials <= h, (k, h)
        assert h <= trials


def test_synthetic_estimate_within_interval_end_to_end():
    rng = np.random.default_rng(11)
    mu = np.full(8, 0.25)
    x = rng.normal(mu, 1.0, size=(5000, 8))
    est = estimate(x, 16, seed=3)
    ci = est.constants.ci
    assert ci["grad_norm_sq"][0][0] <= mu @ mu <= ci["grad_norm_sq"][0][1]
    assert ci["trace_sigma"][0][0] <= 8.0 <= ci["trace_sigma"][0][1]
    # expected-partition D1 of the distribution: n (1 + B_simple / B)
    d1 = est.n * (1 + (8.0 / (mu @ mu)) / 16)
    assert ci["d1_at_d0_zero"][0] <= d1 <= ci["d1_at_d0_zero"][1]

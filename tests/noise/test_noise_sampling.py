"""Two-batch estimator and mini-batch laws against direct computations and exact laws."""

from __future__ import annotations

import numpy as np
import pytest

from adamcheck._laws import GradientLaw
from adamcheck.noise import (
    GradientSource,
    estimate,
    load_laws,
    minibatch_laws,
    sample_minibatches,
    save_laws,
    two_batch_estimate,
)
from adamcheck.noise import _sampling
from adamcheck.problems import counterexample_slopes


def test_two_batch_is_mccandlish_formula_on_the_drawn_batches():
    rng = np.random.default_rng(20)
    x = rng.normal(0.2, 1.0, size=(2, 500, 6))
    s = sample_minibatches(GradientSource.from_array(x), 5, factor=4, big_batches=30, seed=3)
    est = two_batch_estimate(s, 500, replicates=0)
    Bs, Bb = 5, 20
    for p in range(2):
        small, big = [], []
        for idx in s.indices:
            rows = x[p, idx]
            big.append(np.sum(rows.mean(axis=0) ** 2))
            small += [np.sum(rows[k * 5 : (k + 1) * 5].mean(axis=0) ** 2) for k in range(4)]
        Es, Eb = np.mean(small), np.mean(big)
        g2 = (Bb * Eb - Bs * Es) / (Bb - Bs)
        tr = (Es - Eb) / (1 / Bs - 1 / Bb)
        assert est.grad_norm_sq[p] == pytest.approx(g2, rel=1e-12)
        assert est.trace_sigma[p] == pytest.approx(tr, rel=1e-12)
        assert est.b_simple[p] == pytest.approx(tr / g2, rel=1e-12)
    # every big batch holds distinct examples
    assert all(len(set(row)) == row.size for row in s.indices)


def test_two_batch_fpc_version_is_unbiased_for_the_file():
    rng = np.random.default_rng(21)
    x = rng.normal(0.3, 1.0, size=(120, 3))
    G = x.mean(axis=0)
    sigma2 = np.mean(np.sum((x - G) ** 2, axis=1))
    src = GradientSource.from_array(x)
    g2s, trs = [], []
    for seed in range(300):
        s = sample_minibatches(src, 4, factor=5, big_batches=8, seed=seed)
        est = two_batch_estimate(s, 120, replicates=0)
        g2s.append(est.grad_norm_sq_fpc[0])
        trs.append(est.trace_sigma_fpc[0])
    assert abs(np.mean(g2s) - G @ G) < 4 * np.std(g2s) / np.sqrt(300)
    assert abs(np.mean(trs) - sigma2) < 4 * np.std(trs) / np.sqrt(300)


def test_laws_without_matching_are_the_drawn_batch_means():
    rng = np.random.default_rng(22)
    x = rng.normal(size=(2, 300, 4))
    est = estimate(x, 6, law_atoms=40, match_moments=False, replicates=0, seed=9)
    s = sample_minibatches(GradientSource.from_array(x), 6, factor=8, big_batches=5, seed=9)
    for p, law in enumerate(est.laws):
        assert law.n_atoms == 40 and law.batch_size == 6
        np.testing.assert_allclose(law.values, s.atoms[p], rtol=1e-12)
        expect = np.stack([x[p, idx].reshape(8, 6, 4).mean(axis=1) for idx in s.indices]).reshape(40, 4)
        np.testing.assert_allclose(law.values, expect, rtol=1e-12)


def test_matched_laws_have_exact_mean_and_second_moment_and_metadata():
    rng = np.random.default_rng(23)
    x = rng.exponential(1.0, size=(3, 50, 5)) - 0.8
    B = 4
    laws = minibatch_laws(x, B, atoms=64, seed=1)
    N = 50
    cB = (N - B) / (B * (N - 1))
    for p, law in enumerate(laws):
        G = x[p].mean(axis=0)
        var = x[p].var(axis=0)
        np.testing.assert_allclose(law.mean(), G, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(law.second_moment(), G**2 + cB * var, rtol=1e-10)
        # N = 50 <= 64 groups: each example is its own bootstrap group, so mean_se = s / sqrt(N)
        np.testing.assert_allclose(law.meta["mean_se"], x[p].std(axis=0, ddof=1) / np.sqrt(N), rtol=1e-12)
        assert law.meta["point"] == p and law.meta["dataset_size"] == 50
        assert law.meta["reduction"] == "mean" and law.meta["loss_scale"] == 1.0
        assert law.skewness().shape == (5,)


def test_counterexample_law_matches_the_two_point_law():
    n, a = 10, 1 / 81
    big, small = counterexample_slopes(n, a)
    x = np.array([[big]] * 30 + [[small]] * 270)  # 300 examples, frequency 1/n
    exact = GradientLaw.two_point(n, a)
    raw = minibatch_laws(x, 1, atoms=4000, match_moments=False, seed=2)[0]
    assert set(np.unique(raw.values)) <= {big, small}
    freq = np.mean(raw.values == big)
    assert abs(freq - 1 / n) < 4 * np.sqrt(0.1 * 0.9 / 4000)
    matched = minibatch_laws(x, 1, atoms=4000, seed=2)[0]
    assert matched.mean()[0] == pytest.approx(exact.mean()[0], rel=1e-12)
    assert matched.second_moment()[0] == pytest.approx(exact.second_moment()[0], rel=1e-10)
    assert matched.sign_agreement()[0] == pytest.approx(exact.sign_agreement()[0], abs=0.02)


def test_law_files_round_trip(tmp_path):
    x = np.random.default_rng(24).normal(size=(2, 100, 3))
    laws = minibatch_laws(x, 5, atoms=16)
    path = save_laws(tmp_path / "laws.npz", laws)
    back = load_laws(path)
    assert len(back) == 2
    for a, b in zip(laws, back):
        np.testing.assert_array_equal(a.values, b.values)
        np.testing.assert_array_equal(a.meta["mean_se"], b.meta["mean_se"])
        assert b.batch_size == 5 and b.meta["reduction"] == "mean"
    first = path.read_bytes()
    save_laws(path, laws)
    assert path.read_bytes() == first  # same laws, same bytes


def test_laws_keep_the_most_resolved_coordinates_over_budget(monkeypatch):
    monkeypatch.setattr(_sampling, "LAW_BUDGET", 32 * 3)
    rng = np.random.default_rng(25)
    mu = np.zeros(10)
    mu[[2, 5, 7]] = [1.0, -2.0, 0.8]
    x = rng.normal(mu, 1.0, size=(400, 10))
    est = estimate(x, 4, law_atoms=32, replicates=0)
    assert est.laws[0].meta["coords"].tolist() == [2, 5, 7]
    assert any("laws keep 3 of 10" in note for note in est.to_dict()["notes"])

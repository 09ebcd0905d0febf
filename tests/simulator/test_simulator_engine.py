"""The vectorised engine against a slow step-by-step reference, and its contracts."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from adamcheck import InvalidParameterError
from adamcheck.problems import Counterexample, LeastSquares, LogisticRegression, ReddiOnline, ReddiStochastic
from adamcheck.simulator import adam_step, sample_components, schedule_factors, simulate


def reference_run(problem, *, steps, beta1, beta2, lr, eps, seed, convention, sampling, schedule,
                  weight_decay=0.0, decoupled=False, x0=0.0):
    """One run, one step at a time, with adam_step and problem.gradient: obviously correct."""
    d = problem.dim
    x = np.full((1, d), float(x0))
    comps = sample_components(problem.n_components, sampling, np.array([seed]), 1, steps,
                              problem.component_weights)[:, 0]
    s = schedule_factors(schedule, 1, steps, steps_per_epoch=problem.n_components)
    m = np.zeros((1, d))
    v = np.zeros((1, d))
    if convention == "shi2021":
        grads = [problem.gradient(x, np.array([j])) for j in range(problem.n_components)]
        m = sum(grads) / (1 - beta1)
        v = np.max([g * g for g in grads], axis=0) / (1 - beta2)
    for k in range(steps):
        g = problem.gradient(x, np.array([comps[k]]))
        x, m, v = adam_step(convention, x, m, v, g, k + 1, beta1=beta1, beta2=beta2, lr=lr * s[k],
                            eps=eps, weight_decay=weight_decay, decoupled=decoupled)
        if problem.bounds is not None:
            x = np.clip(x, *problem.bounds)
    return x[0]


def _lsq(kind="lsq", N=30, d=4, batch=7):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(N, d))
    if kind == "lsq":
        return LeastSquares(X, X @ rng.normal(size=d) + 0.1 * rng.normal(size=N), batch_size=batch)
    return LogisticRegression(X, (rng.random(N) < 0.4).astype(float), batch_size=batch)


CASES = [
    ("paper", "replacement", "inv-sqrt"),
    ("torch", "reshuffle", "constant"),
    ("shi2021", "reshuffle", "inv-sqrt-epoch"),
    ("optax", "cyclic", "constant"),
    ("keras", "replacement", "inv-sqrt"),
]


@pytest.mark.parametrize("convention,sampling,schedule", CASES)
@pytest.mark.parametrize("kind", ["lsq", "logistic"])
def test_engine_matches_reference_on_data(convention, sampling, schedule, kind):
    problem = _lsq(kind)
    b1 = [0.0, 0.5, 0.9, 0.95]
    b2 = [0.6, 0.99, 0.999, 0.9]
    lr = [0.05, 0.01, 0.02, 0.1]
    wd = [0.0, 0.0, 0.01, 0.1]
    seeds = [0, 1, 0, 5]
    for decoupled in (False, True):
        res = simulate(problem, steps=300, beta1=b1, beta2=b2, lr=lr, eps=1e-8, weight_decay=wd,
                       decoupled=decoupled, seed=seeds, convention=convention, sampling=sampling,
                       schedule=schedule)
        for r in range(4):
            ref = reference_run(problem, steps=300, beta1=b1[r], beta2=b2[r], lr=lr[r], eps=1e-8,
                                seed=seeds[r], convention=convention, sampling=sampling,
                                schedule=schedule, weight_decay=wd[r], decoupled=decoupled)
            np.testing.assert_allclose(res.final[r], ref, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("convention", ["paper", "torch", "shi2021", "optax", "keras"])
def test_engine_matches_reference_on_counterexample(convention):
    problem = Counterexample(n=5, a=1 / 16)
    b1 = [0.0, 0.6, 0.9]
    b2 = [0.3, 0.95, 0.99]
    res = simulate(problem, steps=400, beta1=b1, beta2=b2, lr=0.1, eps=1e-8, seed=[0, 1, 2],
                   convention=convention, schedule="inv-sqrt")
    for r in range(3):
        ref = reference_run(problem, steps=400, beta1=b1[r], beta2=b2[r], lr=0.1, eps=1e-8, seed=r,
                            convention=convention, sampling="replacement", schedule="inv-sqrt")
        np.testing.assert_allclose(res.final[r], ref, rtol=1e-10, atol=1e-12)


def test_shared_moment_path_matches_per_run_path():
    # A grid where some runs stay in the linear piece (diverge) and some leave it.
    n = 20
    b1, b2 = np.meshgrid(np.linspace(0, 0.99, 24), np.linspace(0.5, 0.9999, 24))
    kw = dict(steps=3000, beta1=b1.ravel(), beta2=b2.ravel(), lr=0.1, schedule="inv-sqrt",
              seed=np.arange(b1.size) % 3, record_every=100)
    fast = simulate(Counterexample(n=n, a=1 / (n - 1) ** 2), **kw)
    slow = simulate(Counterexample(n=n, a=1 / (n - 1) ** 2), shared=False, **kw)
    assert fast.shared_run_steps > 0.3 * fast.runs * fast.steps  # the fast path was used
    assert slow.shared_run_steps == 0
    linear = slow.trajectory[:, :, 0].min(axis=0) > -1  # never left the linear piece
    assert 50 < linear.sum() < fast.runs - 50
    # Runs that stay linear: the same numbers up to summation order.
    np.testing.assert_allclose(fast.final[linear], slow.final[linear], rtol=1e-12)
    # Runs that left inherit moments equal up to rounding (the slots' moments come from a
    # scan); oscillating near x* amplifies rounding, so compare outcomes and positions
    # at the scale of the oscillation, not of rounding.
    assert (fast.outcome == slow.outcome).all()
    np.testing.assert_allclose(fast.final, slow.final, atol=1e-3)


def test_ema_scan_matches_the_recurrence():
    from adamcheck.simulator._kernels import ema_scan

    rng = np.random.default_rng(5)
    decay = np.concatenate([[0.0, 0.5, 0.999999], rng.uniform(0, 1, 5)])[:, None]
    first = rng.normal(size=(8, 2))
    inputs = rng.normal(size=(700, 8, 2))
    y = ema_scan(first, inputs, decay)
    ref = [first]
    for k in range(700):
        ref.append(decay * ref[-1] + inputs[k])
    np.testing.assert_allclose(y, np.array(ref), rtol=1e-12, atol=1e-12)


def test_same_seed_same_bytes_and_workers_do_not_matter():
    b1, b2 = np.meshgrid(np.linspace(0, 0.9, 40), np.linspace(0.5, 0.999, 40))
    kw = dict(steps=4000, beta1=b1.ravel(), beta2=b2.ravel(), lr=0.1, schedule="inv-sqrt",
              seed=np.repeat([0, 1], b1.size // 2))
    p = Counterexample(n=10, a=1 / 81)
    a = simulate(p, **kw)
    b = simulate(p, **kw)
    c = simulate(p, workers=2, **kw)
    assert a.final.tobytes() == b.final.tobytes() == c.final.tobytes()
    assert (a.outcome == c.outcome).all()
    d = simulate(p, **{**kw, "seed": 7})
    assert d.final.tobytes() != a.final.tobytes()


def test_sampler_is_a_pure_function_of_seed_and_step():
    a = sample_components(7, "replacement", np.array([3, 4]), 1, 500)
    b = np.concatenate([sample_components(7, "replacement", np.array([4]), k, 50) for k in range(1, 500, 50)])
    assert (a[:, 1] == b[:, 0]).all()
    freq = np.bincount(sample_components(7, "replacement", np.arange(50), 1, 2000).ravel(), minlength=7)
    assert np.allclose(freq / freq.sum(), 1 / 7, atol=0.01)
    shuffled = sample_components(6, "reshuffle", np.array([0, 9]), 1, 60)
    for e in range(10):
        for s in range(2):
            assert sorted(shuffled[6 * e:6 * e + 6, s]) == list(range(6))
    assert not (shuffled[:6, 0] == shuffled[6:12, 0]).all() or not (shuffled[6:12, 0] == shuffled[12:18, 0]).all()
    weighted = sample_components(2, "replacement", np.arange(20), 1, 5000, np.array([0.1, 0.9]))
    assert abs((weighted == 0).mean() - 0.1) < 0.01


def test_phase_transition_at_beta1_zero_n10():
    # Zhang et al. 2026: at beta1 = 0, small beta2 diverges; beta2 >= 0.9 converges to x* = -2.
    # (beta2 = 0.999 first walks up for ~1/(1-beta2) sign-like steps, so it needs longer.)
    res = simulate(Counterexample(n=10, a=1 / 81), steps=60000, beta1=0.0,
                   beta2=[0.1, 0.3, 0.5, 0.9, 0.95, 0.99, 0.999], lr=0.1, schedule="inv-sqrt",
                   seed=[0] * 7)
    assert res.outcome[:3].tolist() == ["diverged"] * 3
    assert res.outcome[3:].tolist() == ["converged"] * 4
    np.testing.assert_allclose(res.final[3:, 0], -2.0, atol=0.05)
    assert (res.final[:3, 0] > 1).all()


def test_divergent_region_grows_with_n():
    b1, b2 = np.meshgrid(np.linspace(0, 0.95, 12), np.linspace(0.3, 0.999, 12))
    counts = []
    for n in (3, 10, 30):
        res = simulate(Counterexample(n=n, a=1 / (n - 1) ** 2), steps=6000, beta1=b1.ravel(),
                       beta2=b2.ravel(), lr=0.1, schedule="inv-sqrt", seed=0)
        counts.append(int((res.outcome == "diverged").sum()))
    assert counts[0] < counts[1] < counts[2], counts


def test_reddi_theorem1_ends_at_plus_one():
    C = 3.0
    res = simulate(ReddiOnline(C=C, period=3), steps=3000, beta1=0.0, beta2=1 / (1 + C**2),
                   lr=0.1, schedule="inv-sqrt", eps=1e-8)
    assert res.final[0, 0] == pytest.approx(1.0)
    assert res.outcome[0] == "diverged"  # the optimum is -1
    # Large beta2 fixes it on the same problem (the problem was chosen after the betas).
    ok = simulate(ReddiOnline(C=C, period=3), steps=3000, beta1=0.0, beta2=0.999, lr=0.1,
                  schedule="inv-sqrt")
    assert ok.final[0, 0] == pytest.approx(-1.0, abs=0.05)


def test_reddi_stochastic_runs_and_respects_bounds():
    res = simulate(ReddiStochastic(C=10, delta=0.1), steps=2000, beta1=0.9, beta2=[0.1, 0.999],
                   lr=0.05, schedule="inv-sqrt", seed=[0, 0], record_every=10)
    assert (np.abs(res.trajectory) <= 1 + 1e-12).all()


def test_overflow_is_diverged_silently(recwarn):
    res = simulate(Counterexample(n=10, a=1 / 81), steps=200, beta1=0.0, beta2=0.1, lr=1e200,
                   schedule="constant", convention="paper")
    assert res.outcome[0] == "diverged"
    assert res.evidence["blowup_step"][0] > 0
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_float32_is_selectable():
    res = simulate(Counterexample(n=10, a=1 / 81), steps=3000, beta1=0.0, beta2=[0.3, 0.99],
                   lr=0.1, schedule="inv-sqrt", dtype="float32")
    assert res.final.dtype == np.float32
    assert res.outcome.tolist()[0] == "diverged"


def test_memory_does_not_grow_with_steps(monkeypatch):
    import adamcheck.simulator._engine as engine

    # A small block makes "many blocks" cheap to reach; the engine's memory is
    # O(runs x d x block) whatever the number of steps.
    monkeypatch.setattr(engine, "BLOCK", 16)
    p = Counterexample(n=10, a=1 / 81)
    kw = dict(beta1=np.linspace(0, 0.9, 400), beta2=np.linspace(0.3, 0.999, 400), lr=0.1,
              schedule="inv-sqrt")
    peaks = []
    for steps in (32 * 16, 256 * 16):
        tracemalloc.start()
        simulate(p, steps=steps, **kw)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.3 * peaks[0], peaks


def test_shi2021_initialisation_follows_theory():
    p = Counterexample(n=4, a=0.25)
    res = simulate(p, steps=1, beta1=0.5, beta2=0.75, convention="shi2021", lr=1e-12)
    # m_{1,-1} = sum_j f_j'(x0)/(1-b1); at x0 = 0 the slopes sum to n * ell'(0) = 1.
    slopes = p.slopes
    m0 = slopes.sum() / 0.5
    v0 = (slopes**2).max() / 0.25
    comp = sample_components(4, "replacement", np.array([0]), 1, 1)[0, 0]
    g = slopes[comp]
    assert res.m[0, 0] == pytest.approx(0.5 * m0 + 0.5 * g)
    assert res.v[0, 0] == pytest.approx(0.75 * v0 + 0.25 * g * g)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(beta1=1.0), "beta1"),
        (dict(beta2=-0.1), "beta2"),
        (dict(beta2=[0.9, np.nan]), "beta2"),
        (dict(lr=0.0), "lr"),
        (dict(eps=-1.0), "eps"),
        (dict(steps=0), "steps"),
        (dict(beta1=[0.1, 0.2], beta2=[0.9, 0.99, 0.999]), "equal length"),
        (dict(convention="adam"), "convention"),
        (dict(sampling="random"), "sampling"),
        (dict(schedule="cosine"), "schedule"),
        (dict(x0=[0.0, 1.0]), "x0"),
        (dict(seed=-1), "seed"),
        (dict(seed=0.5), "seed"),
        (dict(dtype="float16"), "dtype"),
    ],
)
def test_bad_parameters_raise_our_error(kwargs, match):
    args = dict(steps=10)
    args.update(kwargs)
    with pytest.raises(InvalidParameterError, match=match):
        simulate(Counterexample(n=5, a=0.1), **args)


def test_bad_problems_raise_our_error():
    with pytest.raises(InvalidParameterError):
        Counterexample(n=1, a=0.1)
    with pytest.raises(InvalidParameterError):
        Counterexample(n=5, a=0.0)
    with pytest.raises(InvalidParameterError):
        LeastSquares(np.ones((3, 2)), np.ones(3), batch_size=4)
    from adamcheck import DataError

    with pytest.raises(DataError):
        LeastSquares(np.ones((3, 2)), np.ones(2), batch_size=1)
    with pytest.raises(DataError):
        LeastSquares(np.array([[1.0, np.nan], [0.0, 1.0]]), np.ones(2), batch_size=1)
    with pytest.raises(DataError):
        LogisticRegression(np.ones((3, 2)), np.array([0.0, 1.0, 2.0]), batch_size=1)
    with pytest.raises(InvalidParameterError, match="cyclic"):
        simulate(ReddiOnline(C=3), steps=5, sampling="replacement")


def test_a_user_problem_through_the_protocol():
    from adamcheck.problems import Problem

    class Quadratic(Problem):
        """ell_i(x) = |x - c_i|^2 / 2 with centres c_0, c_1: minimiser their mean."""

        name, dim, n_components = "quadratic", 2, 2
        centres = np.array([[-1.0, 2.0], [3.0, 0.0]])

        def gradient(self, x, comp):
            return x - self.centres[comp]

        def minimizer(self):
            return self.centres.mean(axis=0)

    res = simulate(Quadratic(), steps=20000, beta1=[0.0, 0.9], beta2=0.999, lr=0.05, schedule="inv-sqrt",
                   convention="torch")
    np.testing.assert_allclose(res.final, [[1.0, 1.0]] * 2, atol=0.05)
    assert res.outcome.tolist() == ["converged", "converged"]
    assert res.shared_run_steps == 0  # no constant-gradient region declared

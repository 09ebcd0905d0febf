"""The simulator decides runs on data as real training does.

Least squares, logistic regression and user problems are judged from the loss
(classify_training), the counterexamples still by the distance to x*. The check: the
same logistic-regression runs (same data, batches, seeds, schedule, float64) trained
by the NumPy simulator and by torch (phase_sweep with the simulator's batches) get
the same labels, and almost every cell is decided.
"""

from __future__ import annotations

import numpy as np
import pytest

from adamcheck._errors import InvalidParameterError
from adamcheck.problems import Counterexample, LeastSquares, LogisticRegression, Problem
from adamcheck.simulator import TrainingCriterion, classify_training, loss_trend_t, phase_grid, simulate

BETA2 = [0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.99, 0.999]


def digits_3_vs_rest() -> tuple[np.ndarray, np.ndarray]:
    """Standardised sklearn digits, label digit 3, an intercept column; 1792 = 7 * 256 rows
    so every batch size up to 256 divides the data (no short last batch)."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    sd = X.std(0)
    X = (X - X.mean(0)) / np.where(sd > 0, sd, 1.0)
    X = np.hstack([X, np.ones((len(X), 1))])
    return X[:1792], (y[:1792] == 3).astype(float)


def spector() -> tuple[np.ndarray, np.ndarray]:
    """statsmodels' Spector & Mazzeo grade data (32 rows), standardised, with an intercept."""
    sm = pytest.importorskip("statsmodels.api")
    d = sm.datasets.spector.load_pandas()
    X = d.exog.to_numpy(float)
    X = (X - X.mean(0)) / X.std(0)
    return np.hstack([X, np.ones((len(X), 1))]), d.endog.to_numpy(float)


# --- the criterion -------------------------------------------------------------------


def test_classify_training_rules_and_reasons():
    L0 = np.full(7, 0.7)
    out, why = classify_training(
        L0,
        [np.inf, 0.9, 0.05, 0.6, 0.6, 0.6, 0.6],
        [0.7, 0.5, 0.05, 0.5, 0.55, 0.6, 0.6],
        [False, True, True, True, True, True, True],
        reference_loss=0.0,
        trend_t=[0, 0, 0, 5.0, -5.0, 0.0, np.nan],
    )
    assert out.tolist() == ["diverged", "diverged", "converged", "diverged", "converged", "undecided", "undecided"]
    assert "non-finite" in why[0] and "above the initial loss" in why[1] and "closed" in why[2]
    assert "climbs steadily" in why[3] and "still falling" in why[4] and "train longer" in why[5]


def test_classify_training_thresholds_are_parameters():
    # 20% above the start: diverged by default, not with rise_factor 1.5
    assert classify_training(1.0, 1.2, 0.9, True)[0] == "diverged"
    assert classify_training(1.0, 1.2, 0.9, True, rise_factor=1.5)[0] == "undecided"
    # 40% of the way to the reference: undecided at 0.5, converged at 0.3
    assert classify_training(1.0, 0.6, 0.6, True, reference_loss=0.0)[0] == "undecided"
    assert classify_training(1.0, 0.6, 0.6, True, reference_loss=0.0, min_decrease=0.3)[0] == "converged"
    # a stationary point (gradient norm 1e-4 of its start) with the loss below its start
    assert classify_training(1.0, 0.9, 0.9, True, reference_loss=0.0, grad_norm=1e-4,
                             initial_grad_norm=1.0)[0] == "converged"
    assert TrainingCriterion(min_decrease=0.3).apply(1.0, 0.6, 0.6, True, reference_loss=0.0)[0] == "converged"
    for bad in (dict(rise_factor=0.5), dict(min_decrease=0.0), dict(stationary=-1.0)):
        with pytest.raises(InvalidParameterError):
            classify_training(1.0, 0.5, 0.5, True, **bad)
    with pytest.raises(InvalidParameterError, match="broadcast"):
        classify_training([1.0, 1.0], [0.5, 0.5, 0.5], 0.5, True)


def test_loss_trend_matches_a_direct_regression():
    rng = np.random.default_rng(1)
    steps = np.arange(0, 101, 5)
    f = 1 / np.sqrt(np.arange(1, 101))
    S = np.concatenate([[0.0], np.cumsum(f)])[steps]
    loss = 0.3 + 0.02 * S + 0.05 * rng.standard_normal(steps.size)
    keep = steps >= 50
    from scipy.stats import linregress

    fit = linregress(S[keep], loss[keep])
    assert loss_trend_t(steps, loss, f, 100) == pytest.approx(fit.slope / fit.stderr, rel=1e-10)


# --- the simulator's real-data path ----------------------------------------------------


def test_readme_digits_example_is_diverged():
    # examples/digits/compare_beta2.py: batch 4, beta1 0, beta2 0.1, lr 0.01: loss 0.69 -> ~20
    from adamcheck.problems import load_xy

    X, y = load_xy("examples/digits/digits_binary.npz")
    p = LogisticRegression(X, y, batch_size=4, drop_last=True)
    res = simulate(p, steps=20000, beta1=0.0, beta2=[0.1, 0.999], lr=0.01, eps=1e-8, convention="torch",
                   schedule="constant", seed=0)
    assert res.outcome.tolist() == ["diverged", "converged"]
    assert res.evidence["final"][0] > 10 * res.evidence["initial"][0]
    assert "above the initial loss" in res.reason[0]


def test_least_squares_decided_from_the_loss():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 5))
    y = X @ rng.normal(size=5) + 0.3 * rng.normal(size=64)
    p = LeastSquares(X, y, batch_size=8)
    res = simulate(p, steps=3000, beta1=0.9, beta2=0.999, lr=[0.01, 1e4], convention="torch", seed=0)
    assert res.evidence["measure"] == "training"
    assert res.outcome.tolist() == ["converged", "diverged"]
    # the reference is the least-squares optimum, not zero
    assert res.evidence["reference"][0] == pytest.approx(float(p.loss(p.minimizer()[None])[0]))


def test_counterexample_keeps_the_distance_rule():
    res = simulate(Counterexample(n=10, a=1 / 81), steps=8000, beta1=0.0, beta2=[0.3, 0.99], lr=0.1,
                   schedule="inv-sqrt", seed=0)
    assert res.evidence["measure"] == "distance"
    assert res.outcome.tolist() == ["diverged", "converged"]
    assert all(isinstance(r, str) and r for r in res.reason)


def test_user_problem_with_a_loss_is_judged_as_training():
    class Quadratic(Problem):
        name, dim, n_components = "quadratic", 1, 2
        centres = np.array([-1.0, 3.0])
        loss_floor = 0.0

        def gradient(self, x, comp):
            return x - self.centres[comp][:, None]

        def loss(self, x):
            return 0.5 * ((x[:, :1] - self.centres[None, :]) ** 2).mean(1)

    res = simulate(Quadratic(), steps=2000, beta1=0.9, beta2=0.999, lr=[0.05, 1e6], convention="torch",
                   x0=10.0, seed=0)
    assert res.evidence["measure"] == "training"
    assert res.outcome.tolist() == ["converged", "diverged"]


def test_phase_grid_on_data_has_records_and_reasons():
    X, y = spector()
    g = phase_grid(LogisticRegression(X, y, batch_size=4), [0.9], [0.5, 0.999], steps=500, seeds=2,
                   convention="torch", lr=0.1)
    assert g.records is not None and g.records.reason.shape == (2, 2, 1)
    assert g.counts()["undecided"] == 0


# --- the same runs in torch ----------------------------------------------------------------


def _torch_labels(X, y, batch_sizes, steps, seeds, reference):
    torch = pytest.importorskip("torch")
    from adamcheck.torch import phase_sweep

    def model_fn(seed):
        m = torch.nn.Linear(X.shape[1], 1, bias=False)
        torch.nn.init.zeros_(m.weight)  # the simulator starts at x0 = 0
        return m

    def loss(out, t):
        return torch.nn.functional.binary_cross_entropy_with_logits(out[:, 0], t)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return phase_sweep(model_fn, loss, (X, y), batch_sizes=batch_sizes, beta1=0.9, beta2=BETA2, lr=0.1,
                           seeds=seeds, steps=steps, schedule="inv-sqrt", sampling="replacement",
                           batching="fixed", dtype=torch.float64, reference_loss=reference,
                           record_every=max(1, min(512, steps // 32)), progress=False)
    finally:
        torch.set_num_threads(threads)


@pytest.mark.torch
@pytest.mark.parametrize("name, steps, batch_sizes", [("digits", 2000, [1, 4, 16]), ("spector", 1000, [1, 4, 16])])
def test_logistic_labels_equal_torch_training(name, steps, batch_sizes):
    # the paper's schedule eta0/sqrt(k), eta0 = 0.1, beta1 = 0.9, a beta2 ladder x batch sizes
    X, y = digits_3_vs_rest() if name == "digits" else spector()
    seeds = [0, 1, 2]
    sim_cells, sim_runs, refs = [], [], set()
    for B in batch_sizes:
        p = LogisticRegression(X, y, batch_size=B)
        refs.add(p.reference_loss())
        g = phase_grid(p, [0.9], BETA2, steps=steps, seeds=seeds, convention="torch", lr=0.1,
                       schedule="inv-sqrt", sampling="replacement")
        sim_cells.append(g.outcome[:, 0])
        sim_runs.append(g.per_seed[:, :, 0])
    assert len(refs) == 1  # no short batches: the same objective at every batch size
    sim_cells = np.stack(sim_cells)  # (B, beta2)
    sim_runs = np.stack(sim_runs, axis=1)  # (seeds, B, beta2)
    tg = _torch_labels(X, y, batch_sizes, steps, seeds, refs.pop())
    torch_cells = tg.outcome[:, 0, :, 0]
    torch_runs = tg.per_seed[:, :, 0, :, 0]
    decided = (sim_cells != "undecided").mean()
    agree = (sim_cells == torch_cells).mean()
    print(f"{name}: decided {decided:.3f}, cells equal {agree:.3f}, runs equal {(sim_runs == torch_runs).mean():.3f}")
    print("simulator:", sim_cells.tolist())
    assert decided >= 0.95 and (torch_cells != "undecided").mean() >= 0.95
    assert agree >= 0.95
    assert (sim_runs == torch_runs).mean() >= 0.95
    if name == "digits":
        # real behaviour on this problem: divergence at small batch and small beta2, none at B = 16
        assert (sim_cells[0, :2] == "diverged").all() and (sim_cells[-1] == "converged").all()

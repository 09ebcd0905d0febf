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
    # tests/test_simulator_engine.py); the aggregate drift ratio of one coordinate is the
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

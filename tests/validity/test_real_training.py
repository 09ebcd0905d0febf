"""The training boundary against real training (the reduced suite CI runs).

The full suite is ``benchmarks/validity/run.py`` (results in benchmarks/validity/README.md).
Here: the digits MLP 64-128-10 of that suite, real runs of ``torch.optim.Adam`` (through
``adamcheck.torch.phase_sweep``, equal to it to float rounding) on cells far from the
boundary, per-example gradients collected along a healthy run, and the prediction.
Measured on the full suite (lr 1e-3, 3 seeds): at beta1 = 0.9, batch 4 fails at beta2 <= 0.7
and trains at >= 0.8; batch 64 fails at 0.1; beta1 = 0 trains everywhere.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="real training needs torch")

pytestmark = [pytest.mark.torch, pytest.mark.slow]


@pytest.fixture(scope="module")
def mlp(load_problem):
    return load_problem("mlp_digits")


@pytest.fixture(scope="module")
def gradients(mlp):
    from run import collect_gradients

    return collect_gradients(mlp, 1e-3, "constant", 600, examples=256)


def _failed(problem, grid):
    r = grid.records
    fail = ~r.finite | (r.final_loss >= r.initial_loss) | ~(np.asarray(r.eval_metric, dtype=float) >= 0.5)
    return fail.any(axis=0)  # any seed


def test_mlp_prediction_matches_real_training(mlp, gradients):
    from adamcheck.drift import training_boundary
    from adamcheck.torch import phase_sweep

    tb = training_boundary(gradients, [4, 64], beta1=0.9, steps=3000)
    grid = phase_sweep(mlp.model_fn, mlp.loss_fn, (mlp.X, mlp.y), batch_sizes=[4, 64], beta1=[0.9],
                       beta2=[0.1, 0.5, 0.95], lr=[1e-3], seeds=2, steps=3000,
                       eval_data=(mlp.X_eval, mlp.y_eval), eval_fn=mlp.eval_fn, progress=False)
    failed = _failed(mlp, grid)[:, 0, :, 0]  # (B, beta2)
    # the real map: short memory fails at both batch sizes, 0.95 trains
    assert failed[0].tolist() == [True, True, False]
    assert failed[1, 0] and not failed[1, 2]
    for i, B in enumerate([4, 64]):
        for j, b2 in enumerate([0.1, 0.5, 0.95]):
            if B == 64 and b2 == 0.5:
                continue  # one ladder step from the real boundary at batch 64
            assert tb.safe(B, b2) == (not failed[i, j]), (B, b2, tb.critical_beta2)
            # what the file decides (it may abstain) agrees with the real run wherever it decides
            said = tb.outcome_at(B, b2)
            assert said == "cannot_tell" or (said == "fails") == bool(failed[i, j]), (B, b2, tb.reason)
    assert tb.outcome_at(4, 0.95) == "trains", tb.reason
    # update bursts decide failures only when asked (calibrated on this MLP; they do not transfer)
    assert tb.outcome_at(4, 0.1) == "cannot_tell", tb.reason
    grown = training_boundary(gradients, [4, 64], beta1=0.9, steps=3000, growth_fails=True)
    assert grown.outcome_at(4, 0.1) == "fails" and not failed[0, 2] and grown.outcome_at(4, 0.95) == "trains"
    assert tb.critical_beta2[0] >= tb.critical_beta2[1]
    assert tb.mechanism[0] is not None and "growth" in tb.mechanism[0]


def test_mlp_without_momentum_is_safe_and_trains(mlp, gradients):
    from adamcheck.drift import training_boundary
    from adamcheck.torch import phase_sweep

    tb = training_boundary(gradients, [1, 4], beta1=0.0, steps=2000)
    assert tb.critical_beta2.tolist() == [0.0, 0.0]
    assert not any(tb.beta2_failed), tb.reason  # never a failure where every run trains
    grid = phase_sweep(mlp.model_fn, mlp.loss_fn, (mlp.X, mlp.y), batch_sizes=[4], beta1=[0.0], beta2=[0.1],
                       lr=[1e-3], seeds=1, steps=2000, eval_data=(mlp.X_eval, mlp.y_eval), eval_fn=mlp.eval_fn,
                       progress=False)
    assert not _failed(mlp, grid).any()

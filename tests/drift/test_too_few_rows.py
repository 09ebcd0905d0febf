"""A file with too few rows for a batch size decides nothing there (fresh-user trial 3).

Two per-example gradients of a logistic regression at batch 1 read as "trains at beta2 >= 0.3",
where real Adam on the 569-example problem diverged at 0.3 and 0.5; one batch-mean row per point
gave the full gradient at every simulated step, so "trains" everywhere.
"""

from __future__ import annotations

import numpy as np

from adamcheck.drift import training_boundary
from adamcheck.drift._training import too_few_batches


def _file(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # skewed per-example gradients: rare large pushes against frequent small pulls
    return (rng.exponential(1.0, size=(2, n, 3)) - 0.8).astype(np.float64)


def test_the_rule_is_batches_disjoint_batches_of_b():
    assert too_few_batches(16, 2, 8) is None and too_few_batches(15, 2, 8) is not None
    assert "gather at least 16" in too_few_batches(15, 2, 8)


def test_two_rows_decide_nothing_at_batch_one_and_say_why():
    tb = training_boundary(_file(2), [1], beta1=0.9, steps=300)
    assert tb.outcome[0] == ("cannot_tell",) * len(tb.beta2s) and tb.decided == (False,)
    assert "fewer than 8 batches of 1" in tb.reason[0]
    assert tb.beta2_trained == ((),) and tb.beta2_failed == ((),)


def test_one_row_per_point_is_not_a_noise_free_problem():
    x = _file(400).mean(axis=1, keepdims=True)  # a batch-mean row per point: no noise left to see
    tb = training_boundary(x, [1], beta1=0.0, steps=300)
    assert tb.decided == (False,) and "holds 1 row" in tb.reason[0]


def test_enough_rows_decide_as_before_and_smaller_batches_clear_larger_ones():
    x = _file(400)
    # 400 rows: 400 batches of 1 (decides as it did alone), 6 of 64 (< 8: decides nothing itself)
    strict = training_boundary(x, [1, 64], beta1=0.0, steps=400)
    assert strict.outcome[0] == training_boundary(x, [1], beta1=0.0, steps=400).outcome[0]
    assert "fewer than 8 batches of 64" in " ".join(strict.cell_reason[1])
    cleared = [b for b, o in zip(strict.beta2s, strict.outcome[0]) if o == "trains"]
    assert cleared, "the example must clear something at batch 1"
    # batch 64 decides nothing itself, but a success at batch 1 holds at 64 (a batch of 64 is the mean
    # of 64 batches of 1): exactly the values batch 1 cleared train there, the rest cannot be told
    assert [b for b, o in zip(strict.beta2s, strict.outcome[1]) if o == "trains"] == cleared
    assert "fails" not in strict.outcome[1]

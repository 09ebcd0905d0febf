"""adamcheck.optax.monitor on real jitted training runs (CPU jax): it warns where the run diverges
and stays quiet where it trains, and its file gives recommend and check the monitor's own beta2*.

The same runs as the torch monitor's tests (tests/torch_tests/test_torch_monitor.py,
test_torch_monitor_file.py), written in JAX: the digits MLP at batch 1 with beta1 = 0.9, and
logistic regression on digits (3 against the rest) with beta1 = 0 at B = 4.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from _monitor_files import assert_check_follows_the_lens_cells

jax = pytest.importorskip("jax", reason="adamcheck.optax needs jax (pip install 'adamcheck[jax]')")
optax = pytest.importorskip("optax", reason="adamcheck.optax needs optax (pip install 'adamcheck[jax]')")

from _jax_models import digits, logistic, logistic_loss, mlp, mlp_loss, train  # noqa: E402


def train_digits(beta2, steps=400, seed=0):
    import adamcheck.optax

    X, y = digits()
    mon = adamcheck.optax.monitor(batch_size=1, b1=0.9, b2=beta2, every=200, multiples=(1,))
    opt = optax.chain(mon, optax.adam(1e-3, b1=0.9, b2=beta2))
    params = mlp(seed)
    order = np.random.default_rng(seed).permutation(len(X))
    batches = [(X[j : j + 1], y[j : j + 1]) for j in (int(order[s % len(order)]) for s in range(steps))]
    start = float(mlp_loss(params, X, y))
    params, _, losses, caught, report = train(params, opt, mlp_loss, batches, mon)
    end = float(mlp_loss(params, X, y))
    return report, caught, start, end, losses


@pytest.mark.slow
def test_digits_batch1_warns_at_beta2_half_where_the_run_diverges_and_not_at_0999():
    bad, bad_warnings, start, end, losses = train_digits(0.5)
    assert len(losses) == 400 and bad.step == 400  # the jitted loop ran to completion, every step recorded
    assert end > 10 * start  # the premise, measured in this JAX run: beta2 = 0.5 with beta1 = 0.9 diverges here
    first = {}
    for w in bad.warnings:
        first.setdefault(w.kind, w.step)
    assert set(first) == {"update_spike", "beta2_below_critical"}
    assert first["update_spike"] < 200 and first["beta2_below_critical"] == 200
    assert 0.5 < bad.beta2_critical < 0.999 and not bad.paper_condition
    assert {str(w.message) for w in bad_warnings} == {w.message for w in bad.warnings}  # each raised once
    below = [w for w in bad.warnings if w.kind == "beta2_below_critical"]
    assert all("beta2 = 0.5" in w.message and "batch size 1" in w.message for w in below)
    assert bad.loss_start == pytest.approx(losses[0])  # the loss reached the monitor as optax's `value`
    good, good_warnings, start, end, _ = train_digits(0.999)
    assert end < start
    assert good_warnings == [] and good.warnings == () and good.spikes == 0
    assert good.analysed_step == 400 and good.paper_condition and good.beta2_critical < 0.999
    assert good.direction_norm_max_ratio < bad.direction_norm_max_ratio / 10


B, BETA1, STEPS = 4, 0.0, 1000


@pytest.fixture(scope="module")
def monitored(tmp_path_factory):
    import adamcheck.optax

    X, y = digits()
    y = (y == 3).astype(np.float32)
    mon = adamcheck.optax.monitor(batch_size=B, b1=BETA1, b2=0.95, learning_rate=1e-2, every=STEPS, window=STEPS,
                                  warn=False, seed=0, multiples=(1, 4), predictor_steps=4000,
                                  predictor_coordinates=512)
    opt = optax.chain(mon, optax.adam(1e-2, b1=BETA1, b2=0.95))
    rng = np.random.default_rng(0)
    batches = [(X[idx], y[idx]) for idx in (rng.integers(0, len(y), B) for _ in range(STEPS))]
    report = train(logistic(0), opt, logistic_loss, batches, mon)[-1]
    path = mon.save(tmp_path_factory.mktemp("optax") / "monitor.npz")
    return path, report


def test_recommend_reads_the_optax_file_at_its_batch_and_gives_the_monitors_beta2_star(monitored, run_cli):
    from adamcheck.monitor import predict_beta2_star
    from adamcheck.recommend import recommend

    path, report = monitored
    with np.load(path, allow_pickle=False) as f:
        rows = f["grads"][0]
        assert str(f["writer"]) == "adamcheck.optax.monitor" and int(f["row_batch_size"]) == B
        assert f["monitor_steps"].tolist() == list(range(1, STEPS + 1)) and float(f["lr"]) == 1e-2
    [(_, own, _, _), (_, at_4b, _, _)] = predict_beta2_star(rows, [1, 4], BETA1, eps=1e-8, seed=0, steps=4000,
                                                           coordinates=512)
    assert report.beta2_critical == own  # the monitor's analysis of its window is this call
    rec = recommend(gradients=path)  # no batch size, no beta1: the file states them
    assert rec.batch_size == B and rec.beta1 == BETA1 and rec.beta2_critical == own
    code, out, err = run_cli("recommend", "--gradients", path, "--json")
    assert code == 0 and json.loads(out)["beta2_critical"]["value"] == own, err
    # counting B = 4 in rows (16 examples), as the commands once did, gives a beta2* that is too low
    assert at_4b < own and recommend(4 * B, gradients=path).beta2_critical == at_4b


def test_check_agrees_with_the_optax_monitor(monitored):
    path, report = monitored
    star = report.beta2_critical
    assert star > 0.5  # a run whose beta2* the check can be tested on both sides of
    assert_check_follows_the_lens_cells(path, star, B, BETA1)

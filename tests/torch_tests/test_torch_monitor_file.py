"""A file saved by GradientMonitor is read at the monitored batch by recommend and check.

A real run: logistic regression on scikit-learn's digits (3 against the rest, standardised) with
Adam at B = 4 and beta1 = 0, the monitor analysing its whole window with the predictor settings
recommend uses (4,000 simulated steps, 512 coordinates, seed 0). recommend --gradients FILE with
no --batch-size must give the monitor's own beta2* at B, and check on the file must agree with
the monitor's warning. Before the file was read at its own batch, recommend -b 4 counted 4 rows
(16 examples) and said beta2* = 0.8 where the monitor said 0.95 (benchmarks README, issue 20).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from _monitor_files import assert_check_follows_the_lens_cells

from tiny_models import digits

pytestmark = pytest.mark.torch

B, BETA1, STEPS = 4, 0.0, 1000


@pytest.fixture(scope="module")
def monitored(tmp_path_factory):
    import torch

    from adamcheck.torch import GradientMonitor

    X, y = digits()
    y = (y == 3).to(torch.float32)
    torch.manual_seed(0)
    model = torch.nn.Linear(64, 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, betas=(BETA1, 0.95))
    mon = GradientMonitor(opt, batch_size=B, every=STEPS, window=STEPS, model=model, warn=False, seed=0,
                          multiples=(1, 4), predictor_steps=4000, predictor_coordinates=512)
    rng = np.random.default_rng(0)
    for _ in range(STEPS):
        idx = torch.as_tensor(rng.integers(0, len(y), B))
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(X[idx])[:, 0], y[idx])
        loss.backward()
        opt.step()
    report = mon.report()
    path = mon.save(tmp_path_factory.mktemp("monitor") / "monitor.npz")
    return path, report


def test_recommend_gives_the_monitors_own_beta2_star(monitored, run_cli):
    from adamcheck.recommend import recommend
    from adamcheck.torch._monitor import predict_beta2_star

    path, report = monitored
    with np.load(path) as f:
        rows = f["grads"][0]
    [(_, own, _, _), (_, at_4b, _, _)] = predict_beta2_star(rows, [1, 4], BETA1, eps=1e-8, seed=0, steps=4000,
                                                           coordinates=512)
    assert report.beta2_critical == own  # the monitor's analysis of its window is this call
    rec = recommend(gradients=path)
    assert rec.batch_size == B and rec.beta1 == BETA1
    assert rec.beta2_critical == own
    code, out, err = run_cli("recommend", "--gradients", path, "--json")
    assert code == 0 and json.loads(out)["beta2_critical"]["value"] == own, err
    # counting B = 4 in rows (16 examples), as the commands did, gives a beta2* that is too low
    assert at_4b < own and recommend(4 * B, gradients=path).beta2_critical == at_4b


def test_check_agrees_with_the_monitors_warning(monitored):
    path, report = monitored
    star = report.beta2_critical
    assert star > 0  # this run is one the monitor warns about below 0.95 (sign drift at B = 4)
    assert_check_follows_the_lens_cells(path, star, B, BETA1)

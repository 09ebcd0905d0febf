"""ProbeSettings / run_probe: the probe's options as one object, checked once (issue 23 item 2).

Reference for the numbers: :func:`adamcheck.torch.phase_sweep` called directly with the
options the probe stands for (one batch size, lr and beta1; the ladder as the beta2 axis),
the route the probe took before it had a settings object.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytestmark = pytest.mark.torch

torch = pytest.importorskip("torch")

from adamcheck._errors import InvalidParameterError  # noqa: E402
from adamcheck.torch import ProbeSettings, phase_sweep, probe, run_probe  # noqa: E402
from tiny_models import digits_standardised, one_thread  # noqa: E402,F401 (one_thread: autouse fixture)


def _setup():
    X, y = digits_standardised(64)
    X, y = torch.tensor(X), torch.tensor(y)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 8), torch.nn.Tanh(), torch.nn.Linear(8, 10))
    return model, (X, y)


def ce(out, y):
    return torch.nn.functional.cross_entropy(out, y)


def test_run_probe_matches_a_direct_sweep_and_the_keyword_wrapper():
    model, data = _setup()
    kw = dict(batch_size=8, lr=0.05, steps=40, beta1=0.5, beta2s=[0.999, 0.3], seeds=[1, 2], params=["2"])
    r = run_probe(model, ce, data, ProbeSettings(**kw))
    grid = phase_sweep(lambda seed: model, ce, data, batch_sizes=[8], beta1=[0.5], beta2=[0.3, 0.999], lr=[0.05],
                       seeds=[1, 2], steps=40, trainable=["2.weight", "2.bias"], record_every=2, progress=False)
    final = np.where(grid.records.finite, grid.records.final_loss, np.inf)[:, 0, 0, :, 0].mean(axis=0)
    assert r.beta2s == (0.3, 0.999) and r.params == ("2.weight", "2.bias") and r.seeds == 2
    np.testing.assert_allclose(r.final_loss, final, rtol=1e-6)
    w = probe(model, ce, data, **kw)
    assert (w.outcome, w.final_loss, w.reasons) == (r.outcome, r.final_loss, r.reasons)


def test_settings_are_checked_when_built():
    with pytest.raises(InvalidParameterError, match="batch_size"):
        ProbeSettings(batch_size=0, lr=0.1, steps=10)
    with pytest.raises(InvalidParameterError, match="beta2s"):
        ProbeSettings(batch_size=4, lr=0.1, steps=10, beta2s=[1.5])
    with pytest.raises(InvalidParameterError, match="weight_decay"):  # a sweep option, checked by SweepSettings
        ProbeSettings(batch_size=4, lr=0.1, steps=10, weight_decay=-1.0)
    with pytest.raises(InvalidParameterError, match="ProbeSettings"):
        run_probe(*_setup()[:1], ce, _setup()[1], {"batch_size": 4})


def test_replace_recomputes_the_sweep():
    s = ProbeSettings(batch_size=4, lr=0.1, steps=100)
    assert s.beta2s[0] == 0.1 and s.sweep.record_every == 5 and s.sweep.progress is False
    t = dataclasses.replace(s, steps=40, beta2s=[0.99, 0.9])
    assert (t.sweep.steps, t.sweep.record_every, t.sweep.beta2.tolist()) == (40, 2, [0.9, 0.99])

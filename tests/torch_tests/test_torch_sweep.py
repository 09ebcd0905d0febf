"""phase_sweep against a plain loop of torch.optim.Adam / AdamW, one run at a time.

The reference trains each configuration with its own module and optimizer on the
batches of :func:`sweep_batch_indices` (the same order the sweep draws), setting the
group's lr before each step for a schedule. Agreement is relative on every parameter
after the last step: max |theta - theta_ref| / max |theta_ref|.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

pytestmark = pytest.mark.torch

torch = pytest.importorskip("torch")

from adamcheck._errors import InvalidParameterError, ProblemError  # noqa: E402
from adamcheck.simulator import schedule_factors  # noqa: E402
from adamcheck.torch import phase_sweep, sweep_batch_indices  # noqa: E402
from adamcheck.torch._sweep import _steps_per_epoch  # noqa: E402
from tiny_models import digits_standardised, one_thread  # noqa: E402,F401 (one_thread: autouse fixture)


def _digits(n: int = 120):
    return digits_standardised(n)


def mlp(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.Tanh(), torch.nn.Linear(16, 10))


class SmallCNN(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.fc = torch.nn.Linear(4 * 6 * 6, 10)

    def forward(self, x):
        h = torch.relu(self.conv(x.reshape(-1, 1, 8, 8)))
        return self.fc(h.flatten(1))


def cnn(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return SmallCNN()


def ce(out, y):
    return torch.nn.functional.cross_entropy(out, y)


def _reference(model_fn, X, y, B, b1, b2, lr, seed, steps, *, dtype, wd=0.0, decoupled=False, eps=1e-8,
               schedule="constant", sampling="reshuffle", batching="rows", drop_last=False):
    model = model_fn(seed).to(dtype)
    Xt = torch.as_tensor(X, dtype=dtype)
    yt = torch.as_tensor(y)
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    opt = cls(model.parameters(), lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd)
    n = _steps_per_epoch(len(X), B, drop_last)
    s = schedule_factors(schedule, 1, steps, n)
    for t, rows in enumerate(sweep_batch_indices(len(X), B, seed, steps, sampling=sampling, batching=batching,
                                                 drop_last=drop_last)):
        idx = torch.as_tensor(rows)
        opt.param_groups[0]["lr"] = lr * s[t]
        opt.zero_grad()
        ce(model(Xt[idx]), yt[idx]).backward()
        opt.step()
    return {k: p.detach().numpy() for k, p in model.named_parameters()}


def _max_rel_error(grid, model_fn, X, y, **kw):
    worst = 0.0
    rec = grid.records
    for (iS, s), (ib, B), (il, lr), (i2, b2), (i1, b1) in itertools.product(
        enumerate(grid.seeds), enumerate(grid.batch_size), enumerate(grid.lr), enumerate(grid.beta2),
        enumerate(grid.beta1),
    ):
        ref = _reference(model_fn, X, y, int(B), float(b1), float(b2), float(lr), int(s), int(grid.steps[ib]), **kw)
        for name, r in ref.items():
            got = rec.final_params[name][iS, ib, il, i2, i1]
            worst = max(worst, float(np.max(np.abs(got - r)) / np.max(np.abs(r))))
    return worst


@pytest.mark.parametrize("model_fn", [mlp, cnn], ids=["mlp", "cnn"])
def test_float64_equals_torch_adam(model_fn):
    X, y = _digits()
    kw = dict(dtype=torch.float64, wd=1e-3, schedule="inv-sqrt")
    grid = phase_sweep(model_fn, ce, (X, y), batch_sizes=[8, 13], beta1=[0.0, 0.9], beta2=[0.3, 0.999],
                       lr=[1e-2], seeds=[0, 5], steps=25, weight_decay=1e-3, schedule="inv-sqrt",
                       dtype=torch.float64, keep_params=True, progress=False)
    err = _max_rel_error(grid, model_fn, X, y, **kw)
    assert err <= 1e-10, err


@pytest.mark.parametrize("model_fn", [mlp, cnn], ids=["mlp", "cnn"])
def test_float32_equals_torch_adamw(model_fn):
    X, y = _digits()
    kw = dict(dtype=torch.float32, wd=1e-2, decoupled=True)
    grid = phase_sweep(model_fn, ce, (X, y), batch_sizes=[16, 50], beta1=[0.9], beta2=[0.5, 0.99],
                       lr=[1e-3, 1e-2], seeds=2, epochs=2, weight_decay=1e-2, decoupled=True,
                       dtype=torch.float32, keep_params=True, progress=False, chunk_size=5)
    assert grid.budget == "epochs" and grid.steps.tolist() == [2 * 8, 2 * 3]
    err = _max_rel_error(grid, model_fn, X, y, **kw)
    assert err <= 1e-5, err


def test_fixed_batches_of_unequal_length_equal_torch_adam():
    # batching "fixed" with N % B != 0: copies of different seeds draw batches of
    # different lengths at the same step (one vmap per length).
    X, y = _digits(50)
    kw = dict(dtype=torch.float64, sampling="replacement", batching="fixed")
    grid = phase_sweep(mlp, ce, (X, y), batch_sizes=[8], beta1=[0.9], beta2=[0.9], lr=[1e-2], seeds=[0, 1, 2],
                       steps=20, sampling="replacement", batching="fixed", dtype=torch.float64,
                       keep_params=True, progress=False)
    lengths = [[r.size for r in sweep_batch_indices(50, 8, s, 20, sampling="replacement", batching="fixed")]
               for s in (0, 1, 2)]
    assert any(len(set(col)) > 1 for col in zip(*lengths)), "the test must exercise unequal lengths"
    assert _max_rel_error(grid, mlp, X, y, **kw) <= 1e-10


def test_chunking_does_not_change_results():
    X, y = _digits(64)
    common = dict(batch_sizes=[4, 16], beta1=[0.0, 0.9], beta2=[0.2, 0.99], lr=[0.05], seeds=2, steps=30,
                  dtype=torch.float64, keep_params=True, progress=False)
    a = phase_sweep(mlp, ce, (X, y), chunk_size=1, **common)
    b = phase_sweep(mlp, ce, (X, y), **common)
    for n in a.records.final_params:
        np.testing.assert_allclose(a.records.final_params[n], b.records.final_params[n], rtol=1e-11, atol=1e-13)
    assert (a.per_seed == b.per_seed).all()


def test_records_labels_and_eval_metric():
    X, y = _digits(200)
    grid = phase_sweep(mlp, ce, (X[:150], y[:150]), batch_sizes=[1, 32], beta1=[0.9], beta2=[0.1, 0.999],
                       lr=[0.05], seeds=2, epochs=3, eval_data=(X[150:], y[150:]), reference_loss=0.0,
                       progress=False, record_every=10)
    r = grid.records
    assert grid.outcome.shape == (2, 1, 2, 1) and grid.per_seed.shape == (2, 2, 1, 2, 1)
    # the best loss is the lowest record, the first record is the start
    for ib in range(2):
        tr = r.loss_trace[ib]
        assert tr.shape[-1] == r.trace_steps[ib].size and r.trace_steps[ib][0] == 0
        np.testing.assert_array_equal(tr[..., 0], r.initial_loss[:, ib])
        np.testing.assert_array_equal(np.nanmin(tr, axis=-1), r.best_loss[:, ib])
    # same seed, same initial loss whatever the configuration
    assert np.ptp(r.initial_loss[0]) == 0
    # B = 32 at beta2 = 0.999 trains: loss well below start and accuracy far above chance
    assert grid.outcome[1, 0, 1, 0] == "converged"
    assert (r.eval_metric[:, 1, 0, 1, 0] > 0.6).all()
    # labels are the criterion applied to the records
    from adamcheck.simulator import classify_training

    again, why = classify_training(r.initial_loss, r.final_loss, r.best_loss, r.finite, trend_t=r.loss_trend_t,
                                   grad_norm=r.grad_norm_final, initial_grad_norm=r.grad_norm_initial,
                                   reference_loss=0.0)
    assert (again == grid.per_seed).all() and (why == r.reason).all()
    d = grid.to_dict(traces=False)
    assert d["budget"] == "epochs" and "runs" in d and "loss_trace" not in d["runs"]
    assert "x" in grid.render_text() or "." in grid.render_text()
    panel = grid.select(batch_size=32)
    assert panel.outcome.shape == (2, 1) and panel.settings["batch_size"] == 32


def test_divergent_run_is_flagged_not_finite():
    X, y = _digits(64)
    grid = phase_sweep(mlp, ce, (X, y), batch_sizes=[4], beta1=[0.9], beta2=[0.999], lr=[1e6], seeds=1,
                       steps=60, record_every=5, progress=False)
    assert grid.outcome.ravel().tolist() == ["diverged"]


def test_bad_inputs_raise_one_line_errors():
    X, y = _digits(20)
    base = dict(batch_sizes=[4], beta1=0.9, beta2=0.99, lr=1e-3, progress=False)
    with pytest.raises(InvalidParameterError, match="exactly one budget"):
        phase_sweep(mlp, ce, (X, y), steps=3, epochs=1, **base)
    with pytest.raises(InvalidParameterError, match="larger than the data"):
        phase_sweep(mlp, ce, (X, y), steps=3, **{**base, "batch_sizes": [64]})
    with pytest.raises(InvalidParameterError, match="beta2"):
        phase_sweep(mlp, ce, (X, y), steps=3, **{**base, "beta2": 1.0})
    with pytest.raises(ProblemError, match="not a torch.nn.Module"):
        phase_sweep(lambda s: 3, ce, (X, y), steps=3, **base)

    def dropout(seed):
        torch.manual_seed(seed)
        return torch.nn.Sequential(torch.nn.Linear(64, 10), torch.nn.Dropout(0.5))

    with pytest.raises(ProblemError, match="vmap"):
        phase_sweep(dropout, ce, (X, y), steps=3, **base)


def test_memory_limit_chunks_and_steps_budget_is_labelled():
    X, y = _digits(40)
    kw = dict(batch_sizes=[2, 8], beta1=[0.9], beta2=[0.5, 0.9, 0.99], lr=[1e-2], seeds=2, steps=12,
              dtype=torch.float64, keep_params=True, progress=False)
    small = phase_sweep(mlp, ce, (X, y), memory_limit=200_000, **kw)
    whole = phase_sweep(mlp, ce, (X, y), **kw)
    assert small.settings["chunk_size"] < 6 <= whole.settings["chunk_size"]
    assert small.budget == "steps" and small.steps.tolist() == [12, 12]
    for n in small.records.final_params:
        np.testing.assert_allclose(small.records.final_params[n], whole.records.final_params[n], rtol=1e-11,
                                   atol=1e-13)


def test_progress_bar_on_stderr_and_silenced_by_the_flag(monkeypatch, capsys):
    monkeypatch.setenv("ADAMCHECK_PROGRESS", "1")  # draw even though stderr is not a terminal
    X, y = _digits(16)
    kw = dict(batch_sizes=[4], beta1=0.9, beta2=0.99, lr=1e-3, steps=3)
    phase_sweep(mlp, ce, (X, y), progress=True, **kw)
    out, err = capsys.readouterr()
    assert "phase_sweep [" in err and out == ""
    phase_sweep(mlp, ce, (X, y), progress=False, **kw)
    out, err = capsys.readouterr()
    assert err == "" and out == ""

"""probe: short real runs from the model's current weights, and phase_sweep's trainable subset.

References: a plain loop of ``torch.optim.Adam`` on the same batches
(:func:`adamcheck.torch.sweep_batch_indices`), and full :func:`adamcheck.torch.phase_sweep`
runs of the same length on a problem of the validation suite.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.torch

torch = pytest.importorskip("torch")

from adamcheck._errors import InvalidParameterError  # noqa: E402
from adamcheck.torch import phase_sweep, probe, sweep_batch_indices  # noqa: E402
from tiny_models import digits_standardised, one_thread  # noqa: E402,F401 (one_thread: autouse fixture)


def _data(n: int = 96):
    X, y = digits_standardised(n)
    return torch.tensor(X), torch.tensor(y)


def mlp(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(64, 16), torch.nn.Tanh(), torch.nn.Linear(16, 10))


def shared_body(seed: int = 0) -> torch.nn.Module:
    """The same first layer for every seed (seed 0's), a head initialised by ``seed``."""
    m = mlp(0)
    torch.manual_seed(seed)
    m[2].reset_parameters()
    return m


def ce(out, y):
    return torch.nn.functional.cross_entropy(out, y)


def _loop(model, X, y, B, b1, b2, lr, seed, steps, names=None):
    """torch.optim.Adam on ``names`` only (the rest frozen), on the sweep's batches; float64."""
    model = model.double()
    params = [p for n, p in model.named_parameters() if names is None or n in names]
    for n, p in model.named_parameters():
        p.requires_grad_(names is None or n in names)
    opt = torch.optim.Adam(params, lr=lr, betas=(b1, b2))
    Xd = X.double()
    with torch.no_grad():
        losses = [float(ce(model(Xd), y))]
    for rows in sweep_batch_indices(len(X), B, seed, steps):
        idx = torch.as_tensor(rows)
        opt.zero_grad()
        ce(model(Xd[idx]), y[idx]).backward()
        opt.step()
    with torch.no_grad():
        losses.append(float(ce(model(Xd), y)))
    return {n: p.detach().numpy() for n, p in model.named_parameters()}, losses


def test_trainable_subset_equals_adam_on_those_parameters_only():
    X, y = _data()
    grid = phase_sweep(shared_body, ce, (X, y), batch_sizes=[8], beta1=[0.9], beta2=[0.5, 0.99], lr=[1e-2],
                       seeds=[0, 3], steps=30, dtype=torch.float64, keep_params=True, progress=False,
                       trainable=["2"])
    assert grid.settings["trainable"] == ["2.weight", "2.bias"]
    assert set(grid.records.final_params) == {"2.weight", "2.bias"}
    for iS, s in enumerate(grid.seeds):
        for i2, b2 in enumerate(grid.beta2):
            ref, _ = _loop(shared_body(int(s)), X, y, 8, 0.9, float(b2), 1e-2, int(s), 30,
                           names={"2.weight", "2.bias"})
            for n in ("2.weight", "2.bias"):
                got = grid.records.final_params[n][iS, 0, 0, i2, 0]
                assert np.max(np.abs(got - ref[n])) <= 1e-10 * np.max(np.abs(ref[n]))
            # the frozen layer kept its initial values in the reference too
            assert np.array_equal(ref["0.weight"], mlp(0).double().state_dict()["0.weight"].numpy())


def test_frozen_parameters_must_be_shared_by_every_seed():
    X, y = _data()
    with pytest.raises(InvalidParameterError, match="frozen"):
        phase_sweep(mlp, ce, (X, y), batch_sizes=[8], beta1=[0.9], beta2=[0.9], lr=[1e-2], seeds=2, steps=3,
                    progress=False, trainable=["2"])
    with pytest.raises(InvalidParameterError, match="matches no parameter"):
        phase_sweep(mlp, ce, (X, y), batch_sizes=[8], beta1=[0.9], beta2=[0.9], lr=[1e-2], seeds=1, steps=3,
                    progress=False, trainable=["blocks.9"])


def test_probe_runs_from_the_current_weights_as_adam_does():
    X, y = _data()
    model = mlp(1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    r = probe(model, ce, (X, y), batch_size=4, lr=0.05, steps=40, beta1=0.9, beta2s=[0.3, 0.99], seeds=[2],
              dtype=torch.float64, reference_loss=0.0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the model is not touched
    for j, b2 in enumerate(r.beta2s):
        _, losses = _loop(mlp(1), X, y, 4, 0.9, b2, 0.05, 2, 40)
        assert r.final_loss[j] == pytest.approx(losses[-1], rel=1e-9)
        assert r.initial_loss == pytest.approx(losses[0], rel=1e-9)
    assert r.step_seconds > 0 and r.cost > 0 and r.params is None and r.parameters == r.parameters_total


def test_probe_cost_names_steps_wall_time_and_time_over_one_step_apart():
    # the trial read "cost 11,444 training steps" (a time ratio) against the 4,200 steps it ran
    X, y = _data()
    r = probe(mlp(1), ce, (X, y), batch_size=4, lr=0.05, steps=30, beta1=0.9, beta2s=[0.3, 0.9, 0.99],
              seeds=[2, 3], dtype=torch.float64)
    # optimizer steps counted from what the sweep recorded: every run's trace ends at step 30
    rec = r.grid.records
    runs = np.asarray(r.grid.per_seed).size
    assert runs == 3 * 2 and all(int(np.asarray(t)[-1]) == 30 for t in rec.trace_steps)
    assert r.optimizer_steps == runs * 30 == 180
    assert r.time_over_step == pytest.approx(r.seconds / r.step_seconds) and r.cost == r.time_over_step
    text = r.summary()
    assert "180 optimizer steps" in text and f"{r.time_over_step:,.0f} x one training step" in text
    assert "training steps" not in text  # the old wording that read a time ratio as a step count
    d, detail = r.to_dict(), r.to_measurement().detail
    for out in (d, detail):
        assert out["optimizer_steps"] == 180 and out["time_over_step"] == pytest.approx(r.time_over_step)
        assert out["seconds"] == r.seconds and "cost_steps" not in out


def test_probe_of_a_subset_says_so():
    X, y = _data()
    r = probe(mlp(0), ce, (X, y), batch_size=8, lr=1e-2, steps=30, beta2s=[0.9, 0.999], params=["2"])
    assert r.params == ("2.weight", "2.bias") and r.parameters == 16 * 10 + 10 < r.parameters_total
    m = r.to_measurement()
    assert "frozen" in r.subset_note() and m.detail["subset"] == r.subset_note()
    with pytest.raises(InvalidParameterError):
        probe(mlp(0), ce, (X, y), batch_size=8, lr=1e-2, steps=30, params=["nope"])


def test_probe_measurement_and_abstention():
    X, y = _data()
    r = probe(mlp(0), ce, (X, y), batch_size=8, lr=1e-2, steps=60, beta2s=[0.5, 0.999], reference_loss=0.0)
    m = r.to_measurement()
    assert m.lens == "probe" and m.batch_size == 8 and m.beta1 == 0.9
    for b2, o in zip(r.beta2s, r.outcome):
        if o == "fails":
            assert m.outcome(b2) == "fails"
        if o == "undecided" and not any(f > b2 for f in r.failed):
            assert m.outcome(b2) != "trains" or any(t <= b2 for t in r.trained)
    assert r.outcome[-1] == "trains" and m.outcome(0.999) == "trains"
    # a horizon of one step decides nothing: the measurement abstains and says why
    r1 = probe(mlp(0), ce, (X, y), batch_size=8, lr=1e-4, steps=1, beta2s=[0.9, 0.999])
    assert set(r1.outcome) == {"undecided"} and r1.undecided == r1.beta2s
    m1 = r1.to_measurement()
    assert not m1.decided and "probe longer" in m1.reason


@pytest.mark.slow
def test_probe_edge_equals_full_phase_sweep_runs_on_a_suite_problem():
    # Logistic regression on digits (benchmarks/validity), beta1 = 0, lr 0.01: the suite's
    # real runs fail at small beta2 at batch 1 and 16. A probe of 300 steps from the
    # initial weights must give the edge that phase_sweep's runs of the same length give.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "validity"))
    from problems import load_problem

    p = load_problem("logistic_digits")
    ladder = [0.1, 0.5, 0.9, 0.95, 0.999]
    for B in (1, 16):
        r = probe(p.model_fn(0), p.loss_fn, (p.X, p.y), batch_size=B, lr=0.01, steps=300, beta1=0.0,
                  beta2s=ladder, seeds=[0, 1])
        grid = phase_sweep(lambda s: p.model_fn(0), p.loss_fn, (p.X, p.y), batch_sizes=[B], beta1=[0.0],
                           beta2=ladder, lr=[0.01], seeds=[0, 1], steps=300, record_every=15, progress=False)
        per_seed = np.asarray(grid.per_seed)[:, 0, 0, :, 0]
        fails = (per_seed == "diverged").any(axis=0)
        edge = ladder[int(np.flatnonzero(fails)[-1])] if fails.any() else None
        assert (r.failed[-1] if r.failed else None) == edge
        assert r.failed, "the probe must see failures here (the suite's runs fail at small beta2)"
        np.testing.assert_allclose(r.final_loss, np.where(grid.records.finite, grid.records.final_loss,
                                                          np.inf)[:, 0, 0, :, 0].mean(0), rtol=1e-6)


def test_probe_whose_top_beta2_fails_abstains():
    # lr 10 on the digits MLP: every beta2 of the ladder blows up within 40 steps, the top
    # included, so no beta2 cures it and the probe must not say "every beta2 fails"
    X, y = _data()
    r = probe(mlp(0), ce, (X, y), batch_size=8, lr=10.0, steps=40, beta2s=[0.5, 0.999])
    assert r.outcome == ("fails", "fails")
    m = r.to_measurement()
    assert not m.decided and m.outcome(0.5) == "cannot_tell" and "not beta2's" in m.reason


def test_probe_beyond_the_bound_withholds_trains_but_keeps_failures():
    # beta1 = 0.9 >= sqrt(0.5): the run at beta2 = 0.5 is labelled exactly as phase_sweep labels it,
    # but a "converged" there is reported undecided (no bound on the step); 0.999 is inside the bound
    X, y = _data()
    kw = dict(batch_size=8, lr=1e-2, steps=60, beta1=0.9, beta2s=[0.5, 0.999], reference_loss=0.0, seeds=[0])
    trusted = probe(mlp(0), ce, (X, y), trust_beyond_bound=True, **kw)
    r = probe(mlp(0), ce, (X, y), **kw)
    grid = phase_sweep(lambda s: mlp(0), ce, (X, y), batch_sizes=[8], beta1=[0.9], beta2=[0.5, 0.999], lr=[1e-2],
                       seeds=[0], steps=60, reference_loss=0.0, record_every=3, progress=False)
    labels = [str(x) for x in np.asarray(grid.per_seed)[0, 0, 0, :, 0]]
    assert labels == ["converged", "converged"]  # both runs trained over the horizon
    assert trusted.outcome == ("trains", "trains") and trusted.beyond_bound == ()
    assert r.outcome == ("undecided", "trains") and r.beyond_bound == (0.5,) and r.undecided == (0.5,)
    assert r.final_loss == trusted.final_loss  # the same runs, judged differently
    m = r.to_measurement()
    assert m.outcome(0.5) == "cannot_tell" and m.outcome(0.999) == "trains"
    assert "beta1 >= sqrt(beta2)" in r.summary()
    # a failure beyond the bound is still a failure (lr 1: beta2 = 0.5 fails, 0.999 trains), either way
    hot = {**kw, "lr": 1.0, "steps": 100}
    for trust in (False, True):
        h = probe(mlp(0), ce, (X, y), trust_beyond_bound=trust, **hot)
        assert h.outcome == ("fails", "trains") and h.beyond_bound == ()
        assert h.to_measurement().outcome(0.5) == "fails"


@pytest.mark.slow
def test_a_run_that_trains_over_the_horizon_beyond_the_bound_can_fail_later():
    # The suite's digits MLP at lr 1e-3, beta1 0.9, batch 128, beta2 0.3 (beta1 > sqrt(beta2)): a
    # 300-step probe sees it train, and the full 3,000-step run of the same seed fails by the suite's
    # criterion (final training loss not below the start, or held-out accuracy below 50%). The probe
    # must not have said "trains" there.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks" / "validity"))
    from problems import load_problem

    p = load_problem("mlp_digits")
    kw = dict(batch_size=128, lr=1e-3, steps=300, beta1=0.9, beta2s=[0.3, 0.999], seeds=[0])
    trusted = probe(p.model_fn(0), p.loss_fn, (p.X, p.y), trust_beyond_bound=True, **kw)
    assert trusted.outcome[0] == "trains"
    full = phase_sweep(lambda s: p.model_fn(0), p.loss_fn, (p.X, p.y), batch_sizes=[128], beta1=[0.9], beta2=[0.3],
                       lr=[1e-3], seeds=[0], steps=3000, eval_data=(p.X_eval, p.y_eval), eval_fn=p.eval_fn,
                       progress=False)
    rec = full.records
    failed = (not bool(rec.finite.all())) or float(rec.final_loss.ravel()[0]) >= float(rec.initial_loss.ravel()[0]) \
        or float(np.asarray(rec.eval_metric, dtype=float).ravel()[0]) < p.min_eval
    assert failed, "the full run was expected to fail (benchmarks/validity: 3 of 3 seeds)"
    r = probe(p.model_fn(0), p.loss_fn, (p.X, p.y), **kw)
    assert r.outcome[0] == "undecided" and 0.3 in r.beyond_bound and r.to_measurement().outcome(0.3) == "cannot_tell"

"""The monitor never breaks a training run, refuses what it cannot follow when it is built,
says nothing it did not measure, and writes a file that describes itself."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

pytestmark = pytest.mark.torch
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def regression(seed=0, n=4096, d=8):
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = x @ torch.linspace(-1, 1, d) + 0.3 * torch.randn(n, generator=g)
    return x, y


def train(mon_factory, steps, *, batch=8, lr=1e-2, beta2=0.999, hook=None, observe=True, seed=0):
    """A small regression trained with Adam and the monitor; ``hook(step, model)`` may corrupt a step."""
    import torch

    from adamcheck.torch import AdamCheckWarning

    x, y = regression(seed)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    opt = torch.optim.Adam(model.parameters(), lr=lr, betas=(0.9, beta2))
    mon = mon_factory(opt, model)
    losses = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", AdamCheckWarning)
        for s in range(steps):
            j = (s * batch) % (len(x) - batch)
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x[j : j + batch])[:, 0], y[j : j + batch])
            loss.backward()
            if hook is not None:
                hook(s, model)
            if observe and mon is not None:
                mon.observe_loss(loss)
            opt.step()  # must never raise
            losses.append(loss.item())
    ours = [w for w in caught if issubclass(w.category, AdamCheckWarning)]
    return mon, ours, losses


def test_a_300_step_run_with_defaults_is_analysed_and_reads_in_three_lines():
    from adamcheck.torch import GradientMonitor

    mon, _, losses = train(lambda opt, model: GradientMonitor(opt, batch_size=8, model=model), 300)
    rep = mon.report()
    assert losses[-1] < losses[0]
    assert rep.analyses >= 1 and rep.analysed_step == 200 and rep.window == 200
    assert rep.beta2_critical is not None and rep.beta2_critical_by_batch[0][0] == 8
    text = str(rep)
    assert len(text.splitlines()) == 3 and "nan" not in text.lower()
    # with the planned steps known (the callbacks pass them) the first analysis is at 10%, not before 50
    mon, _, _ = train(lambda opt, model: GradientMonitor(opt, batch_size=8, planned_steps=300, model=model), 300)
    assert [a.step for a in mon.analyses][0] == 50


def test_a_nan_gradient_step_is_counted_left_out_and_the_run_completes():
    import torch

    from adamcheck.torch import GradientMonitor

    def corrupt(step, model):
        if step == 100:
            model[0].weight.grad[0, 0] = float("nan")

    mon, caught, losses = train(lambda opt, model: GradientMonitor(opt, batch_size=8, model=model), 300,
                                hook=corrupt)
    assert len(losses) == 300 and not math.isfinite(losses[-1])  # the premise: Adam took the NaN and the run broke
    rep = mon.report()
    assert rep.step == 300 and rep.nonfinite_steps == 200 and rep.gradient_steps == 300
    # every recorded row is finite: the NaN steps never reached the statistics
    rows, steps = mon.recorder.rows.last()
    assert np.isfinite(rows).all() and steps.tolist() == list(range(1, 101))
    assert rep.analyses == 1 and rep.window == 100  # the analysis at 200 read the 100 finite steps
    kinds = [d.rule for d in rep.warnings]
    assert "non_finite_gradient" in kinds and "non_finite_loss" in kinds
    nf = next(d for d in rep.warnings if d.rule == "non_finite_gradient")
    assert nf.step == 101 and "200 of 300" in nf.message
    assert rep.nonfinite_losses == 199  # the loss of step 101 is still finite (the NaN reached the weights after it)
    assert [str(w.message) for w in caught if "internal error" in str(w.message)] == []
    assert torch.isnan(mon.optimizer.param_groups[0]["params"][0]).any()


def test_an_internal_error_warns_once_switches_the_monitor_off_and_training_goes_on(monkeypatch):
    import adamcheck.monitor._host as monitor_module  # where the monitor calls the analysis
    from adamcheck.torch import GradientMonitor

    def broken(window, settings):
        raise RuntimeError("planted bug")

    monkeypatch.setattr(monitor_module, "analyse_window", broken)
    mon, caught, losses = train(lambda opt, model: GradientMonitor(opt, batch_size=8, model=model), 300)
    assert len(losses) == 300 and losses[-1] < losses[0]  # training went on and trained
    internal = [w for w in caught if "internal error" in str(w.message)]
    assert len(internal) == 1 and "planted bug" in str(internal[0].message)
    rep = mon.report()
    assert not rep.enabled and rep.step == 200 and "switched off after an internal error" in str(rep)
    assert any("planted bug" in n for n in rep.notes)
    assert mon.analyse() is None  # a switched-off monitor does nothing, and raises nothing


def test_an_error_inside_a_backward_hook_never_reaches_backward():
    import torch

    from adamcheck.torch import AdamCheckWarning
    from adamcheck.torch import GradientMonitor

    model = torch.nn.Linear(4, 1)
    opt = torch.optim.Adam(model.parameters())
    mon = GradientMonitor(opt, batch_size=4, accumulation_steps=2)
    mon.recorder._micro_src = None  # plants a TypeError inside the post-accumulate-grad hook
    with pytest.warns(AdamCheckWarning, match="internal error"):
        for _ in range(3):
            opt.zero_grad()
            for _ in range(2):
                model(torch.randn(2, 4)).pow(2).mean().backward()
            opt.step()
    assert not mon.enabled and mon.step == 0


def test_optimizers_it_cannot_follow_are_refused_when_it_is_built():
    import torch

    from adamcheck import InvalidParameterError
    from adamcheck.torch import GradientMonitor

    emb = torch.nn.Embedding(10, 3, sparse=True)
    with pytest.raises(InvalidParameterError, match="SparseAdam"):
        GradientMonitor(torch.optim.SparseAdam(emb.parameters()), batch_size=4)
    lin = torch.nn.Linear(3, 1)
    with pytest.raises(InvalidParameterError, match="no betas"):
        GradientMonitor(torch.optim.SGD(lin.parameters(), lr=0.1), batch_size=4)
    with pytest.raises(InvalidParameterError, match="infinity norm"):
        GradientMonitor(torch.optim.Adamax(lin.parameters()), batch_size=4)

    class Lion(torch.optim.Optimizer):  # betas, but not Adam's update
        def __init__(self, params):
            super().__init__(params, {"lr": 1e-4, "betas": (0.9, 0.99)})

    with pytest.raises(InvalidParameterError, match="not an Adam-family"):
        GradientMonitor(Lion(lin.parameters()), batch_size=4)

    class MyAdam(torch.optim.AdamW):  # a subclass of AdamW is followed
        pass

    GradientMonitor(MyAdam(lin.parameters()), batch_size=4)
    # DeepSpeed ZeRO-3 marks its partitioned parameters with ds_id (DeepSpeed is not installed
    # here: the attribute is what its is_zero_param reads)
    p = torch.nn.Parameter(torch.zeros(3))
    p.ds_id = 0
    with pytest.raises(InvalidParameterError, match="DeepSpeed ZeRO-3"):
        GradientMonitor(torch.optim.Adam([p]), batch_size=4)


FSDP_SCRIPT = textwrap.dedent(
    """
    import os, socket, sys
    import torch, torch.distributed as dist
    from torch.distributed.fsdp import fully_shard
    from adamcheck import InvalidParameterError
    from adamcheck.torch import GradientMonitor

    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 2))
    fully_shard(model)
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(3, 4)).sum().backward(); opt.step()  # FSDP2 trains on CPU with gloo
    try:
        GradientMonitor(opt, batch_size=3)
    except InvalidParameterError as exc:
        print("REFUSED:", exc)
    dist.destroy_process_group()
    """
)


def test_fsdp2_parameters_are_refused_with_the_reason():
    """FSDP2 (fully_shard) runs on CPU with gloo in this torch; its parameters are DTensor
    shards, whose sampled gradient no rank holds whole: refused when the monitor is built."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", FSDP_SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "REFUSED:" in out.stdout and "DTensor" in out.stdout and "FSDP2" in out.stdout, out.stdout


def test_bad_input_gets_our_errors():
    import torch

    from adamcheck import AdamCheckError, InvalidParameterError
    from adamcheck.torch import GradientMonitor

    model = torch.nn.Linear(2, 1)
    opt = torch.optim.Adam(model.parameters())
    with pytest.raises(InvalidParameterError, match="named_parameters"):
        GradientMonitor(opt, batch_size=4, model="x")
    with pytest.raises(InvalidParameterError, match="nope"):
        GradientMonitor(opt, batch_size=4, drift_options={"nope": 1})
    with pytest.raises(InvalidParameterError, match="unknown monitor setting"):
        GradientMonitor(opt, batch_size=4, evry=10)
    mon = GradientMonitor(opt, batch_size=4)
    for bad in (torch.ones(2), "0.5", None, 10**400, [0.5], True, torch.tensor(1 + 2j)):
        with pytest.raises(InvalidParameterError, match="observe_loss"):
            mon.observe_loss(bad)
    opt.zero_grad()
    model(torch.randn(4, 2)).pow(2).mean().backward()
    opt.step()
    for bad, match in ((b"m.npz", "not a file name"), ("m\x00.npz", "NUL"), ("no/such/folder/m.npz", "does not exist"),
                       ("m.txt", "suffix")):
        with pytest.raises(InvalidParameterError, match=match):
            mon.save(bad)
    for bad in (float("nan"), float("inf"), torch.tensor(float("nan"))):
        mon.observe_loss(bad)  # accepted: counted as evidence of divergence, not averaged
    rep = mon.report()
    assert rep.nonfinite_losses == 3 and "non_finite_loss" in rep.warning_kinds
    assert issubclass(InvalidParameterError, AdamCheckError)


def test_a_monitor_that_sees_no_gradient_gives_no_beta2_star(tmp_path):
    import torch

    from adamcheck import InvalidParameterError
    from adamcheck.torch import GradientMonitor

    watched, trained = torch.nn.Linear(4, 1), torch.nn.Linear(4, 1)
    opt = torch.optim.Adam(list(watched.parameters()) + list(trained.parameters()))
    mon = GradientMonitor(opt, batch_size=4, model=None)
    for _ in range(300):  # the optimizer steps, but the watched parameters' .grad stay None...
        opt.zero_grad()
        trained(torch.randn(4, 4)).pow(2).mean().backward()
        opt.step()
    rep = mon.report()
    # ...and so do half the sampled ones: a step with some gradient is recorded (zeros elsewhere)
    assert rep.gradient_steps == 300
    only = torch.optim.Adam(watched.parameters())
    blind = GradientMonitor(only, batch_size=4, planned_steps=300)
    for _ in range(300):  # every .grad None at the optimizer's step (FSDP/DeepSpeed-managed, or unused)
        only.step()
    rep = blind.report()
    assert rep.step == 300 and rep.gradient_steps == 0 and rep.beta2_critical is None
    assert rep.beta2_critical_by_batch == () and rep.analyses >= 1 and rep.window == 0
    assert [d.rule for d in rep.diagnostics] == ["no_gradient"] and rep.verdict == "not_checked"
    assert "no gradient seen in 300" in str(rep) and not rep.measurement.decided
    with pytest.raises(InvalidParameterError, match="no step with a gradient"):
        blind.save(tmp_path / "m.npz")


def test_the_saved_file_describes_itself(tmp_path):
    import torch

    from adamcheck.noise._meta import META_KEYS, GradientFileMeta
    from adamcheck.torch import GradientMonitor

    def factory(opt, model):
        return GradientMonitor(opt, batch_size=8, model=model, planned_steps=1200, seq_len=16)

    mon, _, losses = train(factory, 1200)
    assert losses[-1] < losses[0]
    path = mon.save(tmp_path / "monitor.npz")
    with np.load(path, allow_pickle=False) as f:
        meta = GradientFileMeta.from_mapping(f, str(path))  # every key valid, or this raises
        present = set(f.files)
    # every key written and valid; monitor_critical is written as -1 ("none": this run trained)
    assert set(META_KEYS) <= present and set(meta.stated()) <= present
    assert set(META_KEYS) - set(meta.stated()) == {"monitor_critical"} and meta.monitor_critical is None
    rep = mon.report()
    assert meta.writer == "adamcheck.torch.GradientMonitor" and meta.is_monitor
    assert (meta.batch_size, meta.row_batch_size, meta.beta1, meta.beta2) == (8, 8, 0.9, 0.999)
    assert meta.eps == 1e-8 and meta.lr == 1e-2 and meta.weight_decay == 0.0
    assert (meta.steps, meta.planned_steps, meta.world_size, meta.seq_len) == (1200, 1200, 1, 16)
    # the run trained 1,200 steps at beta2 = 0.999 with its loss falling: the monitor says so
    assert rep.measurement.decided and meta.monitor_decided is True
    assert meta.monitor_trained == (0.999,) and meta.monitor_failed == ()
    assert "trained 1200 steps" in meta.monitor_reason
    assert torch.is_tensor(mon.optimizer.param_groups[0]["params"][0])


def test_a_warned_run_writes_its_failure_and_a_short_run_abstains(tmp_path):
    """Two-point-law gradients (n = 10, a = 1/81) at beta2 = 0.5: the monitor warns at its first
    analysis, so the file lists beta2 = 0.5 and the ladder below beta2* as failed."""
    import torch

    from adamcheck import GradientLaw
    from adamcheck.noise._meta import GradientFileMeta
    from adamcheck.torch import GradientMonitor

    law = GradientLaw.two_point(10, 1 / 81)
    draws = np.random.default_rng(4).choice(law.values[:, 0], size=250, p=law.weights)
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([w], lr=1e-3, betas=(0.0, 0.5))
    mon = GradientMonitor(opt, batch_size=1, multiples=(1,), warn=False)
    for g in draws:
        opt.zero_grad()
        (float(g) * w).sum().backward()
        opt.step()
    rep = mon.report()
    assert rep.warning_kinds == {"beta2_below_critical"} and rep.warnings[0].step == 200
    with np.load(mon.save(tmp_path / "bad.npz"), allow_pickle=False) as f:
        meta = GradientFileMeta.from_mapping(f, "bad.npz")
    assert meta.monitor_decided and 0.5 in meta.monitor_failed and meta.monitor_trained == ()
    assert all(b < rep.beta2_critical for b in meta.monitor_failed)
    # 100 steps, no analysis yet: no claim either way
    opt2 = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1e-3)
    short = GradientMonitor(opt2, batch_size=1)
    p = opt2.param_groups[0]["params"][0]
    for g in draws[:100]:
        opt2.zero_grad()
        (float(g) * p).sum().backward()
        opt2.step()
    with np.load(short.save(tmp_path / "short.npz"), allow_pickle=False) as f:
        meta = GradientFileMeta.from_mapping(f, "short.npz")
    assert meta.monitor_decided is False and meta.monitor_failed == meta.monitor_trained == ()
    assert "no analysis yet" in meta.monitor_reason and meta.planned_steps is None and meta.seq_len is None

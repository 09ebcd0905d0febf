"""Per-group effective batch on real torch training: a tiny MoE whose router sends one expert
about 3% of the tokens, and an embedding whose rare rows see a few tokens per step.

The low-share expert and the rare rows are reported with a higher beta2* than the dense
layers and the well-fed experts or rows; the effective batch is checked against the router's
counts (and the token counts) taken independently of the monitor. What real training does at
a beta2 between the two is measured by ``examples/moe/tiny_moe.py --sweep`` (minutes, figures
in docs/theory.md section 11), not here."""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

from adamcheck import InvalidParameterError
from adamcheck._diagnostics import Level

pytestmark = pytest.mark.torch


@pytest.fixture(autouse=True)
def one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def moe():
    return runpy.run_path(str(ROOT / "examples" / "moe" / "tiny_moe.py"))


def test_low_share_expert_needs_a_longer_memory_than_the_dense_layers(moe):
    import torch

    torch.set_num_threads(1)
    _, mon, counts = moe["train"](0.0, 0.9, steps=400, monitor={"every": 200, "warn": False})
    assert [a.step for a in mon.analyses] == [200, 400]
    for a in mon.analyses:
        g = {x.name: x for x in a.groups}
        # the effective batch is the router's mean count over the window (counted here, not by the monitor)
        window = counts[a.step - 200 : a.step]
        for e in range(4):
            assert g[f"expert.{e}"].tokens_per_step == pytest.approx(window[:, e].mean())
        assert g["expert.3"].share == pytest.approx(window[:, 3].mean() / 64) and g["expert.3"].share < 0.04
        assert g["expert.3"].zero_steps == pytest.approx(np.mean(window[:, 3] == 0))
        assert g["dense"].tokens_per_step == 64
    for a in mon.analyses[1:]:  # once past the first steps' large mean gradient
        g = {x.name: x for x in a.groups}
        others = [g[n].beta2_critical for n in ("dense", "expert.0", "expert.1", "expert.2")]
        assert g["expert.3"].beta2_critical > max(others), (a.step, g)
        assert g["expert.3"].beta2_critical > 0.9 > a.own.beta2_critical  # the global batch's is below the run's
    rep = mon.report()
    assert rep.warnings == ()  # the run settles: no RISK, global or per group
    advice = [d for d in rep.diagnostics if d.level is Level.ADVICE]
    assert [(d.rule, d.axis, d.step) for d in advice] == [("group_needs_longer_memory", "efficiency", 400)]
    assert "'expert.3'" in advice[0].message and advice[0].message in rep.notes
    assert str(rep).splitlines()[2].startswith("Advice: give 'expert.3' a longer memory")
    from adamcheck.monitor import report_metrics

    m = report_metrics(rep)
    assert m["adamcheck/beta2_critical/expert.3"] == rep.groups[-1].beta2_critical
    assert m["adamcheck/tokens_per_step/expert.3"] == pytest.approx(counts[200:, 3].mean())


def test_rare_embedding_rows_need_a_longer_memory_than_common_rows_and_the_head():
    import torch

    from adamcheck.monitor import GroupSpec
    from adamcheck.torch import GradientMonitor

    V, Dm, C, B, T = 64, 8, 4, 16, 8
    rng = np.random.default_rng(0)
    freq = 1.0 / np.arange(1, V + 1) ** 1.1
    freq /= freq.sum()
    labels = torch.as_tensor(rng.integers(0, C, V))
    rare, common = np.arange(V)[np.cumsum(freq) > 0.97], np.arange(8)  # the tail's 3% of tokens; the top 63%
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Embedding(V, Dm), torch.nn.Linear(Dm, C))
    opt = torch.optim.Adam(model.parameters(), lr=3e-2, betas=(0.0, 0.9))
    groups = {"head": GroupSpec("1", tokens_per_step=B * T), "common rows": GroupSpec("0.weight", rows=common),
              "rare rows": GroupSpec("0.weight", rows=rare)}
    mon = GradientMonitor(opt, batch_size=B, seq_len=T, model=model, groups=groups, every=200, warn=False)
    rare_t, common_t = torch.as_tensor(rare), torch.as_tensor(common)
    seen = []
    for _ in range(400):
        ids = torch.as_tensor(rng.choice(V, size=(B, T), p=freq))
        noisy = torch.as_tensor(rng.random((B, T)) < 0.2)  # 20% of the labels are random
        y = torch.where(noisy, torch.as_tensor(rng.integers(0, C, (B, T))), labels[ids])
        loss = torch.nn.functional.cross_entropy(model(ids).reshape(-1, C), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        mon.observe_loss(loss)
        n_rare = torch.isin(ids, rare_t).sum()
        mon.observe_tokens({"rare rows": n_rare, "common rows": torch.isin(ids, common_t).sum()})
        seen.append(int(n_rare))
        opt.step()
    g = {x.name: x for x in mon.analyses[-1].groups}
    assert g["rare rows"].tokens_per_step == pytest.approx(np.mean(seen[200:]))
    assert g["rare rows"].share == pytest.approx(np.mean(seen[200:]) / (B * T)) and g["rare rows"].share < 0.05
    assert g["rare rows"].coordinates == rare.size * Dm  # every coordinate of the model is sampled here
    assert g["rare rows"].beta2_critical > max(g["common rows"].beta2_critical, g["head"].beta2_critical), g


def test_a_group_trains_with_its_own_param_group_beta2(moe):
    import torch

    from adamcheck.torch import GradientMonitor

    model = moe["TinyMoE"](moe["make_task"](0))
    rest = [p for n, p in model.named_parameters() if not n.startswith("experts.3.")]
    opt = torch.optim.Adam([{"params": rest}, {"params": model.experts[3].parameters(), "betas": (0.0, 0.999)}],
                           betas=(0.0, 0.9))
    mon = GradientMonitor(opt, batch_size=64, model=model, groups=moe["groups"](), every=16, multiples=(1,),
                          predictor_steps=200, warn=False)
    for _ in range(16):
        opt.zero_grad()
        model(torch.randn(64, 8))[0].pow(2).mean().backward()
        opt.step()
    g = {x.name: x for x in mon.report().groups}
    assert g["expert.3"].beta2 == 0.999 and g["dense"].beta2 == 0.9


def test_bad_groups_and_counts_are_refused_with_the_fix(moe):
    import torch

    from adamcheck.monitor import GroupSpec
    from adamcheck.torch import GradientMonitor

    model = moe["TinyMoE"](moe["make_task"](0))
    opt = torch.optim.Adam(model.parameters())
    with pytest.raises(InvalidParameterError, match="'expert.9' names no parameter"):
        GradientMonitor(opt, batch_size=64, model=model, groups={"x": GroupSpec("expert.9")})
    with pytest.raises(InvalidParameterError, match="row 8 is beyond 'inp.weight', which has 8 rows"):
        GradientMonitor(opt, batch_size=64, model=model, groups={"x": GroupSpec("inp.weight", rows=[8])})
    mon = GradientMonitor(opt, batch_size=64, model=model, groups=moe["groups"]())
    for counts, match in (({"expert.9": 1}, "not a declared group"), ({"expert.3": -1}, "not a number of tokens"),
                          ({"expert.3": "2"}, "not a number of tokens"), ({"expert.3": torch.ones(2)}, "2 elements"),
                          ([1, 2], "is not a dict")):
        with pytest.raises(InvalidParameterError, match=match):
            mon.observe_tokens(counts)
    mon.observe_tokens({"expert.3": torch.tensor(2), "expert.2": np.int64(5)})

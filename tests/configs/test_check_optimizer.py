"""check_optimizer on real torch optimizers, compared with the config route."""

from __future__ import annotations

import doctest
import importlib

import pytest

from adamcheck import InvalidParameterError
from adamcheck.configs import check_config, check_setup
from adamcheck.configs._setup import Sourced, TrainingSetup

pytestmark = pytest.mark.torch


def _params(n=3):
    import torch

    return [torch.nn.Parameter(torch.zeros(4)) for _ in range(n)]


@pytest.mark.parametrize("cls", ["Adam", "AdamW"])
def test_single_group_matches_the_config_route(cls, tmp_path):
    import torch

    opt = getattr(torch.optim, cls)(_params(), lr=1e-3, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1)
    from adamcheck import check_optimizer

    report = check_optimizer(opt, batch_size=64, seq_len=256, max_steps=5000)
    assert report.setup.get("optimizer") == cls
    assert "param_groups[0]['betas'][1]" in report.setup.beta2.source
    assert report.param_groups[0]["beta2"] == 0.99 and report.param_groups[0]["params"] == 3
    # Same numbers through a nanoGPT config: same findings (levels and messages).
    cfg = tmp_path / "c.py"
    cfg.write_text("batch_size = 64\nblock_size = 256\ngradient_accumulation_steps = 1\nbeta1 = 0.9\nbeta2 = 0.99\nmax_iters = 5000\n")
    # The live optimizer's parameters say its state is fp32; the file says nothing, so the
    # flag states it (the eps rule reads it).
    from_file = check_config(cfg, state_dtype="fp32")
    # Messages agree except where they quote their own provenance (file line vs argument).
    pairs = list(zip(report.findings, from_file.findings, strict=True))
    assert all((a.rule, a.level) == (b.rule, b.level) for a, b in pairs)
    assert all(a.message == b.message for a, b in pairs if a.rule not in ("memory_vs_steps", "eps_precision"))
    assert report.batch.tokens == from_file.batch.tokens == 64 * 256


def test_several_groups_are_checked_each():
    import torch
    from adamcheck import check_optimizer

    p = _params(4)
    opt = torch.optim.AdamW(
        [
            {"params": p[:2]},
            {"params": p[2:3], "betas": (0.99, 0.95)},  # beta1 > sqrt(beta2): a risk
            {"params": p[3:], "weight_decay": 0.0},  # same betas as group 0: checked once with it
        ],
        lr=3e-4,
        betas=(0.9, 0.999),
    )
    report = check_optimizer(opt, batch_size=32)
    assert [g["index"] for g in report.param_groups] == [0, 1, 2]
    risks = report.by_level("risk")
    assert any(f.rule == "beta1_below_sqrt_beta2" and f.message.startswith("param group 1: ") for f in risks)
    assert any(f.message.startswith("param groups 0, 2: ") for f in report.findings)
    assert report.exit_code == 1
    data = report.to_dict()
    assert len(data["param_groups"]) == 3 and data["exit_code"] == 1


def test_betas_changed_after_construction_are_range_checked():
    import torch
    from adamcheck import check_optimizer

    opt = torch.optim.Adam(_params(1))
    opt.param_groups[0]["betas"] = (0.9, 1.0)  # torch validates only in the constructor
    report = check_optimizer(opt, batch_size=16)
    assert report.exit_code == 2 and report.by_level("error")[0].rule == "betas_range"


def test_non_adam_optimizers_are_refused():
    import torch
    from adamcheck import check_optimizer

    for opt in (torch.optim.SGD(_params(1), lr=0.1), torch.optim.RMSprop(_params(1)), torch.optim.NAdam(_params(1))):
        with pytest.raises(InvalidParameterError, match=f"{type(opt).__name__} is not torch.optim.Adam or AdamW"):
            check_optimizer(opt, batch_size=8)
    with pytest.raises(InvalidParameterError, match="batch size"):
        check_optimizer(torch.optim.Adam(_params(1)), batch_size=0)


def test_tensor_betas_and_amsgrad():
    import torch
    from adamcheck import check_optimizer

    opt = torch.optim.Adam(_params(1), lr=torch.tensor(1e-3), betas=(torch.tensor(0.9), torch.tensor(0.999)), amsgrad=True)
    report = check_optimizer(opt, batch_size=32)
    assert report.setup.get("beta2") == pytest.approx(0.999)
    assert any("amsgrad" in w for w in report.warnings)


def test_optimizer_docstring_example():
    mod = importlib.import_module("adamcheck.configs._optimizer")
    result = doctest.testmod(mod)
    assert result.attempted > 0 and result.failed == 0


def test_check_setup_is_what_check_optimizer_runs():
    import torch
    from adamcheck import check_optimizer

    opt = torch.optim.AdamW(_params(1), betas=(0.8, 0.9))
    s = TrainingSetup(format="t", files=["t"], beta1=Sourced(0.8, "x"), beta2=Sourced(0.9, "y"),
                      eps=Sourced(1e-8, "z"), global_batch=Sourced(128, "b"), state_dtype=Sourced("fp32", "w"))
    expected = check_setup(s)
    got = check_optimizer(opt, batch_size=128)
    assert [(f.rule, f.level) for f in got.findings] == [(f.rule, f.level) for f in expected.findings]

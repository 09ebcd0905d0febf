"""The user guide's Hugging Face Trainer recipe runs as written (attach, train, save, recommend),
and a 300-step Trainer run with ``hf_check_callback(monitor=True)`` and the Trainer's default
logging gets an analysis into its logs."""

from __future__ import annotations

import contextlib
import io
import re
import shlex

import numpy as np
import pytest

pytestmark = [pytest.mark.torch, pytest.mark.slow]


@pytest.fixture(autouse=True)
def one_thread():
    # a shared machine: torch's default thread pool oversubscribes it (10x slower steps)
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def recipe(root):
    text = (root / "docs" / "guide.md").read_text()
    after = text.split("<!-- recipe: hf-trainer-monitor -->", 1)[1]
    code = re.search(r"```python\n(.*?)\n```", after, flags=re.S).group(1)
    command = re.search(r"```bash\n(.*?)\n```", after, flags=re.S).group(1).split("#")[0].strip()
    return code, command


def test_the_guide_trainer_recipe_runs_as_written(root, tmp_path, monkeypatch, run_cli):
    pytest.importorskip("transformers", reason="transformers is not installed")
    pytest.importorskip("accelerate", reason="the Trainer needs accelerate")
    from adamcheck.noise._meta import GradientFileMeta

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    code, command = recipe(root)
    ns: dict = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "docs/guide.md recipe", "exec"), ns)  # the project's own documentation
    cb, trainer = ns["callback"], ns["trainer"]
    rep = cb.monitor.report()
    assert rep.step == 300 and rep.batch_size == 8 and rep.beta2 == 0.95 and rep.analyses >= 1
    assert cb.monitor.analyses[0].step == 50  # 10% of the Trainer's 300 planned steps, but at least 50
    assert str(rep) in out.getvalue() and len(str(rep).splitlines()) == 3
    logged = [h for h in trainer.state.log_history if any(k.startswith("adamcheck/") for k in h)]
    assert logged and logged[0]["step"] == 50  # the first log after the analysis (logging_steps=50)
    assert logged[-1]["adamcheck/grad_norm_sq"] == pytest.approx(rep.grad_norm_sq)
    assert any("loss" in h for h in trainer.state.log_history)
    with np.load(tmp_path / "monitor.npz", allow_pickle=False) as f:
        meta = GradientFileMeta.from_mapping(f, "monitor.npz")
    assert (meta.batch_size, meta.row_batch_size, meta.beta2, meta.planned_steps, meta.seq_len) == (8, 8, 0.95, 300, 32)
    # 4. recommend, as written (the standalone example test leaves recipes to this test)
    argv = shlex.split(command)
    assert argv[:3] == ["adamcheck", "recommend", "--gradients"]
    code_, stdout, stderr = run_cli(*argv[1:])
    assert code_ in (0, 1), stderr
    # the batch, beta1, sequence length and planned steps come from the file the monitor wrote
    assert "batch 8 x 32" in stdout and "planned_steps 300 taken from monitor.npz" in " ".join(stdout.split())


def test_a_300_step_trainer_run_logs_an_analysis_with_default_logging(tmp_path, monkeypatch):
    transformers = pytest.importorskip("transformers", reason="transformers is not installed")
    pytest.importorskip("accelerate", reason="the Trainer needs accelerate")
    import torch

    from adamcheck import hf_check_callback
    from tiny_models import text_tokens

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    x, _, vocab = text_tokens(16, 64)
    data = [{"input_ids": row, "labels": row} for row in x]
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=1, n_head=2, n_embd=16, vocab_size=vocab, n_positions=16,
                                     bos_token_id=0, eos_token_id=0)
    args = transformers.TrainingArguments(output_dir=str(tmp_path), max_steps=300, per_device_train_batch_size=4,
                                          report_to=[], use_cpu=True, save_strategy="no", disable_tqdm=True)
    assert args.logging_steps == 500  # the default: no loss logged inside a 300-step run
    cb = hf_check_callback(monitor=True)
    trainer = transformers.Trainer(model=transformers.GPT2LMHeadModel(config), args=args, train_dataset=data,
                                   callbacks=[cb])
    trainer.train()
    rep = cb.monitor.report()
    assert rep.step == 300 and cb.monitor.analyses[0].step == 50
    keys = {k for h in trainer.state.log_history for k in h if k.startswith("adamcheck/")}
    assert "adamcheck/beta2_critical" in keys and "adamcheck/grad_norm_sq" in keys
    final = trainer.state.log_history[-1]
    assert "train_runtime" in final and final["adamcheck/grad_norm_sq"] == pytest.approx(rep.grad_norm_sq)

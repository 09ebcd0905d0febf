"""The Hugging Face callback carries the monitor: a real tiny Trainer (GPT-2 from a config,
CPU, gradient accumulation 2) logs the monitor's analyses."""

from __future__ import annotations

import os

import pytest

from tiny_models import text_tokens

pytestmark = pytest.mark.torch


def test_hf_callback_attaches_the_monitor_and_logs_its_analysis(tmp_path):
    os.environ["HF_HUB_OFFLINE"] = "1"
    transformers = pytest.importorskip("transformers", reason="transformers is not installed")
    pytest.importorskip("accelerate", reason="the Trainer needs accelerate")
    import torch

    from adamcheck import hf_check_callback

    x, y, vocab = text_tokens(16, 48)

    class Tokens(torch.utils.data.Dataset):
        def __len__(self):
            return len(x)

        def __getitem__(self, i):
            return {"input_ids": x[i], "labels": x[i]}

    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=1, n_head=2, n_embd=16, vocab_size=vocab, n_positions=16,
                                     bos_token_id=0, eos_token_id=0)
    model = transformers.GPT2LMHeadModel(config)
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path), max_steps=6, per_device_train_batch_size=4, gradient_accumulation_steps=2,
        report_to=[], use_cpu=True, save_strategy="no", logging_steps=3, disable_tqdm=True,
        adam_beta1=0.9, adam_beta2=0.95,
    )
    cb = hf_check_callback(seq_len=16, monitor={"every": 3, "coordinates": 256, "multiples": (1,)})
    trainer = transformers.Trainer(model=model, args=args, train_dataset=Tokens(), callbacks=[cb])
    trainer.train()
    rep = cb.monitor.report()
    assert rep.step == 6 and rep.batch_size == 8 and rep.beta2 == 0.95
    assert rep.small_batch == 4 and rep.small_batch_source == "micro-batches"
    logged = [h for h in trainer.state.log_history if "adamcheck/grad_norm_sq" in h]
    assert [h["step"] for h in logged] == [3, 6]
    assert logged[-1]["adamcheck/grad_norm_sq"] == pytest.approx(rep.grad_norm_sq)


def test_hf_callback_checks_monitor_options_when_made():
    pytest.importorskip("transformers", reason="transformers is not installed")
    from adamcheck import InvalidParameterError, hf_check_callback

    with pytest.raises(InvalidParameterError, match="unknown monitor setting"):
        hf_check_callback(monitor={"evry": 10})
    with pytest.raises(InvalidParameterError, match="must be True, False or a dict"):
        hf_check_callback(monitor="yes")
    assert hf_check_callback(monitor={"coordinates": 256, "planned_steps": 10}).monitor is None  # attached at train

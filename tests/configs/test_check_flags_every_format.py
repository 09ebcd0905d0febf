"""--micro-batch-size, --grad-accum and --global-batch-size are honoured for every
format, with the flag named as the source; a flag that contradicts what the file
fixes is an error naming both, never silently resolved."""

from __future__ import annotations

from pathlib import Path

import pytest

from adamcheck import ConfigError
from adamcheck.configs import check_config

EX = Path(__file__).resolve().parents[2] / "examples" / "configs"

FILES = [
    ("nanogpt/train_shakespeare_char.py", {}),
    ("megatron/gpt_small_args.txt", {}),
    ("hf/sft_recipe.yaml", {}),
    ("torchtitan/llama3_8b.toml", {"world_size": 8}),
    ("torchtitan/config_registry.py", {"preset": "llama3_8b", "world_size": 8}),
    ("olmo/OLMo2-7B-stage1.yaml", {}),
    ("axolotl/llama-3-8b-fft.yaml", {}),
    ("llamafactory/qwen3_full_sft.yaml", {}),
    ("llamafactory/v1_full_fsdp2.yaml", {"world_size": 8}),
    ("torchtune/llama3_1_8B_full.yaml", {}),
    ("litgpt/pretrain_tinyllama.yaml", {}),
    ("levanter/gpt2_small.yaml", {}),
]


@pytest.mark.parametrize("path, extra", FILES, ids=[f for f, _ in FILES])
@pytest.mark.parametrize("flag, field, value", [
    ("micro_batch_size", "micro_batch", 1),
    ("grad_accum", "grad_accum", 2),
    ("global_batch_size", "global_batch", 4096),
])
def test_flag_is_honoured_or_the_conflict_named(path, extra, flag, field, value, monkeypatch):
    monkeypatch.chdir(EX.parents[1])
    name = "--" + flag.replace("_", "-")
    try:
        report = check_config(EX / path, **extra, **{flag: value})
    except ConfigError as exc:
        # A conflict: the message names the flag and the number it contradicts.
        assert f"flag {name}" in str(exc) and str(value) in str(exc)
        return
    item = getattr(report.setup, field)
    assert item.value == value and item.source == f"flag {name}"
    b = report.batch
    if flag == "global_batch_size":
        assert b.sequences == value
    elif b.sequences is not None and report.setup.get("global_batch") is None:
        # micro x accumulation x data-parallel, recomputed here.
        assert b.sequences == b.micro_batch * b.grad_accum * (1 if report.setup.accum_is_global else b.data_parallel)
        assert getattr(b, field if field != "micro_batch" else "micro_batch") == value

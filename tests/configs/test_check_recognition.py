"""Recognition by signature: a reader takes a file only when the file is that format's.

The two misreads found in the verdict issue (a MaxText base.yml and an mlx-lm LoRA YAML
read as Hugging Face TrainingArguments) are in ``test_fixture_scan.py`` on the real
files; here the rules behind it, each on a file that would have been misread.
"""

from __future__ import annotations

import pytest

from adamcheck import ConfigError
from adamcheck.configs import FORMATS, read_config


def _write(tmp_path, name, text):
    f = tmp_path / name
    f.write_text(text)
    return f


def test_maxtext_keys_beside_shared_names_are_maxtext_not_hf(tmp_path):
    f = _write(tmp_path, "c.yml", "learning_rate: 3.e-5\ngradient_accumulation_steps: 2\nadam_b2: 0.95\n"
                                  "per_device_batch_size: 4\nici_fsdp_parallelism: 8\ndcn_data_parallelism: 2\n")
    s = read_config(f)
    assert s.format == "maxtext" and s.get("beta2") == 0.95
    # Every ici/dcn axis positive: 8 x 2 = 16 devices, so the batch is 4 x 16 x 2 accumulation = 128.
    from adamcheck.configs import effective_batch

    assert effective_batch(s).sequences == 4 * 16 * 2


@pytest.mark.parametrize("extra, looks", [
    ("iters: 100\n", "mlx-lm"),
    ("adam_b2: 0.95\n", "maxtext (adam_b2) or hf (per_device_train_batch_size)"),
    ("global_train_batch_size: 256\n", "olmo (global_train_batch_size) or hf"),
    ("micro_batch_size: 4\n", "axolotl, NeMo or LLaMA-Factory v1"),
    ("batch_size: 16\n", "single batch_size"),
    ("betas: [0.9, 0.95]\n", "betas"),
])
def test_a_foreign_key_beside_trainingarguments_names_is_refused(tmp_path, extra, looks):
    f = _write(tmp_path, "c.yaml", "learning_rate: 1.0e-5\nper_device_train_batch_size: 4\n" + extra)
    with pytest.raises(ConfigError, match="unrecognised configuration") as exc:
        read_config(f)
    assert looks in str(exc.value) and "--format" in str(exc.value)


def test_a_majority_of_unknown_keys_is_refused(tmp_path):
    f = _write(tmp_path, "c.yaml", "learning_rate: 1.0e-4\nnum_train_epochs: 3\nrollout_len: 64\nppo_clip: 0.2\n"
                                  "env_name: cartpole\nvalue_coef: 0.5\nentropy_coef: 0.01\n")
    with pytest.raises(ConfigError, match=r"[4-5] of its 7 keys are not Hugging Face"):
        read_config(f)


def test_a_trl_recipe_with_model_and_data_keys_is_still_read(tmp_path):
    # Model/data/TRL arguments are known keys: they do not count against the file.
    f = _write(tmp_path, "sft.yaml", "model_name_or_path: Qwen/Qwen2-0.5B\ndataset_name: trl-lib/Capybara\n"
                                    "packing: true\neos_token: '<|im_end|>'\ndataset_text_field: text\n"
                                    "per_device_train_batch_size: 2\ngradient_accumulation_steps: 8\n")
    s = read_config(f)
    assert s.format == "hf" and s.get("micro_batch") == 2 and s.get("grad_accum") == 8


def test_forcing_hf_on_a_foreign_file_reads_it_but_says_so(tmp_path):
    f = _write(tmp_path, "c.yml", "learning_rate: 3.e-5\nadam_b2: 0.95\nper_device_batch_size: 4\n")
    s = read_config(f, "hf")
    assert s.format == "hf" and any("--format hf was given" in w and "adam_b2" in w for w in s.warnings)


def test_refusals_name_the_cli_flag_not_a_python_parameter(tmp_path):
    f = _write(tmp_path, "x.cfg", "hello world\n")
    with pytest.raises(ConfigError) as exc:
        read_config(f)
    assert "pass --format" in str(exc.value) and "fmt" not in str(exc.value)
    assert all(fmt in str(exc.value) for fmt in ("maxtext", "mlx", "foundry", "nemo", "launch"))
    assert set(FORMATS) >= {"maxtext", "mlx", "foundry", "nemo", "launch"}


@pytest.mark.parametrize("text, fmt", [
    ("torchrun pretrain_gpt.py --micro-batch-size 2 --adam-beta2 0.95\n", "megatron"),
    ("torchrun pretrain_gpt.py --adam-beta2 0.95\n", "megatron"),  # dashed adam-beta2: Megatron's spelling
    ("torchrun run_clm.py --per_device_train_batch_size 2 --adam_beta2 0.95\n", "launch"),
    ("accelerate launch sft.py --per-device-train-batch-size 2 --adam-beta2 0.95\n", "launch"),
])
def test_launch_lines_and_megatron_scripts_are_told_apart(tmp_path, text, fmt):
    assert read_config(_write(tmp_path, "run.sh", text)).format == fmt


def test_hf_and_megatron_flags_in_one_script_are_refused(tmp_path):
    f = _write(tmp_path, "run.sh", "python a.py --per_device_train_batch_size 2\npython pretrain_gpt.py --micro-batch-size 2\n")
    with pytest.raises(ConfigError, match="both Hugging Face flags .* and Megatron-LM flags"):
        read_config(f)


@pytest.mark.parametrize("text, looks", [
    ("python3 -m MaxText.train MaxText/configs/base.yml run_name=r per_device_batch_size=4 steps=10\n", "MaxText launch line"),
    ("mlx_lm.lora --model m --train --batch-size 4 --iters 600\n", "mlx-lm command line"),
])
def test_launch_lines_of_other_frameworks_are_refused_by_name(tmp_path, text, looks):
    with pytest.raises(ConfigError, match=looks):
        read_config(_write(tmp_path, "run.sh", text))


def test_maxtext_model_definition_alone_is_refused(tmp_path):
    f = _write(tmp_path, "llama2-7b.yml", "base_emb_dim: 4096\nbase_num_query_heads: 32\nbase_num_decoder_layers: 32\n"
                                          "decoder_block: llama2\n")
    with pytest.raises(ConfigError, match="model definition"):
        read_config(f)

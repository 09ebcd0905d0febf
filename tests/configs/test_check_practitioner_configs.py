"""Fifteen practitioner inputs that were once misread, each giving the right value or a clear refusal.

Expected numbers are recomputed from the files' values by plain arithmetic (the
frameworks' documented batch formulas), never copied from adamcheck's output.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from adamcheck import ConfigError
from adamcheck.configs import check_config, read_config
from adamcheck.configs._names import NotCoveredError

EX = Path(__file__).resolve().parents[2] / "examples" / "configs"
ROOT = EX.parents[1]


def _write(tmp_path, name, text):
    f = tmp_path / name
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(text)
    return f


# 1 ---------------------------------------------------------------------------------------


def test_1_nanogpt_global_batch_flag_conflicting_with_the_file_is_reported(tmp_path, run_cli):
    f = _write(tmp_path, "train.py", "batch_size = 8\ngradient_accumulation_steps = 6\nbeta2 = 0.99\n")
    with pytest.raises(ConfigError, match=r"global batch 480 \(flag --global-batch-size\) conflicts .* = 48"):
        check_config(f, global_batch_size=480)
    code, out, err = run_cli("check", f, "--global-batch-size", "480")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "480" in err and "48" in err
    # The same flag is consistent with the older per-GPU convention: 480 / (8 x 6) = 10 ranks.
    report = check_config(f, global_batch_size=480, accumulation="per-rank")
    assert report.batch.sequences == 480 and report.batch.data_parallel == 480 // (8 * 6)
    assert report.setup.global_batch.source == "flag --global-batch-size"
    # And a flag that agrees is simply confirmed.
    assert check_config(f, global_batch_size=48).batch.sequences == 48


# 2 ---------------------------------------------------------------------------------------


def test_2_nanogpt_per_gpu_accumulation_of_early_2023_is_recognised():
    path = EX / "nanogpt" / "train_gpt2_2023_02.py"
    report = check_config(path)
    assert report.batch.sequences == 12 * 5 * 8 and report.batch.tokens == 12 * 5 * 8 * 1024
    assert any("convention per-rank" in n and "not divisible by 8" in n for n in report.setup.notes)
    assert "comment" in report.setup.world_size.source
    assert check_config(path, world_size=8).batch.sequences == 480  # no "5 is not divisible by 8"
    assert check_config(path, world_size=4).batch.sequences == 12 * 5 * 4
    # Forcing today's convention gives today's arithmetic, and says it was forced.
    forced = check_config(path, accumulation="global")
    assert forced.batch.sequences == 60 and any("set by accumulation='global'" in n for n in forced.setup.notes)


def test_2b_new_style_product_and_no_evidence_are_global(tmp_path):
    report = check_config(EX / "nanogpt" / "train_gpt2_owt.py")
    assert report.batch.sequences == 12 * 5 * 8
    assert any("convention global" in n for n in report.setup.notes)
    f = _write(tmp_path, "t.py", "batch_size = 12\ngradient_accumulation_steps = 5\n")
    report = check_config(f)
    assert report.batch.sequences == 60 and any("assumed" in n for n in report.setup.notes)
    # per-rank without any GPU count: the batch is unknown, not silently 1 GPU.
    report = check_config(f, accumulation="per-rank")
    assert report.batch.sequences is None and "world size" in report.batch.missing and report.exit_code == 2


# 3 ---------------------------------------------------------------------------------------


def test_3_reference_seq_len_reaches_the_recommended_betas(tmp_path):
    f = _write(tmp_path, "c.py", "batch_size = 64\nblock_size = 256\ngradient_accumulation_steps = 1\nbeta2 = 0.99\n")
    plain = check_config(f)
    tokens = check_config(f, reference_seq_len=1024)
    if plain.recommendation is None:
        pytest.skip("adamcheck.recommend is not installed")
    # Half-life rule in tokens; the default reference is 32 sequences of 4096 tokens (Marin's
    # recipe), --reference-seq-len 1024 makes it 32 x 1024. The answer keeps two significant
    # digits of 1 - beta2 (what its memory supports).
    def rounded(beta2):
        return 1 - float(f"{1 - beta2:.2g}")

    assert plain.recommendation["beta2"] == pytest.approx(rounded(0.999 ** (64 * 256 / (32 * 4096))), abs=1e-12)
    assert tokens.recommendation["beta2"] == pytest.approx(rounded(0.999 ** (64 * 256 / (32 * 1024))), abs=1e-12)
    assert plain.recommendation["beta2"] != tokens.recommendation["beta2"]


# 4 ---------------------------------------------------------------------------------------


def test_4_megatron_arguments_in_multiline_quoted_strings():
    s = read_config(EX / "megatron" / "pretrain_gpt_345m.sh")
    assert (s.get("micro_batch"), s.get("global_batch"), s.get("seq_len"), s.get("max_steps")) == (4, 64, 1024, 500000)
    assert s.get("world_size") == 8  # --nproc_per_node $GPUS_PER_NODE inside DISTRIBUTED_ARGS="..."
    lines = (EX / "megatron" / "pretrain_gpt_345m.sh").read_text().splitlines()
    line = next(i for i, text in enumerate(lines, start=1) if "--micro-batch-size" in text)
    assert f"line {line}: --micro-batch-size" in s.micro_batch.source  # inside GPT_ARGS="..."
    report = check_config(EX / "megatron" / "pretrain_gpt_345m.sh")
    assert report.batch.sequences == 64 and report.batch.grad_accum == 64 // (4 * 8)


def test_4b_quotes_in_comments_and_single_quotes_do_not_break_splitting(tmp_path):
    f = _write(tmp_path, "run.sh", (
        "# it's the launcher (an apostrophe in a comment)\n"
        "ARGS='--micro-batch-size 2\n --global-batch-size 16'\n"
        "python pretrain_gpt.py $ARGS --adam-beta2 0.98 \\\n  --seq-length 2048\n"
    ))
    s = read_config(f)
    assert (s.get("micro_batch"), s.get("global_batch"), s.get("beta2"), s.get("seq_len")) == (2, 16, 0.98, 2048)
    bad = _write(tmp_path, "bad.sh", 'ARGS="--micro-batch-size 2\n')
    with pytest.raises(ConfigError, match="cannot split the arguments"):
        read_config(bad)


# 5 ---------------------------------------------------------------------------------------


def test_5_hf_deepspeed_path_is_resolved_from_the_working_directory(tmp_path, monkeypatch):
    lf = EX / "llamafactory" / "qwen3_full_sft.yaml"
    monkeypatch.chdir(ROOT)
    s = read_config(lf)
    assert s.format == "llamafactory+deepspeed"
    assert any(f"read from {(ROOT / 'examples/configs/deepspeed/ds_config_zero2.json').resolve()}" in n for n in s.notes)
    assert not any("not found" in w for w in s.warnings)
    monkeypatch.chdir(tmp_path)  # elsewhere: the Trainer would not find it either
    s = read_config(lf)
    assert s.format == "llamafactory"
    assert any("not found in the working directory" in w for w in s.warnings)
    assert not any("read from" in n for n in s.notes)
    # Given explicitly, the file is used and nothing warns.
    s = read_config([lf, EX / "deepspeed" / "ds_config_zero2.json"])
    assert s.format == "llamafactory+deepspeed" and not any("not found" in w for w in s.warnings)
    assert any("given on the command line" in n for n in s.notes)


# 6 ---------------------------------------------------------------------------------------


def test_6_olmo_litgpt_torchtune_are_read_with_their_own_defaults(tmp_path):
    olmo = check_config(EX / "olmo" / "OLMo2-7B-stage1.yaml")
    s = olmo.setup
    assert s.format == "olmo" and (s.get("beta1"), s.get("beta2"), s.get("eps")) == (0.9, 0.95, 1e-8)
    assert olmo.batch.sequences == 1024 and olmo.batch.tokens == 1024 * 4096
    assert s.get("num_epochs") == 1.0 and "max_duration" in s.num_epochs.source
    minimal = _write(tmp_path, "olmo.yaml", "optimizer:\n  name: adamw\nglobal_train_batch_size: 1024\nseed: 1\n")
    s = read_config(minimal)
    assert (s.get("beta2"), s.get("eps"), s.get("global_batch")) == (0.95, 1e-5, 1024)
    assert s.eps.source.startswith("default of OLMo 0.6")
    lion = _write(tmp_path, "olmo_lion.yaml", "optimizer:\n  learning_rate: 4e-4\nglobal_train_batch_size: 512\n")
    with pytest.raises(NotCoveredError, match="LionW"):
        read_config(lion)

    lit = check_config(EX / "litgpt" / "pretrain_tinyllama.yaml")
    s = lit.setup
    assert s.format == "litgpt" and s.get("beta2") == 0.95 and s.get("world_size") == 8 * 4
    # litgpt: accumulation = global // (devices x nodes) // micro = 512 // 32 // 4.
    assert lit.batch.sequences == 512 and lit.batch.grad_accum == 512 // 32 // 4
    auto = _write(tmp_path, "lit.yaml", "devices: auto\ntrain:\n  micro_batch_size: 2\n  global_batch_size: 64\n")
    assert check_config(auto).batch.sequences == 64  # the global batch does not need the device count

    tune = check_config(EX / "torchtune" / "llama3_1_8B_full.yaml", world_size=8)
    s = tune.setup
    assert s.format == "torchtune" and (s.get("beta1"), s.get("beta2")) == (0.9, 0.999)
    assert "torch.optim.AdamW" in s.beta2.source and s.get("lr") == 2e-5
    assert tune.batch.sequences == 2 * 4 * 8 and tune.batch.tokens == 2 * 4 * 8 * 2048


# 7 ---------------------------------------------------------------------------------------


def test_7_levanter_with_include_is_levanter_not_deepspeed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # includes resolve against the file, not the working directory
    report = check_config(EX / "levanter" / "gpt2_small.yaml")
    s = report.setup
    assert s.format == "levanter" and (s.get("beta1"), s.get("beta2"), s.get("eps")) == (0.9, 0.95, 1e-8)
    assert s.beta2.source.endswith("optimizer.beta2") and s.beta1.source.startswith("default of levanter")
    assert report.batch.sequences == 512 and report.batch.tokens == 512 * 1024 and report.planned_steps == 50000
    evil = _write(tmp_path, "evil.yaml", "trainer:\n  train_batch_size: 8\ndata: !!python/object/apply:os.system ['touch pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        read_config(evil)
    assert not (tmp_path / "pwned").exists()
    loop = _write(tmp_path, "loop.yaml", "trainer:\n  train_batch_size: 8\ndata: !include loop.yaml\n")
    with pytest.raises(ConfigError, match="includes itself|nests too deeply"):
        read_config(loop)


# 8 ---------------------------------------------------------------------------------------


def test_8_axolotl(tmp_path):
    report = check_config(EX / "axolotl" / "llama-3-8b-fft.yaml", world_size=4)
    s = report.setup
    assert s.format == "axolotl" and s.get("optimizer") == "adamw_torch_fused"
    assert (s.get("beta1"), s.get("beta2"), s.get("eps")) == (0.9, 0.95, 1e-5)
    assert "TrainingArguments default" in s.beta1.source
    assert report.batch.sequences == 2 * 8 * 4 and report.batch.tokens == 2 * 8 * 4 * 4096
    assert not any("model or data arguments" in w for w in report.warnings)
    f = _write(tmp_path, "ax.yaml", "base_model: m\nmicro_batch_size: 4\nbatch_size: 32\nlearning_rate: 1e-5\n")
    assert read_config(f).get("grad_accum") == 32 // 4  # axolotl's normalize_config
    lion = _write(tmp_path, "ax2.yaml", "base_model: m\nmicro_batch_size: 1\noptimizer: lion_8bit\nlearning_rate: 1e-5\n")
    with pytest.raises(NotCoveredError, match="not covered"):
        read_config(lion)


# 9 ---------------------------------------------------------------------------------------


def test_9_trainer_state_says_what_it_is():
    report = check_config(EX / "hf" / "trainer_state.json")
    s = report.setup
    assert s.format == "trainer_state" and s.get("micro_batch") == 8 and s.get("max_steps") == 1250
    assert any("not a training configuration" in n for n in s.notes)
    assert report.exit_code == 2 and s.get("beta2") is None and "training_args.json" in s.unresolved["beta2"]
    assert report.batch.sequences is None  # accumulation and processes are not in the file


# 10 --------------------------------------------------------------------------------------


def test_10_accelerate_config_gives_the_world_size_only(tmp_path):
    acc = EX / "accelerate" / "default_config.yaml"
    alone = check_config(acc)
    assert alone.setup.format == "accelerate" and alone.setup.get("world_size") == 8 and alone.exit_code == 2
    assert any("training script" in n and "bf16" in n for n in alone.setup.notes)
    args = _write(tmp_path, "args.json", json.dumps({"per_device_train_batch_size": 4, "gradient_accumulation_steps": 8,
                                                     "adam_beta2": 0.95}))
    both = check_config([acc, args])
    assert both.batch.sequences == 4 * 8 * 8 and both.setup.get("beta2") == 0.95


# 11 --------------------------------------------------------------------------------------


def test_11_llamafactory_v1_megatron_and_galore(tmp_path):
    v1 = check_config(EX / "llamafactory" / "v1_full_fsdp2.yaml", world_size=8)
    s = v1.setup
    assert s.format == "llamafactory" and (s.get("micro_batch"), s.get("global_batch")) == (2, 64)
    assert (s.get("beta2"), s.get("weight_decay")) == (0.999, 0.01) and "torch.optim.AdamW" in s.beta2.source
    assert v1.batch.sequences == 64 and v1.batch.grad_accum == 64 // (2 * 8)
    mca = check_config(EX / "llamafactory" / "qwen3_moe_mca.yaml", world_size=8)
    # Megatron-Core: data-parallel = 8 / (TP 1 x PP 4) = 2; batch = 1 x 8 x 2.
    assert mca.setup.get("model_parallel") == 4 and mca.batch.data_parallel == 2 and mca.batch.sequences == 16
    assert mca.setup.get("beta2") == 0.95 and mca.setup.get("seq_len") == 4096
    galore = _write(tmp_path, "lf.yaml", "stage: sft\nfinetuning_type: full\nuse_galore: true\nper_device_train_batch_size: 2\n")
    with pytest.raises(NotCoveredError, match="GaLore"):
        read_config(galore)
    muon = _write(tmp_path, "v1.yaml", "model: m\nmicro_batch_size: 1\noptim_config:\n  name: muon\n")
    with pytest.raises(NotCoveredError, match="muon"):
        read_config(muon)


# 12 --------------------------------------------------------------------------------------


def test_12_nanogpt_unrelated_non_literal_lines_are_skipped_with_a_note(tmp_path):
    report = check_config(EX / "nanogpt" / "finetune_timestamped.py")
    s = report.setup
    assert (s.get("micro_batch"), s.get("grad_accum"), s.get("lr")) == (1, 32, 3e-5)
    skipped = [n for n in s.notes if "skipped" in n]
    assert any("line 1" in n for n in skipped) and any("line 8" in n and "wandb_run_name" in n for n in skipped)
    f = _write(tmp_path, "t.py", "import time\nout_dir = f'out-{time.time()}'\nbatch_size = 4\n")
    assert read_config(f).get("micro_batch") == 4
    # a value adamcheck reads, computed at run time: unresolved (never train.py's default 12), the rest read
    relevant = _write(tmp_path, "r.py", "import os\nbatch_size = int(os.environ['BS'])\nbeta2 = 0.99\n")
    s = read_config(relevant)
    assert s.get("micro_batch") is None and s.get("beta2") == 0.99
    assert "line 2 computes it at run time (a function call)" in s.unresolved["micro_batch"]
    star = _write(tmp_path, "s.py", "from settings import *\nbatch_size = 4\n")
    with pytest.raises(ConfigError, match="line 1"):
        read_config(star)


# 13 --------------------------------------------------------------------------------------


def test_13_torchtitan_python_registry_is_parsed_not_run(tmp_path):
    registry = EX / "torchtitan" / "config_registry.py"
    with pytest.raises(ConfigError, match=r"pass preset \(CLI --preset NAME\), one of llama3_debugmodel, llama3_debugmodel_lowbeta"):
        read_config(registry)
    r = check_config(registry, preset="llama3_70b", world_size=64)
    s = r.setup
    assert s.format == "torchtitan" and (s.get("micro_batch"), s.get("seq_len"), s.get("beta2")) == (8, 8192, 0.95)
    # data-parallel = 64 / tensor parallel 8.
    assert r.batch.data_parallel == 8 and r.batch.sequences == 8 * 8
    derived = read_config(registry, preset="llama3_debugmodel_lowbeta")
    assert derived.get("beta2") == 0.9 and derived.get("micro_batch") == 8  # from the preset it starts from
    with pytest.raises(ConfigError, match="no preset 'nope'"):
        read_config(registry, preset="nope")
    marker = tmp_path / "ran"
    f = _write(tmp_path, "reg.py", (
        "from torchtitan.config import TrainingConfig\n"
        f"open({str(marker)!r}, 'w').write('x')\n"
        "def only() -> Trainer.Config:\n"
        f"    open({str(marker)!r}, 'w').write('x')\n"
        "    return Trainer.Config(training=TrainingConfig(local_batch_size=4, seq_len=1024, steps=int('7')))\n"
    ))
    s = read_config(f)
    assert s.get("micro_batch") == 4 and s.get("max_steps") is None and "computed" in s.unresolved["max_steps"]
    assert not marker.exists()


# 14 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("args, kind", [
    (["examples/configs/nanogpt/eval_gpt2.py"], "unusable_input"),
    (["missing.yaml"], "unusable_input"),
    (["examples/configs/torchtitan/config_registry.py"], "unusable_input"),
    (["examples/configs/nanogpt/train_gpt2_owt.py", "--world-size", "zero"], "usage"),
])
def test_14_json_always_prints_an_object(args, kind, run_cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, err = run_cli("check", *args, "--json")
    data = json.loads(out)
    assert code == 2 and data["exit_code"] == 2 and data["error_kind"] == kind and data["error"]
    assert len(err.strip().splitlines()) == 1


def test_14b_not_covered_is_its_own_kind(tmp_path, run_cli):
    f = _write(tmp_path, "ds.json", '{"train_batch_size": 8, "optimizer": {"type": "OneBitAdam"}}')
    code, out, _ = run_cli("check", f, "--json")
    data = json.loads(out)
    assert code == 2 and data["error_kind"] == "not_covered" and "not covered" in data["error"]


# 15 --------------------------------------------------------------------------------------


def test_15_eval_only_is_not_a_training_run(tmp_path):
    with pytest.raises(ConfigError, match="line 6: eval_only = True .* not a training run"):
        check_config(EX / "nanogpt" / "eval_gpt2.py")
    f = _write(tmp_path, "e.py", "eval_only = False\nbatch_size = 4\n")
    assert read_config(f).get("micro_batch") == 4


# detection -------------------------------------------------------------------------------


@pytest.mark.parametrize("name, text, looks", [
    ("c.yaml", "seed: 1\nrun_name: x\n", "none of the known formats"),
    ("c.yaml", "trainer:\n  train_batch_size: 8\ntrain_micro_batch_size_per_gpu: 2\nstage: sft\n", " or "),
    ("c.json", "[1, 2]", "a list"),
    ("train.py", "import torch\ndef main():\n    batch_size = 4\n", "training script"),
    ("c.toml", "[model]\nname = 'x'\n", "TOML without"),
])
def test_unrecognised_files_say_what_they_look_like(tmp_path, name, text, looks):
    f = _write(tmp_path, name, text)
    with pytest.raises(ConfigError, match=f"unrecognised configuration \\(looks like .*{looks}"):
        read_config(f)


class _Touch:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def test_training_args_bin_is_refused_without_unpickling(tmp_path):
    marker = tmp_path / "unpickled"
    f = tmp_path / "training_args.bin"
    f.write_bytes(pickle.dumps(_Touch(marker)))
    with pytest.raises(ConfigError, match="never unpickles .*to_json_string"):
        read_config(f)
    renamed = tmp_path / "args"
    renamed.write_bytes(f.read_bytes())
    with pytest.raises(ConfigError, match="pickled TrainingArguments"):
        read_config(renamed)
    assert not marker.exists()


def test_format_flag_reads_an_unsigned_file(tmp_path):
    f = _write(tmp_path, "c.yaml", "optimizer:\n  name: adamw\n")
    with pytest.raises(ConfigError, match="unrecognised"):
        read_config(f)
    assert read_config(f, "olmo").get("global_batch") == 512  # OLMo's default, named as such


# found by running the readers over the frameworks' own example folders ---------------------


def test_an_optimizer_fragment_is_not_training_arguments(tmp_path):
    # levanter's optim/*.yaml fragments share learning_rate and weight_decay with
    # TrainingArguments; that is no reason to read them with TrainingArguments defaults.
    f = _write(tmp_path, "sophia.yaml", "type: sophia-h\nlearning_rate: 6E-4\nweight_decay: 0.2\nwarmup: 2000\n")
    with pytest.raises(ConfigError, match="unrecognised configuration"):
        read_config(f)


def test_levanter_minus_one_batch_is_per_device_times_devices(tmp_path):
    f = _write(tmp_path, "lora.yaml", "trainer:\n  train_batch_size: -1\n  per_device_parallelism: 4\n"
                                      "model:\n  type: llama\n")
    assert check_config(f).batch.sequences is None  # the device count decides it
    report = check_config(f, world_size=8)
    assert report.batch.sequences == 4 * 8 and report.setup.get("seq_len") == 2048


@pytest.mark.parametrize("name, text, match", [
    ("generation.yaml", "model:\n  _component_: torchtune.models.llama2.llama2_7b\nmax_new_tokens: 300\n",
     "not a training run"),
    ("infer.yaml", "model_name_or_path: Qwen/Qwen3-4B\ntemplate: qwen3\ninfer_backend: huggingface\n",
     "inference config: not a training run"),
])
def test_non_training_configs_of_training_frameworks_are_refused(tmp_path, name, text, match):
    with pytest.raises(ConfigError, match=match):
        read_config(_write(tmp_path, name, text))


def test_an_empty_python_file_is_not_a_default_nanogpt_run(tmp_path):
    f = _write(tmp_path, "__init__.py", "# Copyright\n")
    with pytest.raises(ConfigError, match="assigns nothing"):
        read_config(f)
    assert read_config(f, "nanogpt").get("micro_batch") == 12  # asked for: train.py's defaults, named


def test_megatron_longer_real_flags_and_case_patterns_are_not_typos(tmp_path):
    f = _write(tmp_path, "run.sh", (
        "while [[ $# -gt 0 ]]; do\n  case $1 in\n    --tensor-model-parallel-size) TP=$2; shift ;;\n  esac\ndone\n"
        "torchrun pretrain_gpt.py --micro-batch-size 2 --eval-micro-batch-size 8 --out-seq-length 64 "
        "--global-batch-size 32 --train-iters 10\n"
    ))
    s = read_config(f)
    assert (s.get("micro_batch"), s.get("global_batch")) == (2, 32)
    typo = _write(tmp_path, "typo.sh", "torchrun pretrain_gpt.py --micro-batch-size 2 --adam-beta-2 0.95\n")
    with pytest.raises(ConfigError, match="did you mean --adam-beta2"):
        read_config(typo)


def test_megatron_generation_server_is_not_a_training_run(tmp_path):
    f = _write(tmp_path, "serve.sh", "torchrun tools/run_text_generation_server.py --micro-batch-size 1 --seq-length 4096\n")
    with pytest.raises(ConfigError, match="not a training run"):
        read_config(f)


def test_13b_torchtitan_registry_of_august_2026_counts_tokens():
    registry = EX / "torchtitan" / "config_registry_2026_08.py"
    r = check_config(registry, preset="llama3_70b", world_size=64)
    s = r.setup
    # micro-batch = 8 * 8192 tokens per data-parallel rank / 8192-token windows = 8 sequences.
    assert (s.get("micro_batch"), s.get("seq_len")) == (8 * 8192 // 8192, 8192)
    assert (s.get("beta1"), s.get("beta2"), s.get("eps"), s.get("weight_decay")) == (0.9, 0.95, 1e-8, 0.1)
    assert s.beta2.source.startswith("default of torchtitan default_adamw") and s.get("lr") == 1.5e-4
    assert r.batch.data_parallel == 64 // 8 and r.batch.tokens == 8 * 8192 * 8
    derived = check_config(registry, preset="llama3_8b_long_memory", world_size=8)
    d = derived.setup
    assert d.get("beta2") == 0.99 and "betas" not in d.beta2.source.split(":")[0]
    # num_tokens_per_train_step = 256 windows: the global batch; accumulation 256 / (1 x 8).
    assert derived.batch.sequences == 256 and derived.batch.grad_accum == 256 // (1 * 8)


def test_13c_registry_presets_that_hide_their_optimizer_or_trainer_are_refused(tmp_path):
    f = _write(tmp_path, "reg.py", (
        "from torchtitan.config import TrainingConfig\n"
        "def _muon(lr):\n    return None\n"
        "def kimi() -> Trainer.Config:\n"
        "    return Trainer.Config(optimizer=_dist_muon_optimizer(lr=1e-3), training=TrainingConfig(steps=5))\n"
        "def helper_made() -> Trainer.Config:\n"
        "    return Trainer.Config(optimizer=_make_opt(lr=1e-3), training=TrainingConfig(steps=5))\n"
        "def rl() -> Controller.Config:\n"
        "    return Controller.Config(trainer=PolicyTrainer.Config(optimizer=default_adamw(lr=2e-6), training=TrainingConfig()))\n"
    ))
    with pytest.raises(NotCoveredError, match="_dist_muon_optimizer"):
        read_config(f, preset="kimi")
    with pytest.raises(ConfigError, match="computed by a function adamcheck does not run"):
        read_config(f, preset="helper_made")
    with pytest.raises(ConfigError, match="nested under trainer"):
        read_config(f, preset="rl")


@pytest.mark.parametrize("name, text", [
    ("args.json", '{"per_device_train_batch_size": 8, "optim": "lion_32bit"}'),
    ("args.json", '{"per_device_train_batch_size": 8, "adafactor": true}'),
    ("args.yaml", "per_device_train_batch_size: 8\noptim: galore_adamw\noptim_target_modules: [attn, mlp]\n"),
    ("ds.json", '{"train_batch_size": 64, "optimizer": {"type": "OneBitAdam", "params": {"lr": 1e-4}}}'),
    ("ds.json", '{"train_batch_size": 64, "optimizer": {"type": "AdaMuon", "params": {"lr": 1e-4}}}'),
    ("run.sh", "torchrun pretrain_gpt.py --micro-batch-size 2 --global-batch-size 64 --optimizer muon\n"),
    ("args.txt", "--micro-batch-size 2 --global-batch-size 64 --optimizer lion\n"),
    ("tune.yaml", "batch_size: 2\noptimizer:\n  _component_: torch.optim.Adafactor\n  lr: 1e-3\n"),
    ("lit.yaml", "train:\n  global_batch_size: 64\n  micro_batch_size: 4\noptimizer: Lion\ndevices: 1\n"),
    ("lev.yaml", "trainer:\n  train_batch_size: 256\noptimizer:\n  type: lion\n"),
    ("ax.yaml", "base_model: m\nmicro_batch_size: 2\noptimizer: galore_adamw\nlearning_rate: 1e-5\n"),
])
def test_non_adam_optimizers_are_not_covered_in_every_format(tmp_path, name, text):
    with pytest.raises(NotCoveredError, match="not covered"):
        read_config(_write(tmp_path, name, text))


def test_megatron_heredoc_bodies_are_not_arguments(tmp_path):
    f = _write(tmp_path, "run.sh", (
        "cat > /tmp/hook.py <<'EOF'\nprint(\"it's a hook\")\nargs = '--micro-batch-size 99'\nEOF\n"
        "torchrun pretrain_gpt.py --micro-batch-size 2 --global-batch-size 32 --adam-beta2 0.95\n"
    ))
    s = read_config(f)
    assert (s.get("micro_batch"), s.get("global_batch")) == (2, 32) and "line 5" in s.micro_batch.source


def test_llm_foundry_shares_olmo_names_but_is_not_read_as_olmo(tmp_path):
    f = _write(tmp_path, "mpt-125m.yaml", (
        "max_seq_len: 2048\nglobal_train_batch_size: 256\ndevice_train_microbatch_size: 16\nmax_duration: 4800ba\n"
        "optimizer:\n  name: decoupled_adamw\n  lr: 6.0e-4\n  betas: [0.9, 0.95]\n  eps: 1.0e-08\n"
    ))
    # Read by its own reader (llm-foundry's meanings: 4800ba = 4,800 optimizer steps), never as OLMo.
    s = read_config(f)
    assert s.format == "foundry"
    assert (s.get("global_batch"), s.get("beta2"), s.get("seq_len"), s.get("max_steps")) == (256, 0.95, 2048, 4800)


def test_format_specific_flags_on_other_formats_are_refused():
    with pytest.raises(ConfigError, match=r"drop preset \(CLI --preset\)"):
        read_config(EX / "olmo" / "OLMo2-7B-stage1.yaml", preset="x")
    with pytest.raises(ConfigError, match=r"drop accumulation \(CLI --accumulation\)"):
        read_config(EX / "olmo" / "OLMo2-7B-stage1.yaml", accumulation="global")

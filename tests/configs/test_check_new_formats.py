"""The readers added for issue 22: Hugging Face / TRL arguments in Python and in launch
lines, MaxText, mlx-lm, llm-foundry and NeMo 1.x YAML. The real public files are in
``test_fixture_scan.py``; here each rule on a small file, with the expected numbers
computed from the file's own values by the framework's documented formula.
"""

from __future__ import annotations

import pytest

from adamcheck import ConfigError
from adamcheck.configs import check_config, effective_batch, read_config
from adamcheck.configs._names import NotCoveredError


def _write(tmp_path, name, text):
    f = tmp_path / name
    f.write_text(text)
    return f


# Hugging Face / TRL in Python ----------------------------------------------------------------


def test_python_call_reads_literals_and_leaves_expressions_unresolved(tmp_path):
    f = _write(tmp_path, "train.py", (
        "import argparse\nfrom trl import SFTConfig, SFTTrainer\n"
        "def main(args):\n"
        "    cfg = SFTConfig(output_dir='o', per_device_train_batch_size=4, gradient_accumulation_steps=args.accum,\n"
        "                    adam_beta2=0.95, adam_epsilon=1e-6, max_length=2048)\n"
        "    SFTTrainer(model=None, args=cfg).train()\n"
    ))
    s = read_config(f)
    assert (s.format, s.get("micro_batch"), s.get("beta2"), s.get("eps"), s.get("seq_len")) == ("hf", 4, 0.95, 1e-6, 2048)
    assert s.get("grad_accum") is None and "args.accum is not a literal" in s.unresolved["grad_accum"]
    assert s.beta2.source == f"{f} line 5: SFTConfig(adam_beta2=0.95)"
    # SFTConfig's own learning-rate default (TRL 1.9), not TrainingArguments' 5e-5; betas unchanged.
    assert s.get("lr") == 2e-5 and "SFTConfig" in s.lr.source and s.get("beta1") == 0.9
    report = check_config(f)
    assert report.exit_code == 2 and report.batch.sequences is None  # never a guessed accumulation of 1


def test_python_literal_dict_is_expanded_and_an_opaque_one_leaves_defaults_unresolved(tmp_path):
    f = _write(tmp_path, "a.py", (
        "from transformers import TrainingArguments\n"
        "kw = dict(per_device_train_batch_size=8, adam_beta2=0.98)\n"
        "args = TrainingArguments('out', gradient_accumulation_steps=2, **kw)\n"
    ))
    s = read_config(f)
    assert (s.get("micro_batch"), s.get("grad_accum"), s.get("beta2"), s.get("beta1")) == (8, 2, 0.98, 0.9)
    g = _write(tmp_path, "b.py", (
        "from transformers import TrainingArguments\nimport json\n"
        "args = TrainingArguments(per_device_train_batch_size=8, **json.load(open('extra.json')))\n"
    ))
    s = read_config(g)
    assert s.get("micro_batch") == 8
    # beta2 could come from the unknown dict: unresolved, not TrainingArguments' 0.999.
    assert s.get("beta2") is None and "may come from it" in s.unresolved["beta2"]


def test_python_later_assignment_wins_and_a_conditional_one_is_unresolved(tmp_path):
    f = _write(tmp_path, "a.py", (
        "from transformers import TrainingArguments\n"
        "args = TrainingArguments('o', adam_beta2=0.999, per_device_train_batch_size=2)\n"
        "args.adam_beta2 = 0.95\n"
        "if big:\n    args.per_device_train_batch_size = 16\n"
    ))
    s = read_config(f)
    assert s.get("beta2") == 0.95 and "line 3" in s.beta2.source
    assert s.get("micro_batch") is None and "inside a branch" in s.unresolved["micro_batch"]


@pytest.mark.parametrize("text, match", [
    ("from transformers import TrainingArguments as T, Seq2SeqTrainingArguments as S\n"
     "a = TrainingArguments('o', adam_beta2=0.9)\nb = Seq2SeqTrainingArguments('o', adam_beta2=0.99)\n",
     "more than once"),
    ("from transformers import HfArgumentParser, TrainingArguments\ndef main():\n"
     "    (args,) = HfArgumentParser(TrainingArguments).parse_args_into_dataclasses()\n", "command line"),
    ("import nemo_run as run\nfrom nemo.collections import llm\n"
     "recipe = llm.llama3_8b.pretrain_recipe(name='x', num_nodes=1, num_gpus_per_node=8)\n"
     "recipe.data.global_batch_size = 512\n", "NeMo 2.0 recipe"),
    ("from transformers import TrainingArguments\nargs = TrainingArguments('o', adam_beta2=0.9, adam_beta2=0.99)\n",
     "adam_beta2 is given twice"),
])
def test_python_files_that_cannot_be_read_are_refused_by_what_they_are(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        read_config(_write(tmp_path, "t.py", text))


def test_python_adafactor_and_lion_are_not_covered(tmp_path):
    f = _write(tmp_path, "a.py", "from trl import SFTConfig\nc = SFTConfig(optim='lion_32bit')\n")
    with pytest.raises(NotCoveredError):
        read_config(f)


# Launch lines ------------------------------------------------------------------------------


def test_launch_line_both_flag_forms_continuations_and_variables(tmp_path):
    f = _write(tmp_path, "run.sh", (
        "#!/bin/bash\nBS=4\nGPUS=8\n"
        "torchrun --nproc_per_node=$GPUS --nnodes 2 train.py \\\n"
        "    --per_device_train_batch_size ${BS} \\\n"
        "    --gradient_accumulation_steps=8 --adam-beta2 0.98 --adam_epsilon=1e-6 \\\n"
        "    --bf16 --max_seq_length 4096 --some_script_flag x\n"
    ))
    s = read_config(f)
    assert s.format == "launch"
    assert (s.get("micro_batch"), s.get("grad_accum"), s.get("world_size"), s.get("beta2"), s.get("eps"), s.get("seq_len")) \
        == (4, 8, 16, 0.98, 1e-6, 4096)
    assert "line 5: --per_device_train_batch_size (= 4 via ${BS})" in s.micro_batch.source
    assert any("--some_script_flag" in w for w in s.warnings)
    assert check_config(f).batch.sequences == 4 * 8 * 16


@pytest.mark.parametrize("launcher, world", [
    ("accelerate launch --num_processes 16 --num_machines 2", 16),  # accelerate counts all machines
    ("deepspeed --num_gpus 8 --num_nodes 2", 16),
    ("deepspeed --include localhost:0,1,2,3", 4),
    ("python -m torch.distributed.run --nproc-per-node 4", 4),
    ("torchrun", 1),
])
def test_launch_world_size_from_each_launcher(tmp_path, launcher, world):
    s = read_config(_write(tmp_path, "run.sh", f"{launcher} train.py --per_device_train_batch_size 2\n"))
    assert s.get("world_size") == world


@pytest.mark.parametrize("launcher", ["deepspeed", "accelerate launch", "torchrun --nproc_per_node $(nvidia-smi -L | wc -l)",
                                      "torchrun --nproc_per_node gpu"])
def test_launch_world_size_decided_at_run_time_is_asked_for(tmp_path, launcher):
    f = _write(tmp_path, "run.sh", f"{launcher} train.py --per_device_train_batch_size 2 --adam_beta2 0.95\n")
    report = check_config(f)
    assert report.exit_code == 2 and report.batch.sequences is None and "--world-size" in report.batch.missing
    assert check_config(f, world_size=8).batch.sequences == 16


def test_launch_flag_given_twice_with_different_values_is_refused(tmp_path):
    f = _write(tmp_path, "sweep.sh", (
        "python train.py --per_device_train_batch_size 8 --adam_beta2 0.95\n"
        "python train.py --per_device_train_batch_size 8 --adam_beta2 0.99\n"
    ))
    with pytest.raises(ConfigError, match=r"--adam_beta2 is given twice with different values \(line 1: 0.95, line 2: 0.99\)"):
        read_config(f)


def test_launch_trl_cli_takes_the_trl_config_defaults_and_an_abbreviation(tmp_path):
    f = _write(tmp_path, "run.sh", "trl dpo --model_name_or_path m --per_device_train_batch_size 2 --num_train_epoch 2\n")
    s = read_config(f)
    assert s.get("lr") == 1e-6 and "DPOConfig" in s.lr.source  # TRL 1.9 DPOConfig default
    assert s.get("num_epochs") == 2.0 and "argparse takes it as --num_train_epochs" in s.num_epochs.source


def test_launch_deepspeed_config_is_brought_in_like_a_trainingarguments_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "ds.json", '{"train_micro_batch_size_per_gpu": "auto", "gradient_accumulation_steps": "auto"}')
    f = _write(tmp_path, "run.sh", "deepspeed --num_gpus 4 train.py --deepspeed ds.json --per_device_train_batch_size 2 "
                                   "--gradient_accumulation_steps 4\n")
    s = read_config(f)
    assert s.format == "launch+deepspeed" and s.get("micro_batch") == 2 and s.get("world_size") == 4


# MaxText -----------------------------------------------------------------------------------


def test_maxtext_fractional_per_device_batch(tmp_path):
    f = _write(tmp_path, "m.yml", "base_config: base.yml\nper_device_batch_size: 0.5\nadam_b2: 0.98\nsteps: 10\n")
    report = check_config(f, world_size=16)
    assert report.batch.sequences == int(16 * 0.5) and report.setup.get("beta2") == 0.98
    assert any("not beside the file" in n for n in report.setup.notes)  # pinned base.yml defaults used


@pytest.mark.parametrize("opt", ["muon", "sgd"])
def test_maxtext_optimizers_that_are_not_adam(tmp_path, opt):
    with pytest.raises(NotCoveredError):
        read_config(_write(tmp_path, "m.yml", f"opt_type: {opt}\nadam_b2: 0.95\nper_device_batch_size: 2\n"))


# mlx-lm ------------------------------------------------------------------------------------


def test_mlx_betas_from_optimizer_config_and_accumulation(tmp_path):
    f = _write(tmp_path, "lora.yaml", (
        "model: m\nfine_tune_type: lora\noptimizer: adam\noptimizer_config:\n  adam:\n    betas: [0.9, 0.95]\n"
        "    eps: 1e-6\nbatch_size: 8\ngrad_accumulation_steps: 4\niters: 1000\nmax_seq_length: 1024\n"
    ))
    report = check_config(f, world_size=4)  # the process count splits batch_size; it never multiplies it
    s = report.setup
    assert (s.get("beta2"), s.get("eps"), report.batch.sequences, s.get("max_steps")) == (0.95, 1e-6, 8 * 4, 1000 // 4)


def test_mlx_muon_is_not_covered_and_an_unknown_argument_is_refused(tmp_path):
    with pytest.raises(NotCoveredError):
        read_config(_write(tmp_path, "a.yaml", "optimizer: muon\niters: 10\nbatch_size: 2\n"))
    with pytest.raises(ConfigError, match="beta_2 is not an argument of mlx adamw"):
        read_config(_write(tmp_path, "b.yaml", "optimizer: adamw\noptimizer_config:\n  adamw:\n    beta_2: 0.9\n"
                                               "iters: 10\nbatch_size: 2\n"))


# llm-foundry -------------------------------------------------------------------------------


def test_foundry_token_duration_and_default_betas(tmp_path):
    f = _write(tmp_path, "f.yaml", (
        "variables:\n  max_seq_len: 2048\nmax_seq_len: ${variables.max_seq_len}\n"
        "optimizer:\n  name: decoupled_adamw\n  lr: 6.0e-4\nglobal_train_batch_size: 512\n"
        "device_train_microbatch_size: auto\nmax_duration: 2.1e9tok\n"
    ))
    s = read_config(f)
    # Composer DecoupledAdamW defaults (0.9, 0.95), eps 1e-8; steps = ceil(2.1e9 / (512 x 2048)).
    assert (s.get("beta1"), s.get("beta2"), s.get("eps")) == (0.9, 0.95, 1e-8)
    assert s.get("max_steps") == -(-2_100_000_000 // (512 * 2048))


def test_foundry_lion_is_not_covered(tmp_path):
    with pytest.raises(NotCoveredError):
        read_config(_write(tmp_path, "f.yaml", "max_seq_len: 2048\nglobal_train_batch_size: 8\n"
                                               "optimizer:\n  name: decoupled_lionw\n"))


# NeMo 1.x ----------------------------------------------------------------------------------


def test_nemo_world_size_and_model_parallel_give_the_accumulation(tmp_path):
    f = _write(tmp_path, "n.yaml", (
        "trainer:\n  devices: 8\n  num_nodes: 4\n  max_steps: 1000\n"
        "model:\n  micro_batch_size: 2\n  global_batch_size: 256\n  tensor_model_parallel_size: 4\n"
        "  pipeline_model_parallel_size: 2\n  encoder_seq_length: 4096\n"
        "  optim:\n    name: distributed_fused_adam\n    betas: [0.9, 0.95]\n"
    ))
    report = check_config(f)
    # data-parallel = 32 GPUs / (4 x 2) = 4; accumulation = 256 / (2 x 4) = 32.
    assert report.batch.sequences == 256 and report.batch.data_parallel == 4 and report.batch.grad_accum == 32


def test_nemo_devices_left_to_the_machine_are_asked_for(tmp_path):
    f = _write(tmp_path, "n.yaml", "trainer:\n  devices: -1\n  num_nodes: 1\nmodel:\n  micro_batch_size: 2\n"
                                   "  global_batch_size: 64\n  optim:\n    name: fused_adam\n")
    s = read_config(f)
    assert s.world_size_required and "--world-size" in s.world_size_required
    assert effective_batch(s).sequences == 64  # NeMo's global batch does not depend on the GPU count


def test_nemo_lightning_ddp_configs_count_the_loader_batch_per_gpu(tmp_path):
    f = _write(tmp_path, "bert.yaml", (
        "trainer:\n  devices: 8\n  num_nodes: 1\n  accumulate_grad_batches: 2\n"
        "model:\n  max_seq_length: 128\n  train_ds:\n    batch_size: 16\n  optim:\n    name: adamw\n"
        "exp_manager:\n  name: bert\n"
    ))
    report = check_config(f)
    assert report.batch.sequences == 16 * 2 * 8 and report.batch.seq_len == 128


def test_nemo_lamb_is_not_covered(tmp_path):
    with pytest.raises(NotCoveredError):
        read_config(_write(tmp_path, "n.yaml", "trainer: {devices: 1}\nmodel:\n  micro_batch_size: 2\n"
                                               "  global_batch_size: 64\n  optim:\n    name: lamb\n"))


# Bad input --------------------------------------------------------------------------------


def test_zero_planned_steps_is_refused_not_a_crash(tmp_path):
    f = _write(tmp_path, "m.yml", "base_config: base.yml\nsteps: 0\nper_device_batch_size: 4\n")
    with pytest.raises(ConfigError, match="planned optimizer steps = 0 must be at least 1"):
        check_config(f, world_size=8)


def test_mutated_fixtures_give_only_adamcheck_errors(tmp_path):
    """Seeded mutations of the new forms' fixtures: each is read, or refused with an
    AdamCheckError (one line on the CLI), never another exception."""
    import random

    from adamcheck import AdamCheckError

    fixtures = __import__("pathlib").Path(__file__).parent / "fixtures"
    files = sorted(p for p in fixtures.glob("*/*") if not p.name.endswith((".json", ".md")))
    rng = random.Random(0)
    weird = ["-1", "0", "1e400", "abc", "[]", "99999999999999999999999", "null", "${x.y}", "$(nproc)", "'", "\\"]
    for _ in range(120):
        f = rng.choice(files)
        text = f.read_text()
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(text))
            text = text[:i] + rng.choice(weird) + text[i + rng.randint(0, 3):]
        g = tmp_path / f.name
        g.write_text(text)
        try:
            check_config(g, world_size=rng.choice([None, 8]))
        except AdamCheckError:
            pass

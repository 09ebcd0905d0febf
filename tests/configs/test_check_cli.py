"""The ``adamcheck check`` command: JSON schema, exit codes, flags, import cost, doctests."""

from __future__ import annotations

import doctest
import importlib
import json
import sys
from pathlib import Path

import pytest

EX = Path(__file__).resolve().parents[2] / "examples" / "configs"

SCHEMA_KEYS = {
    "schema", "format", "files", "optimizer", "beta1", "beta2", "eps", "fields", "unresolved",
    "effective_batch", "planned_steps", "reference", "findings",
    "param_groups", "recommendation", "exit_code", "verdict",
    # added in issue 18 (keys are only ever added within a schema version)
    "domain", "answer",
    # schema 2 (issue 23): the text lists "warnings" and "notes" became one list of diagnostics
    "diagnostics",
}


@pytest.mark.parametrize(
    "path, code",
    [
        ("nanogpt/train_shakespeare_char.py", 0),
        ("megatron/train_gpt3_175b.sh", 0),
        ("hf/training_args_defaults.json", 0),
        # 0.98 at 32 x 2048 tokens: no published run failed with beta2 >= 0.98 (the old 10x
        # half-life risk line is gone, deliberately: a short memory is judged by evidence).
        ("hf/sft_recipe.yaml", 0),
        ("deepspeed/ds_config_zero2.json", 2),
        # (0.9, 0.95) at 1 x 8,192 tokens: no language-model run failed with beta2 >= 0.95 at that
        # size; Marek et al.'s 0.95 at 1,024 tokens trained (worse), which is advice (issue 18).
        ("torchtitan/llama3_8b.toml", 0),
    ],
)
def test_json_schema_and_exit_codes(run_cli, path, code):
    exit_code, out, err = run_cli("check", EX / path, "--json")
    assert exit_code == code, err
    data = json.loads(out)  # stdout holds only JSON
    assert set(data) == SCHEMA_KEYS
    assert data["schema"] == "adamcheck.check/2" and data["exit_code"] == code
    assert set(data["effective_batch"]) >= {"sequences", "tokens", "computation"}
    assert isinstance(data["effective_batch"]["computation"], list)
    for f in data["findings"]:
        # axis added in issue 18; lens where a lens decided (input findings have none)
        assert {"level", "rule", "message", "source", "axis"} <= set(f) <= {"level", "rule", "message", "source",
                                                                          "axis", "lens"}
        assert f["level"] in {"error", "risk", "advice", "not_checked", "ok"}
        assert f["axis"] in {"divergence", "efficiency", "input"}
        assert f["level"] != "risk" or f["axis"] == "divergence"
    for d in data["diagnostics"]:  # warnings and notes: the shape of the findings, on the input axis
        assert set(d) == {"level", "rule", "message", "source", "axis"} and d["axis"] == "input"
        assert d["level"] in {"advice", "ok"}
    levels = [f["level"] for f in data["findings"]]
    assert levels == sorted(levels, key=["error", "risk", "advice", "not_checked", "ok"].index)
    for name, item in data["fields"].items():
        assert item is None or set(item) == {"value", "source"}, name


def test_text_report_shows_provenance_and_computation(run_cli):
    # the provenance and every rule are behind --explain (the default answer is short)
    code, short, _ = run_cli("check", EX / "nanogpt" / "train_shakespeare_char.py")
    assert code == 0 and len(short.splitlines()) <= 10 and "--explain" in short.splitlines()[-1]
    code, out, _ = run_cli("check", EX / "nanogpt" / "train_shakespeare_char.py", "--explain")
    assert out.startswith(short.rsplit("\n", 2)[0])  # the same answer first
    assert code == 0
    flat = " ".join(out.split())  # report lines wrap at 100 columns, long paths included
    assert "beta2 0.99" in flat and "line 32: beta2" in flat
    assert "batch = batch_size 64 x gradient_accumulation_steps 1 = 64 sequences" in out
    assert "tokens per step = 64 x 256" in out and "16,384" in out
    assert "NOT CHECKED" in out and "Result:" in out


def test_risk_report_names_rule_and_source(run_cli, tmp_path, monkeypatch):
    # beta1 0.9 >= sqrt(0.5) at batch 1: the theory's mechanism, in any domain.
    monkeypatch.chdir(tmp_path)  # a short path: the report wraps at spaces, never inside a path
    args = "args.json"
    (tmp_path / args).write_text('{"adam_beta1": 0.9, "adam_beta2": 0.5, "per_device_train_batch_size": 1}')
    code, out, _ = run_cli("check", args)
    assert code == 1
    lines = out.splitlines()
    verdict = next(i for i, line in enumerate(lines) if line.startswith("Verdict:"))
    assert lines[0].startswith("adamcheck check:") and verdict <= 3, lines[:4]
    assert lines[verdict].startswith("Verdict: RISK (exit 1)")
    assert "FAILS, set by theory" in out and "raise beta2" in out
    code, out, _ = run_cli("check", args, "--explain")
    assert "RISK        beta1_below_sqrt_beta2 [divergence, theory]:" in out and "Zhang et al. 2026" in out
    assert max(len(line) for line in out.splitlines()) <= 100


def test_flags_fill_and_override(run_cli, tmp_path):
    code, out, _ = run_cli("check", EX / "hf" / "training_args_defaults.json", "--world-size", "4",
                           "--seq-len", "512", "--json")
    data = json.loads(out)
    b = data["effective_batch"]
    assert (b["sequences"], b["tokens"], b["data_parallel"]) == (32, 32 * 512, 4)
    assert data["fields"]["world_size"] == {"value": 4, "source": "flag --world-size"}
    code, out, _ = run_cli("check", EX / "nanogpt" / "train_shakespeare_char.py", "--micro-batch-size", "8", "--json")
    data = json.loads(out)
    assert data["effective_batch"]["sequences"] == 8
    assert any("--micro-batch-size 8 overrides micro_batch = 64" in d["message"] and d["level"] == "advice"
               for d in data["diagnostics"])


def test_bad_flag_values_are_usage_errors(run_cli):
    code, out, err = run_cli("check", EX / "hf" / "training_args_defaults.json", "--world-size", "0")
    assert code == 2 and out == "" and "world size = 0 must be a positive integer" in err
    code, _, err = run_cli("check", EX / "hf" / "training_args_defaults.json", "--reference", "0.99-32")
    assert code == 2 and "BETA2@BATCH" in err
    code, _, err = run_cli("check")
    assert code == 2


def test_subprocess_no_traceback_and_light_imports(run_cli_subprocess, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[optimizer\n")
    code, out, err = run_cli_subprocess("check", bad)
    assert code == 2 and out == "" and err.count("\n") == 1 and "Traceback" not in err
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import sys, runpy\n"
        f"sys.argv = ['adamcheck', 'check', {str(EX / 'megatron' / 'train_gpt3_175b.sh')!r}]\n"
        "try:\n    runpy.run_module('adamcheck', run_name='__main__')\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'sympy', 'matplotlib', 'transformers', 'scipy.optimize', 'scipy.stats') if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    import os
    import subprocess

    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    proc = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True, env=env, timeout=120)
    assert "HEAVY []" in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    "module",
    [
        "adamcheck.configs",
        "adamcheck.configs._batch",
        "adamcheck.configs._check",
        "adamcheck.configs._deepspeed",
        "adamcheck.configs._hf",
        "adamcheck.configs._load",
        "adamcheck.configs._megatron",
        "adamcheck.configs._nanogpt",
        "adamcheck.configs._rules",
        "adamcheck.configs._torchtitan",
        "adamcheck.configs._titan_py",
        "adamcheck.configs._axolotl",
        "adamcheck.configs._llamafactory",
        "adamcheck.configs._torchtune",
        "adamcheck.configs._litgpt",
        "adamcheck.configs._olmo",
        "adamcheck.configs._levanter",
        "adamcheck.configs._hfstate",
        "adamcheck.configs._pick",
        "adamcheck.configs._readutil",
        "adamcheck.configs._torchclass",
        "adamcheck.configs._shell",
        "adamcheck.configs._hf_py",
        "adamcheck.configs._launch",
        "adamcheck.configs._maxtext",
        "adamcheck.configs._mlx",
        "adamcheck.configs._foundry",
        "adamcheck.configs._nemo",
    ],
)
def test_docstring_examples_run(module):
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_public_names_are_lazy_and_reexported():
    import adamcheck

    assert adamcheck.check_config is importlib.import_module("adamcheck.configs").check_config
    assert "check_optimizer" in adamcheck.__all__


def test_examples_readme_exit_codes(run_cli):
    # The table in examples/configs/README.md states these; keep them true.
    cases = {
        ("nanogpt/train_gpt2_owt.py",): 0,
        ("megatron/gpt_small_args.txt",): 0,  # (0.9, 0.95) at 32 x 1024 tokens: above the evidence edge
        ("deepspeed/training_args.json", "--world-size", "8"): 0,
        ("torchtitan/llama3_8b.toml", "--world-size", "64", "--reference-seq-len", "1024"): 0,
        ("olmo/OLMo2-7B-stage1.yaml",): 0,
        # (0.9, 0.95) at 128 x 4096 = 524,288 tokens: no RISK (the Marin sweep was within 1% of
        # the best at 262,144 tokens; the old 10x half-life line flagged it).
        ("axolotl/llama-3-8b-fft.yaml", "--world-size", "8"): 0,
        ("llamafactory/qwen3_full_sft.yaml",): 0,
        ("llamafactory/v1_full_fsdp2.yaml", "--world-size", "8"): 0,
        ("torchtune/llama3_1_8B_full.yaml", "--world-size", "8"): 0,
        ("litgpt/pretrain_tinyllama.yaml",): 0,
        ("levanter/gpt2_small.yaml",): 0,
        ("nanogpt/train_gpt2_2023_02.py",): 0,
        ("megatron/pretrain_gpt_345m.sh",): 0,
        ("torchtitan/config_registry.py", "--preset", "llama3_8b", "--world-size", "64"): 0,  # 524,288 tokens
        ("llamafactory/qwen3_moe_mca.yaml", "--world-size", "8"): 0,  # 65,536 tokens: above the evidence edge
        ("nanogpt/finetune_timestamped.py",): 0,  # 32,768 tokens at 0.95: above the evidence edge
        ("hf/trainer_state.json",): 2,
        ("accelerate/default_config.yaml",): 2,
        ("nanogpt/eval_gpt2.py",): 2,
    }
    for (path, *flags), expected in cases.items():
        code, _, err = run_cli("check", EX / path, *flags)
        assert code == expected, (path, err)


def test_help_examples_run_from_a_clone(run_cli, monkeypatch):
    import shlex

    from adamcheck.cli.check import HELP

    monkeypatch.chdir(EX.parents[1])
    lines = [line.strip() for line in HELP.split("Example:")[1].split("Exit codes:")[0].splitlines()]
    commands = [shlex.split(line)[1:] for line in lines if line.startswith("adamcheck check")]
    assert len(commands) >= 5
    for args in commands:
        code, _, err = run_cli(*args)
        assert code in (0, 1), (args, err)


def test_an_assumed_size_is_in_the_short_answer(run_cli):
    """A data-parallel size adamcheck had to assume changes B, so it is in the first lines,
    not only behind --explain (fresh-user trial: a 64-GPU torchtitan config read at 1 GPU)."""
    from pathlib import Path

    cfg = Path(__file__).resolve().parents[2] / "examples" / "configs" / "torchtitan" / "llama3_8b.toml"
    code, out, err = run_cli("check", str(cfg))
    assert code in (0, 1), err
    assert "assumed: " in out and "data-parallel size not stated: 1 assumed" in out and "--explain" in out
    code, out, err = run_cli("check", str(cfg), "--world-size", "64")
    assert "data-parallel size not stated" not in out and "64 x 8,192" in out

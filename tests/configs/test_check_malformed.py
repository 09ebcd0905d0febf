"""Malformed files, unknown optimizers and misspelt keys: one clear line, exit 2."""

from __future__ import annotations

import json

import pytest

from adamcheck import ConfigError
from adamcheck.configs import check_config, read_config


def _one_line_exit_2(run_cli, *args):
    code, out, err = run_cli("check", *args)
    assert code == 2, (code, out, err)
    assert out == ""
    assert err.startswith("adamcheck: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    "name, text, expect",
    [
        ("training_args.json", '{"adam_beta2": 0.95,, }', "not valid JSON (line 1, column 21"),
        ("recipe.yaml", "adam_beta2: 0.95\n  bad: [1,\n", "not valid YAML"),
        ("train.toml", "[optimizer\nname = 'AdamW'\n", "not valid TOML"),
        ("train.py", "batch_size = (\n", "not valid Python"),
        ("ds_config.json", "[1, 2, 3]", "unrecognised configuration"),
        ("notes.txt", "just some words\n", "unrecognised configuration"),
        ("args.json", '{"adam_beta2": "high"}', "'high' is not a number"),
        ("args.json", '{"per_device_train_batch_size": 8.5}', "not a whole number"),
        ("args.json", '{"adam_beta2": NaN}', "not finite"),
    ],
)
def test_malformed_files(tmp_path, run_cli, name, text, expect):
    f = tmp_path / name
    f.write_text(text)
    err = _one_line_exit_2(run_cli, f)
    assert expect in err


@pytest.mark.parametrize(
    "name, text, expect",
    [
        ("args.json", '{"optim": "lion_32bit"}', "'lion_32bit' is not Adam"),
        ("args.yaml", "optim: lion\n", "'lion' is not Adam"),
        ("args.json", '{"optim": "my_fancy_opt"}', "unknown optimizer"),
        ("args.json", '{"adafactor": true}', "is not Adam: not covered"),
        ("train.toml", '[optimizer]\nname = "Foo"\n', "'Foo' is an unknown optimizer"),
        ("train.toml", '[optimizer]\nname = "adamw"\n', "case-sensitive): write 'AdamW'"),
        ("ds.json", '{"train_batch_size": 8, "optimizer": {"type": "Lamb"}}', "'Lamb' is not Adam"),
        ("ds.json", '{"train_batch_size": 8, "optimizer": {"type": "OneBitAdam"}}', "'OneBitAdam' is not Adam"),
        ("args.txt", "--micro-batch-size 4 --adam-beta2 0.95 --optimizer sgd\n", "'sgd' is not Adam"),
    ],
)
def test_unknown_or_non_adam_optimizer(tmp_path, run_cli, name, text, expect):
    f = tmp_path / name
    f.write_text(text)
    err = _one_line_exit_2(run_cli, f)
    assert expect in err


@pytest.mark.parametrize("name", ["adamw_torch", "adamw_torch_fused", "adamw_hf", "adamw_apex_fused", "paged_adamw_8bit", "adamw_bnb_8bit"])
def test_adam_family_names_are_accepted(tmp_path, name):
    f = tmp_path / "args.json"
    f.write_text(json.dumps({"optim": name}))
    assert read_config(f).get("optimizer") == name


@pytest.mark.parametrize(
    "name, text, expect",
    [
        ("args.json", '{"adam_beta_2": 0.95}', "did you mean 'adam_beta2'"),
        ("args.yaml", "per_device_train_batchsize: 4\n", "did you mean 'per_device_train_batch_size'"),
        ("ds.json", '{"train_batch_size": 8, "optimizer": {"type": "AdamW", "params": {"beta": [0.9, 0.95]}}}',
         "unknown key 'beta' (did you mean 'betas'?)"),
        ("train.toml", '[optimizer]\nname = "AdamW"\nbeta_2 = 0.99\n', "did you mean 'beta2'"),
        ("train.toml", "[training]\nlocal_batch_sise = 4\n", "did you mean 'local_batch_size'"),
        ("run.sh", "torchrun pretrain_gpt.py --micro-batch-size 4 --adam-beta-2 0.95\n", "did you mean --adam-beta2"),
    ],
)
def test_misspelt_keys_are_refused(tmp_path, run_cli, name, text, expect):
    f = tmp_path / name
    f.write_text(text)
    err = _one_line_exit_2(run_cli, f)
    assert expect in err


def test_unknown_non_adam_keys_warn(tmp_path):
    f = tmp_path / "ds_config.json"
    f.write_text(json.dumps({"train_batch_size": 64, "train_micro_batch_size_per_gpu": 8, "my_note": 1,
                             "optimizer": {"type": "AdamW", "params": {"betas": [0.9, 0.999]}}}))
    report = check_config(f)
    assert any("DeepSpeed ignores unknown top-level keys: my_note" in w for w in report.warnings)


def test_betas_outside_range_are_errors_in_the_report(tmp_path, run_cli):
    f = tmp_path / "args.json"
    f.write_text('{"adam_beta1": 0.9, "adam_beta2": 1.0, "adam_epsilon": -1e-8}')
    report = check_config(f)
    assert report.exit_code == 2
    messages = [x.message for x in report.by_level("error")]
    assert any("beta2 = 1 " in m and "outside [0, 1)" in m for m in messages)
    assert any("eps = -1e-08 is negative" in m for m in messages)
    code, out, _ = run_cli("check", f)
    assert code == 2 and "ERROR" in out


def test_missing_file_and_directory(tmp_path, run_cli):
    err = _one_line_exit_2(run_cli, tmp_path / "nope.json")
    assert "nope.json" in err
    with pytest.raises(ConfigError, match="is a directory"):
        read_config(tmp_path)


def test_format_override(tmp_path):
    f = tmp_path / "hparams.conf"  # extension says nothing
    f.write_text('{"train_micro_batch_size_per_gpu": 4, "optimizer": {"type": "Adam", "params": {"betas": [0.8, 0.9]}}}')
    assert read_config(f).format == "deepspeed"  # detected from content
    f2 = tmp_path / "settings.cfg"
    f2.write_text("adam_beta2: 0.97\nper_device_train_batch_size: 2\n")
    with pytest.raises(ConfigError, match=r"pass --format with one of") as exc:
        read_config(f2)
    assert "fmt" not in str(exc.value)  # refusals name the CLI flag, not the Python parameter
    assert read_config(f2, "hf").get("beta2") == 0.97
    with pytest.raises(ConfigError, match="unknown format 'pytorch'"):
        read_config(f2, "pytorch")


def test_huge_file_refused_before_reading(tmp_path, run_cli):
    f = tmp_path / "big.json"
    f.write_bytes(b" " * (5 * 1024 * 1024))
    assert "too large" in _one_line_exit_2(run_cli, f)


@pytest.mark.parametrize(
    "name, text",
    [
        ("deep.json", "[" * 5000 + "]" * 5000),
        ("deep.yaml", "a: " + "[" * 500 + "]" * 500),  # PyYAML recurses several frames per level
        ("deep.toml", "a = " + "[" * 5000 + "]" * 5000),
        ("chain.py", "x = " + "+".join(["1"] * 100_000) + "\n"),
        ("unary.py", "x = " + "-" * 100_000 + "1\n"),
        ("parens.py", "x = " + "(" * 1000 + "1" + ")" * 1000 + "\n"),
    ],
    ids=["json", "yaml", "toml", "py-chain", "py-unary", "py-parens"],
)
def test_deeply_nested_input_is_a_config_error_not_a_crash(tmp_path, run_cli, name, text):
    f = tmp_path / name
    f.write_text(text)
    err = _one_line_exit_2(run_cli, f)
    assert name in err


def test_a_global_batch_no_world_size_can_give_is_refused(run_cli):
    """micro 16 x accumulation 2 = 32 per process: a global batch of 7 is no whole number of
    processes (before, it was taken as B = 7 with exit 0; with --world-size it was refused)."""
    from pathlib import Path

    cfg = Path(__file__).resolve().parents[2] / "examples" / "configs" / "hf" / "sft_recipe.yaml"
    code, out, err = run_cli("check", str(cfg), "--global-batch-size", "7")
    assert code == 2 and "not a multiple of micro batch 16 x accumulation 2 = 32" in err, (out, err)
    assert len(err.strip().splitlines()) == 1
    code, out, err = run_cli("check", str(cfg), "--global-batch-size", "64")
    assert code in (0, 1) and "64 x 2,048" in out, (out, err)

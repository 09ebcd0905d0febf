"""Findings of a fresh-user trial of the command line, each pinned by a test.

1. With --json, every command's usage error is one JSON object on stdout (one shared place).
2. check --gradients with values the file cannot be used with: exit 2, one line, nothing on stdout.
3. Text output labels each diagnostic by its level (advice: ``warning:``), in boundary too.
4. check takes -b like recommend; a missing --beta1 names what to add.
5. One NaN in a gradient file reads the same in estimate, boundary, recommend and check.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import numpy as np
import pytest

from adamcheck._diagnostics import Diagnostic, Level
from adamcheck.cli import SUBCOMMANDS

ROOT = Path(__file__).resolve().parents[2]


def _json_commands() -> list[str]:
    import importlib

    names = []
    for name, module in SUBCOMMANDS.items():
        command = importlib.import_module(f"adamcheck.cli.{module}").command
        if any(p.name == "as_json" for p in command.params):
            names.append(name)
    return names


JSON_COMMANDS = _json_commands()


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("adamcheck: error: "), err
    assert "Traceback" not in err
    return lines[0][len("adamcheck: error: "):]


def _error_object(code: int, out: str, err: str, command: str, kind: str) -> dict:
    assert code == 2, (code, out, err)
    line = _one_error_line(err)
    data = json.loads(out)  # the whole of stdout is one object
    assert data == {"schema": data["schema"], "command": command, "error": line, "error_kind": kind,
                    "exit_code": 2}
    return data


# 1 ---------------------------------------------------------------------------------------------------------
def test_1_every_command_has_json():
    # the list the next tests walk is every command, not a hand-picked few
    assert set(JSON_COMMANDS) == set(SUBCOMMANDS) and len(JSON_COMMANDS) == 8


@pytest.mark.parametrize("command", JSON_COMMANDS)
def test_1_usage_error_with_json_is_an_object_on_every_command(run_cli, command):
    code, out, err = run_cli(command, "--no-such-flag", "--json")
    data = _error_object(code, out, err, command, "usage")
    assert "--no-such-flag" in data["error"]
    # without --json: the stderr line alone, stdout empty
    code, out, err = run_cli(command, "--no-such-flag")
    assert code == 2 and out == "" and _one_error_line(err) == data["error"]


@pytest.mark.parametrize("args, kind", [
    (["recommend", "-b", "x"], "usage"),
    (["recommend", "-b", "8", "--beta2", "1.5"], "unusable_input"),
    (["boundary"], "unusable_input"),
    (["boundary", "--problem", "counterexample", "--steps", "zero"], "usage"),
    (["estimate", "missing.npy", "-b", "4"], "unusable_input"),
    (["simulate", "--steps", "-3"], "unusable_input"),
    (["phase", "--problem", "nosuch"], "usage"),
    (["prove", "--only", "nosuch"], "unusable_input"),
    (["check", "--batch-size", "8", "--beta2", "0.9"], "unusable_input"),
])
def test_1_refusals_with_json_are_objects(run_cli, tmp_path, monkeypatch, args, kind):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(*args, "--json")
    data = _error_object(code, out, err, args[0], kind)
    assert data["schema"] == {"check": "adamcheck.check/2", "recommend": "adamcheck.recommend/3"}.get(args[0])


def test_1_not_covered_keeps_its_kind(run_cli, tmp_path):
    f = tmp_path / "ds.json"
    f.write_text('{"train_batch_size": 8, "optimizer": {"type": "OneBitAdam"}}')
    code, out, err = run_cli("check", f, "--json")
    assert "not covered" in _error_object(code, out, err, "check", "not_covered")["error"]


def test_1_the_schemas_named_are_the_outputs_own(run_cli):
    from adamcheck.cli._json_errors import error_object

    # the error object's schema is the one the command's successful --json output carries
    for args in (["recommend", "-b", "8"], ["check", "-b", "8", "--beta1", "0.9", "--beta2", "0.99"]):
        code, out, _ = run_cli(*args, "--json")
        assert code == 0 and json.loads(out)["schema"] == error_object(args[0], "x", "usage")["schema"]
    assert error_object("phase", "x", "usage")["schema"] is None
    with pytest.raises(ValueError):
        error_object("check", "x", "no_such_kind")


def test_1_docs_show_the_same_shape():
    from adamcheck.cli._json_errors import ERROR_KINDS, error_object

    text = (ROOT / "docs" / "cli.md").read_text()
    section = text.split("## Errors in --json", 1)[1].split("\n## ", 1)[0]
    example = re.search(r"```json\n(.*?)```", section, re.S).group(1).replace("...", "")
    assert set(json.loads(example)) == set(error_object("check", "x", "usage"))
    for kind in ERROR_KINDS:
        assert f"`{kind}`" in section


def test_1_check_has_no_private_copy():
    # one shared place: check's module no longer builds error objects itself
    source = (ROOT / "adamcheck" / "cli" / "check.py").read_text()
    assert "error_kind" not in source and "_JsonErrors" not in source


# 2 ---------------------------------------------------------------------------------------------------------
@pytest.fixture
def grads(tmp_path):
    path = tmp_path / "g.npz"
    np.savez(path, grads=np.random.default_rng(0).normal(0.2, 1.0, size=(64, 5)))
    return path


@pytest.mark.parametrize("extra, needle", [
    (["--dataset-size", "10"], "smaller than the 64 examples in the file"),
    (["--dataset-size", "4"], "larger than the data set"),
])
def test_2_check_with_unusable_gradients_is_one_error_and_no_verdict(run_cli, grads, extra, needle):
    bare = ["-b", "8", "--beta1", "0.9", "--beta2", "0.99"]
    code, out, err = run_cli("check", *bare, *extra, "--gradients", grads)
    assert code == 2 and out == "" and needle in _one_error_line(err)
    # the same inputs to recommend: the same refusal, word for word
    rcode, rout, rerr = run_cli("recommend", "-b", "8", *extra, "--gradients", grads)
    assert rcode == 2 and rout == "" and rerr == err
    # a configuration file with the same gradients: refused too, not judged without them
    config = grads.parent / "train_small.py"
    config.write_text("batch_size = 8\ngradient_accumulation_steps = 1\nbeta2 = 0.99\n")
    code, out, err = run_cli("check", config, *extra, "--gradients", grads)
    assert code == 2 and out == "" and needle in _one_error_line(err)
    code, out, err = run_cli("check", *bare, *extra, "--gradients", grads, "--json")
    assert needle in _error_object(code, out, err, "check", "unusable_input")["error"]


def test_2_a_dataset_size_that_contradicts_the_batch_is_refused_as_recommend_refuses_it(run_cli):
    bare = ["--batch-size", "8", "--beta1", "0.9", "--beta2", "0.99"]
    # a data set of 10 holds a batch of 8: a verdict
    code, out, err = run_cli("check", *bare, "--dataset-size", "10")
    assert code == 0 and out.startswith("adamcheck check:") and err == ""
    # a data set of 4 cannot: the typed values contradict each other, one line and exit 2, word
    # for word recommend's line (it was a verdict with the recommendation "not checked", exit 0)
    code, out, err = run_cli("check", *bare, "--dataset-size", "4")
    rcode, rout, rerr = run_cli("recommend", "-b", "8", "--dataset-size", "4")
    assert (code, out) == (2, "") and (rcode, rout) == (2, "") and err == rerr
    assert "larger than the data set" in _one_error_line(err)


# 3 ---------------------------------------------------------------------------------------------------------
def test_3_text_line_labels_each_level():
    from adamcheck._diagnostics import text_line

    words = {lv: text_line(Diagnostic(lv, "r", "m", "s")) for lv in Level}
    assert words == {Level.ERROR: "error: m", Level.RISK: "risk: m", Level.ADVICE: "warning: m",
                     Level.NOT_CHECKED: "note: m", Level.OK: "note: m"}
    assert text_line(Diagnostic(Level.ADVICE, "r", "m", "s").to_dict()) == "warning: m"


def test_3_boundary_prints_advice_as_a_warning(run_cli, grads):
    args = ["boundary", "--gradients", grads, "--batch-sizes", "4", "--beta1", "0", "--steps", "40", "-q"]
    code, out, _ = run_cli(*args, "--json")
    assert code == 0
    diagnostics = json.loads(out)["diagnostics"]
    advice = [d["message"] for d in diagnostics if d["level"] == "advice"]
    others = [d["message"] for d in diagnostics if d["level"] != "advice"]
    assert advice  # the learning-rate advice
    code, out, _ = run_cli(*args)
    assert code == 0
    joined = " ".join(out.split())  # the text is not wrapped, but compare word by word anyway
    for message in advice:
        assert f"warning: {' '.join(message.split())}" in joined
        assert f"note: {' '.join(message.split())}" not in joined
    for message in others:
        assert f"note: {' '.join(message.split())}" in joined


# 4 ---------------------------------------------------------------------------------------------------------
def test_4_check_takes_b_like_recommend(run_cli):
    short = run_cli("check", "-b", "8", "--beta1", "0.9", "--beta2", "0.99", "--json")
    long = run_cli("check", "--batch-size", "8", "--beta1", "0.9", "--beta2", "0.99", "--json")
    assert short == long and short[0] == 0
    assert json.loads(short[1])["effective_batch"]["sequences"] == 8
    from adamcheck.cli.check import command
    from adamcheck.cli.recommend import command as rec

    flags = {tuple(p.opts) for p in command.params if isinstance(p, click.Option)}
    assert ("--batch-size", "-b") in flags and ("--batch-size", "-b") in {tuple(p.opts) for p in rec.params}


@pytest.mark.parametrize("given, missing", [
    (["-b", "8", "--beta2", "0.99"], ["--beta1"]),
    (["--beta2", "0.99"], ["--batch-size", "--beta1"]),
])
def test_4_missing_bare_values_say_what_to_add(run_cli, given, missing):
    code, out, err = run_cli("check", *given)
    line = _one_error_line(err)
    assert code == 2 and out == ""
    added = line.split("add ", 1)[1].split(" with your run's values")[0]
    assert [w for w in added.split() if w.startswith("--")] == missing
    # what it says to add makes the command run
    fixed = [w.replace("B", "8") for w in added.split()]
    assert run_cli("check", *given, *fixed)[0] in (0, 1)


# 5 ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", [(0, 3, 2), (1, 0, 4)])
def test_5_nan_reads_the_same_in_every_command(run_cli, tmp_path, where):
    g = np.random.default_rng(1).normal(0.2, 1.0, size=(2, 64, 5))
    g[where] = np.nan
    path = tmp_path / "nan.npz"
    np.savez(path, grads=g)
    runs = {
        "estimate": ["estimate", path, "-b", "4", "--replicates", "20"],
        "boundary": ["boundary", "--gradients", path, "--batch-sizes", "4", "--beta1", "0", "--steps", "40"],
        "recommend": ["recommend", "-b", "4", "--gradients", path],
        "check": ["check", "-b", "4", "--beta1", "0.9", "--beta2", "0.99", "--gradients", path],
    }
    lines = {}
    for name, args in runs.items():
        code, out, err = run_cli(*args)
        assert code == 2 and out == "", (name, err)
        lines[name] = _one_error_line(err)
    p, n, k = where
    expected = f"gradients contain NaN or inf (point {p}, example {n}, coordinate {k}): drop or recompute those examples"
    assert lines == dict.fromkeys(runs, expected)


# an all-zero gradient file (found by the same trial): every command refuses it with one line,
# where the training boundary used to read it as "trains at every beta2" and check as OK
def test_all_zero_file_is_refused_by_every_command(run_cli, tmp_path):
    path = tmp_path / "zeros.npz"
    np.savez(path, grads=np.zeros((2, 64, 5), dtype=np.float32))
    runs = {
        "estimate": ["estimate", path, "-b", "4", "--replicates", "20"],
        "boundary": ["boundary", "--gradients", path, "--batch-sizes", "4", "--beta1", "0", "--steps", "40"],
        "recommend": ["recommend", "-b", "4", "--gradients", path],
        "check": ["check", "-b", "4", "--beta1", "0.9", "--beta2", "0.99", "--gradients", path],
    }
    for name, args in runs.items():
        code, out, err = run_cli(*args)
        assert code == 2 and out == "", (name, out, err)
        assert _one_error_line(err).startswith("every gradient in the file is exactly zero"), name
    # one non-zero entry is a file with something to measure: no refusal
    g = np.zeros((2, 64, 5))
    g[1, 3, 2] = 1e-3
    np.savez(path, grads=g)
    assert run_cli(*runs["boundary"])[0] == 0

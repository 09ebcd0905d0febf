"""nanoGPT configs are parsed, never executed; only literals and constant arithmetic pass."""

from __future__ import annotations

import time

import pytest
from _hypothesis import given, settings, st

from adamcheck import ConfigError
from adamcheck.configs import check_config
from adamcheck.configs._nanogpt import evaluate_literal_config


def test_config_whose_code_would_create_files_is_refused_and_nothing_runs(tmp_path, run_cli):
    marker1, marker2, marker3 = tmp_path / "pwned1", tmp_path / "pwned2", tmp_path / "pwned3"
    cfg = tmp_path / "train_evil.py"
    # Each line alone would create a file if the config were run (exec'd, imported or eval'd).
    cfg.write_text(
        "batch_size = 64\n"
        f"open({str(marker1)!r}, 'w').write('ran')\n"
        f"out_dir = __import__('os').system('touch {marker2}')\n"
        f"import pathlib; pathlib.Path({str(marker3)!r}).touch()\n"
    )
    code, out, err = run_cli("check", cfg)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    # Line 2 sets nothing adamcheck reads and is skipped unrun; line 3 calls __import__,
    # which could bind any name, so the file is refused there.
    assert "line 3: a function call is not allowed" in err
    assert not marker1.exists() and not marker2.exists() and not marker3.exists()
    # Each offending line on its own is refused too, still without running anything.
    for line in cfg.read_text().splitlines()[1:]:
        with pytest.raises(ConfigError, match="line 1: .* not allowed"):
            evaluate_literal_config(line + "\n", "x.py")
    assert not marker1.exists() and not marker2.exists() and not marker3.exists()


@pytest.mark.parametrize(
    "source, what",
    [
        ("import time\n", "an import"),
        ("from os import path\n", "an import"),
        ("x = time.time()\n", "a function call"),
        ("x = os.sep\n", "attribute access"),
        ("x = [1, 2][0]\n", "indexing"),
        ("x = [i for i in range(3)]\n", "a comprehension"),
        ("f = lambda: 1\n", "a lambda"),
        ("x = f'{1}'\n", "an f-string"),
        ("def f():\n    pass\n", "a function definition"),
        ("if True:\n    x = 1\n", "an if statement"),
        ("batch_size += 1\n", "an augmented assignment"),
        ("print('hi')\n", "a function call"),
        ("a, b = 1, 2\n", "assigning to anything but a plain name"),
        ("x = {'a': 1}\n", "a dict"),
        ("x = 1 if True else 2\n", "a conditional expression"),
        ("x = 2 < 3\n", "a comparison"),
        ("x = b'raw'\n", "a bytes literal"),
    ],
)
def test_anything_but_literal_assignments_names_the_line(source, what):
    with pytest.raises(ConfigError) as info:
        evaluate_literal_config("batch_size = 12\n" + source, "cfg.py")
    message = str(info.value)
    assert message.startswith("cfg.py line 2: ") and what in message
    assert "\n" not in message


def test_literal_config_features_real_configs_use():
    found = evaluate_literal_config(
        '"""docstring"""\n'
        "gradient_accumulation_steps = 5 * 8\n"
        "max_iters = 600000\n"
        "lr_decay_iters = max_iters  # same-file names are allowed\n"
        "learning_rate = 6e-4\n"
        "min_lr = learning_rate / 10\n"
        "beta2 = 1 - 1 / (2 ** 10)\n"
        "neg = -(3 // 2) % 5\n"
        "name = 'gpt2' + '-124M'\n"
        "wandb_log = False\n"
        "dims: int = 768\n"
        "a = b = 7\n"
        "pair = (0.9, 0.95)\n"
        "pass\n"
    )
    values = {k: v for k, (v, _) in found.items()}
    assert values["gradient_accumulation_steps"] == 40
    assert values["lr_decay_iters"] == 600000 and found["lr_decay_iters"][1] == 4
    assert values["min_lr"] == pytest.approx(6e-5)
    assert values["beta2"] == 1 - 1 / 1024
    assert values["neg"] == -(3 // 2) % 5
    assert values["name"] == "gpt2-124M" and values["wandb_log"] is False
    assert values["dims"] == 768 and values["a"] == values["b"] == 7 and values["pair"] == (0.9, 0.95)


@pytest.mark.parametrize(
    "source",
    ["x = 10 ** 10 ** 10\n", "x = 2 ** 100000\n", "x = 'a' * 10 ** 9\n", "x = 1 / 0\n", "x = 10.0 ** 400\n",
     "x = (-8) ** 0.5\n", "x = undefined_name\n", "x = 9" * 1 + "9" * 200 + "\n"],
)
def test_expensive_or_invalid_arithmetic_is_refused_quickly(source):
    start = time.perf_counter()
    with pytest.raises(ConfigError, match="line 1"):
        evaluate_literal_config(source, "c.py")
    assert time.perf_counter() - start < 1.0  # refused before computing, not after


def test_syntax_error_is_one_line(tmp_path, run_cli):
    cfg = tmp_path / "broken.py"
    cfg.write_text("batch_size = = 3\n")
    code, out, err = run_cli("check", cfg)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "line 1: not valid Python" in err


def test_unknown_name_is_a_warning_not_an_error(tmp_path):
    cfg = tmp_path / "c.py"
    cfg.write_text("batch_size = 32\nbeta_2 = 0.99\n")  # misspelt: nanoGPT keeps 0.95
    report = check_config(cfg)
    assert report.setup.get("beta2") == 0.95
    assert any("beta_2" in w and "ignores" in w for w in report.warnings)


# Independent route for the arithmetic: Python's own evaluation of the same constant
# expression (safe here: the test generates it from numbers and operators only).
_numbers = st.one_of(st.integers(-1000, 1000), st.floats(-1e3, 1e3, allow_nan=False).map(lambda x: round(x, 3)))


@st.composite
def _expressions(draw, depth=3):
    if depth == 0 or draw(st.booleans()):
        value = draw(_numbers)
        return f"({value!r})"
    op = draw(st.sampled_from(["+", "-", "*", "/", "//", "%"]))
    return f"({draw(_expressions(depth=depth - 1))} {op} {draw(_expressions(depth=depth - 1))})"


@settings(max_examples=200, deadline=None)
@given(_expressions())
def test_constant_arithmetic_matches_python(expr):
    try:
        expected = eval(expr, {"__builtins__": {}})  # noqa: S307 - numbers and operators only
    except ZeroDivisionError:
        with pytest.raises(ConfigError, match="division by zero"):
            evaluate_literal_config(f"x = {expr}\n")
        return
    got = evaluate_literal_config(f"x = {expr}\n")["x"][0]
    assert got == expected or (got != got and expected != expected)

"""A nanoGPT value computed at run time (``int(os.environ.get('GA', 8))``) is reported as
unresolved, the rest of the file is read, and what depends on it says it could not be
resolved: never train.py's default in its place, never the file run (fresh-user trial 6)."""

from __future__ import annotations

import json

import pytest

from adamcheck import ConfigError
from adamcheck.configs import check_config, read_config
from adamcheck.configs._nanogpt import NANOGPT_DEFAULTS


def _write(tmp_path, text, name="train_env.py"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_computed_accumulation_is_unresolved_and_the_rest_is_read(tmp_path, run_cli):
    marker = tmp_path / "ran"
    cfg = _write(tmp_path, (
        "import os\n"
        "batch_size = 12\n"
        "block_size = 1024\n"
        f"gradient_accumulation_steps = int(os.environ.get('GA', open({str(marker)!r}, 'w').write('x')))\n"
        "beta2 = 0.99\n"
        "max_iters = 5000\n"))
    s = read_config(cfg)
    assert (s.get("micro_batch"), s.get("seq_len"), s.get("beta2"), s.get("max_steps")) == (12, 1024, 0.99, 5000)
    # not train.py's default of 40 in its place: that would be a silent misread
    assert s.get("grad_accum") is None and NANOGPT_DEFAULTS["gradient_accumulation_steps"] == 40
    why = s.unresolved["grad_accum"]
    assert "line 4 computes it at run time (a function call)" in why and "pass --grad-accum" in why
    assert not marker.exists()

    report = check_config(cfg)
    assert report.batch.sequences is None and report.exit_code == 2
    code, out, err = run_cli("check", cfg, "--json")
    data = json.loads(out)
    assert code == 2 and data["unresolved"]["grad_accum"] == why
    assert [f["rule"] for f in data["findings"] if f["level"] == "error"] == ["batch_size"]
    assert "line 4 computes it at run time" in err and "pass --grad-accum" in err
    assert len(err.strip().splitlines()) == 1
    # the flag it names resolves it: 12 x 8 sequences
    code, out, err = run_cli("check", cfg, "--grad-accum", "8", "--json")
    assert code in (0, 1) and json.loads(out)["effective_batch"]["sequences"] == 96
    assert not marker.exists()


def test_a_beta_computed_at_run_time_is_unknown_not_the_default(tmp_path):
    cfg = _write(tmp_path, "import os\nbatch_size = 8\nbeta2 = float(os.environ['B2'])\n")
    report = check_config(cfg)
    assert report.setup.get("beta2") is None and NANOGPT_DEFAULTS["beta2"] == 0.95
    errors = [f for f in report.findings if f.level == "error"]
    assert [f.rule for f in errors] == ["betas_range"] and "beta2 is unknown" in errors[0].message
    assert "line 3 computes it at run time" in errors[0].message


def test_a_value_built_from_a_computed_name_says_so_and_a_later_literal_resolves(tmp_path):
    cfg = _write(tmp_path, "import os\nGA = int(os.environ['GA'])\ngradient_accumulation_steps = GA * 2\n"
                 "batch_size = int(os.environ['BS'])\nbatch_size = 4\n")
    s = read_config(cfg)
    assert "uses GA, which adamcheck could not read either" in s.unresolved["grad_accum"]
    assert s.get("micro_batch") == 4 and "micro_batch" not in s.unresolved
    assert any("line 2 skipped" in n and "GA" in n for n in s.notes)


@pytest.mark.parametrize("text, match", [
    ("from settings import *\nbatch_size = 4\n", "line 1"),  # could bind any name
    ("import os\neval_only = bool(os.environ.get('E'))\nbatch_size = 4\n", "eval_only"),
])
def test_what_could_change_everything_is_still_refused(tmp_path, text, match):
    with pytest.raises(ConfigError, match=match):
        read_config(_write(tmp_path, text))

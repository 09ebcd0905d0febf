"""README's two set-up commands: CI runs exactly the test one; the main job works."""

from __future__ import annotations

import re
import shlex


def _setup_commands(root):
    text = (root / "README.md").read_text()
    section = text.split("## Set-up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)\n```", section, flags=re.S)
    assert len(blocks) == 2, "README's set-up section must hold exactly two commands"
    return [b.strip() for b in blocks]


def test_ci_runs_exactly_the_readme_test_command(root):
    _, test_cmd = _setup_commands(root)
    ci = [line.strip() for line in (root / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.strip().startswith("#")]
    assert test_cmd in ci, (test_cmd, ci)
    assert "set -e" in " ".join(ci)  # a failing test fails CI


def test_main_job_command_runs(root, run_cli_subprocess):
    main_cmd, _ = _setup_commands(root)
    install, job = [part.strip() for part in main_cmd.split("&&")]
    assert install.startswith("pip install")
    argv = shlex.split(job)
    assert argv[0] == "adamcheck"
    code, out, err = run_cli_subprocess(*argv[1:], cwd=root)
    assert code == 0, err
    assert out.strip()

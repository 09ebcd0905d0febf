"""Collect the commands that the bash blocks of README.md and docs/*.md and every ``--help``
Example block show.

Used by tests/cli/test_bad_input.py (every example runs as written from a clone) and handy
by hand: ``python tests/_examples.py`` lists them.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands_in(lines: list[str]) -> list[list[str]]:
    """Commands starting with ``adamcheck``, joining backslash continuations, comments dropped."""
    out: list[list[str]] = []
    current = ""
    for raw in lines:
        line = raw.strip()
        if current:
            current += " " + line
        elif line.startswith("adamcheck ") or line == "adamcheck":
            current = line
        else:
            continue
        if current.endswith("\\"):
            current = current[:-1].rstrip()
            continue
        out.append(shlex.split(current, comments=True))
        current = ""
    return out


def readme_commands(root: Path = ROOT) -> list[list[str]]:
    """Commands of the bash blocks of README.md and of the pages under docs/."""
    cmds: list[list[str]] = []
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        # A recipe's commands read what its Python block wrote: its own test runs them in order.
        text = re.sub(r"<!-- recipe: [^>]*-->.*?```bash\n.*?\n```", "", page.read_text(), flags=re.S)
        blocks = re.findall(r"```(?:bash|sh|console)\n(.*?)\n```", text, flags=re.S)
        for block in blocks:
            cmds += _commands_in(block.splitlines())
    return cmds


def _help(args: list[str]) -> str:
    from adamcheck.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        main(args)
    return out.getvalue()


def help_commands() -> list[list[str]]:
    """Commands of the ``Example:``/``Examples:`` blocks of ``adamcheck --help`` and each command's."""
    import click

    from adamcheck.cli import cli

    names = cli.list_commands(click.Context(cli))
    cmds: list[list[str]] = []
    for args in [["--help"]] + [[name, "--help"] for name in names]:
        lines = _help(args).splitlines()
        inside = False
        block: list[str] = []
        for line in lines:
            if re.match(r"^\s*Examples?:\s*$", line):
                inside = True
                continue
            if inside and not line.strip():
                inside = False
                continue
            if inside:
                block.append(line)
        cmds += _commands_in(block)
    return cmds


if __name__ == "__main__":  # pragma: no cover
    for c in readme_commands() + help_commands():
        print(shlex.join(c))

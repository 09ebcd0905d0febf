"""The CLI contract shared by every command: help, exit codes, one-line errors."""

from __future__ import annotations

import json


def test_help_lists_exit_codes(run_cli):
    code, out, err = run_cli("--help")
    assert code == 0
    assert "Exit codes" in out and "2  usage error" in out


def test_unknown_command_is_one_line_exit_2(run_cli):
    code, out, err = run_cli("no-such-command")
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("adamcheck: error:")


def test_every_command_help_shows_an_example_and_json(run_cli):
    from adamcheck.cli import cli
    import click

    ctx = click.Context(cli)
    names = cli.list_commands(ctx)
    assert names, "no subcommands registered"
    for name in names:
        code, out, err = run_cli(name, "--help")
        assert code == 0, (name, err)
        assert "Example" in out, f"'adamcheck {name} --help' shows no example"
        assert "--json" in out, f"'adamcheck {name}' has no --json option"


def test_jsonio_never_emits_nan():
    import numpy as np
    from fractions import Fraction
    from adamcheck._jsonio import dumps

    text = dumps({"a": np.array([1.0, np.nan, np.inf]), "b": Fraction(171, 8), "c": np.int64(3)})
    assert json.loads(text) == {"a": [1.0, None, None], "b": "171/8", "c": 3}

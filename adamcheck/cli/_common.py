"""Options and output helpers shared by the subcommands.

Every command has ``--json`` (machine-readable stdout, nothing else on stdout)
and commands that can take long have ``--quiet`` (no progress bar on stderr).
Text output goes to stdout; progress and errors go to stderr.
"""

from __future__ import annotations

from typing import Any, Callable

import click

from .._jsonio import dumps

__all__ = ["json_option", "quiet_option", "seed_option", "emit"]

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON on stdout (for scripts)."
)
quiet_option = click.option(
    "--quiet", "-q", is_flag=True, help="Do not draw the progress bar on stderr."
)
seed_option = click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of every random draw."
)


def emit(result: Any, as_json: bool, render: Callable[[Any], str]) -> None:
    """Print ``result`` as JSON or through ``render`` (text for people)."""
    if as_json:
        click.echo(dumps(result))
    else:
        click.echo(render(result))

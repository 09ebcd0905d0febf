"""With ``--json``, every command's usage error (exit 2) is also one JSON object on stdout.

One place for every command (:func:`adamcheck.cli._run` calls :func:`echo_json_error` on
each exit-2 path), so a script that reads stdout always gets an object, whichever
command failed and however (a bad option, an unusable file, a configuration adamcheck
does not cover). The shape, documented once in docs/cli.md ("Errors in --json")::

    {"schema": <the command's JSON schema, or null where its output has none>,
     "command": "check", "error": <the stderr line without "adamcheck: error: ">,
     "error_kind": "usage" | "unusable_input" | "not_covered", "exit_code": 2}

The one ``adamcheck: error:`` line on stderr and exit 2 stay as they are.
"""

from __future__ import annotations

import importlib
from typing import Mapping, Sequence

import click

from .._jsonio import dumps

__all__ = ["ERROR_KINDS", "SCHEMAS", "json_command", "error_object", "echo_json_error"]

#: ``usage``: a bad option or value on the command line; ``unusable_input``: a file or
#: value the library refused (an ``AdamCheckError``, an unreadable file);
#: ``not_covered``: a configuration whose optimizer is not Adam (``adamcheck check``).
ERROR_KINDS = ("usage", "unusable_input", "not_covered")

#: Commands whose --json output carries a versioned ``schema``: where the constant lives
#: (imported only when an error is printed, so ``recommend`` stays fast).
SCHEMAS = {
    "check": ("adamcheck.configs._report", "SCHEMA"),
    "recommend": ("adamcheck.recommend._recommend", "SCHEMA"),
}


def json_command(args: Sequence[str], subcommands: Mapping[str, str]) -> str | None:
    """The subcommand's name when ``args`` ask it for ``--json`` and it has that option, else
    None; ``subcommands`` maps names to their modules (``adamcheck.cli.SUBCOMMANDS``)."""
    if not args or args[0] not in subcommands:
        return None
    rest = list(args[1:])
    if "--" in rest:  # after '--' everything is an argument, not an option
        rest = rest[: rest.index("--")]
    if "--json" not in rest:
        return None
    try:  # loaded already unless the error came before click parsed anything (a NUL byte)
        module = importlib.import_module(f"{__package__}.{subcommands[args[0]]}")
    except ImportError:
        return None
    command = getattr(module, "command", None)
    if not isinstance(command, click.Command) or not any(p.name == "as_json" for p in command.params):
        return None
    return args[0]


def error_object(command: str, message: str, kind: str) -> dict[str, object]:
    """The JSON error object of ``command`` (module docstring)."""
    if kind not in ERROR_KINDS:
        raise ValueError(f"error kind {kind!r} is not one of {ERROR_KINDS}")
    schema = None
    if command in SCHEMAS:
        module, name = SCHEMAS[command]
        schema = getattr(importlib.import_module(module), name)
    return {"schema": schema, "command": command, "error": " ".join(str(message).split()),
            "error_kind": kind, "exit_code": 2}


def echo_json_error(args: Sequence[str], message: str, kind: str, subcommands: Mapping[str, str]) -> None:
    """Print the error object on stdout when ``args`` asked for ``--json`` (else nothing)."""
    command = json_command(args, subcommands)
    if command is None:
        return
    try:
        click.echo(dumps(error_object(command, message, kind)))
    except (OSError, AttributeError, ValueError):
        pass  # stdout itself is gone: the stderr line and the exit code still say it

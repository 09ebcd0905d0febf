"""No command writes over one of its own inputs.

:func:`guard_outputs` wraps a command's callback (when the command is loaded, as
:func:`adamcheck.cli._types.harden` does for numbers): before the command runs, every
output path it was given is compared with every input file it was given, by
:func:`adamcheck._files.check_not_an_input` (same name, symlink or hard link). A new
command's output option joins by its parameter name in :data:`OUTPUT_PARAMS`; every
other path-typed parameter, and those in :data:`INPUT_PARAMS`, is an input.
"""

from __future__ import annotations

import functools
from typing import Any

import click

from .._files import check_not_an_input

__all__ = ["OUTPUT_PARAMS", "INPUT_PARAMS", "guard_outputs"]

#: Parameter names of the files commands write (plots, law files).
OUTPUT_PARAMS = frozenset({"plot", "plot_path", "out", "out_alias", "laws_out"})
#: Parameter names of files commands read that are not typed click.Path.
INPUT_PARAMS = frozenset({"grads", "gradients", "data", "files"})


def _label(param: click.Parameter) -> str:
    if isinstance(param, click.Option):
        return max(param.opts, key=len)
    return (param.name or "").upper()


def _paths(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [v for v in value if v is not None]
    return [value]


def guard_outputs(command: click.Command) -> click.Command:
    """Make ``command`` refuse an output path that is one of its inputs; returns ``command``."""
    outputs = [p for p in command.params if p.name in OUTPUT_PARAMS]
    inputs = [p for p in command.params if p.name not in OUTPUT_PARAMS
              and (p.name in INPUT_PARAMS or isinstance(p.type, click.Path))]
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            guard_outputs(sub)
    if not outputs or not inputs or command.callback is None or getattr(command.callback, "_guarded", False):
        return command
    callback = command.callback

    @functools.wraps(callback)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        read = [(_label(p), path) for p in inputs for path in _paths(kwargs.get(p.name))]
        for p in outputs:
            for path in _paths(kwargs.get(p.name)):
                check_not_an_input(path, _label(p), read)
        return callback(*args, **kwargs)

    guarded._guarded = True  # type: ignore[attr-defined]
    command.callback = guarded
    return command

"""The ``adamcheck`` command line: a thin click layer over the library.

Each subcommand lives in its own module ``adamcheck/cli/<name>.py`` exposing a
click command called ``command``; it is imported only when invoked, so
``adamcheck recommend`` never pays for SymPy or matplotlib.

Exit codes (documented in ``adamcheck --help``):

* 0 - fine (or advice only);
* 1 - problems found (risky betas, a failed proof obligation);
* 2 - usage error: bad option, bad value, unreadable or malformed input;
* 3 - internal error in adamcheck (a bug; ``ADAMCHECK_DEBUG=1`` shows the traceback).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any, Sequence

import click

from .._errors import AdamCheckError

__all__ = ["main", "cli", "EXIT_OK", "EXIT_PROBLEMS", "EXIT_USAGE", "EXIT_INTERNAL"]

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3

#: Subcommand name -> module under adamcheck.cli. A module that does not exist yet
#: is simply not listed.
SUBCOMMANDS = {
    "simulate": "simulate",
    "phase": "phase",
    "derive": "derive",
    "prove": "prove",
    "estimate": "estimate",
    "boundary": "boundary",
    "recommend": "recommend",
    "check": "check",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        for name, module in SUBCOMMANDS.items():
            if importlib.util.find_spec(f"{__name__}.{module}") is not None:
                names.add(name)
        return sorted(names)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        command = super().get_command(ctx, name)
        if command is not None or name not in SUBCOMMANDS:
            return command
        if importlib.util.find_spec(f"{__name__}.{SUBCOMMANDS[name]}") is None:
            return None
        module = importlib.import_module(f"{__name__}.{SUBCOMMANDS[name]}")
        return module.command


HELP = """Will Adam converge on your problem at your batch size, and which betas to use?

\b
Examples:
  adamcheck recommend --batch-size 32
  adamcheck phase --problem counterexample --n 20 --out phase.png
  adamcheck check train_config.json

\b
Exit codes:
  0  fine, or advice only
  1  problems found (risky betas, a failed proof obligation)
  2  usage error: bad option or value, unreadable or malformed input
  3  internal error in adamcheck (set ADAMCHECK_DEBUG=1 for the traceback)
"""


@click.group(cls=LazyGroup, help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="adamcheck", prog_name="adamcheck")
def cli() -> None:
    pass


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _fail(message: str, code: int) -> int:
    click.echo(f"adamcheck: error: {_one_line(message)}", err=True)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (``sys.exit`` is left to the caller)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        result: Any = cli.main(args=args, prog_name="adamcheck", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code or 0)
    except click.exceptions.Abort:
        return _fail("aborted", 130)
    except click.UsageError as exc:
        where = f"adamcheck {exc.ctx.info_name} --help" if exc.ctx and exc.ctx.parent else "adamcheck --help"
        if exc.ctx is not None and exc.ctx.command_path:
            where = f"{exc.ctx.command_path} --help"
        return _fail(f"{exc.format_message()} (see '{where}')", EXIT_USAGE)
    except click.ClickException as exc:  # e.g. click.FileError, BadParameter outside parsing
        return _fail(exc.format_message(), EXIT_USAGE)
    except AdamCheckError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        name = getattr(exc, "filename", None) or ""
        return _fail(f"cannot read {name!s}: {exc.strerror or exc}; check the path", EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug in adamcheck: one line unless debugging
        if os.environ.get("ADAMCHECK_DEBUG") == "1":
            raise
        return _fail(
            f"internal error ({type(exc).__name__}: {exc}); this is a bug in adamcheck, "
            "rerun with ADAMCHECK_DEBUG=1 for the traceback",
            EXIT_INTERNAL,
        )
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    return EXIT_OK


def entry_point() -> None:
    """Console-script entry: ``sys.exit(main())``."""
    sys.exit(main())

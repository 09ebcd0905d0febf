"""The ``adamcheck`` command line: a thin click layer over the library.

Each subcommand lives in its own module ``adamcheck/cli/<name>.py`` exposing a
click command called ``command``; it is imported only when invoked, so
``adamcheck recommend`` never pays for SymPy or matplotlib.

Exit codes (documented in ``adamcheck --help``):

* 0 - fine (or advice only);
* 1 - problems found (risky betas, a failed proof obligation);
* 2 - usage error: bad option, bad value, unreadable or malformed input;
* 3 - internal error in adamcheck (a bug; ``ADAMCHECK_DEBUG=1`` shows the traceback);
* 130 / 143 - interrupted by SIGINT (Ctrl-C) / terminated by SIGTERM (``timeout``, job
  schedulers): worker processes are stopped first, as for any exit.
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import importlib.util
import io
import os
import signal
import sys
import traceback
import warnings
from typing import Any, Iterator, Sequence

import click

from .. import __version__
from .._errors import AdamCheckError
from .._files import os_reason
from .._shown import shown, shown_repr
from ._json_errors import echo_json_error
from ._outputs import guard_outputs
from ._types import harden

__all__ = ["main", "cli", "EXIT_OK", "EXIT_PROBLEMS", "EXIT_USAGE", "EXIT_INTERNAL"]

EXIT_OK = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_TERMINATED = 128 + signal.SIGTERM


class Terminated(BaseException):
    """SIGTERM, raised in the main thread as Ctrl-C raises KeyboardInterrupt: every ``finally``
    and ``with`` on the way out runs (a process pool terminates its workers), instead of the
    process vanishing and leaving them orphaned. A BaseException, so that no ``except
    Exception`` swallows it."""


_TERMINATED = "terminated by SIGTERM: stopped before finishing (worker processes stopped too)"


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    try:
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):  # not the main thread (e.g. called from a worker thread)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

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
        return guard_outputs(harden(module.command))


HELP = """Will Adam converge on your problem at your batch size, and which betas to use?

\b
Examples:
  adamcheck recommend --batch-size 32
  adamcheck phase --problem counterexample --n 20 --plot phase.png
  adamcheck check examples/configs/hf/training_args_defaults.json

\b
Exit codes:
  0  fine, or advice only
  1  problems found (risky betas, a failed proof obligation)
  2  usage error: bad option or value, unreadable or malformed input
  3  internal error in adamcheck (set ADAMCHECK_DEBUG=1 for the traceback)
"""


@click.group(cls=LazyGroup, help=HELP, context_settings={"help_option_names": ["-h", "--help"]})
# The version constant, not the installed metadata: a checkout run without pip install has none.
@click.version_option(version=__version__, prog_name="adamcheck")
def cli() -> None:
    pass


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _fail(message: str, code: int) -> int:
    # Messages are short by construction; the cut is a last guard against a huge value.
    line = _one_line(message)
    if len(line) > 2000:
        line = line[:1997] + "..."
    try:
        click.echo(f"adamcheck: error: {line}", err=True)
    except (OSError, AttributeError, ValueError):
        pass  # stderr itself is gone or closed: the exit code is all that is left
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit code (``sys.exit`` is left to the caller).

    NumPy/SciPy warnings are silenced here, at the boundary: the library checks
    its results (NaN, overflow) and says what went wrong in its own words.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:  # bare 'adamcheck': the usage, as --help prints it, not an error line
        click.echo(cli.get_help(click.Context(cli, info_name="adamcheck")))
        return EXIT_USAGE
    if sys.stdout is None:  # started with stdout closed ('>&-'): every result would be lost
        return _fail("standard output is closed: run adamcheck with stdout open (a terminal, file or pipe)",
                     EXIT_USAGE)
    bad = next((a for a in args if "\x00" in str(a)), None)
    if bad is not None:  # the OS cannot take such a path or value (a shell never passes one)
        return _usage(args, f"argument {shown_repr(str(bad))} contains a NUL byte: remove it", "usage")
    try:
        with warnings.catch_warnings(), _sigterm_raises():
            warnings.simplefilter("ignore")
            code = _run(args)
    except Terminated:  # arrived after _run returned, before the handler was restored
        code = _fail(_TERMINATED, EXIT_TERMINATED)
    flushed = _flush_stdout()
    return code if flushed == EXIT_OK else flushed


def _flush_stdout() -> int:
    """Flush stdout now, so a full disk (ENOSPC) is exit 2 with the OS's reason, not a bug."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:
        _silence_stdout()
        return _fail(f"cannot write to standard output: {os_reason(exc)}", EXIT_USAGE)
    return EXIT_OK


def _silence_stdout() -> None:
    # Python flushes stdout again at exit; point it at /dev/null so that flush cannot fail.
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _run(args: list[str]) -> int:
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
        return _usage(args, f"{exc.format_message()} (see '{where}')", "usage")
    except click.ClickException as exc:  # e.g. click.FileError, BadParameter outside parsing
        return _usage(args, exc.format_message(), "unusable_input")
    except AdamCheckError as exc:
        return _usage(args, str(exc), exc.error_kind)
    except Terminated:
        return _fail(_TERMINATED, EXIT_TERMINATED)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:
        return EXIT_OK
    except MemoryError:
        return _usage(args, "out of memory: lower the sizes you asked for (grid, steps, seeds, replicates, "
                      "atoms) or free memory", "usage")
    except OSError as exc:  # the OS refused a file or stream: say its reason, not "a bug"
        name = getattr(exc, "filename", None)
        if exc.errno is None and not name:
            return _internal(exc)
        if name:
            return _usage(args, f"{shown_repr(str(name))}: {os_reason(exc)}; check the path, its permissions "
                          "and free disk space", "unusable_input")
        if exc.errno in (errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EFBIG):
            _silence_stdout()
        # no JSON object here: the output itself could not be written
        return _fail(f"cannot write the output: {os_reason(exc)}; check free disk space and that the "
                     "output can be written", EXIT_USAGE)
    except Exception as exc:  # a bug in adamcheck: one line unless debugging
        return _internal(exc)
    if isinstance(result, int) and not isinstance(result, bool):
        return result
    return EXIT_OK


def _usage(args: list[str], message: str, kind: str) -> int:
    """Exit 2 for input the user can fix: the JSON error object first when --json asked for
    it (adamcheck.cli._json_errors, the same for every command), then the one stderr line."""
    echo_json_error(args, _one_line(message), kind, SUBCOMMANDS)
    return _fail(message, EXIT_USAGE)


def _internal(exc: BaseException) -> int:
    if os.environ.get("ADAMCHECK_DEBUG") == "1":
        # The traceback, then the same exit 3: re-raising would let Python exit 1,
        # which reads as "problems found".
        try:
            traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        except (OSError, AttributeError, ValueError):
            pass
        return _fail(f"internal error ({type(exc).__name__}: {shown(exc, 200)}); this is a bug in adamcheck",
                     EXIT_INTERNAL)
    return _fail(
        f"internal error ({type(exc).__name__}: {shown(exc, 200)}); this is a bug in adamcheck, "
        "rerun with ADAMCHECK_DEBUG=1 for the traceback",
        EXIT_INTERNAL,
    )


def entry_point() -> None:
    """Console-script entry: ``sys.exit(main())``.

    With ``--json``, native libraries (LAPACK's ``xerbla`` prints "** On entry to
    DLASCL ..." to file descriptor 1) would corrupt the JSON on stdout: file
    descriptor 1 is pointed at stderr for the run, and Python's ``sys.stdout``
    writes to a duplicate of the real stdout.
    """
    if "--json" in sys.argv[1:]:
        with _native_stdout_to_stderr():
            code = main()
    else:
        code = main()
    sys.exit(code)


@contextlib.contextmanager
def _native_stdout_to_stderr() -> Iterator[None]:
    try:
        sys.stdout.flush()
        real = os.dup(1)
    except (AttributeError, OSError, ValueError):  # no usable fd 1: nothing to guard
        yield
        return
    old = sys.stdout
    sys.stdout = io.TextIOWrapper(os.fdopen(real, "wb", closefd=True), encoding=old.encoding or "utf-8",
                                  errors=getattr(old, "errors", None) or "strict", write_through=True)
    os.dup2(2, 1)
    try:
        yield
    finally:
        try:
            sys.stdout.flush()
        except OSError:
            pass
        os.dup2(real, 1)
        sys.stdout = old

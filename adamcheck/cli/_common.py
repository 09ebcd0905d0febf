"""Options and output helpers shared by the subcommands.

Every command has ``--json`` (machine-readable stdout, nothing else on stdout)
and commands that can take long have ``--quiet`` (no progress bar on stderr).
Text output goes to stdout; progress and errors go to stderr.
"""

from __future__ import annotations

from typing import Any, Callable

import click

from .._jsonio import dumps

__all__ = ["json_option", "quiet_option", "seed_option", "emit", "explain_option", "domain_option",
           "state_dtype_option", "grad_rms_option"]

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON on stdout (for scripts)."
)
quiet_option = click.option(
    "--quiet", "-q", is_flag=True, help="Do not draw the progress bar on stderr."
)
seed_option = click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of every random draw."
)


#: The same flag in ``check`` and ``recommend``: the provenance and every rule.
explain_option = click.option(
    "--explain", is_flag=True,
    help="After the short answer: what was read from where, the batch, the lenses and every rule with its source.",
)
domain_option = click.option(
    "--domain", default=None, metavar="KIND",
    help="Your kind of training: lm (a language model), lm-pretraining, fine-tuning, vision, regression "
    "(also simulation), rl or gan. Published runs count only where theirs matches; default: lm when a "
    "sequence length is known (or the framework trains language models), else not known.",
)
state_dtype_option = click.option(
    "--state-dtype", type=click.Choice(["fp32", "bf16", "fp16"]), default=None,
    help="Precision of Adam's m and v (fp32 also under mixed precision; fp16 only in pure fp16 training): "
    "eps that rounds to 0 there is a risk.",
)
grad_rms_option = click.option(
    "--grad-rms", type=float, default=None,
    help="Typical gradient RMS per coordinate, if you know it: eps far above it makes Adam act like SGD.",
)


def emit(result: Any, as_json: bool, render: Callable[[Any], str]) -> None:
    """Print ``result`` as JSON or through ``render`` (text for people)."""
    if as_json:
        click.echo(dumps(result))
    else:
        click.echo(render(result))

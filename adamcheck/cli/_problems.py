"""Problem options shared by ``simulate``, ``phase`` and ``boundary``.

``--problem`` picks the problem; each problem has its own options, and giving an
option that belongs to another problem is a usage error (so a typo never silently
runs the default).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import click

from .._errors import InvalidParameterError
from .._shown import shown_repr
from ..theory import COUNTEREXAMPLE_RUN_N, check_counterexample_n, counterexample_default_a

__all__ = ["NUMBER", "NUMBER_LIST", "problem_options", "build_problem", "PROBLEMS"]

PROBLEMS = ("counterexample", "reddi-online", "reddi-stochastic", "lsq", "logistic")

_OWNERS = {
    "n": ("counterexample",),
    "a": ("counterexample",),
    "C": ("reddi-online", "reddi-stochastic"),
    "period": ("reddi-online",),
    "delta": ("reddi-stochastic",),
    "data": ("lsq", "logistic"),
    "batch_size": ("lsq", "logistic"),
    "drop_last": ("lsq", "logistic"),
}


def _parse_number(text: str) -> float:
    """A finite float from ``0.9``, ``1e-3`` or ``1/81``; ValueError otherwise.

    A fraction is divided in floating point (``Fraction("1e999999999")`` would build a
    billion-digit integer); a zero denominator or a non-finite result is a ValueError.
    """
    text = str(text).strip()
    if len(text) > 100:
        raise ValueError("too long")
    if "/" in text:
        num, _, den = text.partition("/")
        value = float(num) / float(den) if float(den) != 0 else math.nan
    else:
        value = float(text)
    if not math.isfinite(value):
        raise ValueError("not finite")
    return value


class _Number(click.ParamType):
    """A real number, also written as a fraction such as 1/81."""

    name = "NUMBER"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        try:
            return _parse_number(value)
        except (ValueError, ZeroDivisionError, OverflowError):
            self.fail(f"{shown_repr(value)} is not a number: write a finite value such as 0.9 or 1/81 "
                      "(no zero denominators)", param, ctx)


class _NumberList(click.ParamType):
    """One number or a comma list (one value per run), fractions allowed."""

    name = "NUMBERS"

    def convert(self, value: Any, param: Any, ctx: Any) -> list[float]:
        if isinstance(value, list):
            return value
        try:
            values = [_parse_number(v) for v in str(value).split(",") if v.strip()]
        except (ValueError, ZeroDivisionError, OverflowError):
            self.fail(f"{shown_repr(value)} is not a number or a comma list of numbers: write finite "
                      "values such as 0.9,0.99 or 1/81 (no zero denominators)", param, ctx)
        if not values:
            self.fail("give at least one number", param, ctx)
        return values


NUMBER = _Number()
NUMBER_LIST = _NumberList()


def problem_options(func: Callable) -> Callable:
    """Add --problem and every problem's own options to a command."""
    options = [
        click.option("--problem", type=click.Choice(PROBLEMS), default="counterexample", show_default=True,
                     help="Which problem to run."),
        click.option("--n", type=int, default=None,
                     help="counterexample: number of components n (default 10)."),
        click.option("--a", type=NUMBER, default=None,
                     help="counterexample: parameter a > 0 (default 1/(n-1)^2, the paper's choice)."),
        click.option("--C", "C", type=NUMBER, default=None,
                     help="reddi-*: the large slope C (default 3 online, 10 stochastic)."),
        click.option("--period", type=int, default=None, help="reddi-online: period (default 3)."),
        click.option("--delta", type=NUMBER, default=None, help="reddi-stochastic: delta (default 0.1)."),
        click.option("--data", type=click.Path(dir_okay=False), default=None,
                     help="lsq/logistic: .npz file with X (N, d) and y (N,)."),
        click.option("--batch-size", type=int, default=None,
                     help="lsq/logistic: mini-batch size B; batch i is rows [iB, (i+1)B)."),
        click.option("--drop-last", is_flag=True, default=None,
                     help="lsq/logistic: drop the N mod B leftover rows (default: a shorter last batch)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def build_problem(problem: str, **opts: Any):
    """Instantiate the problem named ``problem`` from its CLI options."""
    from ..problems import (  # lazy: keeps numpy off `adamcheck phase --help`
        Counterexample,
        LeastSquares,
        LogisticRegression,
        ReddiOnline,
        ReddiStochastic,
        load_xy,
    )

    for key, owners in _OWNERS.items():
        if opts.get(key) is not None and problem not in owners:
            flag = "--" + key.replace("_", "-")
            raise InvalidParameterError(
                f"option {flag} applies to --problem {' or '.join(owners)}, not {problem}: drop it"
            )
    if problem == "counterexample":
        n = check_counterexample_n(COUNTEREXAMPLE_RUN_N if opts.get("n") is None else opts["n"])
        a = opts.get("a")
        return Counterexample(n=n, a=counterexample_default_a(n) if a is None else a)
    if problem == "reddi-online":
        return ReddiOnline(C=3.0 if opts.get("C") is None else opts["C"],
                           period=3 if opts.get("period") is None else opts["period"])
    if problem == "reddi-stochastic":
        return ReddiStochastic(C=10.0 if opts.get("C") is None else opts["C"],
                               delta=0.1 if opts.get("delta") is None else opts["delta"])
    if opts.get("data") is None:
        raise InvalidParameterError(f"--problem {problem} needs --data FILE.npz holding X and y")
    if opts.get("batch_size") is None:
        raise InvalidParameterError(f"--problem {problem} needs --batch-size B")
    X, y = load_xy(opts["data"])
    cls = LeastSquares if problem == "lsq" else LogisticRegression
    return cls(X, y, batch_size=opts["batch_size"], drop_last=bool(opts.get("drop_last")))

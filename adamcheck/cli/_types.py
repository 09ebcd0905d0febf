"""Argument types that refuse values the library cannot hold, naming the parameter.

click's ``int`` accepts a 400-digit number and ``float`` accepts ``nan`` and ``inf``;
both then fail deep inside NumPy (OverflowError, NaN grids). :func:`harden` swaps
every plain ``int``/``float`` option of a command for :class:`BoundedInt` /
:class:`FiniteFloat` when the command is loaded, so every command, present and
future, refuses them the same way without each option spelling it out. Messages
show at most 80 characters of the value given.
"""

from __future__ import annotations

import math
from typing import Any

import click

from .._shown import shown_repr

__all__ = ["BoundedInt", "FiniteFloat", "INT64", "SEED", "FINITE", "harden"]

#: The largest integer NumPy's int64 arrays (seeds, step counters) hold.
INT64_MAX = 2**63 - 1


class BoundedInt(click.ParamType):
    """A whole number in [low, high]; longer-than-int64 text is refused before parsing."""

    name = "integer"

    def __init__(self, low: int = -INT64_MAX - 1, high: int = INT64_MAX) -> None:
        self.low, self.high = low, high

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, bool):
            self.fail(f"{shown_repr(value)} is not a whole number", param, ctx)
        if isinstance(value, int):
            number = value
        else:
            text = str(value).strip().replace("_", "")
            if len(text.lstrip("+-")) > 40:  # int64 has 19 digits: no need to parse more
                self.fail(self._out_of_range(shown_repr(value), text.startswith("-")), param, ctx)
            try:
                number = int(text)
            except ValueError:
                self.fail(f"{shown_repr(value)} is not a whole number", param, ctx)
        if not self.low <= number <= self.high:
            self.fail(self._out_of_range(str(number), number < self.low), param, ctx)
        return number

    def _out_of_range(self, shown: str, below: bool) -> str:
        # name only the bound that was crossed: "between -9223372036854775808 and ..." read as
        # an invitation to give a negative batch size
        if below:
            return f"{shown} is too small: give a whole number of at least {self.low}"
        return f"{shown} is too large: give a whole number of at most {self.high}"

    def __repr__(self) -> str:
        return f"BoundedInt({self.low}, {self.high})"


class FiniteFloat(click.ParamType):
    """A finite real number (no nan, no inf, no overflow to inf such as 1e999)."""

    name = "float"

    def convert(self, value: Any, param: Any, ctx: Any) -> float:
        if isinstance(value, bool):
            self.fail(f"{shown_repr(value)} is not a number", param, ctx)
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            self.fail(f"{shown_repr(value)} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{shown_repr(value)} is not a finite number: give a finite number", param, ctx)
        return number

    def __repr__(self) -> str:
        return "FiniteFloat()"


INT64 = BoundedInt()
SEED = BoundedInt(0, INT64_MAX)
FINITE = FiniteFloat()


def harden(command: click.Command) -> click.Command:
    """Give every plain int/float parameter of ``command`` (and its subcommands) a bounded type.

    Seeds (parameters named ``seed``) must lie in [0, 2**63 - 1]; other integers in
    int64; floats must be finite. Returns ``command`` itself, changed in place.
    """
    for param in command.params:
        if param.type is click.INT or type(param.type) is click.types.IntParamType:
            param.type = SEED if param.name == "seed" else INT64
        elif param.type is click.FLOAT or type(param.type) is click.types.FloatParamType:
            param.type = FINITE
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            harden(sub)
    return command

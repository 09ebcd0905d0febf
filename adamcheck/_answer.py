"""The short answer every command prints first, and numbers for people.

:class:`Answer` is the one report object of ``adamcheck check``, ``adamcheck recommend``
and the training callbacks (as black's ``Report`` is black's): it holds the verdict
line, at most a few lines of reason and recommendation, and the diagnostics behind
them; it owns the exit code (:func:`adamcheck._diagnostics.exit_code`) and renders in
at most :data:`MAX_LINES` lines. The provenance and every rule are printed only on
request (``--explain``).

Numbers: :func:`beta_text` prints a beta with enough digits to tell it from 1
(0.99987 never prints as "1"), :func:`beta_texts` several betas with enough digits to
tell them apart.

Example:
    >>> from adamcheck._diagnostics import Diagnostic
    >>> a = Answer("Verdict: RISK (exit 1): beta1 = 0.9, beta2 = 0.5 at batch 1",
    ...            ["why: beta1 >= sqrt(beta2)"], (Diagnostic("risk", "r", "m", "s", axis="divergence"),))
    >>> a.exit_code, len(a.render().splitlines())
    (1, 2)
    >>> beta_text(0.99987), beta_text(0.95), beta_texts(0.9991, 0.999)
    ('0.99987', '0.95', ['0.9991', '0.999'])
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from ._diagnostics import Diagnostic, Level, exit_code, worst

__all__ = ["Answer", "MAX_LINES", "beta_text", "beta_texts", "count_text", "per_text", "sqrt_rule_text",
           "user_beta_text"]

#: The most lines the default (short) answer takes, title included.
MAX_LINES = 10
WIDTH = 100


def _decimals(x: float) -> int:
    gap = 1.0 - x
    if not (math.isfinite(gap) and gap > 0):
        return 6
    return max(1, math.ceil(-math.log10(gap) - 1e-12) + 1)


def _show(x: float, decimals: int) -> str:
    text = f"{x:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def beta_text(x: float | None) -> str:
    """``x`` with the gap 1 - x to two significant digits: enough to tell it from 1.

    Example:
        >>> beta_text(0.998001), beta_text(1 - 1 / 1500), beta_text(0.5), beta_text(None)
        ('0.998', '0.99933', '0.5', 'n/a')
    """
    if x is None:
        return "n/a"
    if not (0.0 <= x < 1.0):
        return f"{x:g}"
    return _show(x, _decimals(x))


def user_beta_text(x: float | None) -> str:
    """A beta the user gave, with the digits they typed: shortest round-trip text, at most
    10 significant digits (0.8101 prints as 0.8101, never as 0.81, the edge beta1^2 it
    is just above). Recommended values are rounded by :func:`beta_text` instead.

    Example:
        >>> user_beta_text(0.8101), user_beta_text(0.81), user_beta_text(0), user_beta_text(1 - 1 / 1500)
        ('0.8101', '0.81', '0', '0.9993333333')
    """
    if x is None:
        return "n/a"
    short = repr(float(x))
    short = short[:-2] if short.endswith(".0") else short
    if len(short.lstrip("-0.")) <= 10:
        return short
    cut = format(x, ".10g")
    return cut if float(cut) != 1.0 else beta_text(x)  # never print a beta below 1 as "1"


def sqrt_rule_text(beta1: float, beta2: float) -> str:
    """The message of the rule beta1 < sqrt(beta2) (Reddi et al. 2018; Zhang et al. 2022):
    the user's betas, sqrt(beta2) with the digits that tell it from beta1, and, when the
    rule fails, only the fixes that can be followed (with beta1 = 0 no lower beta1 exists).

    Example:
        >>> sqrt_rule_text(0.0, 0.0)
        'beta1 = 0 >= sqrt(beta2) = 0: outside every convergence theorem for Adam; raise beta2 above 0'
        >>> sqrt_rule_text(0.9, 0.8101)
        'beta1 = 0.9 < sqrt(beta2) = 0.9001'
    """
    root = math.sqrt(beta2)
    _, shown_root = _texts(beta1, root)
    if beta1 < root:
        return f"beta1 = {user_beta_text(beta1)} < sqrt(beta2) = {shown_root}"
    fix = f"raise beta2 above beta1^2 = {beta1 * beta1:.6g}"
    if beta1 > 0:
        fix = f"lower beta1 below {shown_root} or {fix}"
    else:
        fix = "raise beta2 above 0"
    return (f"beta1 = {user_beta_text(beta1)} >= sqrt(beta2) = {shown_root}: outside every convergence "
            f"theorem for Adam; {fix}")


def _texts(*values: float) -> list[str]:
    """Plain decimals (at least 4, as many as tell the values apart): sqrt(beta2) beside beta1."""
    decimals = 4
    while decimals < 12 and len({f"{v:.{decimals}f}" for v in values}) < len(set(values)):
        decimals += 1
    return [_show(v, decimals) if v == 0 else f"{v:.{decimals}f}" for v in values]


def beta_texts(*values: float) -> list[str]:
    """Several betas with one number of digits that tells distinct values apart.

    Example:
        >>> beta_texts(0.95, 0.9501)
        ['0.95', '0.9501']
    """
    if not values:
        return []
    decimals = max(_decimals(v) for v in values)
    distinct = len(set(values))
    while decimals < 12 and len({_show(v, decimals) for v in values}) < distinct:
        decimals += 1
    return [_show(v, decimals) for v in values]


def count_text(x: float) -> str:
    """A count for people: ``1,024``, ``3.15M``, ``0.5``."""
    if x >= 1e6:
        return f"{x / 1e6:.3g}M"
    return f"{x:,.0f}" if x >= 10 else f"{x:.3g}"


def steps_text(x: float) -> str:
    """A number of steps, rounded, for people: ``"1 step"``, ``"1,493 steps"``."""
    return f"{x:,.0f} step" + ("" if round(x) == 1 else "s")


def per_text(x: float, unit: str) -> str:
    """``"1 token"``, ``"4,096 tokens"``."""
    return f"{count_text(x)} {unit[:-1] if x == 1 else unit}"


@dataclass
class Answer:
    """The short answer: a verdict line, a few labelled lines, the diagnostics behind them.

    Attributes:
        verdict: the first line after the title, e.g. ``Verdict: OK (exit 0): ...``.
        lines: the reason, the lens that decided, the advice and the recommendation,
            most important first; each wraps to at most two lines (a ``(text, n)`` pair:
            at most n lines).
        diagnostics: what decides :attr:`level` and :attr:`exit_code`.
        title: what was checked (``adamcheck check: FILE [format]``), or ``""``.
        hint: the last line, e.g. how to see every rule.
    """

    verdict: str
    lines: list[Any] = field(default_factory=list)
    diagnostics: Sequence[Diagnostic] = ()
    title: str = ""
    hint: str = ""
    #: indentation of the lines under the verdict
    indent: str = "  "

    @property
    def level(self) -> Level:
        return worst(self.diagnostics)

    @property
    def exit_code(self) -> int:
        return exit_code(self.diagnostics)

    def render(self, width: int = WIDTH, max_lines: int = MAX_LINES) -> str:
        """At most ``max_lines`` lines of at most ``width`` columns: every line in full where
        they fit, else each cut to its own most lines, and later lines dropped first."""
        head = [_clip_middle(self.title, width)] if self.title else []
        head += _wrapped(self.verdict, width, "", "  ", 2)
        tail = _wrapped(self.hint, width, self.indent, self.indent + "  ", 1) if self.hint else []
        room = max_lines - len(head) - len(tail)
        # every line in full where they all fit: a line is cut (at its last whole clause, the
        # rest under --explain) only when the answer would otherwise pass max_lines
        full = [_wrapped(line[0] if isinstance(line, tuple) else line, width, self.indent,
                         self.indent + "  ", max_lines) for line in self.lines]
        if sum(len(block) for block in full) <= room:
            return "\n".join(head + [x for block in full for x in block] + tail)
        body: list[str] = []
        for line in self.lines:
            text, most = line if isinstance(line, tuple) else (line, 2)
            block = _wrapped(text, width, self.indent, self.indent + "  ", most)
            if len(body) + len(block) > room:
                break
            body += block
        return "\n".join(head + body + tail)

    def texts(self) -> list[str]:
        """The lines' texts (for ``--json``), without wrapping."""
        return [line[0] if isinstance(line, tuple) else line for line in self.lines]

    def __str__(self) -> str:
        return self.render()


def _clip(line: str, width: int) -> str:
    return line if len(line) <= width else line[: width - 3].rstrip() + "..."


def _clip_middle(line: str, width: int, keep_start: int = 30) -> str:
    """Cut a long title in its middle: its start (what was run) and its end (the file's
    name and format) are what tell one file from another."""
    if len(line) <= width:
        return line
    start = min(keep_start, width // 3)
    return line[:start] + "..." + line[len(line) - (width - start - 3):]


def _wrapped(text: str, width: int, first: str, rest: str, most: int) -> list[str]:
    lines = textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest,
                          break_long_words=False, break_on_hyphens=False) or [first.rstrip()]
    lines = [_clip(line, width) for line in lines]
    if len(lines) > most:
        return _shortened(text, width, first, rest, most)
    return lines


def _shortened(text: str, width: int, first: str, rest: str, most: int) -> list[str]:
    """``text`` cut to ``most`` lines at its last whole clause (``;``) that fits, else at a
    whole word, marked with "..." (the full text is under --explain and in --json)."""
    def fits(candidate: str) -> list[str] | None:
        lines = textwrap.wrap(candidate, width, initial_indent=first, subsequent_indent=rest,
                              break_long_words=False, break_on_hyphens=False)
        return lines if len(lines) <= most and all(len(x) <= width for x in lines) else None

    clauses = text.split("; ")
    for n in range(len(clauses) - 1, 0, -1):
        got = fits("; ".join(clauses[:n]) + "; ...")
        if got:
            return got
    words = text.split(" ")
    for n in range(len(words) - 1, 0, -1):
        got = fits(" ".join(words[:n]).rstrip(",;:(") + " ...")
        if got:
            return got
    return [_clip(first + text, width)]


def join_reasons(parts: Iterable[str]) -> str:
    """``"a; b; c"`` without empty parts."""
    return "; ".join(p for p in parts if p)

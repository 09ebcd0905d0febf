"""One vocabulary for what adamcheck tells people: levels, diagnostics, exit codes.

``adamcheck check``, ``adamcheck recommend`` and the training monitor all speak in
:class:`Diagnostic` records at a :class:`Level`, so a RISK means the same thing
everywhere: *this run is likely to fail* (diverge, go NaN, end above its starting
loss, collapse). Evidence that a value only trains *worse* is :attr:`Level.ADVICE`.

Each diagnostic also names its **axis**:

* ``"divergence"``: will the run fail? Only this axis may carry :attr:`Level.RISK`.
* ``"efficiency"``: will it train as well as it could (the half-life rule, a memory
  longer than the run, a value that trained but worse)? At most :attr:`Level.ADVICE`.
* ``"input"``: the configuration itself is unusable or unknown (errors, not checked).

and the **lens** that decided it (see :mod:`adamcheck._measurement` for the
precedence of lenses).

Exit codes (black's convention): 0 fine or advice only, 1 a risk was found, 2 an
error in the input.

Example:
    >>> d = Diagnostic(Level.RISK, "beta1_below_sqrt_beta2", "beta1 = 0.99 >= sqrt(0.9)",
    ...                "Zhang et al. 2026, Thm 2.2", axis="divergence")
    >>> d.level == "risk", str(d.level), d.level.label, exit_code([d])
    (True, 'risk', 'RISK', 1)
    >>> Diagnostic("advice", "half_life", "x", "y", axis="efficiency").level is Level.ADVICE
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any, Iterable, Mapping

from ._errors import InvalidParameterError

__all__ = ["AXES", "Diagnostic", "Level", "exit_code", "text_line", "worst"]

#: The axes a diagnostic can speak for (module docstring).
AXES = ("divergence", "efficiency", "input", "")


class Level(str, Enum):
    """How serious a diagnostic is; compares equal to its lower-case string value."""

    ERROR = "error"
    RISK = "risk"
    ADVICE = "advice"
    NOT_CHECKED = "not_checked"
    OK = "ok"

    def __str__(self) -> str:
        return self.value

    @property
    def label(self) -> str:
        """Upper-case label for people (``RISK``, ``NOT CHECKED``, ``ok``)."""
        return "ok" if self is Level.OK else self.value.replace("_", " ").upper()

    @property
    def word(self) -> str:
        """The word a text line of this level starts with (``warning: ...``): ``error``,
        ``risk``, ``warning`` for advice, ``note`` for not checked and ok, as every command prints."""
        return _WORD[self]

    @property
    def rank(self) -> int:
        """0 for the most serious (error) to 4 (ok): sort diagnostics by it."""
        return _RANK[self]

    @property
    def exit_code(self) -> int:
        """The exit code this level alone would give: 2 error, 1 risk, else 0."""
        return 2 if self is Level.ERROR else 1 if self is Level.RISK else 0


_WORD = {Level.ERROR: "error", Level.RISK: "risk", Level.ADVICE: "warning", Level.NOT_CHECKED: "note",
         Level.OK: "note"}
_RANK = {Level.ERROR: 0, Level.RISK: 1, Level.ADVICE: 2, Level.NOT_CHECKED: 3, Level.OK: 4}


@dataclass(frozen=True)
class Diagnostic:
    """One outcome of one rule.

    Attributes:
        level: a :class:`Level` (a plain string such as ``"risk"`` is converted).
        rule: the rule's name (``lower_edge``, ``eps_precision``, ``beta2_below_critical``...).
        message: one paragraph for people: what was found, then what to change.
        source: the theorem, paper or measurement the rule rests on.
        axis: ``"divergence"``, ``"efficiency"``, ``"input"`` or ``""`` (module docstring).
        lens: which lens decided it (``"monitor"``, ``"probe"``, ``"gradients"``,
            ``"evidence"``, ``"theory"``, ``"practice"``) or ``""``.

    Raises:
        InvalidParameterError: an unknown level or axis, or RISK on the efficiency axis.
    """

    level: Level
    rule: str
    message: str
    source: str
    axis: str = ""
    lens: str = ""

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "level", Level(self.level))
        except ValueError:
            raise InvalidParameterError(
                f"level {self.level!r} is not one of {[lv.value for lv in Level]}"
            ) from None
        if self.axis not in AXES:
            raise InvalidParameterError(f"axis {self.axis!r} is not one of {list(AXES)}")
        if self.level is Level.RISK and self.axis == "efficiency":
            raise InvalidParameterError(
                f"rule {self.rule!r}: a finding on the efficiency axis is advice, never a risk"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``level``, ``rule``, ``message``, ``source`` (and ``axis``, ``lens`` when set)."""
        out: dict[str, Any] = {"level": self.level.value, "rule": self.rule, "message": self.message,
                               "source": self.source}
        if self.axis:
            out["axis"] = self.axis
        if self.lens:
            out["lens"] = self.lens
        return out


def text_line(diagnostic: Diagnostic | Mapping[str, Any]) -> str:
    """One diagnostic (or its ``to_dict()`` form) as the text line every command prints:
    its level's :attr:`Level.word`, then the message.

    Example:
        >>> text_line(Diagnostic("advice", "learning_rate", "lr not stated", "x"))
        'warning: lr not stated'
        >>> text_line({"level": "ok", "rule": "gradient_file", "message": "64 examples", "source": ""})
        'note: 64 examples'
    """
    if isinstance(diagnostic, Diagnostic):
        level, message = diagnostic.level, diagnostic.message
    else:
        level, message = Level(diagnostic["level"]), diagnostic["message"]
    return f"{level.word}: {message}"


def worst(diagnostics: Iterable[Diagnostic]) -> Level:
    """The most serious level among ``diagnostics`` (:attr:`Level.OK` when there are none).

    Example:
        >>> worst([Diagnostic("ok", "a", "", ""), Diagnostic("advice", "b", "", "")])
        <Level.ADVICE: 'advice'>
    """
    return min((d.level for d in diagnostics), key=lambda lv: lv.rank, default=Level.OK)


def exit_code(diagnostics: Iterable[Diagnostic]) -> int:
    """2 if any error, else 1 if any risk, else 0 (advice, not checked and ok)."""
    return worst(diagnostics).exit_code

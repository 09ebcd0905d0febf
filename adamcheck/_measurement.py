"""What the user's own measurements say about beta2, and which lens wins.

A verdict on (beta1, beta2) at a batch size can come from several lenses. They are
ranked, most specific first (:data:`PRECEDENCE`):

1. ``monitor``: the run's own :class:`~adamcheck.torch.GradientMonitor` (its report or
   its saved file), measured on the path this run actually takes;
2. ``probe``: short real runs from the user's model over a beta2 ladder at the user's
   batch (:func:`adamcheck.torch.probe`);
3. ``gradients``: the training boundary on a sampled-gradient file, only where it
   decided (a lens that cannot tell abstains and is skipped);
4. ``evidence``: published outcomes whose conditions match the user's;
5. ``theory``: the papers' conditions (beta1 < sqrt(beta2)).

A :class:`Measurement` records, for one lens at one batch size and beta1, which beta2
values **failed** (diverged, NaN, ended above the start, collapsed) and which
**trained**. :func:`judge` walks the lenses in order and returns the first that decides
the user's beta2, so the user's measurements override generic evidence in both
directions (raise beta2, or clear a value the evidence would flag), and the answer can
say which lens decided.

**Transfer between batch sizes and beta1** (the same dominance the evidence table uses,
Zhang et al. 2026, section 2: smaller batches need a larger beta2, and the threshold
rises with beta1): a failure at batch F and beta1 b1 also counts at every batch <= F and
every beta1 >= b1; a success at batch S and beta1 b1 also counts at every batch >= S and
beta1 <= b1. Within one lens, beta2 below the largest failed value fails and beta2 at or
above the smallest trained value above it trains; between them the lens cannot tell.

Example:
    >>> m = Measurement.from_critical("gradients", batch_size=4, beta1=0.9, beta2_critical=0.95,
    ...                               ladder=(0.5, 0.9, 0.95, 0.99), reason="update growth")
    >>> m.failed, m.trained
    ((0.5, 0.9), (0.95, 0.99))
    >>> m.outcome(0.9), m.outcome(0.97), m.outcome(0.92)       # beta2* = 0.95 claims the gap below it
    ('fails', 'trains', 'fails')
    >>> j = judge([m], 0.9, batch_size=4, beta1=0.9)
    >>> j.outcome, j.lens
    ('fails', 'gradients')
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from ._errors import InvalidParameterError

__all__ = ["FLOORS", "LENSES", "PRECEDENCE", "Judgement", "Measurement", "judge"]

#: Lenses from the most to the least specific (module docstring).
PRECEDENCE = ("monitor", "probe", "gradients", "evidence", "theory")
LENSES = frozenset(PRECEDENCE)
#: Lenses whose failures no measurement clears: beta1 >= sqrt(beta2) is a mechanism (Reddi et
#: al.'s counterexamples diverge there for any batch), not a threshold a run can measure past.
#: A run that trained there once was lucky with its problem; the next change of data or scale
#: is not covered by any theorem. Found by a fresh-user trial: a monitor file of a run that
#: diverged at beta2 0.5 cleared beta2 0.8 < beta1^2 = 0.81, and check said OK.
FLOORS = ("theory",)
_OUTCOMES = ("fails", "trains", "cannot_tell")
_TOL = 1e-12


def _betas(values: Iterable[float], name: str) -> tuple[float, ...]:
    out = []
    for v in values:
        x = float(v)
        if not (0.0 <= x < 1.0) or math.isnan(x):
            raise InvalidParameterError(f"{name} holds {v!r}: beta2 values must lie in [0, 1)")
        out.append(x)
    return tuple(sorted(set(out)))


@dataclass(frozen=True)
class Measurement:
    """One lens's outcomes over beta2 at one batch size and beta1.

    Attributes:
        lens: one of :data:`PRECEDENCE`.
        batch_size: samples per optimizer step the measurement was made at.
        beta1: the beta1 it was made with.
        failed: beta2 values that failed, sorted.
        trained: beta2 values that trained, sorted.
        reason: one line for people (the mechanism, or why the lens cannot tell).
        source: where it comes from (file, run, paper).
        decided: False when the lens abstains ("cannot tell from this input"); then
            ``failed`` and ``trained`` are empty and ``reason`` says why.
        critical: a threshold the lens computed, beta2* (None: none): every beta2 below it
            fails, also between the values it tried (a lens that states beta2* claims the
            gap below it; the monitor warns on exactly that claim).
        detail: extra numbers for ``--json`` (never read by the decision).

    Raises:
        InvalidParameterError: unknown lens, batch size below 1, values outside [0, 1),
            or a value listed as both failed and trained.
    """

    lens: str
    batch_size: int
    beta1: float
    failed: tuple[float, ...] = ()
    trained: tuple[float, ...] = ()
    reason: str = ""
    source: str = ""
    decided: bool = True
    critical: float | None = None
    detail: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.lens not in LENSES:
            raise InvalidParameterError(f"lens {self.lens!r} is not one of {list(PRECEDENCE)}")
        if int(self.batch_size) != self.batch_size or self.batch_size < 1:
            raise InvalidParameterError(f"batch_size = {self.batch_size!r} must be a positive integer")
        failed = _betas(self.failed, "failed")
        trained = _betas(self.trained, "trained")
        both = set(failed) & set(trained)
        if both:
            raise InvalidParameterError(f"beta2 = {min(both):g} is listed both as failed and as trained")
        object.__setattr__(self, "failed", failed)
        object.__setattr__(self, "trained", trained)
        if not self.decided and (failed or trained or self.critical is not None):
            raise InvalidParameterError("a measurement that abstains (decided=False) lists no outcomes")
        if self.critical is not None:
            c = float(self.critical)
            if not (0.0 <= c <= 1.0) or any(b >= c for b in failed) or any(b < c for b in trained):
                raise InvalidParameterError(
                    f"critical = {self.critical!r} must lie in [0, 1], above every failed and at or below every "
                    "trained beta2")
            object.__setattr__(self, "critical", c)

    @classmethod
    def from_critical(
        cls, lens: str, *, batch_size: int, beta1: float, beta2_critical: float | None,
        ladder: Sequence[float], reason: str = "", source: str = "",
    ) -> "Measurement":
        """From a threshold beta2* on a ladder: values below it fail (also between the ladder's
        values: ``critical``), the ladder's values at or above it trained.

        ``beta2_critical`` None means the lens cannot tell (an abstention, with ``reason``).
        """
        if beta2_critical is None:
            return cls(lens, batch_size, beta1, reason=reason, source=source, decided=False)
        ladder = _betas(ladder, "ladder")
        return cls(lens, batch_size, beta1,
                   failed=tuple(b for b in ladder if b < beta2_critical - _TOL),
                   trained=tuple(b for b in ladder if b >= beta2_critical - _TOL),
                   reason=reason, source=source, critical=float(beta2_critical))

    @property
    def edge(self) -> float | None:
        """The largest failed beta2 (None when nothing failed)."""
        return self.failed[-1] if self.failed else None

    @property
    def clear(self) -> float | None:
        """The smallest trained beta2 above every failure and at or above ``critical`` (None when none)."""
        edge = self.edge
        above = [b for b in self.trained if (edge is None or b > edge)
                 and (self.critical is None or b >= self.critical - _TOL)]
        return above[0] if above else None

    def outcome(self, beta2: float) -> str:
        """``"fails"``, ``"trains"`` or ``"cannot_tell"`` for ``beta2`` at this batch and beta1."""
        if not self.decided:
            return "cannot_tell"
        edge, clear = self.edge, self.clear
        if edge is not None and beta2 <= edge + _TOL:
            return "fails"
        if self.critical is not None and beta2 < self.critical - _TOL:
            return "fails"
        if clear is not None and beta2 >= clear - _TOL:
            return "trains"
        return "cannot_tell"

    def applies(self, batch_size: float, beta1: float, outcome: str) -> bool:
        """Whether this measurement's ``outcome`` transfers to (batch_size, beta1) (module docstring)."""
        if outcome == "fails":
            return batch_size <= self.batch_size and beta1 >= self.beta1 - _TOL
        if outcome == "trains":
            return batch_size >= self.batch_size and beta1 <= self.beta1 + _TOL
        return False

    def to_dict(self) -> dict[str, Any]:
        return {"lens": self.lens, "batch_size": {"value": self.batch_size, "unit": "samples"},
                "beta1": self.beta1, "failed": list(self.failed), "trained": list(self.trained),
                "decided": self.decided, "critical": self.critical, "reason": self.reason, "source": self.source,
                "detail": dict(self.detail)}


@dataclass(frozen=True)
class Judgement:
    """What :func:`judge` found: the ``outcome`` for the user's beta2, the ``lens`` that
    decided (``""`` when none did) and that lens's :class:`Measurement` (None when none),
    plus the lenses that could not tell, with their reasons (those that decided nothing, and
    those that measured this batch and beta1 but leave this beta2 between their failed and
    trained values), and the ``floor`` that agrees with a measured failure (None when none)."""

    outcome: str
    lens: str
    measurement: Measurement | None
    abstained: tuple[Measurement, ...] = ()
    #: a floor (:data:`FLOORS`) that also says this beta2 fails, where a measured lens decided
    #: the failure (the answer names the lens that measured it and says the floor agrees)
    floor: Measurement | None = None

    @property
    def decided(self) -> bool:
        return self.outcome != "cannot_tell"


#: the lenses that measured the user's own run or problem
_OWN = ("monitor", "probe", "gradients")


def _between(m: Measurement, beta2: float, batch_size: float, beta1: float) -> bool:
    """A lens that measured this very run (batch and beta1) but leaves ``beta2`` between its
    failed and trained values: it cannot tell this value, and the answer should say so."""
    return (m.decided and abs(m.batch_size - batch_size) <= _TOL * max(1.0, batch_size)
            and abs(m.beta1 - beta1) <= _TOL and m.outcome(beta2) == "cannot_tell")


def judge(measurements: Iterable[Measurement], beta2: float, *, batch_size: float, beta1: float) -> Judgement:
    """The first lens in :data:`PRECEDENCE` that decides ``beta2`` at (batch_size, beta1).

    Within a lens, a failure that applies wins over a success (the conservative side).
    A failure of a lens in :data:`FLOORS` (the theory's beta1 >= sqrt(beta2)) wins over
    every measurement that says "trains" or cannot tell; where a lens above it measured the
    failure too, that lens is credited (the strongest evidence of the failure is the
    measurement) and the floor is kept as ``floor``, agreeing.

    Example:
        >>> mon = Measurement("monitor", 32, 0.9, trained=(0.95,), reason="the run trained")
        >>> ev = Measurement("evidence", 64, 0.9, failed=(0.95,), reason="published failure")
        >>> judge([ev, mon], 0.95, batch_size=32, beta1=0.9).lens
        'monitor'
        >>> theory = Measurement("theory", 1, 0.9, failed=(0.81,))                  # beta1^2
        >>> blew_up = Measurement("monitor", 1, 0.9, failed=(0.5,), reason="the loss blew up")
        >>> j = judge([theory, blew_up], 0.5, batch_size=1, beta1=0.9)
        >>> j.lens, j.floor.lens                      # the run measured it; the theory agrees
        ('monitor', 'theory')
        >>> ran = Measurement("monitor", 1, 0.9, trained=(0.5,), reason="the run trained")
        >>> judge([theory, ran, Measurement("evidence", 1, 0.9, failed=(0.5,))], 0.5, batch_size=1, beta1=0.9).lens
        'theory'
    """
    ms = list(measurements)
    abstained = tuple(m for m in ms if not m.decided)
    floor = next((m for lens in FLOORS for m in ms if m.lens == lens and m.outcome(beta2) == "fails"
                  and m.applies(batch_size, beta1, "fails")), None)
    if floor is not None:
        # no measurement clears a floor; the first lens in precedence that decides this cell is
        # credited when it measured the failure (a higher lens that saw the run train leaves
        # the credit to the floor: a lower lens's failure is then not the strongest evidence)
        for lens in PRECEDENCE:
            if lens in FLOORS:
                continue
            mine = [m for m in ms if m.lens == lens]
            failed = next((m for m in mine if m.outcome(beta2) == "fails"
                           and m.applies(batch_size, beta1, "fails")), None)
            if failed is not None:
                return Judgement("fails", lens, failed, abstained, floor)
            if any(m.outcome(beta2) == "trains" and m.applies(batch_size, beta1, "trains") for m in mine):
                break
        return Judgement("fails", floor.lens, floor, abstained)
    for lens in PRECEDENCE:
        found: dict[str, Measurement] = {}
        for m in ms:
            if m.lens != lens:
                continue
            out = m.outcome(beta2)
            if out != "cannot_tell" and m.applies(batch_size, beta1, out):
                found.setdefault(out, m)
        for out in ("fails", "trains"):
            if out in found:
                return Judgement(out, lens, found[out], abstained)
    between = tuple(m for m in ms if m.lens in _OWN and _between(m, beta2, batch_size, beta1))
    return Judgement("cannot_tell", "", None, abstained + between)

"""The report ``adamcheck check`` prints and ``check_*`` functions return.

``CheckReport.to_dict()`` is the ``--json`` output; its schema is documented in
:mod:`adamcheck.configs` and versioned by the ``schema`` key.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

from .._answer import Answer
from .._diagnostics import Diagnostic, Level, exit_code
from .._halflife import BetaReference
from ..recommend._verdict import answer_lines
from ._batch import EffectiveBatch
from ._rules import Finding
from ._setup import SETUP_FIELDS, TrainingSetup

if TYPE_CHECKING:  # annotation only: the report module stays light
    from ..recommend._verdict import Verdict

__all__ = ["CheckReport", "SCHEMA"]

SCHEMA = "adamcheck.check/2"
_SRC_READ = "adamcheck's configuration readers (what the files state, and what they leave out)"
_SRC_BATCH = "effective batch = micro batch x gradient accumulation x data-parallel size"
#: The flag that shows the provenance and every rule (the same in ``check`` and ``recommend``).
EXPLAIN_FLAG = "--explain"


@dataclass
class CheckReport:
    """Outcome of checking one training setup.

    Attributes:
        setup: what was read, with provenance.
        batch: the effective batch and how it was computed.
        findings: one or more :class:`~adamcheck.configs.Finding` per rule.
        planned_steps / planned_steps_how: optimizer steps the run plans, and how known.
        reference / reference_seq_len: the half-life rule's reference.
        param_groups: for :func:`check_optimizer`, the groups read from the optimizer.
        recommendation: ``to_dict()`` of the recommendation, when one was computed.
        verdict: the two-sided verdict shared with ``adamcheck recommend``.
    """

    setup: TrainingSetup
    batch: EffectiveBatch
    findings: list[Finding]
    reference: BetaReference
    reference_seq_len: int | None = None
    planned_steps: int | None = None
    planned_steps_how: str = ""
    param_groups: list[dict[str, Any]] | None = None
    recommendation: dict[str, Any] | None = None
    extra_warnings: list[str] = field(default_factory=list)
    #: :class:`adamcheck.recommend._verdict.Verdict` on the betas (None when unknown).
    verdict: "Verdict | None" = None

    #: your kind of training (None: not known) and how it was found
    domain: str | None = None
    domain_how: str = ""

    @property
    def exit_code(self) -> int:
        """2 if any error, else 1 if any risk, else 0 (advice only or fine)."""
        return exit_code(self.findings)

    @property
    def warnings(self) -> list[str]:
        """What a person should read about the input: unknown keys, assumptions, overrides."""
        return list(self.setup.warnings) + list(self.batch.assumptions) + list(self.extra_warnings)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        """:attr:`warnings` (advice on the input) and the setup's notes (ok: facts such as
        Megatron's batch ramp-up) as :class:`~adamcheck._diagnostics.Diagnostic` records,
        in the order they are printed; the rules' outcomes are :attr:`findings`."""
        said = [(w, "config") for w in self.setup.warnings]
        said += [(w, "effective_batch") for w in self.batch.assumptions]
        said += [(w, "config") for w in self.extra_warnings]
        out = [Diagnostic(Level.ADVICE, rule, w, _SRC_READ if rule == "config" else _SRC_BATCH, "input")
               for w, rule in said]
        return out + [Diagnostic(Level.OK, "config", n, _SRC_READ, "input") for n in self.setup.notes]

    def by_level(self, level: str) -> list[Finding]:
        return [f for f in self.findings if f.level == level]

    def to_dict(self) -> dict[str, Any]:
        s = self.setup
        return {
            "schema": SCHEMA,
            "format": s.format,
            "files": list(s.files),
            "optimizer": s.get("optimizer"),
            "beta1": s.get("beta1"),
            "beta2": s.get("beta2"),
            "eps": s.get("eps"),
            "fields": s.to_dict(),
            "unresolved": dict(s.unresolved),
            "effective_batch": self.batch.to_dict(),
            "planned_steps": {"value": self.planned_steps, "how": self.planned_steps_how},
            "reference": {
                "beta2": self.reference.beta2,
                "batch_size": self.reference.batch_size,
                "seq_len": self.reference_seq_len or self.reference.seq_len,
                "unit": self.reference.unit,
                "source": self.reference.source,
            },
            "verdict": None if self.verdict is None else self.verdict.to_dict(),
            "findings": [f.to_dict() for f in sorted(self.findings, key=lambda f: f.level.rank)],
            "diagnostics": [d.to_dict() for d in self.diagnostics],
            "param_groups": self.param_groups,
            "recommendation": self.recommendation,
            "exit_code": self.exit_code,
            "domain": {"value": self.domain, "how": self.domain_how},
            "answer": {"verdict": self.answer().verdict, "lines": self.answer().texts()},
        }

    def answer(self) -> Answer:
        """The short answer (at most 10 lines): the verdict, the one reason, the recommendation."""
        s = self.setup
        title = f"adamcheck check: {', '.join(s.files) or _values_origin(s)} [{s.format}]"
        errors = self.by_level("error")
        hint = f"({EXPLAIN_FLAG}: what was read, the effective batch, every rule and its source"
        extra = len(self.warnings) + len(s.notes)
        hint += f"; warnings and notes: {extra})" if extra else ")"
        # what the reader says about the file itself (a name the program ignores, a value a
        # flag overrides, a file not read) changes what the verdict is about: one line each,
        # always shown (the full text under --explain)
        said = _said(list(s.warnings) + list(self.extra_warnings), s.files)
        if errors:
            first = errors[0]
            lines = [f"error: {f.message}" for f in errors[1:3]] + said
            return Answer(f"Verdict: ERROR (exit 2): {first.message}", lines, self.findings, title, hint)
        v = self.verdict
        if v is None:  # only what needs neither the betas nor the batch (eps) was judged
            eps = [(f"eps: {f.message}", 3) for f in self.findings if f.rule in ("eps_precision", "eps_vs_grad")]
            return Answer(f"Verdict: {self._label()} (exit {self.exit_code}): eps only (the batch size and betas "
                          "were not given)", said + eps, self.findings, title, hint)
        head, lines = answer_lines(v, self.findings, self.recommendation)
        if self.batch.assumptions:
            # an assumed size changes B and so the whole answer: say it up front, not behind a count
            lines.insert(min(1, len(lines)), ("assumed: " + "; ".join(self.batch.assumptions), 2))
        at = min(2 if self.batch.assumptions else 1, len(lines))
        lines[at:at] = said
        return Answer(f"Verdict: {self._label()} (exit {self.exit_code}): {head}", lines, self.findings, title, hint)

    def _label(self) -> str:
        level = min((f.level for f in self.findings), key=lambda lv: lv.rank, default=Level.OK)
        return {Level.ERROR: "ERROR", Level.RISK: "RISK"}.get(level, "OK")

    def render(self, width: int = 100, explain: bool = False) -> str:
        """The report for people: the short answer (at most 10 lines); with ``explain``,
        then what was read from where, the batch computation, and every rule's finding
        (errors and risks first) with its source."""
        short = self.answer().render(width)
        if not explain:
            return short
        s = self.setup
        lines = short.splitlines()[:-1]  # the hint names the flag that is already on
        lines += ["", _wrap(f"Domain: {self.domain_how or 'not known'}", width, "", "  ")]
        lines += ["", "Read:"]
        for name in SETUP_FIELDS:
            item = getattr(s, name)
            if item is not None:
                value = f"{item.value:g}" if isinstance(item.value, float) else str(item.value)
                lines.append(_wrap(f"{name:<14} {value:<12} {item.source}", width, "  ", " " * 30))
            elif name in s.unresolved:
                lines.append(_wrap(f"{name:<14} {'?':<12} {s.unresolved[name]}", width, "  ", " " * 30))
        if self.param_groups:
            lines.append("  param groups:")
            for group in self.param_groups:
                lines.append("    " + ", ".join(f"{k} {v}" for k, v in group.items()))
        lines += ["", "Effective batch:"]
        lines += [_wrap(step, width, "  ", "    ") for step in self.batch.computation] or ["  (unknown)"]
        steps = "unknown" if self.planned_steps is None else f"{self.planned_steps:,}"
        lines += ["", _wrap(f"Planned steps: {steps} ({self.planned_steps_how})", width, "", "  ")]
        lines += ["", "Findings (axis: divergence = will it fail; efficiency = will it train well):"]
        for f in sorted(self.findings, key=lambda f: f.level.rank):
            axis = f" [{f.axis}{', ' + f.lens if f.lens else ''}]" if f.axis else ""
            lines.append(_wrap(f"{f.level.label:<12}{f.rule}{axis}: {f.message}", width, "  ", " " * 14))
            if f.level in (Level.ERROR, Level.RISK, Level.ADVICE):
                lines.append(_wrap(f"source: {f.source}", width, " " * 14, " " * 16))
        notes = list(s.notes)
        if self.warnings or notes:
            lines += ["", "Warnings and notes:"]
            lines += [_wrap(f"- {w}", width, "  ", "    ") for w in self.warnings + notes]
        counts = [f"{len(self.by_level(level))} {level.replace('_', ' ')}" for level in ("error", "risk", "advice", "not_checked")]
        lines += ["", f"Result: {', '.join(counts)} -> exit {self.exit_code}"]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render()


#: how many of the reader's warnings the short answer prints in full (the rest are counted;
#: all are under --explain): adamcheck's choice, to leave room for the recommendation
SHORT_WARNINGS = 2


def _said(warnings: list[str], files: Sequence[str]) -> list[tuple[str, int]]:
    """The reader's warnings as short-answer lines: the file's name is dropped where the
    title already names that one file; at most :data:`SHORT_WARNINGS`, then a count."""
    def short(w: str) -> str:
        return w[len(files[0]) + 2:] if len(files) == 1 and w.startswith(f"{files[0]}: ") else w

    word = Level.ADVICE.word  # the one labelling of every command (adamcheck._diagnostics)
    lines = [(f"{word}: {short(w)}", 2) for w in warnings[:SHORT_WARNINGS]]
    if len(warnings) > SHORT_WARNINGS:
        lines.append((f"{word}: {len(warnings) - SHORT_WARNINGS} more about the file (--explain)", 1))
    return lines


def _wrap(text: str, width: int, first: str, rest: str) -> str:
    return textwrap.fill(text, width=width, initial_indent=first, subsequent_indent=rest, break_long_words=False, break_on_hyphens=False)


def _values_origin(setup: TrainingSetup) -> str:
    """Title of a check without configuration files: the gradient file its values came from,
    when a monitor file stated them, else the values typed."""
    for name in ("global_batch", "beta1", "beta2"):
        item = getattr(setup, name, None)
        source = getattr(item, "source", "") or ""
        if source.startswith("gradient file "):
            return f"(values from {source[len('gradient file '):]})"
    return "(bare values)"

"""The report ``adamcheck check`` prints and ``check_*`` functions return.

``CheckReport.to_dict()`` is the ``--json`` output; its schema is documented in
:mod:`adamcheck.configs` and versioned by the ``schema`` key.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from typing import Any

from .._halflife import BetaReference
from ._batch import EffectiveBatch
from ._rules import Finding
from ._setup import SETUP_FIELDS, TrainingSetup

__all__ = ["CheckReport", "SCHEMA"]

SCHEMA = "adamcheck.check/1"
_ORDER = {"error": 0, "risk": 1, "advice": 2, "not_checked": 3, "ok": 4}
_LABEL = {"error": "ERROR", "risk": "RISK", "advice": "ADVICE", "not_checked": "NOT CHECKED", "ok": "ok"}


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
    verdict: Any = None

    @property
    def exit_code(self) -> int:
        """2 if any error, else 1 if any risk, else 0 (advice only or fine)."""
        levels = {f.level for f in self.findings}
        if "error" in levels:
            return 2
        if "risk" in levels:
            return 1
        return 0

    @property
    def warnings(self) -> list[str]:
        return list(self.setup.warnings) + list(self.batch.assumptions) + list(self.extra_warnings)

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
            "findings": [f.to_dict() for f in sorted(self.findings, key=lambda f: _ORDER[f.level])],
            "warnings": self.warnings,
            "notes": list(s.notes),
            "param_groups": self.param_groups,
            "recommendation": self.recommendation,
            "exit_code": self.exit_code,
        }

    def render(self, width: int = 100) -> str:
        """The report for people: what was read from where, the batch computation,
        then findings (errors and risks first) with the rule and its source."""
        s = self.setup
        lines = [_wrap(f"adamcheck check: {', '.join(s.files) or '(bare values)'} [{s.format}]", width, "", "  ")]
        lines += self._answer(width)
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
        lines += ["", "Findings:"]
        for f in sorted(self.findings, key=lambda f: _ORDER[f.level]):
            label = _LABEL[f.level]
            lines.append(_wrap(f"{label:<12}{f.rule}: {f.message}", width, "  ", " " * 14))
            if f.level in ("error", "risk", "advice"):
                lines.append(_wrap(f"source: {f.source}", width, " " * 14, " " * 16))
        notes = list(s.notes)
        if self.warnings or notes:
            lines += ["", "Warnings and notes:"]
            lines += [_wrap(f"- {w}", width, "  ", "    ") for w in self.warnings + notes]
        counts = [f"{len(self.by_level(level))} {level.replace('_', ' ')}" for level in ("error", "risk", "advice", "not_checked")]
        lines += ["", f"Result: {', '.join(counts)} -> exit {self.exit_code}"]
        return "\n".join(lines)

    def _answer(self, width: int) -> list[str]:
        """The verdict first: level and exit code, the safe range at this batch, the recommendation."""
        from ..recommend._verdict import round_beta2

        v = self.verdict
        label = {2: "ERROR", 1: "RISK"}.get(self.exit_code, "OK" if v is None else v.level.upper())
        if v is None:
            return [f"Verdict: {label} (exit {self.exit_code}); betas or batch size unknown"]
        size = f"batch {v.batch_size:,}" + (f" = {v.tokens_per_step:,} tokens" if v.tokens_per_step else "")
        lo = hi = ""
        if v.lower.beta2 is not None:
            lo = f"{round_beta2(v.lower.beta2, 3):g} {'<' if v.lower.inclusive else '<='} "
        if v.upper.beta2 is not None:
            hi = f" <= {round_beta2(v.upper.beta2, 2, up=True):g}"
        out = [f"Verdict: {label} (exit {self.exit_code}): beta1 = {v.beta1:g}, beta2 = {v.beta2:g} at {size}",
               _wrap(f"safe range at this batch: {(lo + 'beta2' + hi) if lo or hi else 'no edge on record'} "
                     f"(counted in {v.unit}; reference {v.reference})", width, "  ", "    ")]
        out += [_wrap(m, width, "  ", "    ") for m in v.messages[:2]]
        rec = self.recommendation
        if rec is not None:
            out.append(f"  recommended: (beta1, beta2) = ({rec['beta1']:g}, {rec['beta2']:g})")
        return out

    def __str__(self) -> str:
        return self.render()


def _wrap(text: str, width: int, first: str, rest: str) -> str:
    return textwrap.fill(text, width=width, initial_indent=first, subsequent_indent=rest, break_long_words=False, break_on_hyphens=False)

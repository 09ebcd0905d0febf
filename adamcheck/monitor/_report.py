"""The monitor's report: typed numbers for code, three lines for people.

``str(report)`` is the verdict in three lines: the headline (step, the run's settings, the
level), the finding that decides it, and what to change. Numbers that were not measured
are ``None`` in the typed report (never NaN, never a negative estimate that means "not
resolved"), and the three lines never show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._diagnostics import Level, worst
from .._measurement import Measurement
from ._judge import MonitorDiagnostic

__all__ = ["MonitorReport", "report_metrics"]


def _g(x: float) -> str:
    return f"{x:.4g}"


@dataclass(frozen=True)
class MonitorReport:
    """The monitor's numbers and findings (see :class:`~adamcheck.torch.GradientMonitor`).

    ``None`` means "not measured" (no analysis yet, no small batches, no loss observed...).

    Attributes:
        step: optimizer steps seen.
        batch_size, beta1, beta2, eps: the run's settings; coordinates: sampled coordinates k.
        analysed_step: step of the last analysis (None: none yet); analyses: how many ran;
            window: steps in the last analysis (0: none); next_analysis: the step of the next
            one (None: none planned, see ``notes``).
        beta2_critical: beta2*(B) by the training boundary (None: not analysed, window too short,
            or unresolved); beta2_critical_unresolved: True when no beta2 on the ladder was enough.
        beta2_critical_by_batch: ((kB, beta2*(kB) or None), ...) for the ``multiples``.
        paper_condition: beta1 < sqrt(beta2) (Zhang et al. 2026, Theorem 2.2).
        drift_ratio_min, drift_ratio_median: rho at (beta1, beta2) over the informative
            coordinates of the last window; reversed: how many have rho + 2 se < 0;
            informative: coordinates whose window mean is > 2 standard errors from 0.
        grad_norm_sq: mean over the last window of ||g_t||^2 on the sample (batch B).
        small_batch, small_batch_source: the small batches of the two-batch estimate (0, "": none).
        b_simple: two-batch gradient noise scale on the sampled coordinates.
        direction_norm_last, direction_norm_median: D_t, the last and the median over the spike
            window; direction_norm_max_ratio: the largest D_t / running median seen.
        spikes: steps flagged as update-norm jumps.
        mean_grad_sq: the last window's resolved |G|^2 on the sample (None when the unbiased
            estimate |mean|^2 - tr(S)/n is not positive: not resolved from the noise);
            mean_grad_noise: its noise floor tr(S)/n.
        loss_mean: mean training loss of the last window; loss_start: the loss at the start.
        gradient_steps: steps at which a gradient was seen; nonfinite_steps: steps with NaN/inf
            gradients (left out); nonfinite_losses: NaN/inf losses observed (left out).
        diagnostics: every finding (:class:`~adamcheck.monitor.MonitorDiagnostic`, lens "monitor").
        notes: what was held back, skipped or not measured, and why.
        measurement: the monitor's beta2 finding as a :class:`~adamcheck._measurement.Measurement`
            (what its saved file states).
        enabled: False once the monitor has switched itself off after an internal error.
        groups: beta2* of each declared parameter group at its effective batch, from the
            last analysis (:class:`~adamcheck.monitor.GroupAnalysis`; empty: none declared).
    """

    step: int
    batch_size: int
    beta1: float
    beta2: float
    eps: float
    coordinates: int
    analysed_step: int | None
    analyses: int
    window: int
    next_analysis: int | None
    beta2_critical: float | None
    beta2_critical_unresolved: bool
    beta2_critical_by_batch: tuple[tuple[int, float | None], ...]
    paper_condition: bool
    drift_ratio_min: float | None
    drift_ratio_median: float | None
    reversed: int
    informative: int
    grad_norm_sq: float | None
    small_batch: int
    small_batch_source: str
    b_simple: float | None
    direction_norm_last: float | None
    direction_norm_median: float | None
    direction_norm_max_ratio: float | None
    spikes: int
    mean_grad_sq: float | None
    mean_grad_noise: float | None
    loss_mean: float | None
    loss_start: float | None
    gradient_steps: int
    nonfinite_steps: int
    nonfinite_losses: int
    diagnostics: tuple[MonitorDiagnostic, ...]
    notes: tuple[str, ...]
    measurement: Measurement
    enabled: bool = True
    groups: tuple[Any, ...] = ()

    @property
    def warnings(self) -> tuple[MonitorDiagnostic, ...]:
        """The RISK findings, in order (each was also raised as an ``AdamCheckWarning``)."""
        return tuple(d for d in self.diagnostics if d.level is Level.RISK)

    @property
    def warning_kinds(self) -> set[str]:
        return {w.kind for w in self.warnings}

    @property
    def verdict(self) -> Level:
        """RISK if any warning; else ``not_checked`` before the first usable analysis; else ok."""
        level = worst(self.diagnostics)
        if level is Level.RISK or level is Level.ERROR:
            return level
        if self.beta2_critical is None and not self.beta2_critical_unresolved:
            return Level.NOT_CHECKED
        return Level.OK

    def lines(self) -> tuple[str, str, str]:
        """The verdict in three lines: headline, finding, what to change."""
        head = (f"adamcheck monitor, step {self.step:,} (batch {self.batch_size}, beta1 {self.beta1:g}, "
                f"beta2 {self.beta2:g}): {self.verdict.label}")
        if self.analyses:
            head += f" ({self.analyses} {'analysis' if self.analyses == 1 else 'analyses'}, the last at step " \
                    f"{self.analysed_step:,})"
        if not self.enabled:
            head += "; switched off after an internal error"
        risks = self.warnings
        more = f" (+{len(risks) - 1} more: report.warnings)" if len(risks) > 1 else ""
        if risks:
            beta2 = [d for d in risks if d.rule == "beta2_below_critical"]
            main = beta2[-1] if beta2 else risks[-1]
            finding = main.message[: -len(main.change) - 2] if main.change and main.message.endswith(main.change) \
                else main.message
            return head, finding + more, f"What to change: {main.change or 'see report.warnings'}."
        gone = next((d for d in self.diagnostics if d.rule == "no_gradient"), None)
        if gone is not None:
            return head, gone.message, ("What to change: attach the monitor to the optimizer that trains the model; "
                                        "under FSDP or DeepSpeed ZeRO it cannot read the gradients.")
        n = len(self.notes)
        tail = f" ({n} {'note' if n == 1 else 'notes'}: report.notes)" if n else ""
        if self.beta2_critical is None and not self.beta2_critical_unresolved:
            when = (f"the next at step {self.next_analysis:,}" if self.next_analysis is not None
                    else "none planned (see report.notes)")
            if self.analyses:
                return head, f"no beta2* yet: the last window was too short or had no gradient; {when}", \
                    f"Nothing to change yet{tail}."
            return head, f"no analysis yet: {when} (or call analyse())", f"Nothing to change yet{tail}."
        held = [d for d in self.diagnostics if d.rule == "beta2_below_critical_held_back"
                and d.step == self.analysed_step]
        where = f"at batch size {self.batch_size} (window of {self.window:,} steps at step {self.analysed_step:,})"
        if held:
            finding = (f"beta2* = {_g(self.beta2_critical)} {where} is above beta2 = {self.beta2:g}, held back: no "  # type: ignore[arg-type]
                       "sign of walking off (report.notes)")
        else:
            finding = f"beta2* = {_g(self.beta2_critical)} {where}: beta2 = {self.beta2:g} is above it"  # type: ignore[arg-type]
        advice = [d for d in self.diagnostics if d.level is Level.ADVICE and d.change]
        if advice:  # a parameter group that needs a longer memory (adamcheck.monitor._groups)
            return head, finding, f"Advice: {'; '.join(d.change for d in advice)}{tail}."
        return head, finding, f"Nothing to change{tail}."

    def __str__(self) -> str:
        return "\n".join(self.lines())


def report_metrics(report: Any) -> dict[str, float]:
    """The report's numbers as a flat ``{"adamcheck/name": float}`` dict for loggers (unmeasured left out).

    Example:
        >>> from types import SimpleNamespace
        >>> r = SimpleNamespace(beta2_critical=0.95, drift_ratio_min=None, drift_ratio_median=None, reversed=0,
        ...                     b_simple=None, grad_norm_sq=1.5, direction_norm_last=None, spikes=2,
        ...                     mean_grad_sq=None, beta2_critical_by_batch=((32, 0.9), (128, None)))
        >>> report_metrics(r)
        {'adamcheck/beta2_critical': 0.95, 'adamcheck/reversed_coordinates': 0.0, 'adamcheck/grad_norm_sq': 1.5, 'adamcheck/update_spikes': 2.0, 'adamcheck/beta2_critical_at_32': 0.9}
    """
    out = {
        "beta2_critical": report.beta2_critical,
        "drift_ratio_min": report.drift_ratio_min,
        "drift_ratio_median": report.drift_ratio_median,
        "reversed_coordinates": float(report.reversed),
        "b_simple": report.b_simple,
        "grad_norm_sq": report.grad_norm_sq,
        "update_direction_norm": report.direction_norm_last,
        "update_spikes": float(report.spikes),
        "mean_grad_sq": report.mean_grad_sq,
    }
    for batch, value in report.beta2_critical_by_batch:
        out[f"beta2_critical_at_{batch}"] = value
    for g in getattr(report, "groups", ()):
        out[f"beta2_critical/{g.name}"] = g.beta2_critical
        out[f"tokens_per_step/{g.name}"] = g.tokens_per_step
    return {f"adamcheck/{k}": float(v) for k, v in out.items() if v is not None and v == v and abs(v) != float("inf")}

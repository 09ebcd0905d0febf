"""The monitor's rules as a pure function: from what was measured to what to tell people.

:func:`judge` reads the analyses (:class:`~adamcheck.monitor._analysis.WindowAnalysis`), the
observed training losses (:class:`LossRecord`), the per-step records (:class:`StepRecord`:
steps, steps with a gradient, non-finite steps, update-norm jumps) and the settings, and
returns :class:`MonitorDiagnostic` records, the same :class:`~adamcheck._diagnostics.Diagnostic`
that ``check`` and ``recommend`` return (lens ``"monitor"``; a finding that the run is likely
to fail is a RISK on the ``"divergence"`` axis). It keeps no state: the monitor calls it on
the whole history and emits the RISK records it has not emitted yet.

The rules:

* ``beta2_below_critical`` (RISK): beta2 < beta2*(B) at an analysis, at the first analysis
  always, later only while the run walks off (:mod:`adamcheck.monitor._walkoff`); otherwise
  ``beta2_below_critical_held_back`` (a note, level ok).
* ``update_spike`` (RISK), where beta1 >= sqrt(beta2) only: Adam's direction norm
  ``D_t = ||m_hat/(sqrt(v_hat) + eps)||`` on the sample exceeds ``spike_factor`` times its
  median over the previous ``spike_window`` steps (one warning per burst: a jump within
  ``spike_window`` steps of the previous one is counted, not warned). Spikes of m/sqrt(v)
  are the direct symptom of beta1 >= sqrt(beta2): then ``|m_t|/sqrt(v_t)`` is bounded only
  by ``(1-beta1)/sqrt(1-beta2) * sum_k (beta1/sqrt(beta2))^k``, which grows without bound
  (Zhang et al. 2026, section 2; docs/theory.md section 3). Inside beta1 < sqrt(beta2) the
  update is bounded and jumps are only counted (``update_jumps_counted``, a note).
* ``non_finite_gradient`` (RISK): a NaN/inf gradient reached ``optimizer.step()`` (those
  steps are left out of every statistic).
* ``non_finite_loss`` (RISK): an observed training loss was NaN/inf. adamcheck reads this as
  evidence that the run failed (a finite-precision run whose loss is not a number has
  diverged), not as a value to average: it is counted and left out of the loss means.
* ``no_gradient`` (not checked): steps were taken but no gradient was seen at the sampled
  coordinates (every ``.grad`` None, as under FSDP or DeepSpeed, or the wrong optimizer),
  so there is no beta2*: no data, no answer.
* ``window_too_short`` (not checked): an analysis had fewer than 8 steps per batch multiple.

:func:`monitor_measurement` turns the same history into the monitor's
:class:`~adamcheck._measurement.Measurement` (the beta2 values it measured as failing or
training at the run's batch size), which the monitor's file carries (``monitor_*`` keys).

References:
    Zhang, Li, Chen, Luo, Sun, arXiv:2603.02092 (2026), section 2 and Theorem 2.2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from .._diagnostics import Diagnostic, Level
from .._measurement import Measurement
from ..drift._training import DEFAULT_TRAINING_LADDER
from ._analysis import WindowAnalysis
from ._settings import MonitorSettings, RunInfo
from ._walkoff import MeanGradient, WalkOff, WindowLoss, above, walk_off

__all__ = ["LossRecord", "MonitorDiagnostic", "Spike", "StepRecord", "judge", "monitor_measurement",
           "walk_offs"]

_SOURCE_WALKOFF = "adamcheck's training boundary on the run's window; walk-off rule (benchmarks/validity/README.md)"
_SOURCE_SPIKE = "Zhang et al. 2026, section 2 (m/sqrt(v) unbounded when beta1 >= sqrt(beta2))"


@dataclass(frozen=True)
class MonitorDiagnostic(Diagnostic):
    """A :class:`~adamcheck._diagnostics.Diagnostic` of the monitor, with the step it names.

    Attributes:
        step: the optimizer step the finding is about.
        value: the number behind it (beta2* for ``beta2_below_critical``, the jump ratio for
            ``update_spike``, a count for the counting rules), None when there is none
            (beta2* when no beta2 on the ladder is enough).
        change: what to change, in a few words (the end of ``message``; "" for notes).
    """

    step: int = 0
    value: float | None = None
    change: str = ""

    @property
    def kind(self) -> str:
        """The rule's name (``beta2_below_critical``, ``update_spike``...)."""
        return self.rule


@dataclass(frozen=True)
class Spike:
    """One update-norm jump: the step and D_t / (running median)."""

    step: int
    ratio: float


@dataclass(frozen=True)
class StepRecord:
    """What the recorder saw step by step.

    Attributes:
        steps: optimizer steps seen.
        gradient_steps: steps at which some sampled coordinate had a gradient.
        nonfinite_steps: steps whose sampled gradient held NaN or inf (left out of the statistics).
        first_nonfinite_step: the first of them (None: none).
        spikes: every update-norm jump, in order.
    """

    steps: int = 0
    gradient_steps: int = 0
    nonfinite_steps: int = 0
    first_nonfinite_step: int | None = None
    spikes: tuple[Spike, ...] = ()


@dataclass(frozen=True)
class LossRecord:
    """The training losses observed (:meth:`GradientMonitor.observe_loss`).

    Attributes:
        observed: how many (finite or not).
        start: the loss at the start (the first ``start_losses`` finite ones; None: none yet).
        nonfinite: how many were NaN or inf; first_nonfinite_step: the step of the first.
        since_analysis: the finite losses observed since the last analysis (None: none).
    """

    observed: int = 0
    start: WindowLoss | None = None
    nonfinite: int = 0
    first_nonfinite_step: int | None = None
    since_analysis: WindowLoss | None = None


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _raise_to(beta2_star: float, beta1: float) -> str:
    """What to raise beta2 to: beta2*, but never to a value with beta1 >= sqrt(beta2), which
    the verdict calls a failure whatever was measured (adamcheck._measurement.FLOORS)."""
    floor = beta1 * beta1
    if beta2_star <= floor:
        return f"raise beta2 above {_fmt(floor)} (beta1^2; the measured beta2* is {_fmt(beta2_star)})"
    return f"raise beta2 to at least {_fmt(beta2_star)}"


def walk_offs(analyses: Sequence[WindowAnalysis], losses: LossRecord) -> list[WalkOff]:
    """The walk-off rule's reading of each analysis, against the analyses before it."""
    out = []
    means: list[MeanGradient] = []
    windows: list[WindowLoss] = []
    for a in analyses:
        out.append(walk_off(a.mean, means, a.loss, windows, losses.start, a.nonfinite_losses))
        if a.mean is not None:
            means.append(a.mean)
        if a.loss is not None:
            windows.append(a.loss)
    return out


def _because(w: WalkOff, a: WindowAnalysis, start: WindowLoss | None) -> str:
    loss = a.loss
    if w.why == "loss above its start" and loss is not None and start is not None:
        return f"; the training loss is above its start (window mean {_fmt(loss.mean)}, start {_fmt(start.mean)})"
    if w.why == "loss rose" and loss is not None and w.loss_low is not None:
        return f"; the training loss rose (window mean {_fmt(loss.mean)}, earlier low {_fmt(w.loss_low.mean)})"
    if w.why == "gradient grew" and a.mean is not None and w.sq_low is not None:
        return f"; the resolved |G|^2 grew ({a.mean.sq:.3g}, earlier low {w.sq_low:.3g})"
    if w.why == "loss not finite":
        return f"; {a.nonfinite_losses} training loss(es) in the window were not finite"
    return ""


def _beta2_findings(analyses: Sequence[WindowAnalysis], losses: LossRecord) -> list[MonitorDiagnostic]:
    out: list[MonitorDiagnostic] = []
    short = False
    for a, w in zip(analyses, walk_offs(analyses, losses)):
        own = a.own
        if a.no_gradient:
            continue
        if own is None:
            if not short:
                short = True
                out.append(MonitorDiagnostic(
                    Level.NOT_CHECKED, "window_too_short",
                    f"step {a.step}: a window of {a.rows} steps is too short for beta2* (it needs 8 steps per batch "
                    "multiple): let the run go on, or pass a larger min_gap / every", "", "divergence", "monitor",
                    step=a.step))
            continue
        if not a.below_critical:
            continue
        b2 = own.beta2_critical
        need = ("no beta2 on adamcheck's ladder (up to 0.9999) is enough" if b2 is None else f"beta2* = {_fmt(b2)}")
        if w.off:
            others = "; ".join(f"beta2* at batch {f.batch_size}: {'none on the ladder' if f.unresolved else _fmt(f.beta2_critical)}"  # type: ignore[arg-type]
                               for f in a.findings if f.batch_size > a.batch_size)
            hint = f" ({others})" if others else ""
            if b2 is None:
                change = f"raise the batch size{hint}"
                msg = (f"no beta2 on adamcheck's ladder (up to 0.9999) is enough at batch size {a.batch_size}: the "
                       f"training boundary on the last {a.rows} steps' gradients finds {own.mechanism or 'failure'} "
                       f"at every beta2 (beta1 = {a.beta1:g}){_because(w, a, losses.start)}; {change}")
            else:
                change = f"{_raise_to(b2, a.beta1)}, or the batch size{hint}"
                msg = (f"beta2 = {a.beta2:g} is below the critical beta2* at batch size {a.batch_size}: adamcheck's "
                       f"training boundary on the last {a.rows} steps' gradients needs beta2 at least {_fmt(b2)} "
                       f"(beta1 = {a.beta1:g}; {own.mechanism or 'failure'} below it){_because(w, a, losses.start)}; "
                       f"{change}")
            out.append(MonitorDiagnostic(Level.RISK, "beta2_below_critical", msg, _SOURCE_WALKOFF, "divergence",
                                         "monitor", step=a.step, value=b2, change=change))
            continue
        loss, low, start = a.loss, w.loss_low, losses.start
        refs = [x.mean for x in (start, low) if x is not None]
        where = (f"start {_fmt(start.mean) if start else 'not observed'}, earlier low "
                 f"{_fmt(low.mean) if low else 'none'}")
        if loss.mean <= min(refs):  # type: ignore[union-attr]
            how = f"the training loss fell (window mean {_fmt(loss.mean)}; {where})"  # type: ignore[union-attr]
        else:
            how = (f"the training loss is not above its start or its earlier low by two standard errors (window "
                   f"mean {_fmt(loss.mean)}, standard error {loss.se:.2g}; {where})")  # type: ignore[union-attr]
        grad = ("is not resolved from its noise" if a.mean is None or a.mean.resolved is None
                else f"did not grow by a noise unit ({a.mean.sq:.3g}, noise {a.mean.noise:.3g}; earlier low "
                     f"{'none' if w.sq_low is None else f'{w.sq_low:.3g}'})")
        msg = (f"step {a.step}: {need} at batch size {a.batch_size} (beta2 = {a.beta2:g}), held back: no sign of "
               f"walking off: {how}, and the resolved |G|^2 {grad}; near a stationary point every beta2 < 1 shows "
               "some sign drift, so this finding alone is not a failure")
        out.append(MonitorDiagnostic(Level.OK, "beta2_below_critical_held_back", msg, _SOURCE_WALKOFF, "divergence",
                                     "monitor", step=a.step, value=b2))
    return out


def _spike_findings(run: RunInfo, settings: MonitorSettings, steps: StepRecord) -> list[MonitorDiagnostic]:
    if not steps.spikes:
        return []
    if run.paper_condition:
        # inside beta1 < sqrt(beta2) each |m_j|/sqrt(v_j) is bounded, so a jump is a large
        # gradient arriving, not m/sqrt(v) growth: counted, not warned (on logistic digits
        # at beta1 = 0 a jump warning would have fired in 35 of 51 runs that train and 22
        # of 29 that fail; benchmarks/validity/README.md)
        n = len(steps.spikes)
        return [MonitorDiagnostic(
            Level.OK, "update_jumps_counted",
            f"{n} update-norm jumps above {settings.spike_factor:g}x the running median counted, not warned: with "
            "beta1 < sqrt(beta2) each |m|/sqrt(v) is bounded, so they are large gradients arriving, not m/sqrt(v) "
            "growth", _SOURCE_SPIKE, "divergence", "monitor", step=steps.spikes[-1].step, value=float(n))]
    out = []
    last = -math.inf
    change = f"raise beta2 above {run.beta1 ** 2:.4g} (beta1^2)"
    for s in steps.spikes:
        if s.step - last > settings.spike_window:
            out.append(MonitorDiagnostic(
                Level.RISK, "update_spike",
                f"Adam's update norm jumped to {s.ratio:.3g}x its running median at step {s.step} (batch size "
                f"{run.batch_size}, beta1 = {run.beta1:g}, beta2 = {run.beta2:g}): beta1 >= sqrt(beta2), so "
                f"m/sqrt(v) is unbounded; {change}", _SOURCE_SPIKE, "divergence", "monitor", step=s.step,
                value=s.ratio, change=change))
        last = s.step
    return out


def judge(analyses: Sequence[WindowAnalysis], losses: LossRecord, settings: MonitorSettings, run: RunInfo,
          steps: StepRecord = StepRecord()) -> tuple[MonitorDiagnostic, ...]:
    """Every diagnostic the history supports, in the order of the rules (module docstring).

    Pure: no state, no torch; the monitor calls it again after each analysis and each block
    of steps, and emits the RISK records it has not emitted yet.

    Example:
        >>> from adamcheck.monitor._analysis import BatchFinding
        >>> run = RunInfo(batch_size=4, beta1=0.9, beta2=0.95)
        >>> a = WindowAnalysis(step=200, rows=200, batch_size=4, beta1=0.9, beta2=0.95,
        ...                    findings=(BatchFinding(4, 0.99, "sign drift"),))
        >>> [(d.level.value, d.rule, d.step) for d in judge([a], LossRecord(), MonitorSettings(), run)]
        [('risk', 'beta2_below_critical', 200)]
        >>> judge([], LossRecord(), MonitorSettings(), run, StepRecord(steps=50))[0].rule
        'no_gradient'
    """
    out: list[MonitorDiagnostic] = []
    if steps.steps and not steps.gradient_steps:
        out.append(MonitorDiagnostic(
            Level.NOT_CHECKED, "no_gradient",
            f"no gradient seen in {steps.steps} optimizer steps: every .grad of the optimizer's parameters was None "
            "at its step (gradients kept outside .grad, as FSDP and DeepSpeed ZeRO do, or the monitor is attached "
            "to an optimizer that does not train the model), so there is no beta2*", "", "divergence", "monitor",
            step=steps.steps))
    elif any(a.no_gradient for a in analyses):
        a = next(a for a in analyses if a.no_gradient)
        what = (f"every sampled gradient in the last {a.rows} steps was exactly 0 (frozen or unused parameters?)"
                if a.rows else "no finite gradient was recorded since the previous analysis")
        out.append(MonitorDiagnostic(Level.NOT_CHECKED, "no_gradient", f"step {a.step}: {what}, so that window has "
                                     "no beta2*", "", "divergence", "monitor", step=a.step))
    if steps.nonfinite_steps:
        out.append(MonitorDiagnostic(
            Level.RISK, "non_finite_gradient",
            f"{steps.nonfinite_steps} of {steps.steps} optimizer steps had NaN or inf gradients (first at step "
            f"{steps.first_nonfinite_step}), left out of the monitor's statistics; a non-finite gradient that "
            "reaches Adam makes its m and v (and the weights) non-finite: lower the learning rate, clip the "
            "gradients, or skip such steps (torch.amp.GradScaler does)", "", "divergence", "monitor",
            step=steps.first_nonfinite_step or 0, value=float(steps.nonfinite_steps),
            change="lower the learning rate, clip the gradients, or skip non-finite steps"))
    if losses.nonfinite:
        out.append(MonitorDiagnostic(
            Level.RISK, "non_finite_loss",
            f"{losses.nonfinite} of {losses.observed} observed training losses were NaN or inf (first by step "
            f"{losses.first_nonfinite_step}): the run has diverged; they are left out of the loss means; lower the "
            "learning rate or find the first non-finite step", "", "divergence", "monitor",
            step=losses.first_nonfinite_step or 0, value=float(losses.nonfinite),
            change="lower the learning rate, or find the first non-finite step"))
    out += _beta2_findings(analyses, losses)
    out += _spike_findings(run, settings, steps)
    return tuple(out)


def _last_loss(analyses: Sequence[WindowAnalysis], losses: LossRecord) -> WindowLoss | None:
    if losses.since_analysis is not None:
        return losses.since_analysis
    return next((a.loss for a in reversed(analyses) if a.loss is not None), None)


def monitor_measurement(analyses: Sequence[WindowAnalysis], losses: LossRecord, settings: MonitorSettings,
                        run: RunInfo, steps: StepRecord = StepRecord(), ladder: Sequence[float] | None = None,
                        source: str = "") -> Measurement:
    """The beta2 values the monitor measured as failing or training at the run's batch size.

    What the monitor can honestly claim (an abstention, ``decided=False``, otherwise):

    * **failed**: where a ``beta2_below_critical`` warning was raised (beta2 < beta2* while
      the run walked off, or at the first analysis): the run's beta2 and every ladder value
      below the last warned beta2* (all of the ladder when no beta2 was enough);
    * **trained**: the run's own beta2, where the run reached ``trained_steps`` steps with no
      warning and no non-finite gradient or loss, the training loss was observed, and the
      latest losses are not above the start or the lowest analysed window (the walk-off
      rule's margins); beta2* findings held back as settling do not count against it.

    ``ladder``: the predictor's beta2 ladder (default
    :data:`adamcheck.drift._training.DEFAULT_TRAINING_LADDER`).

    Example:
        >>> from adamcheck.monitor._analysis import BatchFinding
        >>> run = RunInfo(batch_size=4, beta1=0.0, beta2=0.5)
        >>> a = WindowAnalysis(step=200, rows=200, batch_size=4, beta1=0.0, beta2=0.5,
        ...                    findings=(BatchFinding(4, 0.9, "sign drift"),))
        >>> m = monitor_measurement([a], LossRecord(), MonitorSettings(), run, StepRecord(200, 200))
        >>> m.decided, m.failed, m.trained
        (True, (0.1, 0.3, 0.5, 0.6, 0.7, 0.8), ())
        >>> monitor_measurement([], LossRecord(), MonitorSettings(), run, StepRecord(50, 0)).reason[:19]
        'no gradient seen in'
    """
    if ladder is None:
        ladder = DEFAULT_TRAINING_LADDER
    diags = judge(analyses, losses, settings, run, steps)
    B, b1, b2 = run.batch_size, run.beta1, run.beta2

    def abstain(reason: str) -> Measurement:
        return Measurement("monitor", B, b1, reason=reason, source=source, decided=False)

    no_grad = next((d for d in diags if d.rule == "no_gradient"), None)
    if no_grad is not None and steps.gradient_steps == 0:
        return abstain(no_grad.message)
    warned = [d for d in diags if d.rule == "beta2_below_critical"]
    if warned:
        last = warned[-1]
        edge = last.value
        failed = tuple(x for x in ladder if edge is None or x < edge) + (b2,)
        what = "no beta2 on the ladder was enough" if edge is None else f"beta2* = {_fmt(edge)}"
        # the monitor's own rule is "beta2 below beta2* fails" (its warning fires for any such
        # beta2), so the measurement says so between ladder values too
        return Measurement("monitor", B, b1, failed=failed, source=source, critical=edge,
                           reason=f"at step {last.step} the run's own gradients (beta2 = {b2:g}, batch {B}) gave {what}")
    if not analyses:
        return abstain(f"no analysis yet after {steps.steps} steps")
    if steps.nonfinite_steps or losses.nonfinite:
        return abstain("the run had non-finite gradients or losses: it failed, but the monitor cannot tell whether "
                       "beta2 caused it (no beta2* warning)")
    if steps.steps < settings.trained_steps:
        return abstain(f"{steps.steps} steps without walking off is too short to say beta2 = {b2:g} trains "
                       f"(the monitor claims it after {settings.trained_steps} steps)")
    last = _last_loss(analyses, losses)
    if losses.start is None or last is None:
        return abstain("no training loss observed (pass it with observe_loss): the monitor cannot tell a run "
                       "that trains from one that walks off")
    low = min((a.loss for a in analyses if a.loss is not None), key=lambda w: w.mean, default=None)
    if above(last, losses.start) or (low is not None and above(last, low)):
        return abstain(f"the latest training loss ({_fmt(last.mean)}) is above its start ({_fmt(losses.start.mean)}) "
                       f"or its lowest window: the monitor does not say beta2 = {b2:g} trains")
    return Measurement("monitor", B, b1, trained=(b2,), source=source,
                       reason=f"the run trained {steps.steps} steps at beta2 = {b2:g}, batch {B}, without walking off "
                              f"(training loss {_fmt(losses.start.mean)} at the start, {_fmt(last.mean)} lately)")

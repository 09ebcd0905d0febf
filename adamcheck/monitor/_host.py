"""What every framework's monitor does with its records, without the framework: :class:`MonitorHost`.

A framework adapter (:class:`adamcheck.torch.GradientMonitor`, :func:`adamcheck.optax.monitor`)
builds the :class:`~adamcheck.monitor.MonitorSettings`, the :class:`~adamcheck.monitor.RunInfo`
and a :class:`~adamcheck.monitor._record.StepRecorder` that gathers its gradients, then calls
:meth:`MonitorHost._on_step` once per optimizer step. The host does the rest, the same way
for every framework: the time accounting and the schedule
(:mod:`adamcheck.monitor._schedule`), the analyses (:func:`~adamcheck.monitor.analyse_window`),
the observed losses, the judge (:func:`~adamcheck.monitor.judge`) and its warnings, the report
and the self-describing file. Nothing raises out of a step: an internal error becomes one
:class:`~adamcheck.AdamCheckWarning` (and a logger error) and the monitor switches itself off.

Hooks an adapter may override: :meth:`MonitorHost._agree` (a collective: every rank analyses
at the same step), :meth:`MonitorHost._check_loss` and :meth:`MonitorHost._values` (its
tensor type), :meth:`MonitorHost._lr_and_decay` (the optimizer's current values),
:meth:`MonitorHost._file_dtype`.
"""

from __future__ import annotations

import logging
import math
import numbers
import os
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .._diagnostics import Level
from .._errors import AdamCheckWarning, DataError, InvalidParameterError
from .._files import check_output_path, os_reason
from .._shown import shown_repr
from ..noise._sampled import save_sampled_gradients
from ._analysis import Window, WindowAnalysis, analyse_window
from ._groups import GroupColumns, analyse_groups, group_findings
from ._judge import LossRecord, MonitorDiagnostic, StepRecord, judge, monitor_measurement
from ._record import RunningMedian, StepRecorder
from ._report import MonitorReport
from ._schedule import Costs, first_analysis_step, next_analysis_step
from ._settings import MonitorSettings, RunInfo
from ._walkoff import WindowLoss, window_loss

__all__ = ["LOGGER", "MonitorHost"]

LOGGER = logging.getLogger("adamcheck")
# a library logs; the application decides where to: without this, Python's last-resort
# handler prints every warning a second time next to warnings.warn's own line
LOGGER.addHandler(logging.NullHandler())

#: losses kept as given (tensors, device arrays) before they are read in one go (one synchronisation per this many)
_LOSS_CHUNK = 1024


class MonitorHost:
    """The framework-free part of a monitor (module docstring); adapters subclass it and call :meth:`_start`.

    Attributes set by :meth:`_start`: ``settings``, ``run``, ``recorder``, ``sample`` (the
    :class:`~adamcheck.torch.CoordinateSample`), ``k``, ``enabled``, ``error``.
    """

    #: the ``writer`` of the saved file (:data:`adamcheck.noise._meta.MONITOR_WRITERS`)
    writer: str = ""
    #: how the monitor is named in its messages
    label: str = "the monitor"
    #: the report's note when a window had no small batches
    no_small_batches_note: str = "no two-batch noise scale: it needs small batches (micro-batches or ranks)"
    #: stacklevel of the warnings raised from a step (pointing at the user's step call)
    warn_stacklevel: int = 4

    def _start(self, settings: MonitorSettings, run: RunInfo, recorder: StepRecorder, sample: Any,
               notes: list[str] | None = None, groups: tuple[GroupColumns, ...] = ()) -> None:
        self.settings = settings
        # declared parameter groups (adamcheck.monitor._groups) and their token counts since the last analysis
        self._groups = tuple(groups)
        self._tokens: dict[str, list[Any]] = {g.name: [] for g in self._groups}
        self.run = run
        self.recorder = recorder
        self.sample = sample
        self.k = recorder.k
        self.enabled = True
        self.error: str | None = None
        self._notes: list[str] = list(notes or [])
        self._analyses: list[WindowAnalysis] = []
        self._emitted: set[tuple[str, int]] = set()
        # observed losses: read in chunks (tensors stay on their device until then)
        self._pending: list[tuple[int, Any]] = []
        self._window_losses: list[float] = []
        self._start_losses: list[float] = []
        self._losses_observed = 0
        self._nonfinite_losses = 0
        self._window_nonfinite = 0
        self._first_nonfinite_loss: int | None = None
        # costs: wall-clock time of training steps (the monitor's own left out) and of the monitor
        self._intervals = RunningMedian(63)
        self._t_exit: float | None = None
        self._record_seconds = 0.0
        self._spent = 0.0
        self._train_seconds = 0.0
        self._last_analysis_seconds = 0.0
        self._next: int | None = first_analysis_step(settings, run.planned_steps)

    # -- properties ------------------------------------------------------------------------------
    @property
    def step(self) -> int:
        """Optimizer steps seen."""
        return self.recorder.steps

    @property
    def analyses(self) -> tuple[WindowAnalysis, ...]:
        """Every analysis so far, in order."""
        return tuple(self._analyses)

    @property
    def last_analysis(self) -> WindowAnalysis | None:
        """The latest analysis (None: none yet)."""
        return self._analyses[-1] if self._analyses else None

    @property
    def costs(self) -> Costs:
        """What the monitor has measured of its cost (wall clock; :class:`~adamcheck.monitor.Costs`)."""
        return Costs(step_seconds=self._step_seconds(), record_seconds=self._record_seconds / max(1, self.step),
                     analysis_seconds=self._last_analysis_seconds, spent_seconds=self._spent,
                     train_seconds=self._train_seconds)

    @property
    def next_analysis(self) -> int | None:
        """The step of the next analysis (None: none planned)."""
        return self._next

    # -- never break training ---------------------------------------------------------------------
    def _fail(self, exc: BaseException) -> None:
        """An internal error: one warning, one log line, and the monitor switches itself off."""
        if not self.enabled:
            return
        self.enabled = False
        self.error = f"{type(exc).__name__}: {exc}"
        self._switched_off()
        message = (f"adamcheck's {self.label} hit an internal error at step {self.step} and switched itself off; "
                   f"training goes on ({self.error}); please report it")
        LOGGER.error("adamcheck: %s", message)
        if self.settings.warn:
            warnings.warn(message, AdamCheckWarning, stacklevel=3)

    def _switched_off(self) -> None:
        """What the adapter stops when the monitor switches itself off (its hooks)."""

    def _on_step(self, record: Callable[[], bool]) -> None:
        """One optimizer step: ``record()`` (the adapter's: gather and record, True on a new jump),
        then the analysis when one is due; the monitor's time is kept apart from training's."""
        self._on_steps((record,))

    def _on_steps(self, records: Sequence[Callable[[], bool]]) -> None:
        """:meth:`_on_step` for a block of consecutive steps handed over at once (an adapter that
        calls back every n steps): each ``record()`` in order, each followed by the analysis when
        one is due at its step, so the records and analyses are those of one step at a time; the
        training time since the last call is shared equally among the block's steps."""
        if not self.enabled or not records:
            return
        n = len(records)
        t0 = time.perf_counter()
        if self._t_exit is not None:
            interval, typical = (t0 - self._t_exit) / n, self._intervals.median()
            # a pause (evaluation, a checkpoint) is not training: a step counts at most 3 typical steps
            self._train_seconds += n * (interval if typical != typical else min(interval, 3.0 * typical))
            self._intervals.push(interval)
        analysed = 0.0
        try:
            for record in records:
                # a jump is a warning only outside beta1 < sqrt(beta2); inside, the judge only counts it
                if record() and not self.run.paper_condition:
                    self._judge_and_emit()
                if self._next is not None and self.step >= self._next:
                    analysed += self._analyse()
        except Exception as exc:  # noqa: BLE001 - nothing may raise out of the optimizer's step
            self._fail(exc)
        t1 = time.perf_counter()
        self._record_seconds += t1 - t0 - analysed
        self._spent += t1 - t0 - analysed
        self._t_exit = t1

    # -- analysis ----------------------------------------------------------------------------------
    def analyse(self) -> WindowAnalysis | None:
        """Analyse the steps since the last analysis now (also run on the schedule).

        An internal error switches the monitor off (a warning) instead of raising.

        Returns:
            the analysis (None when the monitor is switched off).
        """
        if not self.enabled:
            return None
        try:
            self._analyse()
        except Exception as exc:  # noqa: BLE001 - the monitor must never stop a training loop
            self._fail(exc)
            return None
        return self._analyses[-1]

    def _analyse(self) -> float:
        """One analysis; returns its wall-clock seconds.

        Where :meth:`_agree` is a collective (DDP), the collectives (the two-batch sums, then
        the next step and a failure flag) are reached even when this rank's own part fails,
        so one rank's error switches every rank's monitor off instead of leaving the others
        waiting.
        """
        t = time.perf_counter()
        rec, s, run = self.recorder, self.settings, self.run
        error: BaseException | None = None
        try:
            rec.catch_up()
            rec.sync_moments()  # replace the replayed m, v by the optimizer's own, where readable
        except Exception as exc:  # noqa: BLE001 - reported after the collectives below
            error = exc
        sums = rec.take_sums()
        nxt: int | None = None
        if error is None:
            try:
                rows, _ = rec.window(s.window)
                loss, nonfinite = self._take_window_losses()
                window = Window(rows=rows, step=self.step, batch_size=run.batch_size, beta1=run.beta1,
                                beta2=run.beta2, eps=run.eps, loss=loss, nonfinite_losses=nonfinite, sums=sums)
                analysis = analyse_window(window, s)
                if self._groups:
                    analysis = replace(analysis, groups=analyse_groups(
                        rows, self._groups, self._take_tokens(), run.batch_size * (run.seq_len or 1), run.beta1,
                        run.eps, s))
                self._analyses.append(analysis)
                self._judge_and_emit()
                seconds = time.perf_counter() - t
                costs = Costs(step_seconds=self._step_seconds(),
                              record_seconds=self._record_seconds / max(1, self.step), analysis_seconds=seconds,
                              spent_seconds=self._spent + seconds, train_seconds=self._train_seconds)
                nxt = next_analysis_step(self.step, s, costs)
            except Exception as exc:  # noqa: BLE001 - reported after the collective below
                error = exc
        self._next, failed_elsewhere = self._agree(nxt, error is not None)
        seconds = time.perf_counter() - t
        self._spent += seconds
        self._last_analysis_seconds = seconds
        if error is not None:
            raise error
        if failed_elsewhere:
            raise RuntimeError("the monitor of another rank failed at this analysis")
        return seconds

    def _step_seconds(self) -> float | None:
        m = self._intervals.median()
        return m if m == m else None

    def _agree(self, nxt: int | None, failed: bool) -> tuple[int | None, bool]:
        """The step of the next analysis every process agrees on, and whether any failed (here: one process)."""
        return nxt, False

    # -- losses ------------------------------------------------------------------------------------
    def _observe_loss(self, loss: Any) -> None:
        value = self._check_loss(loss)
        if not self.enabled:
            return
        self._pending.append((self.step, value))
        if len(self._pending) >= _LOSS_CHUNK:
            try:
                self._read_pending()
            except Exception as exc:  # noqa: BLE001 - the monitor must never stop a training loop
                self._fail(exc)

    def _check_loss(self, loss: Any) -> Any:
        """``loss`` as the adapter keeps it until it is read (here: a float), or our error."""
        fix = "pass the scalar training loss, e.g. monitor.observe_loss(loss) with loss = loss_fn(...)"
        if isinstance(loss, np.ndarray) and loss.shape == ():
            loss = loss.item()
        if isinstance(loss, bool) or not isinstance(loss, numbers.Real):
            raise InvalidParameterError(f"observe_loss(loss): loss = {shown_repr(loss)} is not a number: {fix}")
        try:
            return float(loss)
        except (OverflowError, ValueError, TypeError):
            raise InvalidParameterError(f"observe_loss(loss): loss = {shown_repr(loss)} is too large for a float: "
                                        f"{fix}") from None

    def _values(self, values: list[Any]) -> list[float]:
        """The pending losses as floats (an adapter reads its tensors here in one go)."""
        return [float(v) for v in values]

    def _read_pending(self) -> None:
        """Read the pending losses (one synchronisation for the tensors) into the window's values."""
        pending, self._pending = self._pending, []
        for step, v in zip((s for s, _ in pending), self._values([v for _, v in pending])):
            self._losses_observed += 1
            if not math.isfinite(v):
                self._nonfinite_losses += 1
                self._window_nonfinite += 1
                if self._first_nonfinite_loss is None:
                    self._first_nonfinite_loss = step
                continue
            self._window_losses.append(v)
            if len(self._start_losses) < self.settings.start_losses:
                self._start_losses.append(v)

    def _take_window_losses(self) -> tuple[WindowLoss | None, int]:
        self._read_pending()
        loss, nonfinite = window_loss(self._window_losses), self._window_nonfinite
        self._window_losses, self._window_nonfinite = [], 0
        return loss, nonfinite

    def _loss_record(self) -> LossRecord:
        self._read_pending()
        return LossRecord(observed=self._losses_observed, start=window_loss(self._start_losses),
                          nonfinite=self._nonfinite_losses, first_nonfinite_step=self._first_nonfinite_loss,
                          since_analysis=window_loss(self._window_losses))

    # -- token counts of parameter groups ---------------------------------------------------------
    def _observe_tokens(self, counts: Mapping[str, Any]) -> None:
        if not isinstance(counts, Mapping):
            raise InvalidParameterError(f"observe_tokens(counts): counts = {shown_repr(counts)} is not a dict: pass "
                                        "{group name: tokens it received this step}")
        unknown = sorted(str(k) for k in counts if k not in self._tokens)
        if unknown:
            known = ", ".join(map(repr, self._tokens)) or "none declared"
            raise InvalidParameterError(f"observe_tokens: {', '.join(map(repr, unknown))} is not a declared group "
                                        f"({known}): declare it with groups={{name: GroupSpec(...)}}")
        checked = {k: self._check_count(v, k) for k, v in counts.items()}
        if not self.enabled:
            return
        for k, v in checked.items():
            self._tokens[k].append(v)

    def _check_count(self, count: Any, group: str) -> Any:
        """``count`` as the adapter keeps it until it is read (here: a float >= 0), or our error."""
        if isinstance(count, np.ndarray) and count.shape == ():
            count = count.item()
        if isinstance(count, bool) or not isinstance(count, numbers.Real) or not math.isfinite(count) or count < 0:
            raise InvalidParameterError(f"observe_tokens: the count of {group!r} = {shown_repr(count)} is not a "
                                        "number of tokens: pass how many tokens the group received this step, "
                                        "e.g. the router's count")
        return float(count)

    def _take_tokens(self) -> dict[str, float | None]:
        """Each group's mean observed tokens per step since the last analysis (None: none observed), then reset."""
        out: dict[str, float | None] = {}
        for name, pending in self._tokens.items():
            values = [v for v in self._values(pending) if math.isfinite(v) and v >= 0]
            out[name] = float(np.mean(values)) if values else None
            self._tokens[name] = []
        return out

    # -- the judge ---------------------------------------------------------------------------------
    def _step_record(self) -> StepRecord:
        r = self.recorder
        return StepRecord(steps=r.steps, gradient_steps=r.gradient_steps, nonfinite_steps=r.nonfinite_steps,
                          first_nonfinite_step=r.first_nonfinite_step, spikes=tuple(r.spikes))

    def _judge(self) -> tuple[MonitorDiagnostic, ...]:
        losses = self._loss_record()
        found = judge(self._analyses, losses, self.settings, self.run, self._step_record())
        return found + tuple(group_findings(self._analyses, losses)) if self._groups else found

    @property
    def diagnostics(self) -> tuple[MonitorDiagnostic, ...]:
        """Every finding so far (:func:`adamcheck.monitor.judge` on the history)."""
        self.recorder.catch_up()
        return self._judge()

    def _judge_and_emit(self) -> None:
        for d in self._judge():
            key = (d.rule, d.step)
            if key in self._emitted:
                continue
            if d.level is Level.RISK:
                self._emitted.add(key)
                LOGGER.warning("adamcheck: %s", d.message)
                if self.settings.warn:
                    warnings.warn(d.message, AdamCheckWarning, stacklevel=self.warn_stacklevel)
            elif d.rule == "no_gradient" and not any(k[0] == "no_gradient" for k in self._emitted):
                self._emitted.add(key)  # the monitor is blind: said once on the logger
                LOGGER.warning("adamcheck: %s", d.message)

    # -- results -----------------------------------------------------------------------------------
    def report(self) -> MonitorReport:
        """The numbers and findings so far (the last analysis, plus per-step records up to now).

        ``str(report)`` is the verdict in three lines; the fields are for code
        (:class:`~adamcheck.monitor.MonitorReport`).
        """
        rec = self.recorder
        try:
            rec.catch_up()
        except Exception as exc:  # noqa: BLE001 - a report must come back even from a broken monitor
            self._fail(exc)
        if self.enabled:
            self._judge_and_emit()  # a jump found by this catch-up is warned like any other
        diags = self._judge()
        losses = self._loss_record()
        a = self.last_analysis
        own = a.own if a is not None else None
        notes = list(self._notes) + rec.notes + [d.message for d in diags if d.level is not Level.RISK]
        if self.error:
            notes.append(f"switched off after an internal error at step {self.step}: {self.error}")
        if a is None and self.enabled:
            notes.append(f"no analysis yet: the first comes at step {self._next} (or call analyse())")
        elif a is not None and not a.noise.small_batch:
            notes.append(self.no_small_batches_note)
        if self._next is None and self.enabled and self.settings.every is None:
            share = self._record_seconds / max(1, self.step) / (self._step_seconds() or math.inf)
            notes.append(f"no further analysis planned: the monitor's per-step records alone cost {share:.1%} of a "
                         f"training step, above its budget of {self.settings.budget:.0%} (a very fast step); pass "
                         "every=N to analyse every N steps anyway")
        dirs = list(rec.median.values)
        finite = lambda x: float(x) if x is not None and math.isfinite(x) else None  # noqa: E731
        mean = a.mean if a is not None else None
        return MonitorReport(
            step=self.step, batch_size=self.run.batch_size, beta1=self.run.beta1, beta2=self.run.beta2,
            eps=self.run.eps, coordinates=self.k, analysed_step=a.step if a else None, analyses=len(self._analyses),
            window=a.rows if a else 0, next_analysis=self._next if self.enabled else None,
            beta2_critical=own.beta2_critical if own else None,
            beta2_critical_unresolved=bool(own and own.unresolved),
            beta2_critical_by_batch=tuple((f.batch_size, f.beta2_critical) for f in a.findings) if a else (),
            paper_condition=self.run.paper_condition,
            drift_ratio_min=a.drift.minimum if a else None, drift_ratio_median=a.drift.median if a else None,
            reversed=a.drift.reversed if a else 0, informative=a.drift.informative if a else 0,
            grad_norm_sq=a.noise.grad_norm_sq if a else None, small_batch=a.noise.small_batch if a else 0,
            small_batch_source=a.noise.source if a else "", b_simple=a.noise.b_simple if a else None,
            direction_norm_last=finite(rec.last_dir),
            direction_norm_median=finite(float(np.median(dirs))) if dirs else None,
            direction_norm_max_ratio=finite(rec.max_ratio), spikes=len(rec.spikes),
            mean_grad_sq=mean.resolved if mean else None, mean_grad_noise=mean.noise if mean else None,
            loss_mean=a.loss.mean if a and a.loss else None, loss_start=losses.start.mean if losses.start else None,
            gradient_steps=rec.gradient_steps, nonfinite_steps=rec.nonfinite_steps,
            nonfinite_losses=losses.nonfinite, diagnostics=diags, notes=tuple(notes),
            measurement=monitor_measurement(self._analyses, losses, self.settings, self.run, self._step_record(),
                                            source=self.writer),
            enabled=self.enabled, groups=a.groups if a is not None else ())

    def _lr_and_decay(self) -> tuple[float | None, float | None]:
        """The learning rate and weight decay the file states (None: not a plain number)."""
        return self.run.lr, self.run.weight_decay

    def _file_dtype(self) -> str:
        """The parameters' dtype, as the file's ``dtype`` states it."""
        return "float32"

    def save(self, path: str | os.PathLike) -> Path:
        """Write the kept mini-batch gradients (N steps, k coordinates) as a self-describing ``.npz``.

        Rows are mini-batch gradients at batch B (``row_batch_size = B``), so the CLI builds
        batch kB from k rows. The file states what the run was and what the monitor found
        (keys of :class:`adamcheck.noise._meta.GradientFileMeta`): ``writer``, ``batch_size``,
        ``row_batch_size``, ``beta1``, ``beta2``, ``eps``, ``lr`` and ``weight_decay`` (when
        plain numbers), ``steps``, ``planned_steps`` and ``seq_len`` (when known),
        ``world_size``, and the monitor's beta2 finding ``monitor_decided``/``monitor_failed``/
        ``monitor_trained``/``monitor_reason`` (:func:`adamcheck.monitor.monitor_measurement`:
        what it measured, or an abstention with the reason). Also ``monitor_steps`` (the step
        of each row) and ``exp_avg``/``exp_avg_sq`` (Adam's moments at the sample). Then:
        ``adamcheck recommend --gradients FILE``.

        Raises:
            InvalidParameterError: nothing recorded yet, or a path that cannot be written (not
                a str/PathLike, a NUL byte, a missing folder, not ending in ``.npz``).
            DataError: the operating system refused the write (its reason).
        """
        if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)) or \
                not isinstance(os.fspath(path), str):
            raise InvalidParameterError(f"save(path): path = {shown_repr(path)} is not a file name: give a str or "
                                        "pathlib.Path ending in .npz")
        target = check_output_path(path, "monitor file", {".npz"})
        rec = self.recorder
        if not len(rec.rows):
            raise InvalidParameterError("the monitor has recorded no step with a gradient yet: train at least one "
                                        "step before save()")
        try:
            rec.catch_up()
            rec.sync_moments()
        except Exception as exc:  # noqa: BLE001 - the file is still written from what was recorded
            self._fail(exc)
        rows, steps = rec.rows.last()
        run = self.run
        m = monitor_measurement(self._analyses, self._loss_record(), self.settings, run, self._step_record(),
                                source=self.writer)
        extra: dict[str, Any] = {
            "writer": self.writer, "monitor_steps": steps, "beta1": run.beta1, "beta2": run.beta2, "eps": run.eps,
            "steps": self.step, "world_size": rec.world, "monitor_decided": m.decided,
            "monitor_failed": np.asarray(m.failed, dtype=np.float64),
            "monitor_trained": np.asarray(m.trained, dtype=np.float64), "monitor_reason": m.reason,
            "monitor_critical": -1.0 if m.critical is None else m.critical}
        lr, wd = self._lr_and_decay()
        if lr:
            extra["lr"] = lr
        if wd is not None:
            extra["weight_decay"] = wd
        for key in ("planned_steps", "seq_len"):
            if getattr(run, key) is not None:
                extra[key] = getattr(run, key)
        if rec.last_m is not None:
            extra["exp_avg"], extra["exp_avg_sq"] = rec.last_m, rec.last_v
        try:
            return save_sampled_gradients(target, rows, self.sample, batch_size=run.batch_size, step=[self.step],
                                          dtype=self._file_dtype(), row_batch_size=run.batch_size, extra=extra)
        except OSError as exc:
            raise DataError(f"cannot write monitor file {shown_repr(str(target))}: {os_reason(exc)}") from None

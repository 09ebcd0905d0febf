"""``GradientMonitor``: Adam's convergence statistics during a real training run.

Attach in one line, ``monitor = GradientMonitor(optimizer, batch_size=32)``. It hooks
``optimizer.step`` with ``register_step_post_hook`` (after the step, because with
``step(closure)`` the backward runs inside the step) and is three parts:

* a **recorder** (:mod:`adamcheck.torch._recorder`): each step's mini-batch gradient g_t on
  a seeded sample of coordinates (:func:`adamcheck.torch.choose_coordinates`) into a ring
  of rows, Adam's m_t and v_t there, the norm of Adam's direction
  ``D_t = || m_hat_t / (sqrt(v_hat_t) + eps) ||`` and its jumps; micro-batch gradients
  under gradient accumulation, each rank's local gradient under DDP
  (:meth:`GradientMonitor.attach_ddp`);
* a pure **analysis** of a window of steps (:func:`adamcheck.monitor.analyse_window`:
  beta2* at B and the ``multiples`` kB, the drift ratio at the run's betas, the resolved
  |G|^2, the two-batch noise scale of McCandlish et al. 2018);
* a pure **judge** (:func:`adamcheck.monitor.judge`) that turns the analyses, the observed
  losses and the per-step records into :class:`~adamcheck._diagnostics.Diagnostic` records:
  ``beta2_below_critical`` when beta2 < beta2*(B) (at the first analysis always, later only
  while the run walks off: its loss rose above its start or its earlier low, or its
  resolved |G|^2 grew; :mod:`adamcheck.monitor._walkoff`), ``update_spike`` where
  beta1 >= sqrt(beta2), ``non_finite_gradient``/``non_finite_loss``, ``no_gradient``.
  Each new RISK is raised as an ``AdamCheckWarning`` and logged on the ``adamcheck`` logger.

When it analyses (:mod:`adamcheck.monitor._schedule`): first early (10% of
``planned_steps`` when known, at most 200 steps), then as often as the measured cost of
the monitor (its per-step records and its analyses) stays within ``budget`` (2%) of the
measured training step time; or at the multiples of a fixed ``every``.

It never breaks training: nothing it does raises out of ``optimizer.step()`` or a
backward pass. Steps with NaN/inf gradients are counted and left out; an internal error
becomes one ``AdamCheckWarning`` (and a logger error) and the monitor switches itself off
(``report().enabled`` is then False) while training goes on. What it cannot follow is
refused when it is built, with the reason: optimizers that are not Adam-family
(no ``betas``, or SparseAdam/Adamax), and parameters sharded by FSDP (DTensor or flat
parameters) or DeepSpeed ZeRO: the analysis needs each step's whole sampled gradient, which
no single rank holds there (DDP is supported).

Under DDP every rank records the same all-reduced gradients; the per-rank (small batch)
sums are merged with one ``all_reduce`` at each analysis, and the step of the next
analysis is agreed with one more (every rank must reach each analysis, as it does when all
ranks step together).

References:
    McCandlish, Kaplan, Amodei, OpenAI Dota Team. "An Empirical Model of Large-Batch
    Training", arXiv:1812.06162 (2018), appendix A.1 (two-batch estimator).
    Zhang, Li, Chen, Luo, Sun, arXiv:2603.02092 (2026), section 2 and Theorem 2.2.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import numbers
import os
import time
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .._diagnostics import Level
from .._errors import AdamCheckWarning, DataError, InvalidParameterError
from .._files import check_output_path, os_reason
from .._shown import shown_repr
from .._validate import check_positive_int
from ..monitor import (LossRecord, MonitorDiagnostic, MonitorReport, MonitorSettings, RunInfo, StepRecord,
                       Window, WindowAnalysis, WindowLoss, analyse_window, first_analysis_step, judge,
                       monitor_measurement, next_analysis_step, predict_beta2_star, report_metrics, window_law)
from ..monitor._schedule import Costs
from ..monitor._walkoff import window_loss
from ._recorder import Recorder, _RunningMedian
from ._sample import CoordinateSample, choose_coordinates, import_torch, save_sampled_gradients

__all__ = ["AdamCheckWarning", "GradientMonitor", "MonitorReport", "MonitorSettings", "predict_beta2_star",
           "report_metrics", "window_law"]

LOGGER = logging.getLogger("adamcheck")
# a library logs; the application decides where to: without this, Python's last-resort
# handler prints every warning a second time next to warnings.warn's own line
LOGGER.addHandler(logging.NullHandler())

WRITER = "adamcheck.torch.GradientMonitor"
#: losses kept as tensors before they are read in one go (one synchronisation per this many)
_LOSS_CHUNK = 1024


def _adam_family(optimizer: Any) -> str | None:
    """Why ``optimizer`` cannot be followed (None: it can)."""
    name = type(optimizer).__name__
    group0 = optimizer.param_groups[0] if optimizer.param_groups else {}
    if "betas" not in group0:
        return (f"{name} has no betas: GradientMonitor watches Adam-family optimizers (Adam, AdamW, NAdam, "
                "RAdam, fused or 8-bit AdamW...)")
    if name == "SparseAdam":
        return ("SparseAdam updates sparse gradients, whose sampled coordinates the monitor cannot read: use "
                "Adam/AdamW with dense gradients, or run without the monitor")
    if name == "Adamax":
        return "Adamax scales by an infinity norm, not by sqrt(v): adamcheck's beta2* is for Adam's second moment"
    if not any("adam" in c.__name__.lower() for c in type(optimizer).__mro__):
        return (f"{name} is not an Adam-family optimizer (no class named Adam in its MRO), so adamcheck's "
                "beta2* does not describe it: pass an Adam/AdamW optimizer")
    for grp in optimizer.param_groups:
        betas = grp.get("betas")
        try:
            b1, b2 = (float(b) for b in betas)
        except (TypeError, ValueError):
            return f"{name}'s betas = {shown_repr(betas)} are not two numbers"
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            return f"{name}'s betas = ({b1:g}, {b2:g}) are outside [0, 1)"
    return None


def _sharded(torch: Any, params: Sequence[Any]) -> str | None:
    """Why the parameters' gradients are out of reach (None: they are plain tensors)."""
    try:
        from torch.distributed.tensor import DTensor
    except ImportError:  # a torch built without distributed support
        DTensor = ()  # noqa: N806
    for p in params:
        if DTensor and isinstance(p, DTensor):
            return ("the parameters are DTensors (FSDP2 fully_shard, or tensor parallelism): each rank holds a "
                    "shard, and the monitor's analysis needs each step's whole sampled gradient, which would cost "
                    "a collective per step; monitor a DDP or single-process run of the model instead")
        if getattr(p, "_fsdp_flattened", False) or type(p).__name__ == "FlatParameter":
            return ("the parameters are FSDP flat parameters: each rank holds a shard of the gradient, and the "
                    "monitor's analysis needs each step's whole sampled gradient; monitor a DDP or single-process "
                    "run of the model instead")
        # DeepSpeed ZeRO-3 marks its partitioned parameters with ds_id (deepspeedai/DeepSpeed,
        # deepspeed/runtime/zero/utils.py: is_zero_param(p) is hasattr(p, "ds_id"))
        if hasattr(p, "ds_id"):
            return ("the parameters are partitioned by DeepSpeed ZeRO-3: their .grad is not the gradient; the "
                    "monitor cannot read it (run the monitor under DDP, or ZeRO stage 0)")
    return None


def _number(value: Any) -> float | None:
    """A plain finite non-negative number from an optimizer setting (None: a tensor, a schedule, missing)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    try:
        v = float(value)
    except (OverflowError, ValueError):
        return None
    return v if math.isfinite(v) and v >= 0 else None


class GradientMonitor:
    """Watch Adam's statistics during training; see the module docstring for what it does.

    Args:
        optimizer: a ``torch.optim.Adam``/``AdamW`` (or another Adam-family optimizer whose
            param groups have ``betas``/``eps`` and whose state has ``exp_avg``/``exp_avg_sq``);
            wrappers with an ``.optimizer`` (accelerate, Lightning) are unwrapped.
        batch_size: B, examples per optimizer step (global: micro batch x accumulation x ranks).
        settings: a :class:`~adamcheck.monitor.MonitorSettings` (default: its defaults).
        model: the model, only for parameter names (``model.named_parameters()``).
        names: parameter names in optimizer order (default ``group{g}.{i}``).
        planned_steps: the optimizer steps the run plans (the callbacks pass the trainer's):
            the first analysis comes at 10% of them (at most 200), and the saved file says so.
        seq_len: tokens per sample (language models; written to the saved file).
        accumulation_steps: backward calls per step, if known: micro-batches are then
            gathered from the first step (otherwise from the second step on which the
            monitor has seen more than one backward call).
        **options: shortcuts for :class:`~adamcheck.monitor.MonitorSettings` fields
            (``coordinates``, ``every``, ``budget``, ``window``, ``multiples``, ``warn``...),
            applied on top of ``settings``.

    Raises:
        InvalidParameterError: an optimizer it cannot follow (not Adam-family, SparseAdam,
            Adamax), parameters sharded by FSDP or DeepSpeed ZeRO, no trainable parameters,
            a ``model`` without ``named_parameters``, or a bad setting (an unknown option or
            drift option included).

    Example:
        >>> import torch
        >>> model = torch.nn.Linear(4, 1)
        >>> opt = torch.optim.Adam(model.parameters(), betas=(0.9, 0.999))
        >>> mon = GradientMonitor(opt, batch_size=8, model=model)
        >>> for _ in range(3):
        ...     opt.zero_grad(); model(torch.randn(8, 4)).pow(2).mean().backward(); opt.step()
        >>> mon.report().step, mon.report().coordinates, mon.report().analysed_step
        (3, 5, None)
        >>> print(mon.report())  # doctest: +NORMALIZE_WHITESPACE
        adamcheck monitor, step 3 (batch 8, beta1 0.9, beta2 0.999): NOT CHECKED
        no analysis yet: the next at step 200 (or call analyse())
        Nothing to change yet (1 note: report.notes).
    """

    def __init__(self, optimizer: Any, batch_size: int, *, settings: MonitorSettings | None = None,
                 model: Any = None, names: Sequence[str] | None = None, planned_steps: int | None = None,
                 seq_len: int | None = None, accumulation_steps: int | None = None, **options: Any) -> None:
        torch = import_torch()
        self._torch = torch
        if settings is not None and not isinstance(settings, MonitorSettings):
            raise InvalidParameterError(f"settings = {shown_repr(settings)} is not a MonitorSettings: build one "
                                        "with adamcheck.monitor.MonitorSettings(...)")
        settings = settings or MonitorSettings()
        self.settings: MonitorSettings = settings.replace(**options) if options else settings
        # wrappers (accelerate's AcceleratedOptimizer, LightningOptimizer) call an inner
        # torch optimizer's step(): its hooks are the ones that fire
        chain = [optimizer]
        while isinstance(getattr(optimizer, "optimizer", None), torch.optim.Optimizer):
            optimizer = optimizer.optimizer
            chain.append(optimizer)
        if any(type(o).__module__.split(".")[0] == "deepspeed" for o in chain):
            raise InvalidParameterError(
                f"{type(chain[0]).__name__} is DeepSpeed's optimizer: ZeRO keeps the gradients in partitioned flat "
                "buffers, not in each parameter's .grad, so the monitor cannot read them (run it under DDP, or "
                "without DeepSpeed's ZeRO)")
        if not isinstance(getattr(optimizer, "param_groups", None), list) or not optimizer.param_groups:
            raise InvalidParameterError(
                f"{type(optimizer).__name__} is not a torch optimizer (no param_groups): pass the Adam/AdamW "
                "optimizer, e.g. GradientMonitor(torch.optim.Adam(model.parameters()), batch_size=32)")
        why = _adam_family(optimizer)
        if why:
            raise InvalidParameterError(why)
        self.optimizer = optimizer
        params, pnames = [], []
        for g, group in enumerate(optimizer.param_groups):
            for i, p in enumerate(group["params"]):
                if p.requires_grad:
                    params.append(p)
                    pnames.append(f"group{g}.{i}")
        if not params:
            raise InvalidParameterError("the optimizer has no trainable parameters: give it the model's parameters")
        why = _sharded(torch, params)
        if why:
            raise InvalidParameterError(f"GradientMonitor cannot follow this run: {why}")
        pnames = self._names(params, pnames, model, names)
        group0 = optimizer.param_groups[0]
        beta1, beta2 = (float(b) for b in group0["betas"])
        self.run = RunInfo(batch_size=batch_size, beta1=beta1, beta2=beta2, eps=_number(group0.get("eps")) or 0.0,
                           lr=_number(group0.get("lr")), weight_decay=_number(group0.get("weight_decay")),
                           planned_steps=planned_steps, seq_len=seq_len, optimizer=type(optimizer).__name__)
        self._notes: list[str] = []
        if any(tuple(float(b) for b in grp["betas"]) != (beta1, beta2) for grp in optimizer.param_groups):
            self._notes.append("param groups have different betas: statistics use the first group's")
        s = self.settings
        self.sample: CoordinateSample = choose_coordinates(
            [(n, p.numel()) for n, p in zip(pnames, params)], s.coordinates, seed=s.seed,
            floor_per_tensor=s.floor_per_tensor)
        tracked = [(p, torch.as_tensor(i, device=p.device)) for p, i in zip(params, self.sample.per_tensor()) if i.size]
        # m, v can be replayed from the recorded gradients when the gradient is what Adam
        # averages: no L2 weight decay folded into it (AdamW's decay is decoupled), no
        # amsgrad/maximize; otherwise they are read from the optimizer every step
        decoupled = type(optimizer).__name__ == "AdamW"
        replay = all(
            not grp.get("amsgrad", False) and not grp.get("maximize", False)
            and (decoupled or grp.get("decoupled_weight_decay", False) or not grp.get("weight_decay", 0.0))
            for grp in optimizer.param_groups)
        accumulating = accumulation_steps is not None and check_positive_int(
            accumulation_steps, "accumulation_steps") >= 2
        self.enabled = True
        self.error: str | None = None
        self.recorder = Recorder(torch, optimizer, tracked, beta1=beta1, beta2=beta2, eps=self.run.eps,
                                 replay=replay, history=s.history, spike_factor=s.spike_factor,
                                 spike_window=s.spike_window, accumulating=accumulating,
                                 micro_batches=s.micro_batches, batch_size=self.run.batch_size, fail=self._fail)
        self.k = self.recorder.k
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
        self._intervals = _RunningMedian(63)
        self._t_exit: float | None = None
        self._record_seconds = 0.0
        self._spent = 0.0
        self._train_seconds = 0.0
        self._last_analysis_seconds = 0.0
        self._next: int | None = first_analysis_step(s, planned_steps)
        self._handles = [optimizer.register_step_post_hook(self._post)]

    @staticmethod
    def _names(params: list[Any], pnames: list[str], model: Any, names: Sequence[str] | None) -> list[str]:
        if model is not None:
            named = getattr(model, "named_parameters", None)
            if not callable(named):
                raise InvalidParameterError(f"model = {shown_repr(model)} has no named_parameters(): pass the "
                                            "torch.nn.Module the optimizer trains (it only supplies parameter names)")
            by_id = {id(p): n for n, p in named()}
            if not any(id(p) in by_id for p in params):
                raise InvalidParameterError("none of the optimizer's parameters belong to the model given: pass the "
                                            "model the optimizer trains (it only supplies parameter names)")
            return [by_id.get(id(p), n) for p, n in zip(params, pnames)]
        if names is not None:
            if isinstance(names, (str, bytes)) or len(names) != len(params):
                raise InvalidParameterError(f"names must give one name per trainable parameter ({len(params)})")
            return [str(n) for n in names]
        return pnames

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
        # the hooks stay registered but do nothing (removing one while torch iterates over
        # its hooks would itself raise inside step() or backward())
        self.recorder.active = False
        message = (f"adamcheck's GradientMonitor hit an internal error at step {self.step} and switched itself off; "
                   f"training goes on ({self.error}); please report it")
        LOGGER.error("adamcheck: %s", message)
        if self.settings.warn:
            warnings.warn(message, AdamCheckWarning, stacklevel=3)

    def _post(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if not self.enabled:
            return
        t0 = time.perf_counter()
        if self._t_exit is not None:
            interval, typical = t0 - self._t_exit, self._intervals.median()
            # a pause (evaluation, a checkpoint) is not training: a step counts at most 3 typical steps
            self._train_seconds += interval if typical != typical else min(interval, 3.0 * typical)
            self._intervals.push(interval)
        analysed = 0.0
        try:
            # a jump is a warning only outside beta1 < sqrt(beta2); inside, the judge only counts it
            if self.recorder.on_step() and not self.run.paper_condition:
                self._judge_and_emit()
            if self._next is not None and self.step >= self._next:
                analysed = self._analyse()
        except Exception as exc:  # noqa: BLE001 - nothing may raise out of optimizer.step()
            self._fail(exc)
        t1 = time.perf_counter()
        self._record_seconds += t1 - t0 - analysed
        self._spent += t1 - t0 - analysed
        self._t_exit = t1

    # -- analysis ----------------------------------------------------------------------------------
    def analyse(self) -> WindowAnalysis | None:
        """Analyse the steps since the last analysis now (also run on the schedule, module docstring).

        Under DDP this is a collective (all-reduces): call it on every rank. An internal
        error switches the monitor off (a warning) instead of raising.

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

        Under DDP its two collectives (the two-batch sums, then the next step and a failure
        flag) are reached by every rank even when this rank's own part fails, so one rank's
        error switches every rank's monitor off instead of leaving the others waiting.
        """
        t = time.perf_counter()
        rec, s, run = self.recorder, self.settings, self.run
        error: BaseException | None = None
        try:
            rec.catch_up()
            rec.sync_moments()  # replace the replayed m, v by the optimizer's own
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
                self._analyses.append(analyse_window(window, s))
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
        """Under DDP every rank must analyse at the same step: the latest one proposed, and
        whether any rank failed (one all-reduce)."""
        if self.recorder.ddp is None:
            return nxt, False
        import torch.distributed as dist

        never = 2**62
        t = self._torch.tensor([never if nxt is None else nxt, int(failed)], dtype=self._torch.int64)
        dist.all_reduce(t, op=dist.ReduceOp.MAX, group=self.recorder.group)
        value, any_failed = (int(v) for v in t.tolist())
        return (None if value >= never else value), bool(any_failed)

    # -- losses ------------------------------------------------------------------------------------
    def observe_loss(self, loss: Any) -> None:
        """Record a training loss (a number or a one-element tensor) for the walk-off rule.

        Call it once per step (or per logging interval, with the interval's mean): after the
        first analysis a beta2* finding is a warning only while the run walks off (its loss
        rose above its start or its earlier low, or the gradient grew; see
        :mod:`adamcheck.monitor._walkoff`); without observed losses every finding is a
        warning. Tensors are kept as they are and read in chunks, so a GPU loss costs no
        synchronisation per step. A NaN or inf loss is not averaged: it is counted as
        evidence that the run diverged (the ``non_finite_loss`` warning).

        Raises:
            InvalidParameterError: a loss that is not one real number (a string, None, a
                list, a tensor with several elements, a number too large for a float).

        Example:
            >>> import torch
            >>> model = torch.nn.Linear(2, 1)
            >>> mon = GradientMonitor(torch.optim.Adam(model.parameters()), batch_size=4)
            >>> mon.observe_loss(0.7); mon.observe_loss(torch.tensor(0.6))
            >>> mon.observe_loss("0.5")
            Traceback (most recent call last):
            ...
            adamcheck._errors.InvalidParameterError: observe_loss(loss): loss = '0.5' is not a number...
        """
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
        t = self._torch
        fix = "pass the scalar training loss, e.g. monitor.observe_loss(loss) with loss = loss_fn(...)"
        if isinstance(loss, t.Tensor):
            if loss.numel() != 1:
                raise InvalidParameterError(f"observe_loss(loss): the tensor has {loss.numel()} elements, not one: "
                                            "pass the mean loss (loss.mean())")
            if loss.is_complex() or loss.dtype == t.bool:
                raise InvalidParameterError(f"observe_loss(loss): a {loss.dtype} tensor is not a loss: {fix}")
            return loss.detach().reshape(())
        if isinstance(loss, np.ndarray) and loss.shape == ():
            loss = loss.item()
        if isinstance(loss, bool) or not isinstance(loss, numbers.Real):
            raise InvalidParameterError(f"observe_loss(loss): loss = {shown_repr(loss)} is not a number: {fix}")
        try:
            return float(loss)
        except (OverflowError, ValueError, TypeError):
            raise InvalidParameterError(f"observe_loss(loss): loss = {shown_repr(loss)} is too large for a float: "
                                        f"{fix}") from None

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

    def _values(self, values: list[Any]) -> list[float]:
        t = self._torch
        tensors = [v for v in values if isinstance(v, t.Tensor)]
        if not tensors:
            return [float(v) for v in values]
        read = iter(t.stack([x.to(dtype=t.float64, device="cpu") for x in tensors]).tolist())
        return [next(read) if isinstance(v, t.Tensor) else float(v) for v in values]

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

    # -- the judge ---------------------------------------------------------------------------------
    def _step_record(self) -> StepRecord:
        r = self.recorder
        return StepRecord(steps=r.steps, gradient_steps=r.gradient_steps, nonfinite_steps=r.nonfinite_steps,
                          first_nonfinite_step=r.first_nonfinite_step, spikes=tuple(r.spikes))

    def _judge(self) -> tuple[MonitorDiagnostic, ...]:
        return judge(self._analyses, self._loss_record(), self.settings, self.run, self._step_record())

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
                    warnings.warn(d.message, AdamCheckWarning, stacklevel=4)
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
            notes.append("no two-batch noise scale: it needs gradient accumulation (micro-batches) or DDP "
                         "(attach_ddp)")
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
                                            source=WRITER),
            enabled=self.enabled)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the kept mini-batch gradients (N steps, k coordinates) as a self-describing ``.npz``.

        Rows are mini-batch gradients at batch B (``row_batch_size = B``), so the CLI builds
        batch kB from k rows. The file states what the run was and what the monitor found
        (keys of :class:`adamcheck.noise._meta.GradientFileMeta`): ``writer``
        (``adamcheck.torch.GradientMonitor``), ``batch_size``, ``row_batch_size``, ``beta1``,
        ``beta2``, ``eps``, ``lr`` and ``weight_decay`` (the first param group's, when plain
        numbers), ``steps``, ``planned_steps`` and ``seq_len`` (when known), ``world_size``,
        and the monitor's beta2 finding ``monitor_decided``/``monitor_failed``/
        ``monitor_trained``/``monitor_reason`` (:func:`adamcheck.monitor.monitor_measurement`:
        what it measured, or an abstention with the reason). Also ``monitor_steps`` (the step
        of each row) and ``exp_avg``/``exp_avg_sq`` (the optimizer's moments at the sample).
        Then: ``adamcheck recommend --gradients FILE``.

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
                                source=WRITER)
        extra: dict[str, Any] = {
            "writer": WRITER, "monitor_steps": steps, "beta1": run.beta1, "beta2": run.beta2, "eps": run.eps,
            "steps": self.step, "world_size": rec.world, "monitor_decided": m.decided,
            "monitor_failed": np.asarray(m.failed, dtype=np.float64),
            "monitor_trained": np.asarray(m.trained, dtype=np.float64), "monitor_reason": m.reason}
        group0 = self.optimizer.param_groups[0]
        lr, wd = _number(group0.get("lr")), _number(group0.get("weight_decay"))
        if lr:
            extra["lr"] = lr
        if wd is not None:
            extra["weight_decay"] = wd
        for key in ("planned_steps", "seq_len"):
            if getattr(run, key) is not None:
                extra[key] = getattr(run, key)
        if rec.last_m is not None:
            extra["exp_avg"], extra["exp_avg_sq"] = rec.last_m, rec.last_v
        dtype = str(rec.params[0].dtype).replace("torch.", "")
        try:
            return save_sampled_gradients(target, rows, self.sample, batch_size=run.batch_size, step=[self.step],
                                          dtype=dtype, row_batch_size=run.batch_size, extra=extra)
        except OSError as exc:
            raise DataError(f"cannot write monitor file {shown_repr(str(target))}: {os_reason(exc)}") from None

    # -- DDP ---------------------------------------------------------------------------------------
    def attach_ddp(self, ddp_model: Any, process_group: Any = None) -> "GradientMonitor":
        """Record each rank's local gradient with a DDP communication hook, then all-reduce as DDP does.

        The hook is :func:`torch.distributed.algorithms.ddp_comm_hooks.default_hooks.allreduce_hook`
        with a look at the bucket first, so training is unchanged (a failure in the look
        switches the monitor off, never the all-reduce). Replaces any comm hook (DDP allows
        one). Call on every rank, before the first step.

        Raises:
            InvalidParameterError: ``ddp_model`` is not a ``DistributedDataParallel``.
        """
        from torch.nn.parallel import DistributedDataParallel

        if not isinstance(ddp_model, DistributedDataParallel):
            raise InvalidParameterError(f"attach_ddp: {type(ddp_model).__name__} is not a DistributedDataParallel "
                                        "model: pass the DDP wrapper")
        self.recorder.attach_ddp(ddp_model, process_group)
        self.run = dataclasses.replace(self.run, world_size=self.recorder.world)
        return self

    def remove(self) -> None:
        """Detach every hook (the records stay)."""
        for h in self._handles:
            h.remove()
        self._handles = []
        self.recorder.remove()


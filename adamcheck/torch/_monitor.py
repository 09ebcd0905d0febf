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
import math
import numbers
import os
from pathlib import Path
from typing import Any, Mapping, Sequence

from .._errors import AdamCheckWarning, InvalidParameterError
from .._shown import shown_repr
from .._validate import check_positive_int
from ..monitor import (
    GroupSpec,
    MonitorReport,
    MonitorSettings,
    RunInfo,
    WindowAnalysis,
    predict_beta2_star,
    report_metrics,
    window_law,
)
from ..monitor._groups import resolve_groups
from ..monitor._host import LOGGER, MonitorHost
from ._recorder import Recorder
from ._sample import CoordinateSample, choose_coordinates, import_torch

__all__ = ["AdamCheckWarning", "GradientMonitor", "LOGGER", "MonitorReport", "MonitorSettings",
           "predict_beta2_star", "report_metrics", "window_law"]

WRITER = "adamcheck.torch.GradientMonitor"


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
        from torch.distributed.tensor import DTensor  # optional: torch
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


class GradientMonitor(MonitorHost):
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
        groups: ``{name: GroupSpec(...)}``, parameter groups whose effective batch is not
            the global one (MoE experts, embedding rows): each analysis also gives beta2* per
            group at its effective batch (``report().groups``) and warns when the group's beta2
            is below it (:mod:`adamcheck.monitor._groups`; token counts per step with
            :meth:`observe_tokens`). Names are those of ``model.named_parameters()``.
        **options: shortcuts for :class:`~adamcheck.monitor.MonitorSettings` fields
            (``coordinates``, ``every``, ``budget``, ``window``, ``multiples``, ``warn``...),
            applied on top of ``settings``.

    Raises:
        InvalidParameterError: an optimizer it cannot follow (not Adam-family, SparseAdam,
            Adamax), parameters sharded by FSDP or DeepSpeed ZeRO, no trainable parameters,
            a ``model`` without ``named_parameters``, a bad setting (an unknown option or
            drift option included), or a group that names no parameter or has no sampled
            coordinate.

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

    writer = WRITER
    label = "GradientMonitor"
    no_small_batches_note = ("no two-batch noise scale: it needs gradient accumulation (micro-batches) or DDP "
                             "(attach_ddp)")

    def __init__(self, optimizer: Any, batch_size: int, *, settings: MonitorSettings | None = None,
                 model: Any = None, names: Sequence[str] | None = None, planned_steps: int | None = None,
                 seq_len: int | None = None, accumulation_steps: int | None = None,
                 groups: Mapping[str, GroupSpec] | None = None, **options: Any) -> None:
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
        run = RunInfo(batch_size=batch_size, beta1=beta1, beta2=beta2, eps=_number(group0.get("eps")) or 0.0,
                      lr=_number(group0.get("lr")), weight_decay=_number(group0.get("weight_decay")),
                      planned_steps=planned_steps, seq_len=seq_len, optimizer=type(optimizer).__name__)
        notes = []
        if any(tuple(float(b) for b in grp["betas"]) != (beta1, beta2) for grp in optimizer.param_groups):
            notes.append("param groups have different betas: statistics use the first group's")
        s = self.settings
        sample: CoordinateSample = choose_coordinates(
            [(n, p.numel()) for n, p in zip(pnames, params)], s.coordinates, seed=s.seed,
            floor_per_tensor=s.floor_per_tensor)
        tracked = [(p, torch.as_tensor(i, device=p.device)) for p, i in zip(params, sample.per_tensor()) if i.size]
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
        self.enabled = True  # read by the recorder's hooks through _fail
        recorder = Recorder(torch, optimizer, tracked, s, run, replay=replay, accumulating=accumulating,
                            fail=self._fail)
        beta2_of = {id(p): float(grp["betas"][1]) for grp in optimizer.param_groups for p in grp["params"]}
        resolved = resolve_groups(groups, sample, [p.numel() // p.shape[0] if p.dim() else 1 for p in params],
                                  [beta2_of[id(p)] for p in params])
        self._start(s, run, recorder, sample, notes, resolved)
        self.recorder: Recorder = recorder
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

    # -- never break training ---------------------------------------------------------------------
    def _switched_off(self) -> None:
        # the hooks stay registered but do nothing (removing one while torch iterates over
        # its hooks would itself raise inside step() or backward())
        self.recorder.active = False

    def _post(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        self._on_step(self.recorder.on_step)

    # -- analysis ----------------------------------------------------------------------------------
    def analyse(self) -> WindowAnalysis | None:
        """Analyse the steps since the last analysis now (also run on the schedule, module docstring).

        Under DDP this is a collective (all-reduces): call it on every rank. An internal
        error switches the monitor off (a warning) instead of raising.

        Returns:
            the analysis (None when the monitor is switched off).
        """
        return super().analyse()

    def _agree(self, nxt: int | None, failed: bool) -> tuple[int | None, bool]:
        """Under DDP every rank must analyse at the same step: the latest one proposed, and
        whether any rank failed (one all-reduce)."""
        if self.recorder.ddp is None:
            return nxt, False
        import torch.distributed as dist  # optional: torch

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
        self._observe_loss(loss)

    def observe_tokens(self, counts: Mapping[str, Any]) -> None:
        """Record how many tokens each declared group received this step (its effective batch).

        ``counts``: ``{group name: count}``, a number or a one-element tensor (the router's
        count for an expert, the occurrences of the group's token ids in the batch for
        embedding rows), in the unit of the global batch (module :mod:`adamcheck.monitor._groups`).
        Call it once per optimizer step; each analysis uses the mean over the steps since
        the previous one. Tensors are kept as they are and read at the analysis (no
        synchronisation per step).

        Raises:
            InvalidParameterError: a name that is not a declared group, or a count that is
                not one non-negative number.

        Example:
            >>> import torch
            >>> from adamcheck.monitor import GroupSpec
            >>> model = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Linear(4, 1))
            >>> mon = GradientMonitor(torch.optim.Adam(model.parameters()), batch_size=8, model=model,
            ...                       groups={"rare": GroupSpec("0.weight", rows=[9])})
            >>> mon.observe_tokens({"rare": torch.tensor(1)})
            >>> mon.observe_tokens({"common": 3})
            Traceback (most recent call last):
            ...
            adamcheck._errors.InvalidParameterError: observe_tokens: 'common' is not a declared group ('rare'): ...
        """
        self._observe_tokens(counts)

    def _check_count(self, count: Any, group: str) -> Any:
        t = self._torch
        if isinstance(count, t.Tensor):
            if count.numel() != 1 or count.is_complex() or count.dtype == t.bool:
                raise InvalidParameterError(f"observe_tokens: the count of {group!r} is a {count.dtype} tensor of "
                                            f"{count.numel()} elements: pass one number of tokens")
            return count.detach().reshape(())
        return super()._check_count(count, group)

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
        return super()._check_loss(loss)

    def _values(self, values: list[Any]) -> list[float]:
        t = self._torch
        tensors = [v for v in values if isinstance(v, t.Tensor)]
        if not tensors:
            return [float(v) for v in values]
        read = iter(t.stack([x.to(dtype=t.float64, device="cpu") for x in tensors]).tolist())
        return [next(read) if isinstance(v, t.Tensor) else float(v) for v in values]

    # -- results -----------------------------------------------------------------------------------
    def _lr_and_decay(self) -> tuple[float | None, float | None]:
        group0 = self.optimizer.param_groups[0]
        return _number(group0.get("lr")), _number(group0.get("weight_decay"))

    def _file_dtype(self) -> str:
        return str(self.recorder.params[0].dtype).replace("torch.", "")

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
        return super().save(path)

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
        from torch.nn.parallel import DistributedDataParallel  # optional: torch

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


"""The torch side of the monitor's recorder: gathering, and what only torch has.

:class:`Recorder` gathers each step's gradient at the sampled coordinates into one row
(:class:`_Gather`: ``torch.take`` into a preallocated row) and hands it to the
framework-free :class:`~adamcheck.monitor._record.StepRecorder`, which keeps the ring of
rows and the per-step records (|g_t|^2, m_t and v_t, D_t and its jumps, the two-batch
sums; see :mod:`adamcheck.monitor._record`). What is torch's own: the optimizer's
``exp_avg`` m_t and ``exp_avg_sq`` v_t read at the sample (at the first step, at each
analysis and on save; between them replayed from the recorded gradients, and read every
step where the replay is not exact: L2 weight decay folded into the gradient, amsgrad,
maximize); each micro-batch's gradient under gradient accumulation
(``post_accumulate_grad`` hooks: differences of ``.grad`` between backward calls); each
rank's local gradient under DDP (a DDP communication hook) and the all-reduce of the
two-batch sums.

A step whose sampled gradients are all missing (every ``.grad`` None) is counted and
recorded nowhere; one that holds NaN/inf is counted and left out of every record.
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Sequence

import numpy as np

from ..monitor._record import Rows, RunningMedian, StepRecorder
from ..monitor._settings import MonitorSettings, RunInfo
from ..noise._distributed import all_reduce_accumulator

__all__ = ["Recorder"]


class _Gather:
    """The sampled coordinates of one tensor per tracked parameter, written into one preallocated row.

    Per tensor one ``torch.take(t, idx, out=row[a:b])`` (the flat indices of
    :func:`choose_coordinates`; ``take`` reads ``t`` as if flattened, so no reshape
    either): no per-tensor result and no ``torch.cat``, 28 tensors of the tiny GPT-2
    in ~40 us instead of ~100 us. The row has the parameters' float dtype (float64 if
    any is float64, else float32) on the first one's device; a tensor of another dtype
    or device is converted by ``copy_``, a missing one (``.grad`` is None) gives zeros.
    ``__call__`` returns the row as a NumPy array on the CPU (the same memory on CPU
    devices; one copy, a synchronisation, elsewhere) that the next call overwrites.
    """

    def __init__(self, torch: Any, tracked: Sequence[tuple[Any, Any]]) -> None:
        self._torch = torch
        device = tracked[0][0].device
        dtype = torch.float64 if any(p.dtype == torch.float64 for p, _ in tracked) else torch.float32
        size = sum(int(idx.numel()) for _, idx in tracked)
        self.row = torch.zeros(size, dtype=dtype, device=device)
        self.host = self.row if device.type == "cpu" else torch.zeros(size, dtype=dtype)
        self.array = self.host.numpy()
        self._dtype = dtype
        self._plan = []
        start = 0
        for p, idx in tracked:
            stop = start + int(idx.numel())
            self._plan.append((idx, self.row[start:stop], p.device == device))
            start = stop

    def __call__(self, tensors: Sequence[Any]) -> np.ndarray:
        take, dtype = self._torch.take, self._dtype
        for t, (idx, out, same_device) in zip(tensors, self._plan):
            if t is None:
                out.zero_()
            elif same_device and t.dtype is dtype and not t.requires_grad:
                take(t, idx, out=out)
            else:
                out.copy_(t.detach().reshape(-1).index_select(0, idx))
        if self.host is not self.row:
            self.host.copy_(self.row)
        return self.array


_Rows = Rows  # the names the tests and older code use
_RunningMedian = RunningMedian


class Recorder(StepRecorder):
    """Per-step records of one optimizer's tracked parameters (module docstring).

    Args:
        torch: the torch module.
        optimizer: the torch optimizer whose state holds ``exp_avg``/``exp_avg_sq``.
        tracked: ``(parameter, flat sampled indices)`` per tracked tensor, in sample order.
        settings: the monitor's :class:`~adamcheck.monitor.MonitorSettings`; the recorder
            reads ``history`` (rows kept), ``spike_factor`` and ``spike_window`` (the jump
            rule) and ``micro_batches`` (hook micro-batch gradients at all).
        run: the :class:`~adamcheck.monitor._settings.RunInfo`; the recorder reads ``beta1``,
            ``beta2``, ``eps`` (Adam's, for the replay and D_t) and ``batch_size`` (B: the
            small batches of the two-batch estimate are B / K).
        replay: m and v can be replayed from the gradients (no L2 decay folded into the
            gradient, no amsgrad/maximize); otherwise they are read every step.
        accumulating: gradient accumulation is known (micro-batches gathered from step 1).
        fail: called with the exception when a backward hook fails (hooks must not raise).
    """

    def __init__(self, torch: Any, optimizer: Any, tracked: Sequence[tuple[Any, Any]], settings: MonitorSettings,
                 run: RunInfo, *, replay: bool, accumulating: bool, fail: Callable[[BaseException], None]):
        self._torch = torch
        self.optimizer = optimizer
        self.tracked = list(tracked)
        self.params = [p for p, _ in self.tracked]
        self._fail = fail
        self.active = True  # False once the monitor has switched itself off: the hooks then do nothing
        # per-step work writes into buffers made once: the gathered rows, the ring of
        # recorded rows, float64 scratch for Adam's recurrences (no allocation per step)
        self._gather_grad = _Gather(torch, self.tracked)
        self._gather_m = _Gather(torch, self.tracked)
        self._gather_v = _Gather(torch, self.tracked)
        super().__init__(self._gather_grad.array.shape[0], beta1=run.beta1, beta2=run.beta2, eps=run.eps,
                         replay=replay, history=settings.history, spike_factor=settings.spike_factor,
                         spike_window=settings.spike_window, batch_size=run.batch_size,
                         exact_rows=self._gather_grad.array.dtype == np.float32)
        # DDP
        self.ddp: Any = None
        self.group: Any = None
        self.world = 1
        self._ddp_local: dict[int, Any] = {}
        # micro-batches
        self.handles: list[Any] = []
        self._micro: list[list[Any]] = [[] for _ in self.tracked]
        self._micro_src: list[Any] = [None] * len(self.tracked)
        self._micro_count = [0] * len(self.tracked)
        self._accumulating = accumulating
        self._micro_hooked = 0
        if settings.micro_batches:
            # one counting hook until accumulation is seen: 1 Python call per backward, not one per tensor
            self._hook_micro(len(self.tracked) if accumulating else 1)

    # -- hooks -----------------------------------------------------------------------------
    def _hook_micro(self, upto: int) -> None:
        for slot in range(self._micro_hooked, upto):
            self.handles.append(self.tracked[slot][0].register_post_accumulate_grad_hook(self._make_micro_hook(slot)))
        self._micro_hooked = max(self._micro_hooked, upto)

    def _make_micro_hook(self, slot: int) -> Callable[[Any], None]:
        # after each backward, keep this tensor's cumulative .grad at its sampled indices;
        # differences between backward calls are the micro-batches' contributions
        idx = self.tracked[slot][1]

        def hook(param: Any) -> None:
            if not self.active:
                return
            try:
                grad = param.grad
                if self.ddp is not None or grad is None:
                    return
                src = self._micro_src[slot]
                if src is None or src() is not grad:
                    # a new .grad tensor: zero_grad(set_to_none=True) ran, a new accumulation starts
                    self._micro[slot] = []
                    self._micro_count[slot] = 0
                    self._micro_src[slot] = weakref.ref(grad)
                self._micro_count[slot] += 1
                if self._accumulating:  # gathered only once the run is seen to accumulate (cost)
                    self._micro[slot].append(grad.detach().reshape(-1).index_select(0, idx))
            except Exception as exc:  # noqa: BLE001 - a hook inside backward() must never raise
                self._fail(exc)

        return hook

    def attach_ddp(self, ddp_model: Any, process_group: Any = None) -> None:
        import torch.distributed as dist  # optional: torch
        from torch.distributed.algorithms.ddp_comm_hooks import default_hooks  # optional: torch

        self.ddp = ddp_model
        self.group = process_group
        self.world = dist.get_world_size(process_group)
        self._micro = [[] for _ in self.tracked]
        where = {id(p): idx for p, idx in self.tracked}

        def hook(state, bucket):  # type: ignore[no-untyped-def]  # DDP inspects the annotations: none here
            try:
                for p, g in zip(bucket.parameters(), bucket.gradients()):
                    idx = where.get(id(p))
                    if idx is not None and self.active:
                        self._ddp_local[id(p)] = g.detach().reshape(-1).index_select(0, idx)
            except Exception as exc:  # noqa: BLE001 - training's all-reduce below must still run
                self._fail(exc)
            return default_hooks.allreduce_hook(process_group, bucket)

        ddp_model.register_comm_hook(None, hook)

    # -- each step ---------------------------------------------------------------------------
    def on_step(self) -> bool:
        """Record this step (called after ``optimizer.step()``); True when a jump was recorded."""
        grads = [p.grad for p in self.params]
        self.steps += 1
        small = self._take_small_rows()  # this step's micro-batch snapshots are reset for the next one
        if all(g is None for g in grads):
            return False  # nothing to record: counted by steps - gradient_steps
        return self.record(self._gather_grad(grads), small)

    def read_moments(self) -> tuple[np.ndarray, np.ndarray, float] | None:
        """The optimizer's own exp_avg, exp_avg_sq at the sample and its step count (None: no Adam state)."""
        state = self.optimizer.state
        ms, vs = [], []
        for p in self.params:
            st = state.get(p)
            if not st or "exp_avg" not in st or "exp_avg_sq" not in st:
                return None
            ms.append(st["exp_avg"])
            vs.append(st["exp_avg_sq"])
        # float64 copies: the replay updates them in place, the gather rows are reused
        m, v = self._gather_m(ms).astype(np.float64), self._gather_v(vs).astype(np.float64)
        step = state[self.params[0]].get("step", self.steps)
        return m, v, float(step)

    # -- two-batch sums ------------------------------------------------------------------------
    def _take_small_rows(self) -> tuple[np.ndarray | None, int, str]:
        torch = self._torch
        if self.ddp is None and not self._accumulating and self._micro_hooked <= 1 and self._micro_count[0] < 2:
            # the common case, no accumulation seen: what the general route below does
            # to the (empty) records, without rebuilding them every step
            self._micro_count[0] = 0
            self._micro_src[0] = None
            return None, 0, ""
        if self.ddp is not None:
            if not self._ddp_local:
                return None, 0, ""
            parts = []
            for p, idx in self.tracked:
                loc = self._ddp_local.get(id(p))
                parts.append(torch.zeros(idx.numel(), dtype=torch.float64) if loc is None else loc.double().cpu())
            self._ddp_local = {}
            row = torch.cat(parts).numpy()[None]
            if self.batch_size % self.world:
                return None, 0, ""
            return row, self.batch_size // self.world, "ranks"
        snaps, counts = self._micro, set(self._micro_count[: max(1, self._micro_hooked)])
        self._micro = [[] for _ in self.tracked]
        self._micro_count = [0] * len(self.tracked)
        self._micro_src = [None] * len(self.tracked)
        K = max(counts) if counts else 0
        was, self._accumulating = self._accumulating, K >= 2
        if self._accumulating and 0 < self._micro_hooked < len(self.tracked):
            self._hook_micro(len(self.tracked))
        # the first accumulating step is only counted (micro-batches are gathered from the next)
        if not was or len(counts) != 1 or K < 2 or self.batch_size % K or any(len(x) != K for x in snaps):
            return None, 0, ""
        cum = torch.stack([torch.cat([x[j] for x in snaps]) for j in range(K)]).double().cpu()
        # .grad after K backward calls is the sum of K contributions c_i; the recorded
        # step gradient is that sum, so in its units micro-batch i's gradient is K c_i
        # (exact when the loss is divided by K, as accumulation loops do; else both
        # are K times larger and the noise scale, a ratio, is unchanged)
        rows = K * torch.diff(cum, dim=0, prepend=torch.zeros_like(cum[:1])).numpy()
        return rows, self.batch_size // K, "micro-batches"

    def merge_small(self, acc: Any) -> Any:
        if self.ddp is None:
            return acc
        return all_reduce_accumulator(acc, self.group)

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []

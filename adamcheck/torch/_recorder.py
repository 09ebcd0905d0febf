"""The monitor's recorder: what happens at each optimizer step, and nothing else.

:class:`Recorder` gathers each step's gradient at the sampled coordinates into a ring of
rows (:class:`_Rows`), and, on blocks of rows, the per-step records: |g_t|^2, the
optimizer's ``exp_avg`` m_t and ``exp_avg_sq`` v_t there (read at the first step, at each
analysis and on save; between them replayed from the recorded gradients with Adam's
recurrences, which is exact up to float32 rounding for Adam without L2 weight decay and
for AdamW, and is replaced by a read every step otherwise), the norm of Adam's direction
``D_t = || m_hat_t / (sqrt(v_hat_t) + eps) ||`` over the sample (the update divided by the
learning rate, without weight decay) and its jumps above ``spike_factor`` times the
running median (:class:`~adamcheck.monitor.Spike` records; the judge decides what they
mean). Under gradient accumulation it also records each micro-batch's gradient
(``post_accumulate_grad`` hooks: differences of ``.grad`` between backward calls); under
DDP each rank's local gradient before the all-reduce (a DDP communication hook).

A step whose sampled gradients are all missing (every ``.grad`` None) or hold NaN/inf is
counted and left out of every record (it never reaches the ring, the two-batch sums or
the replayed moments).

Cost: each step only gathers the sampled gradient into a ring of rows; the rest runs on
blocks of 32 rows, which is cheaper than the same work squeezed between training steps and
gives the same numbers. A jump is therefore recorded up to 31 steps after the step it
names; :meth:`Recorder.catch_up` runs before any result is read. (Where m and v are read
from the optimizer every step, or the parameters are float64, every step is processed at
once.)
"""

from __future__ import annotations

import math
import weakref
from bisect import bisect_left, insort
from collections import deque
from typing import Any, Callable, Sequence

import numpy as np

from ..monitor import Spike, TwoBatchSums

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


class _Rows:
    """The last ``capacity`` recorded rows (float32, k each) and their steps: a ring buffer
    grown by doubling up to ``capacity``, so memory follows the steps actually recorded."""

    def __init__(self, capacity: int, k: int) -> None:
        self.capacity = capacity
        self.data = np.zeros((min(capacity, 64), k), dtype=np.float32)
        self.steps = np.zeros(self.data.shape[0], dtype=np.int64)
        self.count = 0  # rows ever appended

    def append(self, row: np.ndarray, step: int) -> None:
        size = self.data.shape[0]
        if self.count == size < self.capacity:  # full before any wrap: grow
            grown = min(self.capacity, 2 * size)
            self.data = np.concatenate([self.data, np.zeros((grown - size, self.data.shape[1]), np.float32)])
            self.steps = np.concatenate([self.steps, np.zeros(grown - size, np.int64)])
            size = grown
        i = self.count % size
        self.data[i] = row
        self.steps[i] = step
        self.count += 1

    def __len__(self) -> int:
        return min(self.count, self.data.shape[0])

    def last(self, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The last ``n`` rows (default all kept) oldest first, shape (n, k), and their steps (copies)."""
        size = self.data.shape[0]
        kept = len(self)
        n = kept if n is None else min(int(n), kept)
        order = (np.arange(self.count - n, self.count)) % size
        return self.data[order], self.steps[order]


class _RunningMedian:
    """``np.median`` of the last ``size`` values pushed: a sorted list kept by bisection
    (O(size) memory moves per value, no sort); NaN while a NaN is in the window, as np.median."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.values: deque[float] = deque(maxlen=size)
        self._sorted: list[float] = []
        self._nans = 0

    def full(self) -> bool:
        return len(self.values) == self.size

    def median(self) -> float:
        if self._nans:
            return float("nan")
        s = self._sorted
        if not s:
            return float("nan")
        h = len(s) // 2
        return s[h] if len(s) % 2 else (s[h - 1] + s[h]) / 2  # np.median: the mean of the middle two

    def push(self, x: float) -> None:
        if len(self.values) == self.size:
            old = self.values[0]
            if old != old:
                self._nans -= 1
            else:
                del self._sorted[bisect_left(self._sorted, old)]
        self.values.append(x)
        if x != x:
            self._nans += 1
        else:
            insort(self._sorted, x)


class Recorder:
    """Per-step records of one optimizer's tracked parameters (module docstring).

    Args:
        torch: the torch module.
        optimizer: the torch optimizer whose state holds ``exp_avg``/``exp_avg_sq``.
        tracked: ``(parameter, flat sampled indices)`` per tracked tensor, in sample order.
        beta1, beta2, eps: Adam's, for the replay and D_t.
        replay: m and v can be replayed from the gradients (no L2 decay folded into the
            gradient, no amsgrad/maximize); otherwise they are read every step.
        history: rows kept; spike_factor, spike_window: the jump rule.
        accumulating: gradient accumulation is known (micro-batches gathered from step 1).
        micro_batches: hook micro-batch gradients at all.
        batch_size: B (the small batches of the two-batch estimate are B / K).
        fail: called with the exception when a backward hook fails (hooks must not raise).
    """

    def __init__(self, torch: Any, optimizer: Any, tracked: Sequence[tuple[Any, Any]], *, beta1: float,
                 beta2: float, eps: float, replay: bool, history: int, spike_factor: float, spike_window: int,
                 accumulating: bool, micro_batches: bool, batch_size: int, fail: Callable[[BaseException], None]):
        from ..noise._accumulate import AccumulatorConfig, NoiseAccumulator

        self._torch = torch
        self.optimizer = optimizer
        self.tracked = list(tracked)
        self.params = [p for p, _ in self.tracked]
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.replay = replay
        self.spike_factor, self.spike_window = spike_factor, spike_window
        self.batch_size = batch_size
        self._fail = fail
        self.active = True  # False once the monitor has switched itself off: the hooks then do nothing
        # per-step work writes into buffers made once: the gathered rows, the ring of
        # recorded rows, float64 scratch for Adam's recurrences (no allocation per step)
        self._gather_grad = _Gather(torch, self.tracked)
        self._gather_m = _Gather(torch, self.tracked)
        self._gather_v = _Gather(torch, self.tracked)
        self.k = self._gather_grad.array.shape[0]
        self._g = np.zeros(self.k)
        self._scratch = (np.zeros(self.k), np.zeros(self.k))
        self.rows = _Rows(history, self.k)
        # records
        self.steps = 0
        self.gradient_steps = 0
        self.nonfinite_steps = 0
        self.first_nonfinite_step: int | None = None
        self.spikes: list[Spike] = []
        self.median = _RunningMedian(spike_window)
        self.last_dir = float("nan")
        self.max_ratio = float("nan")
        self.last_m: np.ndarray | None = None
        self.last_v: np.ndarray | None = None
        self._t = 0.0
        exact_rows = self._gather_grad.array.dtype == np.float32
        self.block = min(32, history) if replay and exact_rows else 1
        self.done = 0  # rows processed by catch_up
        self.analysed_rows = 0  # rows appended before the last analysis
        # two-batch sums: small-batch rows go to a mergeable accumulator (DDP: all-reduced)
        self._acc_config = AccumulatorConfig(points=1, dim=self.k, groups=1, unit=1, seed=0, identity=False,
                                             coordinate_moments=False)
        self._new_accumulator = lambda: NoiseAccumulator(self._acc_config)
        self.small = self._new_accumulator()
        self._small_rows = 0
        self._big_sq, self._big_steps, self._pair_sq, self._pair_steps = 0.0, 0, 0.0, 0
        self.small_batch, self.small_source = 0, ""
        self.notes: list[str] = []
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
        if micro_batches:
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
        import torch.distributed as dist
        from torch.distributed.algorithms.ddp_comm_hooks import default_hooks

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
        self.gradient_steps += 1
        row = self._gather_grad(grads)
        if not np.isfinite(row).all():
            self.nonfinite_steps += 1
            if self.first_nonfinite_step is None:
                self.first_nonfinite_step = self.steps
            # Adam's m and v took this step: replaying without it would drift from them,
            # so process what is pending and read them again at the next recorded step
            before = len(self.spikes)
            self.catch_up()
            self.last_m = None
            return len(self.spikes) > before
        self.rows.append(row, self.steps)
        self._record_small(row, small)
        if self.last_m is None or self.rows.count - self.done >= self.block:
            before = len(self.spikes)
            self.catch_up(row)
            return len(self.spikes) > before
        return False

    def catch_up(self, row: np.ndarray | None = None) -> None:
        """Process the recorded rows not processed yet, oldest first: |g|^2, m and v, D_t, jumps.

        Run every ``block`` rows (and before any result is read): one Python pass over a
        block of rows that are hot in cache costs less than the same work after each
        training step, whose cache it shares; the numbers are the same. ``row``: the
        gathered row of the last step (exact for float64 parameters, whose block is 1).
        """
        pending = self.rows.count - self.done
        if pending <= 0:
            return
        if pending == 1 and row is not None:
            rows, steps = row[None], np.array([self.steps])
        else:
            rows, steps = self.rows.last(pending)
        g = self._g
        for r, step in zip(rows, steps.tolist()):
            np.copyto(g, r)  # float64: the recurrences and sums below
            self._big_sq += float(g @ g)
            self._big_steps += 1
            self._record_direction(g, step)
        self.done = self.rows.count

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

    def sync_moments(self) -> None:
        read = self.read_moments()
        if read is not None:
            self.last_m, self.last_v, self._t = read

    def _record_direction(self, g: np.ndarray, step: int) -> None:
        a, b = self._scratch
        if self.replay and self.last_m is not None:
            # Adam's own recurrences on the recorded gradient: the optimizer's m and v at
            # the sample (to float32 rounding) without gathering them every step; in
            # place, the same operations in the same order as b1 m + (1 - b1) g and
            # b2 v + ((1 - b2) g) g, so the same float64 numbers
            m, v = self.last_m, self.last_v
            m *= self.beta1
            np.multiply(g, 1.0 - self.beta1, out=a)
            m += a
            v *= self.beta2  # type: ignore[operator]
            np.multiply(g, 1.0 - self.beta2, out=a)
            a *= g
            v += a  # type: ignore[operator]
            self._t += 1.0
        else:
            self.sync_moments()
            if self.last_m is None:
                return
        m, v, t = self.last_m, self.last_v, self._t
        # D = || m_hat / (sqrt(v_hat) + eps) ||, with m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)
        if self.beta2 > 0:
            np.divide(v, 1.0 - self.beta2**t, out=a)
        else:
            np.copyto(a, v)
        np.sqrt(a, out=a)
        a += self.eps
        if self.beta1 > 0:
            np.divide(m, 1.0 - self.beta1**t, out=b)
        else:
            np.copyto(b, m)
        b /= a
        d = math.sqrt(float(np.dot(b, b)))  # np.linalg.norm's own formula for a vector
        self.last_dir = d
        if self.median.full():
            ref = self.median.median()
            ratio = d / ref if ref > 0 else float("inf")
            if ratio == ratio:
                self.max_ratio = ratio if self.max_ratio != self.max_ratio else max(self.max_ratio, ratio)
            if ratio > self.spike_factor:
                self.spikes.append(Spike(step, ratio))
        self.median.push(d)

    # -- two-batch sums ------------------------------------------------------------------------
    def _record_small(self, row: np.ndarray, small: tuple[np.ndarray | None, int, str]) -> None:
        """Small-batch gradients of this step (micro-batches or this rank) into the accumulator."""
        rows, size, source = small
        if rows is None or not np.isfinite(rows).all():
            return
        big = row.astype(np.float64)
        big_sq = float(big @ big)
        if self.small_batch and size != self.small_batch:
            self.notes.append(f"small batches changed from {self.small_batch} to {size} examples at step "
                              f"{self.steps}: the two-batch sums were restarted")
            self.small = self._new_accumulator()
            self._pair_sq, self._pair_steps = 0.0, 0
        self._pair_sq += big_sq  # the big batch of the same steps as the small ones
        self._pair_steps += 1
        self.small_batch, self.small_source = size, source
        self.small.update(0, self._small_rows, rows)
        self._small_rows += rows.shape[0]

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

    def take_sums(self) -> TwoBatchSums:
        """The two-batch sums since the last call (merged over ranks under DDP: a collective), then reset."""
        acc = self.small
        if self.ddp is not None:
            from ..noise._distributed import all_reduce_accumulator

            acc = all_reduce_accumulator(acc, self.group)
        n_small = acc.examples(0)
        sums = TwoBatchSums(
            big_sq=self._big_sq / self._big_steps if self._big_steps else 0.0, big_steps=self._big_steps,
            small_sq=acc.total_sq(0) / n_small if n_small else 0.0, small_count=int(n_small),
            pair_sq=self._pair_sq / self._pair_steps if self._pair_steps else 0.0,
            small_batch=self.small_batch if n_small and self._pair_steps else 0,
            source=self.small_source if n_small and self._pair_steps else "")
        self.small = self._new_accumulator()
        self._big_sq, self._big_steps, self._pair_sq, self._pair_steps = 0.0, 0, 0.0, 0
        return sums

    def window(self, most: int) -> tuple[np.ndarray, np.ndarray]:
        """The rows recorded since the last analysis (at most ``most``), oldest first, and their steps."""
        new = self.rows.count - self.analysed_rows
        self.analysed_rows = self.rows.count
        return self.rows.last(min(new, most))

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles = []

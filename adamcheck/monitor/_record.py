"""The monitor's per-step records, without any framework: what happens to a gathered row.

A framework adapter (:mod:`adamcheck.torch._recorder`, :mod:`adamcheck.optax._monitor`)
gathers each step's gradient at the sampled coordinates into one row of k floats and
hands it to :meth:`StepRecorder.record`. From there everything is NumPy: the row goes into
a ring of rows (:class:`Rows`), and, on blocks of rows, the per-step records: |g_t|^2,
Adam's m_t and v_t at the sample (replayed from the recorded gradients with Adam's
recurrences, which is exact up to float32 rounding for Adam without L2 weight decay and
for AdamW; an adapter that can read the optimizer's own moments overrides
:meth:`StepRecorder.read_moments`), the norm of Adam's direction
``D_t = || m_hat_t / (sqrt(v_hat_t) + eps) ||`` over the sample (the update divided by the
learning rate, without weight decay) and its jumps above ``spike_factor`` times the
running median (:class:`~adamcheck.monitor.Spike` records; the judge decides what they
mean), and the two-batch sums of small batches (micro-batches or ranks) when the adapter
has them.

A step whose sampled gradient holds NaN/inf is counted and left out of every record (it
never reaches the ring, the two-batch sums or the replayed moments).

Cost: :meth:`StepRecorder.record` only copies the row into the ring; the rest runs on
blocks of 32 rows, which is cheaper than the same work squeezed between training steps and
gives the same numbers. A jump is therefore recorded up to 31 steps after the step it
names; :meth:`StepRecorder.catch_up` runs before any result is read. (Where m and v are read
from the optimizer every step, or the rows are float64, every step is processed at once.)
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque
from typing import Any

import numpy as np

from ..noise._accumulate import AccumulatorConfig, NoiseAccumulator
from ._analysis import TwoBatchSums
from ._judge import Spike

__all__ = ["Rows", "RunningMedian", "StepRecorder"]


class Rows:
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


class RunningMedian:
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


class StepRecorder:
    """Per-step records of k sampled coordinates (module docstring); framework adapters subclass it.

    Args:
        k: coordinates per row.
        beta1, beta2, eps: Adam's, for the replay and D_t.
        replay: m and v can be replayed from the recorded gradients (no L2 decay folded into
            the gradient, no amsgrad/maximize); otherwise :meth:`read_moments` is called every step.
        history: rows kept; spike_factor, spike_window: the jump rule.
        batch_size: B.
        exact_rows: the rows are float32 (their float64 replay equals a replay row by row,
            so steps can be processed in blocks); False processes every step at once.
        fresh: Adam's m and v were zero before the first recorded step (a run the monitor
            sees from its first step, whose moments it cannot read): the replay starts from
            zero, and a step left out (non-finite) is one Adam skipped too. False: they are
            read (:meth:`read_moments`) at the first step and again after a non-finite step.
    """

    def __init__(self, k: int, *, beta1: float, beta2: float, eps: float, replay: bool, history: int,
                 spike_factor: float, spike_window: int, batch_size: int, exact_rows: bool = True,
                 fresh: bool = False) -> None:
        self.k = int(k)
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.replay = replay
        self.fresh = fresh
        self.spike_factor, self.spike_window = spike_factor, spike_window
        self.batch_size = batch_size
        self._g = np.zeros(self.k)
        self._scratch = (np.zeros(self.k), np.zeros(self.k))
        self.rows = Rows(history, self.k)
        self.steps = 0
        self.gradient_steps = 0
        self.nonfinite_steps = 0
        self.first_nonfinite_step: int | None = None
        self.spikes: list[Spike] = []
        self.median = RunningMedian(spike_window)
        self.last_dir = float("nan")
        self.max_ratio = float("nan")
        self.last_m: np.ndarray | None = None
        self.last_v: np.ndarray | None = None
        self._t = 0.0
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
        self.world = 1

    # -- each step ---------------------------------------------------------------------------
    def record(self, row: np.ndarray, small: tuple[np.ndarray | None, int, str] = (None, 0, "")) -> bool:
        """Record the gathered gradient of the step just counted (``self.steps``); True when a jump was recorded.

        ``small``: that step's small-batch rows (micro-batches or this rank), their batch
        size and source, for the two-batch sums ((None, 0, ""): none).
        """
        self.gradient_steps += 1
        if not np.isfinite(row).all():
            self.nonfinite_steps += 1
            if self.first_nonfinite_step is None:
                self.first_nonfinite_step = self.steps
            # Adam's m and v took this step: replaying without it would drift from them,
            # so process what is pending and read them again at the next recorded step
            # (a fresh replay has nothing to read: the step is left out, as Adam's own
            # skip of a non-finite step, e.g. optax.apply_if_finite, leaves it out)
            before = len(self.spikes)
            self.catch_up()
            if not self.fresh:
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
        """The optimizer's own exp_avg, exp_avg_sq at the sample (float64) and its step count (None: not readable)."""
        return None

    def sync_moments(self) -> None:
        read = self.read_moments()
        if read is not None:
            self.last_m, self.last_v, self._t = read

    def _record_direction(self, g: np.ndarray, step: int) -> None:
        a, b = self._scratch
        if self.fresh and self.last_m is None:
            self.last_m, self.last_v, self._t = np.zeros(self.k), np.zeros(self.k), 0.0
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

    def merge_small(self, acc: Any) -> Any:
        """The small-batch accumulator merged over processes (a collective under DDP); here: itself."""
        return acc

    def take_sums(self) -> TwoBatchSums:
        """The two-batch sums since the last call (merged over ranks under DDP: a collective), then reset."""
        acc = self.merge_small(self.small)
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

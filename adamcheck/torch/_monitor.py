"""``GradientMonitor``: Adam's convergence statistics during a real training run.

Attach in one line, ``monitor = GradientMonitor(optimizer, batch_size=32)``; it hooks
``optimizer.step`` with ``register_step_post_hook`` (after the step, because with
``step(closure)`` the backward runs inside the step) and, on a
seeded sample of coordinates (:func:`adamcheck.torch.choose_coordinates`), records

* each step's mini-batch gradient g_t (a sample of the law of the mini-batch gradient at
  the user's batch size B; the mean of k consecutive steps approximates batch kB);
* the optimizer's own ``exp_avg`` m_t and ``exp_avg_sq`` v_t there (read at the first
  step, at each analysis and on save; between them replayed from the recorded gradients
  with Adam's recurrences, which is exact up to float32 rounding for Adam without L2
  weight decay and for AdamW, and is replaced by a read every step otherwise), and the norm of
  Adam's direction ``D_t = || m_hat_t / (sqrt(v_hat_t) + eps) ||`` over the sample (the
  update divided by the learning rate, without weight decay);
* under gradient accumulation, each micro-batch's gradient (``post_accumulate_grad``
  hooks: differences of ``.grad`` between backward calls); under DDP
  (:meth:`GradientMonitor.attach_ddp`), each rank's local gradient before the all-reduce
  (a DDP communication hook).

Every ``every`` steps it analyses the last ``window`` steps:

* beta2*(B) (and at the ``multiples`` kB) by :func:`adamcheck.drift.training_boundary`
  (aggregate sign drift and update growth) on the window's rows, through
  :func:`predict_beta2_star`. This treats the window's gradients as i.i.d. draws at one
  frozen point, which is only approximately true while training moves the parameters:
  a short window is closer to frozen, a long one less noisy;
* the drift ratio (docs/theory.md section 9) at the user's own (beta1, beta2) per
  coordinate, on the ``law_coordinates`` most resolved ones;
* the two-batch gradient noise scale (McCandlish et al. 2018, appendix A.1) from
  small batches (micro-batches or ranks) against the big batch (their mean).

It warns (``warnings.warn(..., AdamCheckWarning)`` and the ``adamcheck`` logger) when
beta2 < beta2*(B), naming beta2, B and the beta2 needed: at the first analysis always; at
later ones, when training losses are observed (:meth:`GradientMonitor.observe_loss`; the
callbacks do it), only while the run walks off: its window loss rose above its earlier
low by more than two standard errors, or its resolved |G|^2 grew by more than one noise unit
(:mod:`adamcheck.torch._walkoff`).
Near a stationary point every beta2 < 1 shows some sign drift (Theorem 2.2's
neighbourhood), and those findings become notes. Scored on real runs
(benchmarks/validity/README.md). Where beta1 >= sqrt(beta2) it also warns when the direction norm
spikes: ``D_t > spike_factor * median(D_{t-spike_window} .. D_{t-1})``. Spikes of m/sqrt(v)
are the direct symptom of beta1 >= sqrt(beta2): then ``|m_t|/sqrt(v_t)`` is bounded only by
``(1-beta1)/sqrt(1-beta2) * sum_k (beta1/sqrt(beta2))^k``, which grows without bound
(Zhang et al. 2026, section 2; docs/theory.md section 3). Inside beta1 < sqrt(beta2) the
update is bounded and jumps are only counted (``spikes``, and a note). ``spike_factor`` (default 4) and
``spike_window`` (default 50) are adamcheck's choices, not a paper's constants.

Cost: each step only gathers the sampled gradient into a ring of rows; the rest of the
per-step records (|g_t|^2, the replayed m and v, D_t and the spike rule) runs on blocks
of 32 rows, which is cheaper than the same work squeezed between training steps and
gives the same numbers. A spike warning therefore comes up to 31 steps after the step
it names; :meth:`GradientMonitor.report`, ``analyse`` and ``save`` first catch up.
(Where m and v are read from the optimizer every step, or the parameters are float64,
every step is processed at once.)

Under DDP every rank records the same all-reduced gradients; the per-rank (small batch)
sums are kept in a :class:`adamcheck.noise.NoiseAccumulator` and merged with one
``all_reduce`` at each analysis (every rank must reach it, as it does when all ranks
step together).

References:
    McCandlish, Kaplan, Amodei, OpenAI Dota Team. "An Empirical Model of Large-Batch
    Training", arXiv:1812.06162 (2018), appendix A.1 (two-batch estimator).
    Zhang, Li, Chen, Luo, Sun, arXiv:2603.02092 (2026), section 2 and Theorem 2.2.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
import weakref
from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .._errors import AdamCheckWarning, InvalidParameterError
from .._validate import check_positive_float, check_positive_int, check_seed
from ._sample import CoordinateSample, choose_coordinates, import_torch, save_sampled_gradients
from ._walkoff import MeanGradient, WindowLoss, column_moments, mean_gradient, walking_off, window_loss

__all__ = ["AdamCheckWarning", "GradientMonitor", "MonitorReport", "MonitorWarning", "predict_beta2_star", "window_law", "DRIFT_OPTIONS", "report_metrics"]

LOGGER = logging.getLogger("adamcheck")
# a library logs; the application decides where to: without this, Python's last-resort
# handler prints every warning a second time next to warnings.warn's own line
LOGGER.addHandler(logging.NullHandler())


@dataclass(frozen=True)
class MonitorWarning:
    """One warning the monitor raised: ``kind`` is ``"beta2_below_critical"`` or ``"update_spike"``."""

    step: int
    kind: str
    message: str
    value: float


@dataclass(frozen=True)
class MonitorReport:
    """The monitor's numbers (see :class:`GradientMonitor` for how each is computed).

    Attributes:
        step: optimizer steps seen.
        analysed_step: step of the last analysis (-1: none yet).
        batch_size, beta1, beta2, eps: the run's settings.
        coordinates: sampled coordinates k.
        window: steps in the last analysis.
        beta2_critical: beta2*(B) by the strict rule (NaN: not analysed or unresolved).
        beta2_critical_by_batch: ((kB, beta2*(kB)), ...) for the ``multiples``.
        paper_condition: beta1 < sqrt(beta2) (Zhang et al. 2026, Theorem 2.2).
        drift_ratio_min, drift_ratio_median: rho at (beta1, beta2) over the informative
            coordinates of the law at B; reversed: how many have rho + 2 se < 0.
        informative: coordinates whose window mean is > 2 standard errors from 0.
        grad_norm_sq: mean over the window of ||g_t||^2 on the sample (batch B).
        small_batch: size of the small batches of the two-batch estimate (0: none).
        small_batch_source: ``"micro-batches"``, ``"ranks"`` or ``""``.
        b_simple: two-batch gradient noise scale on the sampled coordinates (NaN if no
            small batches were seen or the estimate of |G|^2 is not positive).
        direction_norm_last, direction_norm_median: D_t, the last and the median over the
            spike window; direction_norm_max_ratio: the largest D_t / running median seen.
        spikes: number of steps flagged as spikes.
        warnings: every warning raised, in order.
        notes: what was skipped and why (including beta2* findings held back by the walk-off rule).
        mean_grad_sq, mean_grad_noise: the last window's resolved |G|^2 on the sample
            (|mean|^2 - tr(S)/n, unbiased) and its noise floor tr(S)/n; they decide whether a
            beta2* finding after the first analysis is a warning (:mod:`adamcheck.torch._walkoff`).
        beta2_critical_unresolved: True when no beta2 on the ladder was enough (``beta2_critical``
            is then NaN, as when nothing was analysed).
        loss_mean: the mean of the training losses observed in the last window
            (:meth:`GradientMonitor.observe_loss`; NaN if none).
    """

    step: int
    analysed_step: int
    batch_size: int
    beta1: float
    beta2: float
    eps: float
    coordinates: int
    window: int
    beta2_critical: float
    beta2_critical_by_batch: tuple[tuple[int, float], ...]
    paper_condition: bool
    drift_ratio_min: float
    drift_ratio_median: float
    reversed: int
    informative: int
    grad_norm_sq: float
    small_batch: int
    small_batch_source: str
    b_simple: float
    direction_norm_last: float
    direction_norm_median: float
    direction_norm_max_ratio: float
    spikes: int
    warnings: tuple[MonitorWarning, ...]
    notes: tuple[str, ...] = ()
    mean_grad_sq: float = float("nan")
    mean_grad_noise: float = float("nan")
    beta2_critical_unresolved: bool = False
    loss_mean: float = float("nan")

    @property
    def warning_kinds(self) -> set[str]:
        return {w.kind for w in self.warnings}


def report_metrics(report: Any) -> dict[str, float]:
    """The report's numbers as a flat ``{"adamcheck/name": float}`` dict for loggers (NaN left out)."""
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
    return {f"adamcheck/{k}": float(v) for k, v in out.items() if v is not None and math.isfinite(v)}



#: Drift budget of an analysis: bounded so that one analysis takes seconds even for the
#: heavy-tailed laws of a diverging run (the default 2M Monte Carlo steps took ~50 s there).
DRIFT_OPTIONS = {"target_se": 0.02, "max_steps": 50_000, "refine_steps": 3}


def predict_beta2_star(
    rows: np.ndarray, multiples: Sequence[int], beta1: float, *, eps: float = 1e-8, seed: int = 0,
    steps: int = 2000, coordinates: int = 1024,
) -> list[tuple[int, float, bool, str | None]]:
    """beta2* from a window of recorded mini-batch gradients (W, k): the one call into the predictor.

    Each row is one step's gradient at batch B, so a batch of k rows is a batch of kB:
    :func:`adamcheck.drift.training_boundary` on the rows as "examples" at batch sizes
    ``multiples`` (in rows) gives beta2*(kB) by aggregate sign drift and update growth
    (see its docstring; its constants are adamcheck's choices). Returns, per multiple
    k with at least 8 batches in the window, ``(k, beta2*, unresolved, mechanism)``;
    unresolved means even the top of the ladder fails. Kept as one small function so
    that the predictor can be replaced in one place.
    """
    from ..drift import training_boundary

    x = np.asarray(rows)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)
    # float32 rows go in as they are: only the drawn columns are widened to float64
    # (the same numbers as widening the whole window first, without its 33 MB copy)
    ks = [int(k) for k in multiples if x.shape[0] // int(k) >= 8]
    if not ks:
        return []
    tb = training_boundary(x[None], ks, beta1=beta1, eps=eps, steps=steps, coordinates=min(coordinates, x.shape[1]),
                           seed=seed)
    return [(k, float(b2), bool(np.isnan(b2)), mech) for k, b2, mech in zip(ks, tb.critical_beta2, tb.mechanism)]


def window_law(grads: np.ndarray, batch_size: int, law_coordinates: int,
               moments: tuple[np.ndarray, np.ndarray] | None = None) -> Any:
    """The drift law of a window: its ``law_coordinates`` most resolved columns (None below 2 rows).

    ``moments``: :func:`adamcheck.torch._walkoff.column_moments` of ``grads``, if already computed.
    """
    from .._laws import GradientLaw

    x = np.asarray(grads)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)
    if x.shape[0] < 2:
        return None
    mean, se = column_moments(x) if moments is None else moments
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(se > 0, np.abs(mean) / np.where(se > 0, se, 1.0), 0.0)
    keep = np.sort(np.argsort(-t, kind="stable")[: min(law_coordinates, x.shape[1])])
    return GradientLaw(
        values=x[:, keep].astype(np.float64), weights=np.full(x.shape[0], 1.0 / x.shape[0]), batch_size=batch_size,
        label=f"monitor window ({x.shape[0]} steps, batch {batch_size})",
        meta={"mean_se": se[keep], "coords": keep},
    )


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


class GradientMonitor:
    """Watch Adam's statistics during training; see the module docstring for the maths.

    Args:
        optimizer: a ``torch.optim.Adam``/``AdamW`` (any optimizer whose param groups have
            ``betas``/``eps`` and whose state has ``exp_avg``/``exp_avg_sq``/``step``).
        batch_size: B, examples per optimizer step (global: micro batch x accumulation x ranks).
        coordinates, seed, floor_per_tensor: the coordinate sample (:func:`choose_coordinates`).
        every: analyse every this many steps (beta2*, drift ratio, noise scale); one
            analysis costs ~0.5 s of CPU on a 1,000-step window of 4,096 coordinates
            (benchmarks/bench_monitor.py), so keep it rare.
        window: steps in each analysis (default ``min(every, 1000)``); the last
            ``max(window, history)`` steps' gradients (k float32 each) are kept for :meth:`save`.
        history: gradients kept for :meth:`save` (default ``window``).
        multiples: batch multiples k for beta2*(kB) (means of k consecutive steps).
        law_coordinates: coordinates in the drift laws (the most resolved ones).
        spike_factor, spike_window: the spike rule (adamcheck's choices, see module doc).
        names: parameter names in optimizer order (default ``group{g}.{i}``), or pass
            ``model`` to take them from ``model.named_parameters()``.
        warn: raise Python warnings (the logger is always used).
        micro_batches: record micro-batch gradients with ``post_accumulate_grad`` hooks
            (needed for the two-batch estimate under gradient accumulation). A new
            accumulation is recognised by a new ``.grad`` tensor, i.e. gradients cleared
            with ``zero_grad(set_to_none=True)`` (torch's default); with
            ``set_to_none=False`` pass ``micro_batches=False``.
        accumulation_steps: backward calls per step, if known: micro-batches are then
            gathered from the first step (otherwise from the second step on which the
            monitor has seen more than one backward call).
        drift_options: options of :func:`adamcheck.drift.drift_ratio` for the drift ratio at
            your betas (default :data:`DRIFT_OPTIONS`, a bounded Monte Carlo budget).
        predictor_steps, predictor_coordinates: length of the simulated runs of the beta2*
            predictor (:func:`predict_beta2_star`) and how many of the sampled coordinates it
            uses (cost: ~0.1 s per analysis at 1,000 x 512 on one CPU core, per multiple; the
            window holds 1,000 recorded steps, so longer simulated runs mostly resample it).

    Raises:
        InvalidParameterError: no trainable parameters, missing betas, bad settings.

    Example:
        >>> import torch
        >>> model = torch.nn.Linear(4, 1)
        >>> opt = torch.optim.Adam(model.parameters(), betas=(0.9, 0.999))
        >>> mon = GradientMonitor(opt, batch_size=8, every=50, model=model)
        >>> for _ in range(3):
        ...     opt.zero_grad(); model(torch.randn(8, 4)).pow(2).mean().backward(); opt.step()
        >>> mon.report().step, mon.report().coordinates
        (3, 5)
    """

    def __init__(
        self,
        optimizer: Any,
        batch_size: int,
        *,
        coordinates: int = 4096,
        every: int = 5000,
        window: int | None = None,
        history: int | None = None,
        seed: int = 0,
        floor_per_tensor: int = 4,
        multiples: Sequence[int] = (1, 4),
        law_coordinates: int = 32,
        spike_factor: float = 4.0,
        spike_window: int = 50,
        names: Sequence[str] | None = None,
        model: Any = None,
        warn: bool = True,
        micro_batches: bool = True,
        drift_options: dict[str, Any] | None = None,
        accumulation_steps: int | None = None,
        predictor_steps: int = 1000,
        predictor_coordinates: int = 512,
    ) -> None:
        torch = import_torch()
        self._torch = torch
        # wrappers (accelerate's AcceleratedOptimizer, LightningOptimizer) call an inner
        # torch optimizer's step(): its hooks are the ones that fire
        while isinstance(getattr(optimizer, "optimizer", None), torch.optim.Optimizer):
            optimizer = optimizer.optimizer
        if not isinstance(getattr(optimizer, "param_groups", None), list):
            raise InvalidParameterError(
                f"{type(optimizer).__name__} is not a torch optimizer (no param_groups): pass the Adam/AdamW "
                "optimizer, e.g. GradientMonitor(torch.optim.Adam(model.parameters()), batch_size=32)")
        self.optimizer = optimizer
        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.every = check_positive_int(every, "every")
        self.window = check_positive_int(window if window is not None else min(self.every, 1000), "window")
        self.history = max(self.window, check_positive_int(history if history is not None else self.window, "history"))
        self.seed = check_seed(seed)
        self.multiples = tuple(check_positive_int(k, "multiples") for k in multiples)
        self.law_coordinates = check_positive_int(law_coordinates, "law_coordinates")
        self.spike_factor = check_positive_float(spike_factor, "spike_factor")
        if self.spike_factor <= 1:
            raise InvalidParameterError(f"spike_factor = {self.spike_factor:g} flags every step whose update norm "
                                        "reaches its running median: give a factor above 1 (default 4)")
        self.spike_window = check_positive_int(spike_window, "spike_window")
        self.warn = bool(warn)
        self.drift_options = dict(DRIFT_OPTIONS if drift_options is None else drift_options)
        self.predictor_steps = check_positive_int(predictor_steps, "predictor_steps")
        self.predictor_coordinates = check_positive_int(predictor_coordinates, "predictor_coordinates")
        params, pnames, groups = [], [], []
        for g, group in enumerate(optimizer.param_groups):
            for i, p in enumerate(group["params"]):
                if p.requires_grad:
                    params.append(p)
                    pnames.append(f"group{g}.{i}")
                    groups.append(g)
        if not params:
            raise InvalidParameterError("the optimizer has no trainable parameters: give it the model's parameters")
        if model is not None:
            by_id = {id(p): n for n, p in model.named_parameters()}
            if not any(id(p) in by_id for p in params):
                raise InvalidParameterError("none of the optimizer's parameters belong to the model given: pass the "
                                            "model the optimizer trains (it only supplies parameter names)")
            pnames = [by_id.get(id(p), n) for p, n in zip(params, pnames)]
        elif names is not None:
            if len(names) != len(params):
                raise InvalidParameterError(f"{len(names)} names for {len(params)} parameters: give one name each")
            pnames = [str(n) for n in names]
        group0 = optimizer.param_groups[0]
        if "betas" not in group0:
            raise InvalidParameterError(
                f"{type(optimizer).__name__} has no betas: GradientMonitor watches Adam-type optimizers"
            )
        self.beta1, self.beta2 = (float(b) for b in group0["betas"])
        self.eps = float(group0.get("eps", 0.0))
        self._notes: list[str] = []
        if any(tuple(float(b) for b in grp["betas"]) != (self.beta1, self.beta2) for grp in optimizer.param_groups):
            self._notes.append("param groups have different betas: statistics use the first group's")
        self.sample: CoordinateSample = choose_coordinates(
            [(n, p.numel()) for n, p in zip(pnames, params)], coordinates, seed=self.seed,
            floor_per_tensor=floor_per_tensor,
        )
        per = self.sample.per_tensor()
        self._tracked = [(p, torch.as_tensor(i, device=p.device)) for p, i in zip(params, per) if i.size]
        self.k = self.sample.size
        self._params = [p for p, _ in self._tracked]
        # per-step work writes into buffers made once: the gathered rows, the ring of
        # recorded rows, float64 scratch for Adam's recurrences (no allocation per step)
        self._gather_grad = _Gather(torch, self._tracked)
        self._gather_m = _Gather(torch, self._tracked)
        self._gather_v = _Gather(torch, self._tracked)
        self._g = np.zeros(self.k)
        self._scratch = (np.zeros(self.k), np.zeros(self.k))
        # records
        self.step = 0
        self._rows = _Rows(self.history, self.k)
        self._median = _RunningMedian(self.spike_window)
        self._dirs = self._median.values
        self._last_m: np.ndarray | None = None
        self._last_v: np.ndarray | None = None
        self._t = 0.0
        # m, v can be replayed from the recorded gradients when the gradient is what Adam
        # averages: no L2 weight decay folded into it (AdamW's decay is decoupled), no
        # amsgrad/maximize; otherwise they are read from the optimizer every step
        decoupled = type(optimizer).__name__ == "AdamW"
        self._replica = all(
            not grp.get("amsgrad", False) and not grp.get("maximize", False)
            and (decoupled or grp.get("decoupled_weight_decay", False) or not grp.get("weight_decay", 0.0))
            for grp in optimizer.param_groups
        )
        # steps are processed in blocks (see _catch_up) when m, v are replayed from float32
        # rows; a read of the optimizer's state, or float64 rows, must happen at its step
        exact_rows = self._gather_grad.array.dtype == np.float32
        self._block = min(32, self.history) if self._replica and exact_rows else 1
        self._done = 0  # steps processed by _catch_up
        self._warnings: list[MonitorWarning] = []
        self._spikes = 0
        self._last_spike_step = -(10**9)
        self._max_ratio = 0.0
        self._last_dir = float("nan")
        self._analysis: dict[str, Any] = {}
        self._outside_bound = self.beta1 >= math.sqrt(self.beta2)  # where update spikes are warned
        self._means: list[MeanGradient] = []  # each analysis window's resolved |G|^2 (walk-off rule)
        self._losses: list[WindowLoss] = []  # each analysis window's observed training loss
        self._pending_losses: list[Any] = []  # losses observed since the last analysis
        # two-batch sums: small-batch rows go to a mergeable accumulator (DDP: all-reduced)
        from ..noise._accumulate import AccumulatorConfig, NoiseAccumulator

        self._acc_config = AccumulatorConfig(points=1, dim=self.k, groups=1, unit=1, seed=0,
                                             identity=False, coordinate_moments=False)
        self._small = NoiseAccumulator(self._acc_config)
        self._small_rows = 0  # rows this process added (their global index)
        self._big_sq = 0.0
        self._big_steps = 0
        self._pair_sq = 0.0
        self._pair_steps = 0
        self._small_batch = 0
        self._small_source = ""
        self._ddp_local: dict[int, Any] = {}
        self._ddp: Any = None
        self._group: Any = None
        self._world = 1
        self._handles = [optimizer.register_step_post_hook(self._post)]
        self._micro = [[] for _ in self._tracked]
        self._micro_src: list[Any] = [None] * len(self._tracked)
        self._micro_count = [0] * len(self._tracked)
        self._accumulating = accumulation_steps is not None and check_positive_int(
            accumulation_steps, "accumulation_steps") >= 2
        self._micro_hooked = 0
        if micro_batches:
            # one counting hook until accumulation is seen: 1 Python call per backward, not one per tensor
            self._hook_micro(len(self._tracked) if self._accumulating else 1)

    # -- hooks -------------------------------------------------------------------------

    def _hook_micro(self, upto: int) -> None:
        for slot in range(self._micro_hooked, upto):
            self._handles.append(self._tracked[slot][0].register_post_accumulate_grad_hook(self._make_micro_hook(slot)))
        self._micro_hooked = max(self._micro_hooked, upto)

    def _make_micro_hook(self, slot: int) -> Callable[[Any], None]:
        # after each backward, keep this tensor's cumulative .grad at its sampled indices;
        # differences between backward calls are the micro-batches' contributions
        idx = self._tracked[slot][1]

        def hook(param: Any) -> None:
            grad = param.grad
            if self._ddp is not None or grad is None:
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

        return hook

    def _post(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        # read after the step: with step(closure) (Lightning, LBFGS-style loops) the
        # backward runs inside step(), after any pre-hook; Adam leaves .grad unchanged
        row = self._gather_grad([p.grad for p in self._params])
        self.step += 1
        self._rows.append(row, self.step)
        self._record_small(row)  # this step's micro-batch snapshots are reset for the next one
        if self._last_m is None or self._rows.count - self._done >= self._block:
            self._catch_up(row)
        if self.step % self.every == 0:
            self.analyse()

    # -- per-step records ----------------------------------------------------------------
    def _catch_up(self, row: np.ndarray | None = None) -> None:
        """Process the recorded steps not processed yet, oldest first: |g|^2, m and v, D_t, spikes.

        Run every ``_block`` steps (and before any result is read): one Python pass over a
        block of rows that are hot in cache costs less than the same work after each
        training step, whose cache it shares; the numbers are the same. ``row``: the
        gathered row of the last step (exact for float64 parameters, whose block is 1).
        """
        pending = self._rows.count - self._done
        if pending <= 0:
            return
        if pending == 1 and row is not None:
            rows, steps = row[None], np.array([self.step])
        else:
            rows, steps = self._rows.last(pending)
        g = self._g
        for r, step in zip(rows, steps.tolist()):
            np.copyto(g, r)  # float64: the recurrences and sums below
            self._big_sq += float(g @ g)
            self._big_steps += 1
            self._record_direction(g, step)
        self._done = self._rows.count

    def _read_moments(self) -> tuple[np.ndarray, np.ndarray, float] | None:
        """The optimizer's own exp_avg, exp_avg_sq at the sample and its step count (None: no Adam state)."""
        state = self.optimizer.state
        ms, vs = [], []
        for p in self._params:
            st = state.get(p)
            if not st or "exp_avg" not in st or "exp_avg_sq" not in st:
                return None
            ms.append(st["exp_avg"])
            vs.append(st["exp_avg_sq"])
        # float64 copies: the replay updates them in place, the gather rows are reused
        m, v = self._gather_m(ms).astype(np.float64), self._gather_v(vs).astype(np.float64)
        return m, v, float(state[self._params[0]].get("step", self.step))

    def _sync_moments(self) -> None:
        read = self._read_moments()
        if read is not None:
            self._last_m, self._last_v, self._t = read

    def _record_direction(self, g: np.ndarray, step: int) -> None:
        a, b = self._scratch
        if self._replica and self._last_m is not None:
            # Adam's own recurrences on the recorded gradient: the optimizer's m and v at
            # the sample (to float32 rounding) without gathering them every step; in
            # place, the same operations in the same order as b1 m + (1 - b1) g and
            # b2 v + ((1 - b2) g) g, so the same float64 numbers
            m, v = self._last_m, self._last_v
            m *= self.beta1
            np.multiply(g, 1.0 - self.beta1, out=a)
            m += a
            v *= self.beta2
            np.multiply(g, 1.0 - self.beta2, out=a)
            a *= g
            v += a
            self._t += 1.0
        else:
            self._sync_moments()
            if self._last_m is None:
                return
        m, v, t = self._last_m, self._last_v, self._t
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
        self._last_dir = d
        if self._median.full():
            ref = self._median.median()
            ratio = d / ref if ref > 0 else float("inf")
            self._max_ratio = max(self._max_ratio, ratio)
            if ratio > self.spike_factor:
                self._spikes += 1
                # inside beta1 < sqrt(beta2) each |m_j|/sqrt(v_j) is bounded, so a jump is a
                # large gradient arriving, not m/sqrt(v) growth: counted, not warned (on
                # logistic digits at beta1 = 0 a jump warning would have fired in 35 of 51 runs
                # that train and 22 of 29 that fail: the count follows the batch size, not the
                # outcome; benchmarks/validity/README.md)
                if self._outside_bound and step - self._last_spike_step > self.spike_window:
                    self._emit("update_spike", ratio, (
                        f"Adam's update norm jumped to {ratio:.3g}x its running median at step {step} "
                        f"(batch size {self.batch_size}, beta1 = {self.beta1:g}, beta2 = {self.beta2:g}): "
                        f"beta1 >= sqrt(beta2), so m/sqrt(v) is unbounded; raise beta2 above "
                        f"{self.beta1 ** 2:.4g} (beta1^2)"
                    ), step)
                self._last_spike_step = step
        self._median.push(d)

    def _record_small(self, row: np.ndarray) -> None:
        """Small-batch gradients of this step (micro-batches or this rank) into the accumulator."""
        rows, size, source = self._take_small_rows()
        if rows is None:
            return
        big = row.astype(np.float64)
        big_sq = float(big @ big)
        if self._small_batch and size != self._small_batch:
            self._notes.append(f"small batches changed from {self._small_batch} to {size} examples at step "
                               f"{self.step}: the two-batch sums were restarted")
            self._small = type(self._small)(self._acc_config)
            self._pair_sq, self._pair_steps = 0.0, 0
        self._pair_sq += big_sq  # the big batch of the same steps as the small ones
        self._pair_steps += 1
        self._small_batch, self._small_source = size, source
        self._small.update(0, self._small_rows, rows)
        self._small_rows += rows.shape[0]

    def _take_small_rows(self) -> tuple[np.ndarray | None, int, str]:
        torch = self._torch
        if self._ddp is None and not self._accumulating and self._micro_hooked <= 1 and self._micro_count[0] < 2:
            # the common case, no accumulation seen: what the general route below does
            # to the (empty) records, without rebuilding them every step
            self._micro_count[0] = 0
            self._micro_src[0] = None
            return None, 0, ""
        if self._ddp is not None:
            if not self._ddp_local:
                return None, 0, ""
            parts = []
            for p, idx in self._tracked:
                loc = self._ddp_local.get(id(p))
                parts.append(torch.zeros(idx.numel(), dtype=torch.float64) if loc is None else loc.double().cpu())
            self._ddp_local = {}
            row = torch.cat(parts).numpy()[None]
            if self.batch_size % self._world:
                return None, 0, ""
            return row, self.batch_size // self._world, "ranks"
        snaps, counts = self._micro, set(self._micro_count[: max(1, self._micro_hooked)])
        self._micro = [[] for _ in self._tracked]
        self._micro_count = [0] * len(self._tracked)
        self._micro_src = [None] * len(self._tracked)
        K = max(counts) if counts else 0
        was, self._accumulating = self._accumulating, K >= 2
        if self._accumulating and 0 < self._micro_hooked < len(self._tracked):
            self._hook_micro(len(self._tracked))
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

    # -- DDP ---------------------------------------------------------------------------
    def attach_ddp(self, ddp_model: Any, process_group: Any = None) -> "GradientMonitor":
        """Record each rank's local gradient with a DDP communication hook, then all-reduce as DDP does.

        The hook is :func:`torch.distributed.algorithms.ddp_comm_hooks.default_hooks.allreduce_hook`
        with a look at the bucket first, so training is unchanged. Replaces any comm hook
        (DDP allows one). Call on every rank, before the first step.
        """
        import torch.distributed as dist
        from torch.distributed.algorithms.ddp_comm_hooks import default_hooks

        self._ddp = ddp_model
        self._group = process_group
        self._world = dist.get_world_size(process_group)
        self._micro = [[] for _ in self._tracked]
        where = {id(p): idx for p, idx in self._tracked}

        def hook(state, bucket):  # type: ignore[no-untyped-def]  # DDP inspects the annotations: none here
            for p, g in zip(bucket.parameters(), bucket.gradients()):
                idx = where.get(id(p))
                if idx is not None:
                    self._ddp_local[id(p)] = g.detach().reshape(-1).index_select(0, idx)
            return default_hooks.allreduce_hook(process_group, bucket)

        ddp_model.register_comm_hook(None, hook)
        return self

    # -- analysis ----------------------------------------------------------------------------
    def analyse(self) -> None:
        """Compute beta2*, the drift ratio and the noise scale now (also run every ``every`` steps).

        Under DDP this is a collective (one all-reduce): call it on every rank.
        """
        from threadpoolctl import threadpool_limits

        self._catch_up()
        self._sync_moments()  # replace the replayed m, v by the optimizer's own
        a: dict[str, Any] = {"analysed_step": self.step}
        a.update(self._noise_scale())
        X = self._rows.last(self.window)[0]
        a["window"] = int(X.shape[0])
        # one pass over the window's columns serves the drift law and the walk-off rule
        moments = column_moments(X) if X.shape[0] >= 2 else None
        # The simulations' matrix products are small blocks: multithreaded BLAS only adds
        # spinning threads, which compete with training's own (CPU time 2-3x, wall time
        # too on a busy machine: 0.65 -> 0.21 s for the drift ratio, measured on the
        # tiny GPT-2's window); the same choice as adamcheck.simulator's engine.
        with threadpool_limits(limits=1, user_api="blas"):
            found = predict_beta2_star(X, self.multiples, self.beta1, eps=self.eps, seed=self.seed,
                                       steps=self.predictor_steps,
                                       coordinates=self.predictor_coordinates) if X.shape[0] else []
            own_betas = self._drift_at_own_betas(window_law(X, self.batch_size, self.law_coordinates, moments))
        a["by_batch"] = tuple((k * self.batch_size, b2) for k, b2, _, _ in found)
        if not found and not any("too short for beta2*" in n for n in self._notes):
            self._notes.append(f"window of {X.shape[0]} steps is too short for beta2* (it needs 8 steps per batch "
                               "multiple): raise window (default min(every, 1000))")
        own = next((e for e in found if e[0] == 1), None)
        a["beta2_critical"] = own[1] if own else float("nan")
        a.update(own_betas)
        mean = mean_gradient(X, moments) if moments is not None else None
        a["mean_grad_sq"] = mean.sq if mean else float("nan")
        a["mean_grad_noise"] = mean.noise if mean else float("nan")
        loss = self._take_window_loss()
        a["loss_mean"] = loss.mean if loss else float("nan")
        off = mean is None or walking_off(mean, self._means, loss, self._losses)
        g_low = min((max(e.sq, 0.0) for e in self._means), default=float("nan"))
        l_low = min((e.mean for e in self._losses), default=float("nan"))
        if mean is not None:
            self._means.append(mean)
        if loss is not None:
            self._losses.append(loss)
        a["unresolved"] = bool(own[2]) if own else False
        self._analysis = a
        if own is not None:
            _, b2, unresolved, mechanism = own
            if not (unresolved or (np.isfinite(b2) and self.beta2 < b2)):
                return
            need = ("no beta2 on adamcheck's ladder (up to 0.9999) is enough" if unresolved
                    else f"beta2* = {b2:.4g}")
            if not off:
                # near a stationary point every beta2 < 1 shows some sign drift (the
                # neighbourhood of Theorem 2.2); a run that fails walks off: its loss rises
                self._notes.append(
                    f"step {self.step}: {need} at batch size {self.batch_size} (beta2 = {self.beta2:g}), held back: "
                    f"since the earlier analyses the training loss did not rise (window mean {loss.mean:.4g}, "  # type: ignore[union-attr]
                    f"earlier low {l_low:.4g}, standard error {loss.se:.2g}) and the resolved |G|^2 did not "  # type: ignore[union-attr]
                    f"grow (|G|^2 = {mean.sq:.3g}, earlier low {g_low:.3g}, noise {mean.noise:.3g}): Adam is settling "  # type: ignore[union-attr]
                    "near a stationary point, where every beta2 < 1 shows some sign drift")
            elif unresolved:
                self._emit("beta2_below_critical", b2, (
                    f"no beta2 on adamcheck's ladder (up to 0.9999) is enough at batch size {self.batch_size}: "
                    f"the training boundary on the last {a['window']} steps' gradients finds "
                    f"{mechanism or 'failure'} at every beta2 (beta1 = {self.beta1:g}); raise the batch size"
                ))
            else:
                self._emit("beta2_below_critical", b2, (
                    f"beta2 = {self.beta2:g} is below the critical beta2* at batch size {self.batch_size}: "
                    f"adamcheck's training boundary on the last {a['window']} steps' gradients needs beta2 at least "
                    f"{b2:.4g} (beta1 = {self.beta1:g}; {mechanism or 'failure'} below it); raise beta2 or the batch size"
                ))

    def observe_loss(self, loss: Any) -> None:
        """Record a training loss (a float or a 0-d tensor) for the walk-off rule.

        Call it once per step (or per logging interval, with the interval's mean): after the
        first analysis a beta2* finding is a warning only if the loss rose or the gradient grew
        since the earlier analyses (:mod:`adamcheck.torch._walkoff`); without observed losses
        every finding is a warning. Tensors are kept as they are and read at the next
        analysis, so a GPU loss costs no synchronisation per step.

        Example:
            >>> import torch
            >>> model = torch.nn.Linear(2, 1)
            >>> mon = GradientMonitor(torch.optim.Adam(model.parameters()), batch_size=4, every=10)
            >>> mon.observe_loss(0.7); mon.observe_loss(torch.tensor(0.6))
            >>> len(mon._pending_losses)
            2
        """
        t = self._torch
        self._pending_losses.append(loss.detach().reshape(()) if isinstance(loss, t.Tensor) else float(loss))

    def _take_window_loss(self) -> WindowLoss | None:
        values = self._pending_losses
        self._pending_losses = []
        if not values:
            return None
        t = self._torch
        tensors = [v for v in values if isinstance(v, t.Tensor)]
        floats = [float(v) for v in values if not isinstance(v, t.Tensor)]
        if tensors:
            floats += t.stack(tensors).to(dtype=t.float64, device="cpu").tolist()
        return window_loss(floats)

    def _noise_scale(self) -> dict[str, Any]:
        acc = self._small
        if self._ddp is not None:
            from ..noise._distributed import all_reduce_accumulator

            acc = all_reduce_accumulator(acc, self._group)
        out: dict[str, Any] = {"b_simple": float("nan"), "grad_norm_sq": float("nan"),
                               "small_batch": self._small_batch, "small_batch_source": self._small_source}
        if self._big_steps:
            out["grad_norm_sq"] = self._big_sq / self._big_steps
        n_small = acc.examples(0)
        b, B = self._small_batch, self.batch_size
        if n_small and self._pair_steps and 0 < b < B:
            small_sq = acc.total_sq(0) / n_small
            big_sq = self._pair_sq / self._pair_steps
            g2 = (B * big_sq - b * small_sq) / (B - b)
            trace = (small_sq - big_sq) / (1.0 / b - 1.0 / B)
            out["b_simple"] = trace / g2 if g2 > 0 else float("nan")
        self._small = type(self._small)(self._acc_config)
        self._big_sq, self._big_steps, self._pair_sq, self._pair_steps = 0.0, 0, 0.0, 0
        return out

    def _drift_at_own_betas(self, law: Any) -> dict[str, Any]:
        out = {"drift_ratio_min": float("nan"), "drift_ratio_median": float("nan"), "reversed": 0, "informative": 0}
        if law is None:
            return out
        from ..drift import drift_ratio, informative_mask

        opts = {k: v for k, v in self.drift_options.items() if k not in ("refine_steps", "screen", "z", "z_mean",
                                                                           "threshold")}
        est = drift_ratio(law, self.beta1, self.beta2, eps=self.eps, seed=self.seed, **opts)
        rho = np.atleast_1d(np.asarray(est.value, dtype=float))
        se = np.atleast_1d(np.asarray(est.stderr, dtype=float))
        mask = informative_mask(law.mean(), law.meta["mean_se"], 2.0) & np.isfinite(rho)
        out["informative"] = int(mask.sum())
        if mask.any():
            out["drift_ratio_min"] = float(rho[mask].min())
            out["drift_ratio_median"] = float(np.median(rho[mask]))
            out["reversed"] = int((rho[mask] + 2.0 * se[mask] < 0).sum())
        return out

    # -- results -------------------------------------------------------------------------------
    def report(self) -> MonitorReport:
        """The numbers so far (the last analysis, plus per-step records up to now)."""
        self._catch_up()
        a = self._analysis
        nan = float("nan")
        notes = list(self._notes)
        if self._spikes and not self._outside_bound:
            notes.append(f"{self._spikes} update-norm jumps above {self.spike_factor:g}x the running median counted, "
                         "not warned: with beta1 < sqrt(beta2) each |m|/sqrt(v) is bounded, so they are large "
                         "gradients arriving, not m/sqrt(v) growth")
        if not a:
            notes.append(f"no analysis yet (every {self.every} steps, or call analyse())")
        elif not a.get("small_batch"):
            notes.append("no two-batch noise scale: it needs gradient accumulation (micro-batches) or DDP "
                         "(attach_ddp)")
        dirs = list(self._dirs)
        return MonitorReport(
            step=self.step, analysed_step=int(a.get("analysed_step", -1)), batch_size=self.batch_size,
            beta1=self.beta1, beta2=self.beta2, eps=self.eps, coordinates=self.k, window=int(a.get("window", 0)),
            beta2_critical=float(a.get("beta2_critical", nan)),
            beta2_critical_by_batch=tuple((int(b), float(v)) for b, v in a.get("by_batch", ())),
            paper_condition=bool(self.beta1 < math.sqrt(self.beta2)),
            drift_ratio_min=float(a.get("drift_ratio_min", nan)),
            drift_ratio_median=float(a.get("drift_ratio_median", nan)),
            reversed=int(a.get("reversed", 0)), informative=int(a.get("informative", 0)),
            grad_norm_sq=float(a.get("grad_norm_sq", nan)), small_batch=int(a.get("small_batch", 0)),
            small_batch_source=str(a.get("small_batch_source", "")), b_simple=float(a.get("b_simple", nan)),
            direction_norm_last=float(self._last_dir),
            direction_norm_median=float(np.median(dirs)) if dirs else nan,
            direction_norm_max_ratio=float(self._max_ratio), spikes=self._spikes,
            warnings=tuple(self._warnings), notes=tuple(notes),
            mean_grad_sq=float(a.get("mean_grad_sq", nan)), mean_grad_noise=float(a.get("mean_grad_noise", nan)),
            beta2_critical_unresolved=bool(a.get("unresolved", False)), loss_mean=float(a.get("loss_mean", nan)),
        )

    def save(self, path: str | os.PathLike) -> Path:
        """Write the kept mini-batch gradients (N steps, k coordinates) as the ``.npz`` the CLI reads.

        Rows are mini-batch gradients at batch B (``row_batch_size = B``), so
        ``adamcheck recommend --gradients FILE --batch-size B`` uses one row per batch
        and ``--batch-size kB`` the mean of k rows. Extra keys: ``monitor_steps`` (the
        step of each row), ``exp_avg``/``exp_avg_sq`` (the optimizer's moments at the
        last step), ``beta1``, ``beta2``.

        Raises:
            InvalidParameterError: nothing recorded yet, or a path not ending in ``.npz``.
        """
        if not len(self._rows):
            raise InvalidParameterError("the monitor has recorded no step yet: train at least one step before save()")
        self._catch_up()
        self._sync_moments()
        rows, steps = self._rows.last()
        dtype = str(self._tracked[0][0].dtype).replace("torch.", "")
        extra: dict[str, Any] = {"monitor_steps": steps,
                                 "beta1": self.beta1, "beta2": self.beta2}
        if self._last_m is not None:
            extra["exp_avg"], extra["exp_avg_sq"] = self._last_m, self._last_v
        return save_sampled_gradients(path, rows, self.sample, batch_size=self.batch_size, step=[self.step],
                                      dtype=dtype, row_batch_size=self.batch_size, extra=extra)

    def _emit(self, kind: str, value: float, message: str, step: int | None = None) -> None:
        rec = MonitorWarning(self.step if step is None else step, kind, message, float(value))
        self._warnings.append(rec)
        LOGGER.warning("adamcheck: %s", message)
        if self.warn:
            warnings.warn(message, AdamCheckWarning, stacklevel=3)

    def remove(self) -> None:
        """Detach every hook (the records stay)."""
        for h in self._handles:
            h.remove()
        self._handles = []

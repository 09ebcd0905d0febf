"""Training boundary: beta2*(B) from per-example gradients, for both ways Adam fails.

The drift ratio (docs/theory.md section 9) looks at one coordinate at a time. Real
networks fail in two ways, and this module measures both on the same simulated
moment chains:

1. **Sign drift** (the counterexample of Zhang et al. 2026, section 2.3): Adam's mean
   step climbs the loss. At a frozen point with full gradient ``G`` (coordinates j),
   the first-order change of the loss per step is ``-lr * sum_j G_j E[u_j]`` with
   ``u = m_hat / (sqrt(v_hat) + eps)``. Normalised by its beta2 -> 1 value,

       rho_agg(beta1, beta2; B) = sum_j G_j E[u_j] / sum_j G_j^2 / sqrt(E g_j^2),

   the *aggregate drift ratio*. rho_agg < 0 is the divergent phase of the paper, for
   the whole model at once; for one coordinate it is the drift ratio itself. Reversed
   coordinates can also sink a model whose total drift is still downhill: in a linear
   model each of them walks off like the counterexample's x. Their weight is the
   *climbing share*

       climb(beta1, beta2; B) = sum_j max(0, -G_j E[u_j]) / sum_j G_j^2 / sqrt(E g_j^2),

   the climbing coordinates' pace against the whole descent of Adam with beta2 -> 1.
   A cell is unsafe by sign drift when rho_agg < 0 or climb > ``max_climbing``. A few
   coordinates with reversed drift (climb well below 1), which a real network absorbs,
   no longer condemn the run as the per-coordinate rule of :func:`critical_beta2` does.
2. **Update growth** (beta1 >= sqrt(beta2)): the bound
   ``|m_t| / sqrt(v_t) <= (1 - beta1) / sqrt((1 - beta2)(1 - beta1^2/beta2))`` of the
   update holds only for beta1 < sqrt(beta2). Past it, a large gradient followed by
   small ones makes ``|u|`` grow like ``(beta1/sqrt(beta2))^k``: heavy-tailed small-batch
   gradients (rare large values, many near zero) then give bursts of steps, all in one
   direction, far larger than ``lr``. The statistic is the ``quantile`` (over sampled
   coordinates) of each coordinate's largest *sustained update* over a simulated run of
   ``steps`` steps: over every ``window`` consecutive steps whose updates share one sign,
   the smallest ``|u|`` among them. Persistence is what tells a burst from a harmless
   spike: under a short memory, a gradient crossing zero makes ``|u|`` large for a step
   or two (ratios of near-Gaussian noise are heavy-tailed, whatever the batch size); a
   burst keeps its sign and its size for many steps. A cell in the region
   beta1 >= sqrt(beta2) is unsafe when the statistic exceeds ``max_update``.

The chains: at each sampled point (parameters frozen), mini-batches of B examples are
drawn without replacement inside a batch and independently across steps (the
sampling of the 2026 paper), their mean gradients are fed to Adam's moments with
torch's bias correction, for every beta2 of a ladder at once. With beta1 = 0,
``|u| <= 1/sqrt(1 - beta2)``, so only sign drift can make a cell unsafe.

**What the file decides.** Each statistic comes with a jackknife standard error over
batches of the simulated steps; a cell fails, trains or "cannot be told from this file"
(with the reason) by the rules of :meth:`TrainingStatistics.outcomes` (docs/theory.md
section 10): sign drift fails a cell only when the whole model climbs; reversed
coordinates that measurably climb while the model descends leave it undecided (a run may
walk off the sampled path, or settle); points near a stationary point, where every
beta2 < 1 drifts, decide nothing. A batch size at which the file holds fewer than
``batches`` disjoint batches decides nothing itself (:func:`too_few_batches`): the file's
rows are then too few to stand for the data's batch noise. The learning rate is not used
by any statistic.

Constants that are adamcheck's choices, not a paper's (parameters, with their
defaults): ``max_climbing = 1`` (reversed coordinates climbing as fast as the whole
model descends: a point whose top of the ladder does so is in its noise ball),
``negligible_climbing = 0.05``, ``z = 2`` standard errors, ``batches = 8``, ``max_update = 2`` (in units of the learning rate: twice the sustained
update Adam reaches at its default betas (0.9, 0.999), about 1 on every problem of the
suite), ``window = 10`` steps, ``quantile = 0.99`` and ``steps = 4000``. They were set on one
problem (a 64-128-10 MLP on scikit-learn's digits at lr 1e-3) and then checked on others; see benchmarks/validity/README.md for
how well they transfer and where they do not (the real edge also moves with the
learning rate, which this statistic does not see). The maximum over a run grows with
its length: a run much longer than ``steps`` can fail where this says safe, so
``steps`` should be the planned run length when it can be afforded.

References: Zhang et al., arXiv:2603.02092 (2026), sections 2.2-2.3 (convergence for
beta1 < sqrt(beta2), the divergent counterexample); Reddi et al., ICLR 2018 (the
update bound's role); docs/theory.md sections 3, 4 and 9.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, replace
from typing import Any, Sequence

import numpy as np

from .._errors import DataError, InvalidParameterError
from .._limits import MAX_BATCH_SIZES, check_work
from .._measurement import Measurement
from .._progress import Progress
from .._quiet import numpy_quiet
from .._validate import check_flag, check_positive_int, check_seed, from_tensor, nonfinite_gradients, zero_gradients
from ..noise._source import opened_gradients
from ._montecarlo import _ema, _ema_kernels
from ._training_settings import (
    DEFAULT_TRAINING_LADDER,
    TrainingSettings,
    _listed,
    check_chain_steps,
)

__all__ = [
    "TrainingBoundary",
    "TrainingStatistics",
    "ColumnSample",
    "sample_coordinates",
    "training_statistics",
    "training_boundary",
    "gradient_measurements",
    "DEFAULT_TRAINING_LADDER",
    "TrainingSettings",
    "batch_size_boundary",
    "run_training_boundary",
    "run_training_statistics",
]


MECHANISM_DRIFT = "sign drift (Adam's mean step climbs the loss)"
MECHANISM_GROWTH = "update growth (beta1 >= sqrt(beta2) with heavy-tailed small-batch gradients)"


@dataclass(frozen=True)
class ColumnSample:
    """Per-example gradients restricted to a seeded subset of coordinates, read once.

    Attributes:
        values: float64 array (P, N, k): P points, N examples, k sampled coordinates.
        columns: the sampled coordinate indices, shape (k,), sorted.
        d: the number of coordinates in the file.
    """

    values: np.ndarray
    columns: np.ndarray
    d: int


def sample_coordinates(gradients: Any, coordinates: int = 512, *, seed: int = 0,
                       progress: bool = False, nonzero: Any = None) -> ColumnSample:
    """Read per-example gradients once, keeping ``coordinates`` seeded columns.

    ``gradients`` is a path, a list of paths, a :class:`adamcheck.noise.GradientSource`
    or an array of shape (N, d) or (P, N, d), read through
    :func:`adamcheck.noise._source.opened_gradients` (the loader of every command).
    Coordinates whose gradient is zero for every example at every point carry no
    information and are not drawn when others remain. One call serves every batch size.
    The sample's rows are the file's rows: for a file whose rows are mini-batch
    gradients of R examples (``row_batch_size``, a GradientMonitor file), batch sizes
    given to :func:`training_statistics` count rows (B examples = B / R rows; see
    :func:`batch_size_boundary`, which converts). ``progress``
    draws a bar on stderr over the two passes. ``nonzero`` (bool, shape (d,)): which
    coordinates are ever non-zero, when a pass the caller already made found them
    (:func:`adamcheck.noise.run_estimate`'s ``on_block``); the first pass is then skipped
    and the sample is the same.

    Raises:
        adamcheck.DataError: unreadable file, wrong shape, non-finite values.
        adamcheck.InvalidParameterError: ``coordinates`` < 1.

    Example:
        >>> import numpy as np
        >>> s = sample_coordinates(np.arange(24.0).reshape(2, 3, 4), coordinates=2, seed=0)
        >>> s.values.shape, s.d
        ((2, 3, 2), 4)
    """
    coordinates = check_positive_int(coordinates, "coordinates")
    seed = check_seed(seed)
    gradients = from_tensor(gradients, "gradients", DataError)  # a torch tensor (GPU, with grad) via NumPy
    progress = check_flag(progress, "progress")
    with opened_gradients(gradients, progress=progress) as src:
        progress = progress or src.progress
        P, N, d = src.shape
        k = min(coordinates, d)
        check_work(f"{coordinates:,} coordinates of {P * N:,} rows", nbytes=8.0 * P * N * k, ops=2.0 * P * N * d,
                   fix="sample fewer coordinates")
        rows = max(1, (16 << 20) // max(1, 8 * d))  # ~16 MB per chunk
        rng = np.random.default_rng(seed)
        # One streaming pass finds the coordinates that are ever non-zero; the second
        # pass keeps only the drawn columns (memory: P * N * coordinates).
        known = nonzero is not None
        if known and (np.shape(nonzero) != (d,) or np.asarray(nonzero).dtype != bool):
            raise InvalidParameterError(f"nonzero must be a bool array of shape ({d},), one entry per coordinate")
        with Progress((1 if known else 2) * P * N, "reading gradients", enabled=progress) as bar:
            if not known:
                nonzero = np.zeros(d, dtype=bool)
                for p in range(P):
                    for _, block in src.iter_chunks(p, 0, N, rows):
                        nonzero |= (block != 0).any(axis=0)
                        bar.update(block.shape[0])
            nonzero = np.asarray(nonzero)
            if not nonzero.any():
                raise zero_gradients()
            pool = np.flatnonzero(nonzero)
            cols = np.sort(rng.choice(pool, size=min(coordinates, pool.size), replace=False))
            values = np.empty((P, N, cols.size))
            for p in range(P):
                for start, block in src.iter_chunks(p, 0, N, rows):
                    values[p, start : start + block.shape[0]] = block[:, cols]
                    bar.update(block.shape[0])
    if not np.isfinite(values).all():  # the same words as every command that reads a gradient file
        p, n, j = np.argwhere(~np.isfinite(values))[0]
        raise nonfinite_gradients(int(p), int(n), int(cols[j]))
    return ColumnSample(values=values, columns=cols, d=int(d))


@dataclass(frozen=True)
class TrainingStatistics:
    """Both failure statistics on a beta2 ladder at one (beta1, B).

    Arrays have one entry per ladder beta2 (``beta2s``), worst sampled point taken:
    ``drift`` is the smallest aggregate drift ratio rho_agg over points, ``climbing``
    the largest climbing share, ``update`` the largest ``quantile`` of per-coordinate
    sustained |u| over points; ``*_se`` are the jackknife standard errors of those
    worst values (the point estimate). ``unresolved[p]`` says why point p's sign drift
    decides nothing ("" when it is resolved; :func:`_unresolved`): such points take no
    part in :meth:`outcomes`, and those inside their noise ball are also left out of the
    worst values. ``points`` keeps every point's statistics.
    """

    beta1: float
    batch_size: int
    beta2s: np.ndarray
    drift: np.ndarray
    update: np.ndarray
    steps: int
    climbing: np.ndarray
    drift_se: np.ndarray | None = None
    update_se: np.ndarray | None = None
    climbing_se: np.ndarray | None = None
    points: tuple = ()
    unresolved: tuple = ()

    @property
    def outside_bound(self) -> np.ndarray:
        """beta1 >= sqrt(beta2): where the update bound fails and growth is possible."""
        return self.beta1 >= np.sqrt(self.beta2s)

    def growth(self, max_update: float) -> np.ndarray:
        """Update growth: outside the bound and the update quantile above ``max_update``."""
        return self.outside_bound & (self.update > max_update)

    def sign_drift(self, max_climbing: float) -> np.ndarray:
        """Sign drift: the whole model climbs (rho_agg < 0) or its reversed coordinates climb fast."""
        return (self.drift < 0) | (self.climbing > max_climbing)

    def unsafe(self, max_update: float, max_climbing: float = 1.0) -> np.ndarray:
        """Boolean per ladder beta2: sign drift or update growth (the point estimate, no standard errors)."""
        return self.sign_drift(max_climbing) | self.growth(max_update)

    def mechanism(self, max_update: float, max_climbing: float = 1.0) -> list[str | None]:
        grow = self.growth(max_update)
        drift = self.sign_drift(max_climbing)
        return [MECHANISM_DRIFT if d else MECHANISM_GROWTH if g else None for d, g in zip(drift, grow)]

    def outcomes(self, max_update: float, negligible_climbing: float, z: float,
                 growth_fails: bool = False) -> tuple[list[str], list[str]]:
        """Per ladder beta2: ``"fails"``, ``"trains"`` or ``"cannot_tell"``, and why.

        The rules (docs/theory.md section 10): a cell **fails** when the whole model's
        mean step climbs (rho_agg below 0 by more than ``z`` standard errors) at a point
        outside its noise ball; with ``growth_fails`` also when, at some sampled point,
        the sustained update is above ``max_update`` by more than ``z`` standard errors
        (beta1 >= sqrt(beta2) only). Without it (the default) such bursts leave the cell
        undecided: their harm depends on the learning rate and the model (real runs fail
        at 3 learning rates on an MLP and train through 20-40 on logistic regression and
        a small transformer at lr 1e-3), which the file does not hold. It **trains** when at every point the sustained update is below
        ``max_update`` by ``z`` standard errors (or the bound holds), rho_agg is above 0
        by ``z`` standard errors and the climbing share plus ``z`` standard errors is at
        most ``negligible_climbing``. Anything else cannot be told from the file: a
        statistic within ``z`` standard errors of its threshold, reversed coordinates
        that measurably climb while the model descends (a run may leave the sampled path,
        as on nearly separable data, or settle near it). Points whose sign drift is not
        resolved (``unresolved``) take no part in the sign-drift rules; when no point is
        resolved, no cell can be cleared.
        """
        out: list[str] = []
        why: list[str] = []
        outside = self.outside_bound
        for i, b2 in enumerate(self.beta2s):
            fails, blocked = [], []
            for p, (r, ball) in enumerate(zip(self.points, self.unresolved)):
                at = f"point {p + 1}"
                U, Use = float(r.update[i]), float(r.update_se[i])
                if outside[i]:
                    if U - z * Use > max_update and growth_fails:
                        fails.append(f"{MECHANISM_GROWTH}: sustained update {U:.3g} +/- {Use:.2g} learning rates, "
                                     f"above {max_update:g} at {at}")
                    elif U - z * Use > max_update:
                        blocked.append(f"sustained update {U:.3g} +/- {Use:.2g} learning rates at {at} with beta1 >= "
                                       "sqrt(beta2): whether such bursts sink a run depends on the learning rate and "
                                       "the model (an MLP fails at 3, a small transformer at lr 1e-3 and a logistic "
                                       "regression train through 20-40), which a gradient file does not hold")
                    elif U + z * Use > max_update:
                        blocked.append(f"sustained update {U:.3g} +/- {Use:.2g} learning rates at {at} is within "
                                       f"{z:g} standard errors of {max_update:g}")
                if ball:
                    continue  # its sign drift decides nothing (noted in the boundary's notes)
                d, dse = float(r.drift[i]), float(r.drift_se[i])
                c, cse = float(r.climbing[i]), float(r.climbing_se[i])
                if d + z * dse < 0:
                    fails.append(f"{MECHANISM_DRIFT}: aggregate drift ratio {d:.3g} +/- {dse:.2g} at {at}")
                elif d - z * dse <= 0:
                    blocked.append(f"aggregate drift ratio {d:.3g} +/- {dse:.2g} at {at} is within {z:g} standard "
                                   "errors of 0")
                elif c + z * cse > negligible_climbing:
                    blocked.append(f"reversed coordinates climb at {c:.1%} +/- {cse:.1%} of the model's descent at "
                                   f"{at}: a run may leave the sampled path there (as on nearly separable data) or "
                                   "settle near it, which frozen points cannot tell")
            if self.points and all(self.unresolved):
                blocked.append(f"no sampled point resolves Adam's mean step at batch size {self.batch_size} "
                               f"(point 1 is {self.unresolved[0]})")
            if fails:
                out.append("fails")
                why.append(fails[0])
            elif blocked:
                out.append("cannot_tell")
                why.append(blocked[0])
            else:
                out.append("trains")
                why.append("no failure measured at any sampled point")
        return out, why


def _minibatch_means(x: np.ndarray, batch_size: int, steps: int, rng: np.random.Generator) -> np.ndarray:
    """(steps, k) means of ``batch_size`` rows drawn without replacement per step."""
    n = x.shape[0]
    if batch_size >= n:
        return np.repeat(x.mean(axis=0, keepdims=True), steps, axis=0)
    # argpartition of uniform keys is a without-replacement draw per row, vectorised;
    # a gather-and-sum costs steps * B * k, far less than a dense (steps, N) product.
    out = np.empty((steps, x.shape[1]))
    chunk = max(1, (1 << 21) // max(1, n + batch_size * x.shape[1]))
    for s in range(0, steps, chunk):
        rows = min(chunk, steps - s)
        idx = np.argpartition(rng.random((rows, n)), batch_size - 1, axis=1)[:, :batch_size]
        out[s : s + rows] = x[idx].mean(axis=1)
    return out


def _window_reduce(x: np.ndarray, w: int, op: Any) -> np.ndarray:
    """op (np.minimum or np.maximum) over every w consecutive entries of the last axis.

    Doubling: windows of 1, 2, 4... entries by pairwise ``op``, then w as a sum of powers
    of two; O(log w) contiguous passes instead of w strided ones.
    """
    n = x.shape[-1] - w + 1
    spans = {1: x}
    p = 1
    while 2 * p <= w:
        prev = spans[p]
        spans[2 * p] = op(prev[..., :-p], prev[..., p:])
        p *= 2
    out, offset, left = None, 0, w
    for p in sorted(spans, reverse=True):
        if p <= left:
            block = spans[p][..., offset : offset + n]
            out = block if out is None else op(out, block)
            offset += p
            left -= p
    return out


def _sustained(u: np.ndarray, w: int) -> np.ndarray:
    """Largest over t of min(|u|) over w consecutive steps of one sign; u (..., T) -> (...)."""
    if u.shape[-1] < w:
        return np.zeros(u.shape[:-1])
    up = _window_reduce(u, w, np.minimum)  # > 0 only where the whole window is positive
    down = -_window_reduce(u, w, np.maximum)  # > 0 only where the whole window is negative
    return np.maximum(np.maximum(up.max(axis=-1), down.max(axis=-1)), 0.0)


def _sustained_batches(u: np.ndarray, w: int, starts: np.ndarray) -> np.ndarray:
    """:func:`_sustained` per group of windows: u (..., T) -> (..., len(starts)).

    Window i covers steps i..i+w-1; group b holds the windows i in [starts[b], starts[b+1]).
    The largest over the groups is :func:`_sustained` of the whole run.
    """
    up = _window_reduce(u, w, np.minimum)
    down = -_window_reduce(u, w, np.maximum)
    best = np.maximum(np.maximum.reduceat(up, starts, axis=-1), np.maximum.reduceat(down, starts, axis=-1))
    return np.maximum(best, 0.0)


@dataclass(frozen=True)
class _PointResult:
    """The three statistics at one point, each with a batch-means jackknife standard error."""

    drift: np.ndarray
    drift_se: np.ndarray
    update: np.ndarray
    update_se: np.ndarray
    climbing: np.ndarray
    climbing_se: np.ndarray
    signal: float


def _jackknife(full: np.ndarray, loo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bias-corrected estimate and standard error from leave-one-batch-out values (..., M).

    M batches: estimate M*full - (M-1)*mean(loo), se sqrt((M-1)/M sum (loo - mean)^2)
    (Efron and Tibshirani, An Introduction to the Bootstrap, 1993, chapter 11). With
    fewer than 2 batches the standard error is infinite (the statistic cannot decide).
    """
    M = loo.shape[-1]
    if M < 2:
        return full, np.full(full.shape, np.inf)
    mean = loo.mean(axis=-1)
    est = M * full - (M - 1) * mean
    se = np.sqrt((M - 1) / M * ((loo - mean[..., None]) ** 2).sum(axis=-1))
    return est, se


def _batch_starts(n: int, batches: int, min_len: int) -> np.ndarray:
    """Start offsets of at most ``batches`` contiguous, near-equal batches of n steps, each >= min_len long."""
    m = max(1, min(batches, n // max(1, min_len)))
    return (np.arange(m) * n) // m


def _point_batches(
    g: np.ndarray, full: np.ndarray, beta1: float, beta2s: np.ndarray, eps: float, quantile: float, burn: int,
    window: int = 10, dtype: Any = np.float64, batches: int = 8,
) -> _PointResult:
    """rho_agg, the update quantile and the climbing share at one point, with standard errors.

    The moment chains are linear filters of g and g^2, computed a block of steps at a
    time as matrix products (:func:`adamcheck.drift._montecarlo._ema`), for a chunk of
    coordinates and every ladder beta2 at once; memory is bounded by the chunk.
    The sustained-burst statistic is only needed (and computed) where
    beta1 >= sqrt(beta2).

    Standard errors: the recorded steps (after ``burn``) are cut into ``batches``
    contiguous batches (each at least ``window`` steps); every statistic is recomputed
    with one batch left out and the jackknife of :func:`_jackknife` gives its
    bias-corrected value (the climbing share sums positive parts of noisy means, which
    biases it upwards by O(1/sqrt(steps)): uncorrected it grew or shrank with the run
    length) and its standard error. The sustained update of a left-out batch is the
    largest over the other batches' windows (a window belongs to the batch it ends in).
    """
    steps, k = g.shape
    L = beta2s.size
    t = np.arange(1, steps + 1, dtype=float)
    with np.errstate(under="ignore"):
        c1 = 1.0 - beta1**t
        c2 = 1.0 - beta2s[:, None] ** t[None, :]  # (L, T)
    c1, c2 = c1.astype(dtype), c2.astype(dtype)
    k_m = tuple(a.astype(dtype) for a in _ema_kernels(np.array([beta1])))
    k_v = tuple(a.astype(dtype) for a in _ema_kernels(beta2s))
    grow = beta1 >= np.sqrt(beta2s)
    n_rec = steps - burn
    starts = _batch_starts(n_rec, batches, window)
    M = starts.size
    lengths = np.diff(np.append(starts, n_rec)).astype(float)
    # windows (of ``window`` steps, indexed by their first step) grouped by the batch of their last step
    w_starts = np.unique(np.clip(burn + starts - (window - 1), 0, max(0, steps - window)))
    w_starts[0] = 0
    mean_u = np.zeros((L, k))
    sums = np.zeros((L, k, M))
    peak = np.zeros((L, k, w_starts.size))
    # ~2 MB float32 per (c, L, T) temporary: they stay in cache and are reused from the
    # heap; at 16 MB they spilled and page-faulted (the monitor's 1,000 x 512 window,
    # 2 batch sizes: 0.3-0.7 s -> 0.2 s; 4 points x 4,000 steps: 3.6 -> 2.7 s; same numbers)
    chunk = max(1, (1 << 19) // max(1, steps * L))
    for j0 in range(0, k, chunk):
        x = np.ascontiguousarray(g[:, j0 : j0 + chunk].T, dtype=dtype)  # (c, T)
        m_hat = _ema(x, k_m, np.zeros((x.shape[0], 1), dtype=dtype))[:, 0, :] / c1  # (c, T)
        v_hat = _ema(x * x, k_v, np.zeros((x.shape[0], L), dtype=dtype)) / c2  # (c, L, T)
        with np.errstate(divide="ignore", invalid="ignore"):
            u = m_hat[:, None, :] / (np.sqrt(v_hat) + eps)
        u[~(v_hat > 0)] = 0.0  # a coordinate that has seen only zeros has not moved
        rec = u[..., burn:]
        mean_u[:, j0 : j0 + chunk] = rec.mean(axis=-1, dtype=np.float64).T
        sums[:, j0 : j0 + chunk] = np.add.reduceat(rec, starts, axis=-1, dtype=np.float64).transpose(1, 0, 2)
        if grow.any() and steps >= window:
            peak[grow, j0 : j0 + chunk] = _sustained_batches(u[:, grow, :], window, w_starts).transpose(1, 0, 2)
    second = (g * g).mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = float(np.where(second > 0, full * full / np.sqrt(second), 0.0).sum())
    # leave-one-batch-out mean updates (L, k, M)
    loo_u = (sums.sum(axis=-1, keepdims=True) - sums) / np.maximum(n_rec - lengths, 1.0) if M > 1 else sums
    contrib = mean_u * full  # each coordinate's share of the first-order descent, (L, k)
    contrib_loo = loo_u * full[None, :, None]
    if limit > 0:
        drift = contrib.sum(axis=1) / limit
        drift_loo = contrib_loo.sum(axis=1) / limit
        climbing = np.maximum(-contrib, 0.0).sum(axis=1) / limit
        climbing_loo = np.maximum(-contrib_loo, 0.0).sum(axis=1) / limit
    else:
        drift, climbing = np.ones(L), np.zeros(L)
        drift_loo, climbing_loo = np.ones((L, M)), np.zeros((L, M))
    _, drift_se = _jackknife(drift, drift_loo)
    climbing_jk, climbing_se = _jackknife(climbing, climbing_loo)
    top = peak.max(axis=-1)  # (L, k)
    update = np.quantile(top, quantile, axis=1)
    Mw = peak.shape[-1]
    if Mw > 1:
        # the largest over every batch but b: prefix and suffix maxima
        pre = np.maximum.accumulate(peak, axis=-1)
        suf = np.maximum.accumulate(peak[..., ::-1], axis=-1)[..., ::-1]
        others = np.empty_like(peak)
        others[..., 0] = suf[..., 1]
        others[..., -1] = pre[..., -2]
        if Mw > 2:
            others[..., 1:-1] = np.maximum(pre[..., :-2], suf[..., 2:])
        update_loo = np.quantile(others, quantile, axis=1)  # (L, Mw)
        _, update_se = _jackknife(update, update_loo)
    else:
        update_se = np.full(L, np.inf)
    update_se = np.where(grow, update_se, 0.0)
    var = np.maximum(second - full * full, 0.0).sum()
    signal = float((full * full).sum() / var) if var > 0 else float("inf")
    return _PointResult(
        drift=np.asarray(drift, dtype=float), drift_se=np.asarray(drift_se, dtype=float), update=update,
        update_se=update_se, climbing=np.maximum(np.asarray(climbing_jk, dtype=float), 0.0),
        climbing_se=np.asarray(climbing_se, dtype=float), signal=signal,
    )


def _point_statistics(
    g: np.ndarray, full: np.ndarray, beta1: float, beta2s: np.ndarray, eps: float, quantile: float, burn: int,
    window: int = 10, dtype: Any = np.float64,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """rho_agg, the update quantile and the (uncorrected) climbing share at one point for every ladder beta2."""
    r = _point_batches(g, full, beta1, beta2s, eps, quantile, burn, window, dtype, batches=1)
    return r.drift, r.update, r.climbing


_NOISE_BALL = "inside its noise ball"


def _unresolved(r: "_PointResult", top: float, z: float, max_climbing: float, negligible_climbing: float) -> str:
    """Why a point's sign drift decides nothing at this batch size ("" when it is resolved).

    Adam's mean step descends as beta2 -> 1 (it is then sum G_j^2 / sqrt(E g_j^2) > 0), so
    at the top of the ladder any measured climbing is not a property of beta2. Two cases:

    * the top shows sign drift beyond ``z`` standard errors: the point sits where every
      beta2 < 1 drifts (near a stationary point, the neighbourhood of docs/theory.md
      section 3): its *noise ball*;
    * the top's climbing share or drift ratio has a standard error so large that
      ``negligible_climbing`` (or the sign of the drift) cannot be resolved within ``z``
      of them: the mini-batch gradient there is mostly noise and the simulated run is too
      short to resolve Adam's mean step.
    """
    d, dse = float(r.drift[-1]), float(r.drift_se[-1])
    c, cse = float(r.climbing[-1]), float(r.climbing_se[-1])
    if d + z * dse < 0 or c - z * cse > max_climbing:
        return (f"{_NOISE_BALL}: even beta2 = {top:g} shows sign drift there (every beta2 < 1 drifts "
                "near a stationary point)")
    if z * cse > negligible_climbing or z * dse >= 1.0:
        return (f"not resolved: at beta2 = {top:g} the climbing share is {c:.1%} +/- {cse:.1%} (mean step not "
                "resolved in the simulated steps: the batch gradient is mostly noise there)")
    return ""


def training_statistics(
    sample: ColumnSample,
    batch_size: int,
    *,
    beta1: float = 0.9,
    beta2s: Sequence[float] | None = None,
    eps: float = 1e-8,
    steps: int = 4000,
    quantile: float = 0.99,
    window: int = 10,
    seed: int = 0,
    batches: int = 8,
    z: float = 2.0,
    max_climbing: float = 1.0,
    negligible_climbing: float = 0.05,
) -> TrainingStatistics:
    """rho_agg and the update statistic at one batch size for a ladder of beta2.

    Shapes: ``sample.values`` (P, N, k); the result's arrays (len(beta2s),).
    ``eps`` is your Adam epsilon in the units of the gradients (training units).
    ``batches``: the recorded steps of each chain are cut into this many batches for the
    jackknife standard errors; ``z``, ``max_climbing`` and ``negligible_climbing`` only
    flag the points whose sign drift is not resolved (:func:`_unresolved`).

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(0.5, 1.0, size=(1, 200, 3))
        >>> s = training_statistics(ColumnSample(x, np.arange(3), 3), 4, beta1=0.0,
        ...                         beta2s=[0.5, 0.999], steps=500)
        >>> bool((s.drift > 0).all()), bool(s.update[0] <= 1 / np.sqrt(1 - 0.5))
        (True, True)
    """
    settings = TrainingSettings(beta1=beta1, beta2s=beta2s, eps=eps, steps=check_chain_steps(steps),
                                quantile=quantile, window=window, seed=seed, batches=batches, z=z,
                                max_climbing=max_climbing, negligible_climbing=negligible_climbing)
    return run_training_statistics(sample, batch_size, settings)


def run_training_statistics(sample: ColumnSample, batch_size: int, settings: TrainingSettings,
                            steps: int | None = None) -> TrainingStatistics:
    """:func:`training_statistics` with its settings as one :class:`TrainingSettings`.

    ``steps``: the run length at this batch size (default ``settings.steps``, which must
    then be one number).

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(0.5, 1.0, size=(1, 200, 3))
        >>> s = run_training_statistics(ColumnSample(x, np.arange(3), 3), 4,
        ...                             TrainingSettings(beta1=0.0, beta2s=[0.5, 0.999], steps=500))
        >>> bool((s.drift > 0).all())
        True
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    steps = check_chain_steps(settings.steps if steps is None else steps)
    ladder = np.sort(settings.beta2s)
    beta1, eps, seed, z = settings.beta1, settings.eps, settings.seed, settings.z
    quantile, window, batches = settings.quantile, settings.window, settings.batches
    max_climbing, negligible_climbing = settings.max_climbing, settings.negligible_climbing
    rng = np.random.default_rng([seed, batch_size])
    burn = min(steps // 2, int(10 / max(1e-12, 1 - beta1)) + 10)
    points, ball = [], []
    for x in sample.values:
        g = _minibatch_means(x, batch_size, steps, rng)
        # float32 chains: the statistics agree with float64 to about 1e-4 relative, in half the time
        r = _point_batches(g, x.mean(axis=0), beta1, ladder, eps, quantile, burn, window, dtype=np.float32,
                           batches=batches)
        points.append(r)
        ball.append(_unresolved(r, ladder[-1], z, max_climbing, negligible_climbing))
    # the point estimate keeps every point but those in their noise ball (their top fails by sign drift,
    # with or without its standard error, which no beta2 can cure: kept, they turned the answer into
    # "every beta2 fails")
    sign_pts = [r for r, b in zip(points, ball)
                if not (b.startswith(_NOISE_BALL) or r.drift[-1] < 0 or r.climbing[-1] > max_climbing)]

    def worst(name: str, pick: Any, pts: list) -> tuple[np.ndarray, np.ndarray]:
        if not pts:
            fill = {"drift": 1.0, "climbing": 0.0, "update": 0.0}[name]
            return np.full(ladder.size, fill), np.zeros(ladder.size)
        v = np.array([getattr(r, name) for r in pts])
        se = np.array([getattr(r, name + "_se") for r in pts])
        at = pick(v, axis=0)
        return v[at, np.arange(ladder.size)], se[at, np.arange(ladder.size)]

    drift, drift_se = worst("drift", np.argmin, sign_pts)
    climbing, climbing_se = worst("climbing", np.argmax, sign_pts)
    update, update_se = worst("update", np.argmax, points)
    return TrainingStatistics(beta1, batch_size, ladder, drift, update, steps, climbing, drift_se=drift_se,
                              update_se=update_se, climbing_se=climbing_se, points=tuple(points),
                              unresolved=tuple(ball))


@dataclass(frozen=True)
class TrainingBoundary:
    """beta2*(B) at one beta1 for several batch sizes, with what sets it, and what the file can decide.

    **What the file decides** (the answer to use): per batch size, ``outcome[i][j]`` is
    ``"fails"``, ``"trains"`` or ``"cannot_tell"`` for ladder value ``beta2s[j]`` (rules:
    :meth:`TrainingStatistics.outcomes`, made monotone: a failure at a batch size also
    counts at every smaller one and at every smaller beta2, a success at every larger batch
    size and larger beta2); ``beta2_failed[i]``/``beta2_trained[i]`` list the decided
    values, ``decided[i]`` is False when nothing could be decided at ``batch_sizes[i]``
    and ``reason[i]`` says what set the answer or why the file cannot tell. Turn them
    into :class:`adamcheck._measurement.Measurement` objects with
    :func:`gradient_measurements`.

    **The point estimate** (kept for callers that need one number):
    ``critical_beta2_raw[i]`` is the smallest ladder beta2 such that it and every larger
    ladder value are predicted safe at ``batch_sizes[i]`` by the statistics without their
    standard errors (0.0 when every ladder value is safe; NaN when even the top fails);
    ``critical_beta2[i]`` is the largest raw value at any batch size >= ``batch_sizes[i]``
    (non-increasing in B, see :func:`_monotone_envelope`). ``mechanism[i]`` names the
    failure mode of the ladder value just below it. Where ``decided[i]`` is False the
    point estimate is the statistic's guess, not an answer.
    """

    beta1: float
    batch_sizes: tuple[int, ...]
    critical_beta2: np.ndarray
    mechanism: tuple[str | None, ...]
    statistics: tuple[TrainingStatistics, ...]
    max_update: float
    max_climbing: float
    quantile: float
    window: int
    steps: tuple[int, ...]
    critical_beta2_raw: np.ndarray
    coordinates: int
    d: int
    decided: tuple[bool, ...] = ()
    reason: tuple[str, ...] = ()
    beta2_failed: tuple[tuple[float, ...], ...] = ()
    beta2_trained: tuple[tuple[float, ...], ...] = ()
    outcome: tuple[tuple[str, ...], ...] = ()
    cell_reason: tuple[tuple[str, ...], ...] = ()
    beta2s: tuple[float, ...] = ()
    negligible_climbing: float = 0.05
    z: float = 2.0
    notes: tuple[str, ...] = ()
    growth_fails: bool = False

    def safe(self, batch_size: int, beta2: float) -> bool:
        """Predicted label of one cell by the point estimate (beta2 at or above beta2*(B))."""
        i = self.batch_sizes.index(batch_size)
        star = self.critical_beta2[i]
        return bool(np.isfinite(star) and beta2 >= star)

    def outcome_at(self, batch_size: int, beta2: float) -> str:
        """What the file decides for one cell: ``"fails"``, ``"trains"`` or ``"cannot_tell"``.

        ``beta2`` between ladder values takes the more cautious of its neighbours' answers
        (it fails only if a larger ladder value failed; it trains only if a smaller one trained).
        """
        i = self.batch_sizes.index(batch_size)
        failed, trained = self.beta2_failed[i], self.beta2_trained[i]
        if failed and beta2 <= failed[-1] + 1e-12:
            return "fails"
        if trained and beta2 >= trained[0] - 1e-12:
            return "trains"
        return "cannot_tell"

    def to_dict(self) -> dict[str, Any]:
        return {
            "beta1": self.beta1,
            "batch_sizes": list(self.batch_sizes),
            "decided": list(self.decided),
            "reason": list(self.reason),
            "beta2_failed": [list(f) for f in self.beta2_failed],
            "beta2_trained": [list(t) for t in self.beta2_trained],
            "beta2": list(self.beta2s),
            "outcome": [list(o) for o in self.outcome],
            "cell_reason": [list(r) for r in self.cell_reason],
            "critical_beta2": self.critical_beta2,
            "critical_beta2_raw": self.critical_beta2_raw,
            "mechanism": list(self.mechanism),
            "max_update": self.max_update,
            "max_climbing": self.max_climbing,
            "negligible_climbing": self.negligible_climbing,
            "z": self.z,
            "growth_fails": self.growth_fails,
            "quantile": self.quantile,
            "window": self.window,
            "steps": list(self.steps),
            "coordinates_sampled": self.coordinates,
            "coordinates_total": self.d,
            "notes": list(self.notes),
            "statistics": [
                {"batch_size": s.batch_size, "beta2": s.beta2s, "aggregate_drift_ratio": s.drift,
                 "aggregate_drift_ratio_se": s.drift_se, "climbing_share": s.climbing,
                 "climbing_share_se": s.climbing_se, "update_quantile": s.update, "update_quantile_se": s.update_se,
                 "unresolved_points": {str(p + 1): why for p, why in enumerate(s.unresolved) if why}}
                for s in self.statistics
            ],
        }


def _critical(stats: TrainingStatistics, max_update: float, max_climbing: float) -> tuple[float, str | None]:
    bad = stats.unsafe(max_update, max_climbing)
    why = stats.mechanism(max_update, max_climbing)
    if bad[-1]:
        return float("nan"), why[-1]
    if not bad.any():
        return 0.0, None
    last = int(np.flatnonzero(bad)[-1])
    return float(stats.beta2s[last + 1]), why[last]


def _monotone_envelope(sizes: Sequence[int], raw: np.ndarray, mech: list) -> tuple[np.ndarray, list]:
    """beta2*(B) = the largest finite raw value at any batch size >= B (NaN only where B's own raw is NaN).

    A batch of kB examples is the mean of k batches of B, so whatever endangers Adam at
    kB endangers it at B; a raw value that rises with B is the sampling noise of a
    statistic near its threshold, and the conservative side of it is kept. A NaN (even
    the top failed) is not carried to smaller batches: it says the statistic could not
    find a safe value there, not that a smaller batch fails everywhere (a NaN carried
    down from B = 2 once replaced B = 1's own 0.95).
    """
    order = np.argsort(sizes, kind="stable")
    out, why = raw.copy(), list(mech)
    best, best_i = -np.inf, None
    for i in order[::-1]:
        if np.isnan(raw[i]):
            continue
        if raw[i] >= best:
            best, best_i = raw[i], i
        out[i] = best
        why[i] = mech[best_i]
    return out, why


def too_few_batches(examples: int, batch_size: int, batches: int) -> str | None:
    """Why a file of ``examples`` rows cannot stand for the data at ``batch_size`` (None if it can).

    The file's rows are a sample of the data; a batch of B is drawn from them. With fewer
    than ``batches`` disjoint batches of B in the file (the same minimum as the jackknife's
    batches, and the monitor's window rule), the batch law the chains see is a handful of
    atoms, not the data's: two examples at B = 1 read as a two-example problem (which
    trained where the real 569-example problem diverged), and one row per point, or
    B >= N, gives the full gradient at every step (noise-free, so "trains" everywhere).

    Example:
        >>> too_few_batches(512, 64, 8) is None, too_few_batches(2, 1, 8)[:20]
        (True, 'the file holds 2 row')
    """
    if examples // batch_size >= batches:
        return None
    return (f"the file holds {examples} row(s) per point, fewer than {batches} batches of {batch_size}: too few "
            f"to stand for the data's batch noise; gather at least {batches * batch_size} per point")


def _decide(stats: Sequence[TrainingStatistics], sizes: Sequence[int], max_update: float,
            negligible_climbing: float, z: float, growth_fails: bool = False,
            too_few: Sequence[str | None] = ()) -> tuple[list, list, list, list]:
    """Per batch size: the cell outcomes and reasons, made monotone in beta2 and in B.

    Monotone in beta2: below a failed value everything fails; a value trains only when it
    and every larger ladder value train (else the answer there is "cannot tell").
    Monotone in B (the dominance of the module docstring): failures at B count at every
    smaller batch size, successes at every larger one; where both meet, the failure wins
    (the conservative side), as in :func:`adamcheck._measurement.judge`. A batch size
    with a ``too_few`` reason decides nothing itself (:func:`too_few_batches`); what
    other batch sizes decide still reaches it by dominance.
    """
    n = len(stats)
    L = stats[0].beta2s.size
    outs, whys = [], []
    for i, s in enumerate(stats):
        few = too_few[i] if i < len(too_few) else None
        o, w = (["cannot_tell"] * L, [few] * L) if few else s.outcomes(max_update, negligible_climbing, z,
                                                                       growth_fails)
        outs.append(o)
        whys.append(w)
    edge = np.full(n, -1)
    clear = np.full(n, L)
    for i, o in enumerate(outs):
        f = [j for j in range(L) if o[j] == "fails"]
        edge[i] = f[-1] if f else -1
        j = L
        while j > 0 and o[j - 1] == "trains":
            j -= 1
        clear[i] = j
    order = np.argsort(sizes, kind="stable")
    edge_m, clear_m = edge.copy(), clear.copy()
    src_edge = list(range(n))
    src_clear = list(range(n))
    run, run_i = -1, None
    for i in order[::-1]:  # failures travel to smaller batch sizes
        if edge[i] >= run:
            run, run_i = edge[i], i
        edge_m[i], src_edge[i] = run, run_i if run >= 0 else i
    run, run_i = L, None
    for i in order:  # successes travel to larger batch sizes
        if clear[i] <= run:
            run, run_i = clear[i], i
        clear_m[i], src_clear[i] = run, run_i if run < L else i
    final_o, final_w = [], []
    for i in range(n):
        e, c = int(edge_m[i]), int(max(clear_m[i], edge_m[i] + 1))
        o, w = [], []
        for j in range(L):
            if j <= e:
                k = src_edge[i]
                o.append("fails")
                if outs[i][j] == "fails":
                    w.append(whys[i][j])
                elif k != i:
                    w.append(f"{whys[k][e]} (at batch size {sizes[k]}: a failure there holds at smaller batches)")
                else:
                    w.append(f"beta2 = {stats[i].beta2s[e]:g} fails ({whys[i][e]}), so smaller beta2 fail too")
            elif j >= c:
                o.append("trains")
                w.append(whys[i][j] if outs[i][j] == "trains" else
                         f"trains at batch size {sizes[src_clear[i]]}, so at this larger batch too")
            else:
                o.append("cannot_tell")
                w.append(whys[i][j] if outs[i][j] == "cannot_tell" else
                         "a larger beta2 on the ladder cannot be told, so this one cannot be cleared")
        final_o.append(o)
        final_w.append(w)
    return final_o, final_w, list(edge_m), list(np.maximum(clear_m, edge_m + 1))


def _batch_reason(ladder: np.ndarray, outcome: list[str], why: list[str]) -> tuple[bool, str]:
    """Whether anything is decided at this batch size, and one line saying what."""
    fails = [j for j, o in enumerate(outcome) if o == "fails"]
    trains = [j for j, o in enumerate(outcome) if o == "trains"]
    unknown = [j for j, o in enumerate(outcome) if o == "cannot_tell"]
    parts = []
    if fails:
        parts.append(f"fails at beta2 <= {ladder[fails[-1]]:g} ({why[fails[-1]]})")
    if trains:
        parts.append(f"trains at beta2 >= {ladder[trains[0]]:g}")
    if unknown:
        lo, hi = ladder[unknown[0]], ladder[unknown[-1]]
        span = f"beta2 = {lo:g}" if lo == hi else f"beta2 in [{lo:g}, {hi:g}]"
        parts.append(f"cannot tell from this file at {span}: {why[unknown[-1]]}")
    decided = bool(fails or trains)
    text = "; ".join(parts)
    return decided, text


def _check_training_size(sample: CoordinateSample, sizes: Sequence[int], steps: Sequence[Any], rungs: int) -> None:
    """Refuse, before simulating, steps whose memory or time is beyond adamcheck's limits.

    Per batch size: a float64 (steps, k) array of mini-batch means plus moment chains
    computed in coordinate chunks (memory ~ 4 x 8 steps k bytes); work ~ P steps (N + B k
    + 10 rungs k) element operations for P points, N examples, k coordinates.
    """
    P, N, k = sample.values.shape
    counts = [check_positive_int(n, "steps") for n in steps]
    nbytes = max(32.0 * n * k for n in counts)
    ops = sum(float(P) * n * (N + min(B, N) * k + 10 * rungs * k) for B, n in zip(sizes, counts))
    check_work(f"steps = {max(counts):,} at {len(sizes)} batch size(s) over {k:,} coordinates", nbytes=nbytes,
               ops=ops, fix="lower steps or the batch sizes")


def training_boundary(
    gradients: Any,
    batch_sizes: Sequence[int],
    *,
    beta1: float = 0.9,
    beta2s: Sequence[float] | None = None,
    eps: float = 1e-8,
    steps: int | Sequence[int] = 4000,
    max_update: float = 2.0,
    max_climbing: float = 1.0,
    window: int = 10,
    quantile: float = 0.99,
    coordinates: int = 512,
    seed: int = 0,
    progress: bool = False,
    negligible_climbing: float = 0.05,
    z: float = 2.0,
    batches: int = 8,
    growth_fails: bool = False,
) -> TrainingBoundary:
    """Predicted beta2*(B) for real training at ``beta1``, for every batch size.

    The file is read once (``coordinates`` seeded columns); see the module docstring for
    the two statistics and the constants that are adamcheck's choices.

    Args:
        gradients: per-example gradients (path(s), GradientSource or array (P, N, d)),
            mean-reduced per example, in training units (``eps`` compares with them).
        batch_sizes: the batch sizes B to predict for.
        beta1: Adam's beta1 in [0, 1).
        beta2s: the ladder of beta2 (default :data:`DEFAULT_TRAINING_LADDER`).
        eps: your Adam epsilon (default torch's 1e-8).
        steps: length of each simulated run (the planned run length, if affordable):
            one number, or one per batch size (a budget in epochs gives fewer steps to
            larger batches).
        max_update: largest tolerated window average of m_hat/(sqrt(v_hat)+eps), in
            units of the learning rate (adamcheck's choice, calibrated on the digits MLP).
        max_climbing: largest tolerated climbing share (adamcheck's choice, see above).
        window: the window of that average, in steps (adamcheck's choice).
        quantile: the share of sampled coordinates that must stay below ``max_update``.
        coordinates: how many coordinates to sample.
        seed: seeds the coordinates and the mini-batch draws.
        progress: a progress bar on stderr.
        negligible_climbing: the largest climbing share (plus ``z`` standard errors) that
            still lets a cell be cleared (adamcheck's choice, 0.05; see :meth:`TrainingStatistics.outcomes`).
        z: how many standard errors a statistic must clear its threshold by to decide
            (adamcheck's choice, 2).
        batches: batches of the simulated steps for the jackknife standard errors (8).
        growth_fails: let update growth decide failures (sustained update above
            ``max_update`` by ``z`` standard errors), as calibrated on the digits MLP at
            lr 1e-3-1e-2. Off by default: the threshold does not transfer across models
            and learning rates (docs/theory.md section 10), so such cells are undecided.

    Returns:
        A :class:`TrainingBoundary`: per batch size what the file decides (``outcome``,
        ``beta2_failed``, ``beta2_trained``, ``decided``, ``reason``) and the point
        estimate (``critical_beta2``). :func:`gradient_measurements` turns it into
        ``Measurement`` objects.

    Raises:
        adamcheck.InvalidParameterError: bad betas, sizes or constants.
        adamcheck.DataError: unreadable or non-finite gradients.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> # sparse, heavy-tailed per-example gradients: most examples give ~0
        >>> x = rng.normal(0.1, 1.0, (1, 600, 4)) * (rng.random((1, 600, 4)) < 0.05)
        >>> tb = training_boundary(x, [1, 64], beta1=0.9, steps=800)
        >>> bool(tb.critical_beta2[0] >= tb.critical_beta2[1])
        True
        >>> tb.outcome_at(1, 0.1), tb.outcome_at(64, 0.9999)  # bursts at batch 1: lr and model decide
        ('cannot_tell', 'trains')
        >>> training_boundary(x, [1], beta1=0.9, steps=800, growth_fails=True).outcome_at(1, 0.1)
        'fails'
    """
    settings = TrainingSettings(
        beta1=beta1, beta2s=beta2s, eps=eps, steps=steps, max_update=max_update, max_climbing=max_climbing,
        window=window, quantile=quantile, coordinates=coordinates, seed=seed,
        negligible_climbing=negligible_climbing, z=z, batches=batches, growth_fails=growth_fails,
    )
    return run_training_boundary(gradients, batch_sizes, settings, progress=progress)


@numpy_quiet
def run_training_boundary(gradients: Any, batch_sizes: Sequence[int], settings: TrainingSettings, *,
                          progress: bool = False) -> TrainingBoundary:
    """:func:`training_boundary` with its settings as one :class:`TrainingSettings`.

    ``gradients``, ``batch_sizes`` and ``progress`` are those of :func:`training_boundary`,
    as are the result and the errors raised.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(0.1, 1.0, (1, 600, 4)) * (rng.random((1, 600, 4)) < 0.05)
        >>> tb = run_training_boundary(x, [1, 64], TrainingSettings(beta1=0.9, steps=800))
        >>> tb.outcome_at(64, 0.9999)
        'trains'
    """
    progress = check_flag(progress, "progress")
    sizes = tuple(check_positive_int(b, "batch_sizes") for b in _listed(batch_sizes, "batch_sizes"))
    if not sizes:
        raise InvalidParameterError("batch_sizes is empty: give at least one batch size, e.g. [1, 8, 64]")
    per_size = settings.steps_for(sizes)
    sample = gradients if isinstance(gradients, ColumnSample) else sample_coordinates(
        gradients, settings.coordinates, seed=settings.seed, progress=progress
    )
    _check_training_size(sample, sizes, per_size, settings.beta2s.size)
    stats = []
    with Progress(len(sizes), "training boundary", enabled=progress) as bar:
        for B, n_steps in zip(sizes, per_size):
            stats.append(run_training_statistics(sample, B, settings, n_steps))
            bar.update()
    return _boundary_of(stats, sizes, settings, sample)


def _unresolved_notes(stats: Sequence[TrainingStatistics]) -> tuple[str, ...]:
    """Per batch size, which sampled points leave the sign drift unresolved."""
    notes = []
    for st in stats:
        off = [f"point {p + 1} is {w}" for p, w in enumerate(st.unresolved) if w]
        if off and len(off) == len(st.unresolved):
            notes.append(f"batch size {st.batch_size}: no sampled point resolves the sign drift, so no beta2 is "
                         f"cleared there; " + "; ".join(off))
        elif off:
            notes.append(f"batch size {st.batch_size}: sign drift read from the other points only; " + "; ".join(off))
    return tuple(notes)


def _boundary_of(stats: list[TrainingStatistics], sizes: tuple[int, ...], settings: TrainingSettings,
                 sample: ColumnSample) -> TrainingBoundary:
    """The boundary from the statistics at every batch size: the point estimate (made monotone
    over batch size) and what the file decides."""
    s = settings
    raw, mech = zip(*(_critical(st, s.max_update, s.max_climbing) for st in stats))
    crit, mech = _monotone_envelope(sizes, np.array(raw), list(mech))
    examples = int(sample.values.shape[1])
    too_few = [too_few_batches(examples, B, s.batches) for B in sizes]
    outcome, why, _, _ = _decide(stats, sizes, s.max_update, s.negligible_climbing, s.z, s.growth_fails, too_few)
    ladder = stats[0].beta2s
    decided, reason = zip(*(_batch_reason(ladder, o, w) for o, w in zip(outcome, why)))
    return TrainingBoundary(
        beta1=float(s.beta1), batch_sizes=sizes, critical_beta2=crit, mechanism=tuple(mech),
        statistics=tuple(stats), max_update=s.max_update, max_climbing=s.max_climbing, quantile=s.quantile,
        window=int(s.window), steps=tuple(st.steps for st in stats), critical_beta2_raw=np.array(raw),
        coordinates=int(sample.columns.size), d=sample.d, decided=tuple(decided), reason=tuple(reason),
        beta2_failed=tuple(tuple(float(b) for b, o in zip(ladder, oo) if o == "fails") for oo in outcome),
        beta2_trained=tuple(tuple(float(b) for b, o in zip(ladder, oo) if o == "trains") for oo in outcome),
        outcome=tuple(tuple(o) for o in outcome), cell_reason=tuple(tuple(w) for w in why),
        beta2s=tuple(float(b) for b in ladder), negligible_climbing=s.negligible_climbing, z=s.z,
        notes=_unresolved_notes(stats), growth_fails=s.growth_fails,
    )


def batch_size_boundary(
    gradients: Any,
    batch_sizes: Sequence[int],
    *,
    beta1: float = 0.9,
    eps: float = 1e-8,
    steps: int | Sequence[int] = 4000,
    seed: int = 0,
    progress: bool = False,
    **options: Any,
):
    """beta2*(B) at one beta1 for each batch size B, from per-example gradients.

    The training boundary of :func:`adamcheck.drift.training_boundary` (sign drift of
    the whole model and of its reversed coordinates, and update growth where
    beta1 >= sqrt(beta2)); the file is read once for every batch size. ``options`` go
    to that function (``max_update``, ``max_climbing``, ``window``, ``quantile``,
    ``coordinates``, ``beta2s``).

    Batch sizes count examples. A file whose rows are mini-batch gradients of R
    examples (``row_batch_size``, what :class:`adamcheck.torch.GradientMonitor` saves)
    makes a batch of B examples from B / R rows, so each B must be a multiple of R; the
    result's ``batch_sizes`` (and its statistics') are in examples either way. ``eps`` is
    in the units of the unscaled gradients: for rows stored with a ``loss_scale`` (or a
    mean over M), it is compared with the rows rescaled as :mod:`adamcheck.noise._scale` says.

    Raises:
        adamcheck.DataError: a batch size that is not a whole number of rows.
        adamcheck.InvalidParameterError: more than :data:`adamcheck._limits.MAX_BATCH_SIZES`
            batch sizes, or one above the examples the gradients hold (as ``recommend``).

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).exponential(1.0, size=(400, 2)) - 0.8
        >>> b = batch_size_boundary(x, [1, 64], beta1=0.0, steps=500)
        >>> bool(b.critical_beta2[0] >= b.critical_beta2[1])
        True
    """
    listed = _listed_sizes(batch_sizes)
    with opened_gradients(from_tensor(gradients, "gradients", DataError), progress=progress) as source:
        # examples counted as recommend counts a batch: a monitor file's row is R examples
        _check_within_data(listed, source.examples * source.meta.rows_per_example)
        sizes = tuple(check_positive_int(b, "batch_sizes") for b in listed)
        rows = [source.batch_rows(b) for b in sizes]
        # eps compares with the unscaled gradients: rows f times them (loss_scale...) take f x eps
        tb = training_boundary(source, rows, beta1=beta1, eps=eps * source.meta.row_factor, steps=steps, seed=seed,
                               progress=progress, **options)
    if tuple(rows) == sizes:
        return tb
    return replace(tb, batch_sizes=sizes,
                   statistics=tuple(replace(st, batch_size=b) for st, b in zip(tb.statistics, sizes)))


def _shown_int(value: int) -> str:
    return str(value) if value < 10**80 else f"a {len(str(value))}-digit number"


def _listed_sizes(batch_sizes: Any) -> list[Any]:
    """The batch sizes as a list, at most :data:`adamcheck._limits.MAX_BATCH_SIZES` of them."""
    listed = _listed(batch_sizes, "batch_sizes")
    if len(listed) > MAX_BATCH_SIZES:
        raise InvalidParameterError(
            f"{len(listed):,} batch sizes are more than adamcheck's limit of {MAX_BATCH_SIZES} in one "
            "request (each is a full simulation): give fewer, a curve over batch size needs a few dozen")
    return listed


def _check_within_data(batch_sizes: Sequence[Any], examples: int) -> None:
    """Refuse, before any work, batch sizes above the examples the gradients hold, as
    ``recommend`` refuses them (a batch larger than the data would be answered as the full
    batch, under a size it is not)."""
    if examples < 1:  # a malformed header: its reader says what is wrong
        return
    # Sizes above the data first: 10**30 is "more than the file holds" before "out of int64".
    over = [int(b) for b in batch_sizes if isinstance(b, numbers.Integral) and not isinstance(b, bool)
            and b > examples]
    if over:
        shown = ", ".join(_shown_int(b) for b in over[:3]) + (f" and {len(over) - 3} more" if len(over) > 3 else "")
        raise InvalidParameterError(
            f"the gradients hold N = {examples} examples, fewer than the batch size B = {shown}: "
            f"give batch sizes up to {examples}, or sample at least B examples (better: many batches' worth)"
        )


def gradient_measurements(boundary: TrainingBoundary, *, source: str = "") -> tuple[Any, ...]:
    """The file lens's answer per batch size, as :class:`adamcheck._measurement.Measurement` objects.

    One ``Measurement("gradients", B, beta1, failed=..., trained=...)`` per batch size of
    ``boundary``: the ladder values the file decided (see :class:`TrainingBoundary`), with
    the reason; where nothing was decided, an abstention (``decided=False``) whose reason
    says why the file cannot tell. ``source`` names the file (for the answer's first lines).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(0.1, 1.0, (1, 400, 4)) * (rng.random((1, 400, 4)) < 0.05)
        >>> m = gradient_measurements(training_boundary(x, [1, 64], beta1=0.9, steps=800))
        >>> [(r.lens, r.batch_size) for r in m]
        [('gradients', 1), ('gradients', 64)]
    """
    out = []
    for i, B in enumerate(boundary.batch_sizes):
        detail = {"outcome": dict(zip((f"{b:g}" for b in boundary.beta2s), boundary.outcome[i])),
                  "critical_beta2_point_estimate": float(boundary.critical_beta2[i]),
                  "steps": int(boundary.steps[i]), "coordinates": boundary.coordinates}
        if not boundary.decided[i]:
            out.append(Measurement("gradients", int(B), boundary.beta1, reason=boundary.reason[i], source=source,
                                   decided=False, detail=detail))
            continue
        out.append(Measurement("gradients", int(B), boundary.beta1, failed=boundary.beta2_failed[i],
                               trained=boundary.beta2_trained[i], reason=boundary.reason[i], source=source,
                               detail=detail))
    return tuple(out)
